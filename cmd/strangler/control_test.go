package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/stage"
)

// sides starts a monolith and a service that name themselves and count
// what they serve.
type sides struct {
	mono, svc         *httptest.Server
	monoHits, svcHits atomic.Int64
}

func newSides(t *testing.T) *sides {
	s := &sides{}
	named := func(name string, hits *atomic.Int64) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("X-Side", name)
			_, _ = io.WriteString(w, `{"ok":true}`)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	s.mono, s.svc = named("monolith", &s.monoHits), named("orders", &s.svcHits)
	return s
}

func (s *sides) config(stage string, percent int) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
log: {level: warn}
legacy: {url: %s}
services:
  orders: {url: %s}
routes:
  - name: orders
    match: {prefix: /api/orders}
    service: orders
    stage: %s
    percent: %d
    sticky: header:X-User-ID
`, s.mono.URL, s.svc.URL, stage, percent)
}

// startInProcess runs runServe in this process and returns the data and
// admin base URLs; the server stops when the test ends.
func startInProcess(t *testing.T, path string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, serveOptions{path: path, out: io.Discard, errOut: io.Discard,
			listening: func(data, admin string) { addrs <- [2]string{data, admin} }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runServe: %v", err)
		}
	})
	select {
	case a := <-addrs:
		return "http://" + a[0], "http://" + a[1]
	case err := <-done:
		t.Fatalf("runServe ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not start")
	}
	return "", ""
}

// TestStageChangesUnderLoad flips a route 200 times through the admin
// API while clients send requests: none may fail.
func TestStageChangesUnderLoad(t *testing.T) {
	s := newSides(t)
	data, adminURL := startInProcess(t, writeFile(t, s.config("legacy", 0)))
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", data+"/api/orders/1", nil)
				req.Header.Set("X-User-ID", "user-"+strconv.Itoa(w*100000+i))
				sent.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	steps := []string{`{"stage":"canary","percent":10}`, `{"stage":"canary","percent":50}`,
		`{"stage":"migrated"}`, `{"stage":"shadow"}`, `{"stage":"legacy"}`}
	for i := range 200 {
		resp, err := http.Post(adminURL+"/admin/routes/orders/stage", "application/json",
			strings.NewReader(steps[i%len(steps)]))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("change %d: %d %s", i, resp.StatusCode, body)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests during 200 stage changes: %d failed (monolith %d, service %d)",
		sent.Load(), failed.Load(), s.monoHits.Load(), s.svcHits.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during stage changes", failed.Load(), sent.Load())
	}
	if s.monoHits.Load() == 0 || s.svcHits.Load() == 0 {
		t.Error("traffic did not reach both sides during the changes")
	}
}

// TestMetricsCountTraffic sends known traffic and checks the counters
// per route and side.
func TestMetricsCountTraffic(t *testing.T) {
	s := newSides(t)
	data, adminURL := startInProcess(t, writeFile(t, s.config("canary", 50)))
	for i := range 300 {
		req, _ := http.NewRequest("GET", data+"/api/orders/1", nil)
		req.Header.Set("X-User-ID", "u"+strconv.Itoa(i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for range 7 {
		resp, err := http.Get(data + "/unclaimed")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, tc := range []struct {
		series string
		want   int64
	}{
		{`strangler_requests_total{code_class="2xx",route="orders",served_by="legacy",stage="canary"}`, s.monoHits.Load() - 7},
		{`strangler_requests_total{code_class="2xx",route="orders",served_by="service",stage="canary"}`, s.svcHits.Load()},
		{`strangler_requests_total{code_class="2xx",route="_unmatched",served_by="legacy",stage="legacy"}`, 7},
		{`strangler_route_percent{route="orders"}`, 50},
		{`strangler_route_stage{route="orders",stage="canary"}`, 1},
	} {
		re := regexp.MustCompile(regexp.QuoteMeta(tc.series) + ` (\d+)`)
		m := re.FindSubmatch(body)
		if m == nil {
			t.Errorf("no series %s", tc.series)
			continue
		}
		if got, _ := strconv.ParseInt(string(m[1]), 10, 64); got != tc.want {
			t.Errorf("%s = %d; want %d", tc.series, got, tc.want)
		}
	}
	if s.svcHits.Load() == 0 || s.monoHits.Load() == 7 {
		t.Error("a 50% canary sent all traffic to one side")
	}
}

// TestOverridesSurviveRestart drives the real binary through the CLI:
// change a route, restart, find the override and the audit trail; then a
// newer file edit wins and reset clears an override.
func TestOverridesSurviveRestart(t *testing.T) {
	s := newSides(t)
	path := writeFile(t, s.config("shadow", 0))
	adminURL := startBinary(t, path)
	cli(t, adminURL, "stage", "orders", "canary", "25", "--reason", "ramp up")
	stopBinary(t)

	adminURL = startBinary(t, path)
	r := routeState(t, adminURL)
	if r.Stage != "canary" || r.Percent != 25 || r.Override == nil || r.File.Stage != "shadow" {
		t.Fatalf("after restart: %+v; want the override canary 25 over file shadow", r)
	}
	if out := cli(t, adminURL, "events"); !strings.Contains(out, "ramp up") || !strings.Contains(out, "canary 25") {
		t.Errorf("audit trail lost across restart:\n%s", out)
	}
	// A newer decision in the file wins over the older override.
	if err := os.WriteFile(path, []byte(s.config("migrated", 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "r.Stage == \"migrated\" && r.Override == nil", func() bool { r := routeState(t, adminURL); return r.Stage == "migrated" && r.Override == nil })
	// An override, then reset: the file's position applies again.
	cli(t, adminURL, "rollback", "orders")
	if r := routeState(t, adminURL); r.Stage != "shadow" {
		t.Fatalf("after rollback: %s", r.Stage)
	}
	cli(t, adminURL, "reset", "orders")
	if r := routeState(t, adminURL); r.Stage != "migrated" || r.Override != nil {
		t.Fatalf("after reset: %+v", r)
	}
}

var running *exec.Cmd

func startBinary(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--config", path, "--log-level", "info")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running = cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := waitForLine(t, stdout, regexp.MustCompile(`"admin":"([^"]+)"`))
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return "http://" + addr
}

