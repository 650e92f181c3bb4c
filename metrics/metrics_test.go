package metrics

import (
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stranglerfig/strangler/stage"
)

// scrape fetches /metrics over real HTTP and parses the text exposition.
func scrape(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return fams
}

// find returns the metric of fam whose labels include all of want, or nil.
func find(fam *dto.MetricFamily, want map[string]string) *dto.Metric {
	if fam == nil {
		return nil
	}
	for _, m := range fam.GetMetric() {
		if hasLabels(m, want) {
			return m
		}
	}
	return nil
}

// hasLabels reports whether m carries every label of want.
func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

type observation struct {
	route, stage, side string
	status             int
	d                  time.Duration
}

var sampleTraffic = []observation{
	{"users", "legacy", SideLegacy, 200, 3 * time.Millisecond},
	{"users", "legacy", SideLegacy, 200, 3 * time.Millisecond},
	{"users", "legacy", SideLegacy, 404, 7 * time.Millisecond},
	{"users", "canary", SideService, 503, 20 * time.Millisecond},
	{"users", "canary", SideService, 101, time.Millisecond},
	{"users", "canary", SideLegacy, 302, time.Millisecond},
	{"orders", "migrated", SideService, 500, 40 * time.Millisecond},
	{"orders", "shadow", SideService, 0, 2 * time.Millisecond},
	{"orders", "shadow", SideService, 600, 2 * time.Millisecond},
	{Unmatched, "legacy", SideLegacy, 204, time.Millisecond},
}

func feed(r *Registry, obs []observation) {
	for _, o := range obs {
		r.Route(o.route).Observe(o.stage, o.side, o.status, o.d)
	}
}

func TestScrapeRequestsTotal(t *testing.T) {
	r := New()
	feed(r, sampleTraffic)
	fam := scrape(t, r)["strangler_requests_total"]
	tests := []struct {
		route, stage, servedBy, class string
		want                          float64
	}{
		{"users", "legacy", SideLegacy, "2xx", 2},
		{"users", "legacy", SideLegacy, "4xx", 1},
		{"users", "canary", SideService, "5xx", 1},
		{"users", "canary", SideService, "1xx", 1},
		{"users", "canary", SideLegacy, "3xx", 1},
		{"orders", "migrated", SideService, "5xx", 1},
		{"orders", "shadow", SideService, "other", 2},
		{Unmatched, "legacy", SideLegacy, "2xx", 1},
	}
	for _, tt := range tests {
		m := find(fam, map[string]string{"route": tt.route, "stage": tt.stage, "served_by": tt.servedBy, "code_class": tt.class})
		if got := m.GetCounter().GetValue(); got != tt.want {
			t.Errorf("%s/%s/%s/%s = %v, want %v", tt.route, tt.stage, tt.servedBy, tt.class, got, tt.want)
		}
	}
	if got := len(fam.GetMetric()); got != len(tests) {
		t.Errorf("requests_total has %d series, want %d", got, len(tests))
	}
}

func TestScrapeDuration(t *testing.T) {
	r := New()
	feed(r, sampleTraffic)
	fam := scrape(t, r)["strangler_request_duration_seconds"]
	tests := []struct {
		route, side string
		count       uint64
		sum         float64
	}{
		{"users", SideLegacy, 4, 0.014},
		{"users", SideService, 2, 0.021},
		{"orders", SideService, 3, 0.044},
		{Unmatched, SideLegacy, 1, 0.001},
	}
	for _, tt := range tests {
		h := find(fam, map[string]string{"route": tt.route, "side": tt.side}).GetHistogram()
		if h.GetSampleCount() != tt.count || !near(h.GetSampleSum(), tt.sum) {
			t.Errorf("%s/%s: count %d sum %v, want %d %v", tt.route, tt.side, h.GetSampleCount(), h.GetSampleSum(), tt.count, tt.sum)
		}
		// the exported buckets are users' (dashboards, alert rules): they
		// stay as they are, whatever strangler's own figures count in
		var bounds []float64
		for _, b := range h.GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
		}
		want := []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, math.Inf(1)}
		if !slices.Equal(bounds, want) {
			t.Errorf("%s/%s: bucket bounds %v, want %v", tt.route, tt.side, bounds, want)
		}
	}
}

