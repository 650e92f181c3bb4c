package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// shadowReplica runs runServe as replica name with its admin API on a
// port chosen here, advertised to its peers; it returns the data plane
// and admin URLs. It stops with the test.
func shadowReplica(t *testing.T, path, name string) (data, adminURL string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("STRANGLER_REPLICA_NAME", name)
	t.Setenv("STRANGLER_ADMIN_LISTEN", addr)
	t.Setenv("STRANGLER_REPLICA_ADVERTISE", "http://"+addr)
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, serveOptions{path: path, out: io.Discard, errOut: io.Discard,
			source: config.Source{Env: true}, listening: func(d, a string) { addrs <- [2]string{d, a} }})
	}()
	select {
	case a := <-addrs:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runServe %s: %v", name, err)
			}
		})
		return "http://" + a[0], "http://" + a[1]
	case err := <-done:
		cancel()
		t.Fatalf("replica %s did not start: %v", name, err)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("replica %s did not start", name)
	}
	return "", ""
}

// TestCLIClusterScope: two replicas on etcd shadow a route; the CLI's
// report and diffs, asked of one replica, show both replicas'
// comparisons (scope auto is cluster on etcd), and --scope local only
// the asked one's; a third replica started later knows their learned
// noise through etcd.
func TestCLIClusterScope(t *testing.T) {
	m := etcdtest.Start(t)
	mono, svc := differingSides(t)
	cfg := shadowConfig(mono.URL, svc.URL) + "    diff: {noise: {enabled: true}}\n" + fmt.Sprintf("state:\n  backend: etcd\n  etcd: {endpoints: [%s], prefix: /strangler/%s, dial_timeout: 2s}\n",
		m.ClientURL, t.Name())
	path := writeFile(t, cfg)
	admins := map[string]string{}
	for _, name := range []string{"a", "b"} {
		data, adm := shadowReplica(t, path, name)
		admins[name] = adm
		for i := range 3 {
			if code, body := get(t, fmt.Sprintf("%s/api/orders/%d", data, i)); code != http.StatusOK {
				t.Fatalf("GET through %s: %d %s", name, code, body)
			}
		}
		testutil.Eventually(t, "the condition at fanout_test.go:79", func() bool {
			var d struct{ Diffs []json.RawMessage }
			_, body := get(t, adm+"/admin/diffs?scope=local")
			return json.Unmarshal([]byte(body), &d) == nil && len(d.Diffs) == 3
		})
	}
	testutil.Eventually(t, "strings.Count(get2(t, admins[\"a\"]+\"/admin/cluster\"), `\"name\"`) == 2", func() bool { return strings.Count(get2(t, admins["a"]+"/admin/cluster"), `"name"`) == 2 })

	tests := []struct {
		args     []string
		replicas string
		diffs    int
	}{
		{args: []string{"diffs", "orders", "-o", "json"}, replicas: "a,b", diffs: 6},
		{args: []string{"diffs", "orders", "-o", "json", "--scope", "cluster"}, replicas: "a,b", diffs: 6},
		{args: []string{"diffs", "orders", "-o", "json", "--scope", "local"}, diffs: 3},
		{args: []string{"report", "--format", "json"}, replicas: "a,b"},
		{args: []string{"report", "--format", "json", "--scope", "local"}},
	}
	for _, tc := range tests {
		var got admin.ClusterDiffs
		out := cliStdout(t, admins["a"], tc.args...)
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("strangler %v: %v\n%s", tc.args, err, out)
		}
		if r := strings.Join(got.Replicas, ","); r != tc.replicas || len(got.Missing) != 0 {
			t.Errorf("strangler %v: replicas %q missing %v, want %q and none", tc.args, r, got.Missing, tc.replicas)
		}
		if tc.diffs > 0 && len(got.Diffs) != tc.diffs {
			t.Errorf("strangler %v: %d diffs, want %d", tc.args, len(got.Diffs), tc.diffs)
		}
	}
	table := string(cliStdout(t, admins["a"], "diffs", "orders"))
	if !strings.HasPrefix(table, "REPLICA") || strings.Count(table, "\nb ") != 3 {
		t.Errorf("diffs table does not name the replicas:\n%s", table)
	}
	if md := string(cliStdout(t, admins["a"], "report")); !strings.Contains(md, "Replicas summed: a, b.") {
		t.Errorf("markdown report does not name the replicas summed:\n%s", md)
	}
	if out := cliFails(t, admins["a"], "diffs", "orders", "--scope", "everywhere"); !strings.Contains(out, "--scope") {
		t.Errorf("a bad --scope: %s", out)
	}
	// The noise a and b learned (the per-call "at") reaches a replica that
	// starts later and has seen no traffic.
	_, c := shadowReplica(t, path, "c")
	testutil.Eventually(t, "the condition at fanout_test.go:124", func() bool {
		var rep struct {
			Routes []struct {
				Noise []struct{ Path string } `json:"noise"`
			} `json:"routes"`
		}
		_, body := get(t, c+"/admin/report?scope=local")
		return json.Unmarshal([]byte(body), &rep) == nil && len(rep.Routes) == 1 &&
			len(rep.Routes[0].Noise) > 0 && rep.Routes[0].Noise[0].Path == "/at"
	})
}

func get2(t *testing.T, url string) string {
	t.Helper()
	_, body := get(t, url)
	return body
}