func stopBinary(t *testing.T) {
	t.Helper()
	if err := running.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := running.Wait(); err != nil {
		t.Fatalf("proxy exit: %v", err)
	}
}

// cli runs a strangler admin verb against adminURL and returns its output.
func cli(t *testing.T, adminURL string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, append(args, "--admin", adminURL)...).CombinedOutput()
	if err != nil {
		t.Fatalf("strangler %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type routeView struct {
	stage.Position
	File     stage.Position   `json:"file"`
	Override *json.RawMessage `json:"override"`
}

func routeState(t *testing.T, adminURL string) routeView {
	t.Helper()
	var r routeView
	if err := json.Unmarshal([]byte(cli(t, adminURL, "route", "orders", "-o", "json")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCLIErrors checks the verbs' messages for an unreachable proxy, a
// wrong token and a bad change.
func TestCLIErrors(t *testing.T) {
	s := newSides(t)
	t.Setenv("STRANGLER_ADMIN_TOKEN", "s3cret-token-value")
	_, adminURL := startInProcess(t, writeFile(t, s.config("shadow", 0)))
	for _, tc := range []struct {
		desc string
		env  string
		args []string
		want string
	}{
		{"unreachable", "s3cret-token-value", []string{"routes", "--admin", "http://127.0.0.1:1"}, "cannot reach the admin API"},
		{"wrong token", "wrong", []string{"routes", "--admin", adminURL}, "refused the token in STRANGLER_ADMIN_TOKEN"},
		{"no token", "", []string{"routes", "--admin", adminURL}, "needs a token: set STRANGLER_ADMIN_TOKEN"},
		{"bad percent", "s3cret-token-value", []string{"stage", "orders", "canary", "101", "--admin", adminURL}, "field percent"},
		{"unknown route", "s3cret-token-value", []string{"promote", "nope", "--admin", adminURL}, "unknown route"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = append(os.Environ(), "STRANGLER_ADMIN_TOKEN="+tc.env)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("succeeded; want an error\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q lacks %q", out, tc.want)
			}
			if strings.Contains(string(out), "s3cret-token-value") {
				t.Error("the token appears in the output")
			}
		})
	}
}

// TestPauseResumeFlags drives pause and resume through the real binary:
// they change the route and reach the audit trail, and refuse
// --if-version, which the automation endpoint does not take, rather than
// ignore it; the verbs whose endpoints take if_version send it.
func TestPauseResumeFlags(t *testing.T) {
	s := newSides(t)
	_, adminURL := startInProcess(t, writeFile(t, s.config("shadow", 0)))
	fails := func(want string, args ...string) {
		t.Helper()
		out, err := exec.Command(binary, append(args, "--admin", adminURL)...).CombinedOutput()
		if err == nil {
			t.Fatalf("strangler %s succeeded; want an error\n%s", strings.Join(args, " "), out)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("strangler %s: output %q lacks %q", strings.Join(args, " "), out, want)
		}
	}
	for _, verb := range []string{"pause", "resume"} {
		fails("unknown flag: --if-version", verb, "orders", "--if-version", "3", "--reason", "freeze")
	}
	if out := cli(t, adminURL, "events", "--route", "orders"); strings.Contains(out, "freeze") {
		t.Fatalf("a refused pause or resume reached the audit trail:\n%s", out)
	}
	cli(t, adminURL, "pause", "orders", "--reason", "release freeze")
	cli(t, adminURL, "resume", "orders", "--reason", "thaw")
	out := cli(t, adminURL, "events", "--route", "orders")
	for _, want := range []string{"pause", "release freeze", "resume", "thaw"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, out)
		}
	}
	fails("not 99", "promote", "orders", "--if-version", "99")
	fails("not 99", "stage", "orders", "legacy", "--if-version", "99")
}

// TestAdminNotOnDataPlane checks that /admin/... on the data-plane port
// is ordinary traffic for the monolith, never the admin API.
func TestAdminNotOnDataPlane(t *testing.T) {
	s := newSides(t)
	data, _ := startInProcess(t, writeFile(t, s.config("migrated", 0)))
	for _, path := range []string{"/admin/routes", "/admin/routes/orders/rollback", "/metrics"} {
		resp, err := http.Post(data+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Side"); got != "monolith" {
			t.Errorf("POST %s on the data plane served by %q; want the monolith", path, got)
		}
	}
	if s.monoHits.Load() != 3 {
		t.Errorf("monolith saw %d requests; want 3", s.monoHits.Load())
	}
}