func TestUnknownStageAndSide(t *testing.T) {
	r := New()
	r.Route("x").Observe("weird", "elsewhere", 200, time.Millisecond)
	r.Route("x").Observe("weird", SideService, 200, time.Millisecond)
	if got := testutil.ToFloat64(r.requests.WithLabelValues("x", "weird", "elsewhere", "2xx")); got != 1 {
		t.Errorf("unknown side counter = %v, want 1", got)
	}
	if got := r.Route("x").Figures().Service.Requests; got != 1 {
		t.Errorf("service requests = %d, want 1", got)
	}
}

func TestRouteCached(t *testing.T) {
	r := New()
	a, b := r.Route("a"), r.Route("b")
	if a != r.Route("a") || b != r.Route("b") || a == b {
		t.Fatal("Route must return one handle per name")
	}
}

func TestForgetRoute(t *testing.T) {
	r := New()
	for _, name := range []string{"a", "b"} {
		m := r.Route(name)
		m.Observe("canary", SideService, 200, time.Millisecond)
		m.UpstreamError("svc", "timeout")
		r.SetRouteState(name, "canary", 10)
		r.AdminChange(name, "promote")
	}
	old := r.Route("a")
	r.ForgetRoute("a")
	fams := scrape(t, r)
	for name, fam := range fams {
		if find(fam, map[string]string{"route": "a"}) != nil {
			t.Errorf("%s still has route=a", name)
		}
	}
	for _, name := range []string{"strangler_requests_total", "strangler_request_duration_seconds", "strangler_upstream_errors_total", "strangler_route_stage", "strangler_route_percent", "strangler_admin_changes_total"} {
		if find(fams[name], map[string]string{"route": "b"}) == nil {
			t.Errorf("%s lost route=b", name)
		}
	}
	if r.Route("a") == old {
		t.Error("ForgetRoute must drop the cached handle")
	}
}

