package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/progress"
)

// migratedConfig is a route file whose /api/customers route is migrated.
func migratedConfig(mono, svc string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
log: {level: warn}
legacy: {url: %s}
services:
  customers: {url: %s}
routes:
  - name: customers
    match: {prefix: /api/customers}
    service: customers
    stage: migrated
  - name: orders
    match: {prefix: /api/orders}
    service: customers
    stage: shadow
`, mono, svc)
}

// serveWithProgress runs the proxy in process, sampling progress every
// every, and returns its data and admin URLs and a function that stops
// it and waits.
func serveWithProgress(t *testing.T, path string, every time.Duration) (string, string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, serveOptions{path: path, out: io.Discard, errOut: io.Discard, progressEvery: every,
			listening: func(data, admin string) { addrs <- [2]string{data, admin} }})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runServe: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("the proxy did not stop within 20 s")
		}
	}
	t.Cleanup(stop)
	select {
	case a := <-addrs:
		return "http://" + a[0], "http://" + a[1], stop
	case err := <-done:
		t.Fatalf("runServe ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not start")
	}
	return "", "", stop
}

// fetchProgress reads GET /admin/progress.
func fetchProgress(t *testing.T, adminURL string) progress.Report {
	t.Helper()
	resp, err := http.Get(adminURL + "/admin/progress")
	if err != nil {
		t.Fatalf("GET /admin/progress: %v", err)
	}
	defer resp.Body.Close()
	var r progress.Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/progress: status %d, %v", resp.StatusCode, err)
	}
	return r
}

// served sums the service requests of a history.
func served(h []progress.Sample) (requests, service uint64) {
	for _, s := range h {
		requests += s.Requests
		service += s.ServiceRequests
	}
	return requests, service
}

// TestProgressCommand sends traffic through an in-process proxy that
// samples every 100 ms, prints the progress with the real binary as JSON,
// Markdown and a terminal table, then restarts the proxy: the history
// survives in the file beside the state file.
func TestProgressCommand(t *testing.T) {
	mono, svc := differingSides(t)
	path := writeFile(t, migratedConfig(mono.URL, svc.URL))
	data, adminURL, stop := serveWithProgress(t, path, 100*time.Millisecond)
	for i, p := range []string{"/api/customers/1", "/api/customers/2", "/api/customers/3", "/legacy/a"} {
		resp, err := http.Get(data + p)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var r progress.Report
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = fetchProgress(t, adminURL)
		if req, _ := served(r.History); req == 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if req, svc := served(r.History); req != 4 || svc != 3 {
		t.Fatalf("history counts %d requests, %d served by the service; want 4, 3", req, svc)
	}
	if got := r.History[len(r.History)-1].Routes; got != (progress.Stages{Shadow: 1, Migrated: 1}) {
		t.Errorf("routes by stage %+v, want one shadow, one migrated", got)
	}

	var j progress.Report
	if err := json.Unmarshal(cliStdout(t, adminURL, "progress", "--format", "json", "--points", "1"), &j); err != nil {
		t.Fatalf("decoding strangler progress --format json: %v", err)
	}
	if len(j.History) != 1 || j.History[0].Requests != 4 || j.History[0].RequestShare != 0.75 {
		t.Errorf("one merged point: %+v; want 4 requests at 75%%", j.History)
	}
	md := string(cliStdout(t, adminURL, "progress"))
	for _, want := range []string{"# Migration progress", "| UNTIL | REQUESTS | NEW SERVICES |", "Since start"} {
		if !strings.Contains(md, want) {
			t.Errorf("piped output lacks %q:\n%s", want, md)
		}
	}
	tty := onPTY(t, 100, []string{"NO_COLOR=1"}, "progress", "--admin", adminURL)
	if !strings.Contains(tty, "UNTIL") || !strings.Contains(tty, "ROUTES L/S/C/M") || strings.Contains(tty, "|---") {
		t.Errorf("terminal output is not a table:\n%s", tty)
	}
	if out := cliFails(t, adminURL, "progress", "--points", "0"); !strings.Contains(out, "--points 0") {
		t.Errorf("--points 0: %s", out)
	}

	stop()
	file := filepath.Join(filepath.Dir(path), "strangler-state.json.progress.json")
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("no history file beside the state file: %v", err)
	}
	before := r
	_, adminURL, _ = serveWithProgress(t, path, time.Hour)
	after := fetchProgress(t, adminURL)
	if req, svc := served(after.History); len(after.History) < len(before.History) || req != 4 || svc != 3 {
		t.Errorf("after a restart: %d samples, %d requests (%d served); want at least %d samples with 4 (3)",
			len(after.History), req, svc, len(before.History))
	}
}

// TestProgressOnEtcd runs two serves on one etcd, sampling every 100 ms:
// only the automation leader records, into etcd, and the other replica
// serves the same history.
func TestProgressOnEtcd(t *testing.T) {
	m := etcdtest.Start(t)
	s := newSides(t)
	prefix := "/strangler/" + t.Name()
	sent := map[string]uint64{"one": 5, "two": 3}
	datas, admins := map[string]string{}, map[string]string{}
	for _, name := range []string{"one", "two"} {
		datas[name], admins[name], _ = serveWithProgress(t, writeFile(t, s.etcdConfig(m.ClientURL, prefix, name)), 100*time.Millisecond)
	}
	for name, n := range sent {
		for range n {
			servedBy(t, datas[name])
		}
	}
	var leader string
	testutil.Eventually(t, "the condition at progress_test.go:188", func() bool {
		r1, r2 := fetchProgress(t, admins["one"]), fetchProgress(t, admins["two"])
		if r1.Recording == r2.Recording || len(r1.History) == 0 || len(r1.History) != len(r2.History) {
			return false
		}
		leader = "two"
		if r1.Recording {
			leader = "one"
		}
		req, _ := served(r1.History)
		req2, _ := served(r2.History)
		return req == sent[leader] && req2 == req
	})
	t.Logf("leader %s recorded its %d requests; the other replica serves the same history", leader, sent[leader])
}
