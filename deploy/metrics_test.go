package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/etcdtest"
)

// metricsConfig is a route file with a route in each situation whose
// series the dashboard and the alerts read: mirrored (shadow), split
// (canary, compared), rescued (the service is down, fallback on),
// refused (the service is down, no fallback: its breaker opens), crowded
// (one request in flight at most, sent two at once), on the etcd backend (state_backend_up, leader, drift).
const metricsConfig = `listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
log: {level: info, access: false}
server: {drain_delay: 0s, shutdown_timeout: 5s}
legacy: {url: %[1]s}
services:
  orders: {url: %[2]s}
  gone: {url: %[3]s, dial_timeout: 500ms}
  lost: {url: %[3]s, dial_timeout: 500ms}
  narrow: {url: %[2]s, max_in_flight: 1}
routes:
  - {name: mirrored, match: {prefix: /mirrored}, service: orders, stage: shadow}
  - {name: split, match: {prefix: /split}, service: orders, stage: canary, percent: 50,
     sticky: "header:X-User", shadow: {canary: true}}
  - {name: rescued, match: {prefix: /rescued}, service: gone, stage: migrated, fallback: true}
  - {name: refused, match: {prefix: /refused}, service: lost, stage: migrated}
  - {name: crowded, match: {prefix: /crowded}, service: narrow, stage: migrated}
state:
  backend: etcd
  etcd: {endpoints: [%[4]s], prefix: /strangler/metrics-test, dial_timeout: 2s}
replica: {name: metrics-test}
`

// TestQueriesUseExportedMetrics runs strangler (the binary, on etcd)
// against test backends, sends traffic through every route above, makes
// an admin change and a reload, and wants every metric name that the
// dashboard's queries and the alerting rules' expressions select to be
// on its /metrics (recording rules' own names excepted).
func TestQueriesUseExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs etcd and strangler")
	}
	uses := map[string][]string{} // metric name -> where used
	_, records, ruleExprs := loadRules(t)
	addNames(t, uses, ruleExprs, records)
	addNames(t, uses, dashboardExprs(t, loadDashboard(t)), nil)
	if len(uses) < 15 {
		t.Fatalf("only %d metric names found in the queries: %v", len(uses), uses)
	}

	etcd := etcdtest.Start(t)
	s := startMetricsStrangler(t, etcd.ClientURL)
	s.traffic(t)
	var missing []string
	deadline := time.Now().Add(20 * time.Second) // comparisons finish off the request path
	for {
		exported := s.metricNames(t)
		missing = missing[:0]
		for name := range uses {
			if !exported[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	slices.Sort(missing)
	for _, name := range missing {
		t.Errorf("%s is not on strangler's /metrics; used by %s", name, strings.Join(uses[name], ", "))
	}
}

// addNames records the metric names of exprs, except the recorded ones.
func addNames(t *testing.T, uses map[string][]string, exprs map[string]string, recorded []string) {
	t.Helper()
	for where, e := range exprs {
		names, err := promqlMetricNames(e)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for _, n := range names {
			if !slices.Contains(recorded, n) {
				uses[n] = append(uses[n], where)
			}
		}
	}
}

// metricsStrangler is a running strangler and the addresses it serves.
type metricsStrangler struct {
	cmd         *exec.Cmd
	data, admin string
	client      *http.Client
}

// startMetricsStrangler starts the backends and strangler on them; all
// stop when the test ends.
func startMetricsStrangler(t *testing.T, etcdURL string) *metricsStrangler {
	t.Helper()
	// Both sides answer alike (the comparisons match), 500 under /fail,
	// slowly under /slow.
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		status := http.StatusOK
		if strings.Contains(r.URL.Path, "/fail") {
			status = http.StatusInternalServerError
		}
		if strings.Contains(r.URL.Path, "/slow") {
			time.Sleep(300 * time.Millisecond)
		}
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})
	legacy := httptest.NewServer(answer)
	t.Cleanup(legacy.Close)
	svc := httptest.NewServer(answer)
	t.Cleanup(svc.Close)
	path := filepath.Join(t.TempDir(), "strangler.yaml")
	cfg := fmt.Sprintf(metricsConfig, legacy.URL, svc.URL, "http://"+closedAddr(t), etcdURL)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := strangler(t) // built before the clock below starts
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s := &metricsStrangler{client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
	s.cmd = exec.CommandContext(ctx, bin, "serve", "--config", path)
	s.cmd.Env = withoutStranglerEnv(os.Environ())
	s.cmd.Stderr = os.Stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines, done := jsonLines(stdout)
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		<-done
		if err := s.cmd.Wait(); err != nil {
			t.Errorf("strangler serve after SIGTERM: %v", err)
		}
	})
	serving := waitLine(t, lines, "strangler is serving")
	s.data, s.admin = "http://"+serving["listen"].(string), "http://"+serving["admin"].(string)
	return s
}

// jsonLines decodes a process's JSON log lines; done closes at its EOF.
func jsonLines(r io.Reader) (<-chan map[string]any, <-chan struct{}) {
	lines := make(chan map[string]any, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var l map[string]any
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				select {
				case lines <- l:
				default: // nobody waits for this line
				}
			}
		}
	}()
	return lines, done
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// traffic sends requests through every route, changes a stage through
// the admin API and reloads the route file.
func (s *metricsStrangler) traffic(t *testing.T) {
	t.Helper()
	for i := range 20 {
		for _, req := range []struct{ method, path string }{
			{"GET", "/mirrored/1"}, {"POST", "/mirrored/1"}, {"GET", "/split/a"},
			{"GET", "/split/fail"}, {"GET", "/rescued/1"}, {"GET", "/refused/1"},
		} {
			s.do(t, req.method, s.data+req.path, fmt.Sprintf("user-%d", i), "")
		}
	}
	s.crowd(t)
	if code := s.do(t, "POST", s.admin+"/admin/routes/split/stage", "",
		`{"stage":"canary","percent":60,"reason":"metrics test"}`); code != http.StatusOK {
		t.Errorf("admin stage change: %d, want 200", code)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// crowd sends two slow requests at once to the crowded route, whose
// service takes one at a time, until strangler refuses one (503).
func (s *metricsStrangler) crowd(t *testing.T) {
	t.Helper()
	for range 5 {
		codes := make(chan int, 2)
		for range 2 {
			go func() {
				resp, err := s.client.Get(s.data + "/crowded/slow")
				if err != nil {
					codes <- 0
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		if a, b := <-codes, <-codes; a == http.StatusServiceUnavailable || b == http.StatusServiceUnavailable {
			return
		}
	}
	t.Error("the crowded route never answered 503 at capacity")
}

// do sends one request and returns its status.
func (s *metricsStrangler) do(t *testing.T, method, url, user, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-User", user)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// metricNames scrapes /metrics and returns the names of its series: a
// family's name, and for histograms and summaries the names of their
// _bucket, _sum and _count series.
func (s *metricsStrangler) metricNames(t *testing.T) map[string]bool {
	t.Helper()
	resp, err := s.client.Get(s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		switch f[3] {
		case "histogram":
			names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
		case "summary":
			names[f[2]+"_sum"], names[f[2]+"_count"] = true, true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}
