package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// startStoppable is startInProcess returning a stop that drains the
// serve and waits for it.
func startStoppable(t *testing.T, path string) (adminURL string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, serveOptions{path: path, out: io.Discard, errOut: io.Discard,
			listening: func(_, admin string) { addrs <- admin }})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runServe: %v", err)
		}
	}
	t.Cleanup(stop)
	select {
	case a := <-addrs:
		return "http://" + a, stop
	case err := <-done:
		t.Fatalf("runServe ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not start")
	}
	return "", stop
}

// leaderGauge reads strangler_automation_leader from a replica's metrics.
func leaderGauge(t *testing.T, adminURL string) string {
	t.Helper()
	_, body := get(t, adminURL+"/metrics")
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, "strangler_automation_leader "); ok {
			return v
		}
	}
	return ""
}

// TestServeElectsOneAutomationLeader runs two serves on one etcd: exactly
// one shows strangler_automation_leader 1; stopped, it resigns and the
// other takes over well before the lease would expire; both terms are
// in the audit trail (recorded at each leader's first automation tick).
func TestServeElectsOneAutomationLeader(t *testing.T) {
	m := etcdtest.Start(t)
	s := newSides(t)
	prefix := "/strangler/" + t.Name()
	admins := map[string]string{}
	stops := map[string]func(){}
	for _, name := range []string{"one", "two"} {
		cfg := s.etcdConfig(m.ClientURL, prefix, name) + "automation: {interval: 100ms}\n"
		admins[name], stops[name] = startStoppable(t, writeFile(t, cfg))
	}
	var leader, other string
	testutil.Eventually(t, "the condition at leader_test.go:76", func() bool {
		g1, g2 := leaderGauge(t, admins["one"]), leaderGauge(t, admins["two"])
		switch {
		case g1 == "1" && g2 == "0":
			leader, other = "one", "two"
		case g1 == "0" && g2 == "1":
			leader, other = "two", "one"
		}
		return leader != ""
	})
	leaderEvents := func(admin string) string {
		_, events := get(t, admin+"/admin/events")
		return events
	}
	testutil.Eventually(t, "strings.Contains(leaderEvents(admins[leader]), `\"action\": \"leader\"`)", func() bool { return strings.Contains(leaderEvents(admins[leader]), `"action": "leader"`) })
	stopped := time.Now()
	stops[leader]()
	testutil.Eventually(t, "leaderGauge(t, admins[other]) == \"1\"", func() bool { return leaderGauge(t, admins[other]) == "1" })
	took := time.Since(stopped)
	t.Logf("the leader stopped cleanly; %s took over %s later (lease TTL %s)", other, took.Round(time.Millisecond), etcdstate.DefaultLeaderTTL)
	if took >= etcdstate.DefaultLeaderTTL {
		t.Errorf("takeover after a clean stop took %s: the leader did not resign", took)
	}
	testutil.Eventually(t, "strings.Count(leaderEvents(admins[other]), `\"action\": \"leader\"`) >= 2", func() bool { return strings.Count(leaderEvents(admins[other]), `"action": "leader"`) >= 2 })
	code, events := get(t, admins[other]+"/admin/events")
	if code != http.StatusOK || !strings.Contains(events, `"replica": "`+leader+`"`) ||
		strings.Count(events, `"action": "leader"`) != 2 {
		t.Errorf("/admin/events (%d) does not hold both terms (%s then %s):\n%s", code, leader, other, events)
	}
}