func TestSetRouteState(t *testing.T) {
	r := New()
	tests := []struct {
		stage   string
		percent float64
		want    [4]float64 // legacy, shadow, canary, migrated
	}{
		{"legacy", 0, [4]float64{1, 0, 0, 0}},
		{"shadow", 0, [4]float64{0, 1, 0, 0}},
		{"canary", 25, [4]float64{0, 0, 1, 0}},
		{"migrated", 100, [4]float64{0, 0, 0, 1}},
		{"bogus", 5, [4]float64{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		r.SetRouteState("users", tt.stage, tt.percent)
		for i, s := range stage.Names() {
			if got := testutil.ToFloat64(r.stage.WithLabelValues("users", s)); got != tt.want[i] {
				t.Errorf("after %s: stage %s = %v, want %v", tt.stage, s, got, tt.want[i])
			}
		}
		if got := testutil.ToFloat64(r.percent.WithLabelValues("users")); got != tt.percent {
			t.Errorf("after %s: percent = %v, want %v", tt.stage, got, tt.percent)
		}
	}
	if n := testutil.CollectAndCount(r.stage); n != 4 {
		t.Errorf("stage series = %d, want 4", n)
	}
}

func TestConfigReload(t *testing.T) {
	tests := []struct {
		name          string
		calls         []bool
		success, fail float64
		stamped       bool
	}{
		{"none", nil, 0, 0, false},
		{"failure only", []bool{false, false}, 0, 2, false},
		{"mixed", []bool{false, true, true}, 2, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			before := float64(time.Now().Unix())
			for _, ok := range tt.calls {
				r.ConfigReload(ok)
			}
			after := float64(time.Now().Unix()) + 1
			fam := scrape(t, r)
			s := find(fam["strangler_config_reloads_total"], map[string]string{"result": "success"})
			f := find(fam["strangler_config_reloads_total"], map[string]string{"result": "failure"})
			if s.GetCounter().GetValue() != tt.success || f.GetCounter().GetValue() != tt.fail {
				t.Errorf("success %v failure %v, want %v %v", s.GetCounter().GetValue(), f.GetCounter().GetValue(), tt.success, tt.fail)
			}
			ts := testutil.ToFloat64(r.lastReload)
			if tt.stamped != (ts >= before && ts <= after) || (!tt.stamped && ts != 0) {
				t.Errorf("timestamp %v outside [%v, %v] (stamped=%v)", ts, before, after, tt.stamped)
			}
		})
	}
}

func TestAdminChangeAndUpstreamError(t *testing.T) {
	r := New()
	r.AdminChange("users", "promote")
	r.AdminChange("users", "promote")
	r.AdminChange("users", "rollback")
	r.Route("users").UpstreamError("legacy-1", "timeout")
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"promote", testutil.ToFloat64(r.adminChanges.WithLabelValues("users", "promote")), 2},
		{"rollback", testutil.ToFloat64(r.adminChanges.WithLabelValues("users", "rollback")), 1},
		{"upstream", testutil.ToFloat64(r.upstreamErrors.WithLabelValues("users", "legacy-1", "timeout")), 1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestRuntimeCollectors(t *testing.T) {
	fams := scrape(t, New())
	for _, prefix := range []string{"go_", "process_"} {
		found := false
		for name := range fams {
			found = found || strings.HasPrefix(name, prefix)
		}
		if !found {
			t.Errorf("no %s* metrics exposed", prefix)
		}
	}
}

func TestConcurrentObserve(t *testing.T) {
	const workers, each = 32, 500
	r := New()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() { // concurrent readers
		for {
			select {
			case <-stop:
				return
			default:
				_ = r.Route("r0").Figures()
				_, _ = r.Gatherer().Gather()
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			side := sides[w%2]
			for i := range each {
				r.Route("r0").Observe(stage.Stage(i%4).String(), side, 200+100*(i%4), time.Duration(i)*time.Microsecond)
			}
		})
	}
	wg.Wait()
	close(stop)
	f := r.Route("r0").Figures()
	want := uint64(workers / 2 * each)
	if f.Legacy.Requests != want || f.Service.Requests != want {
		t.Errorf("requests %d/%d, want %d", f.Legacy.Requests, f.Service.Requests, want)
	}
	if f.Legacy.Errors != want/4 {
		t.Errorf("errors %d, want %d", f.Legacy.Errors, want/4)
	}
	if got := testutil.ToFloat64(r.requests.WithLabelValues("r0", "canary", SideService, "4xx")); got != float64(want/4) {
		t.Errorf("canary/service/4xx = %v, want %v", got, want/4)
	}
}

func TestObserveAllocs(t *testing.T) {
	r := New()
	m := r.Route("hot")
	for _, st := range stage.Names() {
		for _, sd := range sides {
			m.Observe(st, sd, 503, time.Millisecond)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		r.Route("hot").Observe("canary", SideService, 503, 3*time.Millisecond)
		m.Observe("legacy", SideLegacy, 200, time.Second)
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v per run, want 0", allocs)
	}
}

func BenchmarkObserve(b *testing.B) {
	r := New()
	m := r.Route("bench")
	m.Observe("canary", SideService, 200, time.Millisecond)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe("canary", SideService, 200, time.Millisecond)
		}
	})
}

// Strangler's own 503s at an upstream's capacity are counted apart and
// left out of the side's errors (what the rollout gates read), while the
// side's other 5xx still count.
func TestAtCapacityNotAnError(t *testing.T) {
	tests := []struct {
		name         string
		side         string
		refused      int // AtCapacity, each then observed as a 503
		failed       int // the upstream's own 502s
		wantErrors   uint64
		wantRequests uint64
	}{
		{"service refusals only", SideService, 3, 0, 0, 3},
		{"service refusals and failures", SideService, 2, 4, 4, 6},
		{"legacy refusals", SideLegacy, 5, 1, 1, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			m := r.Route("orders")
			for range tt.refused {
				m.AtCapacity("orders-svc", tt.side)
				m.Observe("migrated", tt.side, 503, time.Millisecond)
			}
			for range tt.failed {
				m.Observe("migrated", tt.side, 502, time.Millisecond)
			}
			c := m.Snapshot().Service
			if tt.side == SideLegacy {
				c = m.Snapshot().Legacy
			}
			if c.Errors != tt.wantErrors || c.Requests != tt.wantRequests {
				t.Errorf("errors %d requests %d, want %d and %d", c.Errors, c.Requests, tt.wantErrors, tt.wantRequests)
			}
			if got := testutil.ToFloat64(r.atCapacity.WithLabelValues("orders", "orders-svc")); got != float64(tt.refused) {
				t.Errorf("strangler_upstream_at_capacity_total = %v, want %d", got, tt.refused)
			}
		})
	}
}
