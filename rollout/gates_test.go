package rollout

import (
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/stage"
)

// SetClockForTest sets the automator's clock, so that the tests of
// package rollout_test can step time deterministically between ticks.
func (a *Automator) SetClockForTest(now func() time.Time) { a.now = now }

// snapshots feeds a real registry between two snapshots and returns the
// window figures of the traffic fed.
func windowOf(t *testing.T, feed func(reg *metrics.Registry)) WindowFigures {
	t.Helper()
	reg := metrics.New()
	before := reg.Snapshot("r")
	feed(reg)
	return window([]metrics.Snapshot{before, reg.Snapshot("r")})
}

func TestWindowFigures(t *testing.T) {
	w := windowOf(t, func(reg *metrics.Registry) {
		m := reg.Route("r")
		for i := 0; i < 90; i++ {
			m.Observe("canary", metrics.SideService, 200, 3*time.Millisecond)
			m.Observe("canary", metrics.SideLegacy, 200, 3*time.Millisecond)
		}
		for i := 0; i < 10; i++ {
			m.Observe("canary", metrics.SideService, 503, 3*time.Millisecond)
		}
		for i := 0; i < 8; i++ {
			reg.Compared("r", "equal")
		}
		reg.Compared("r", "noise-only")
		reg.Compared("r", "different")
		m.Fallback("status_503")
	})
	if w.ServiceRequests != 100 || w.ServiceErrors != 10 || w.ServiceErrorRate != 0.1 || w.LegacyRequests != 90 {
		t.Errorf("service %d/%d rate %v, legacy %d", w.ServiceErrors, w.ServiceRequests, w.ServiceErrorRate, w.LegacyRequests)
	}
	if w.Compared != 10 || w.Matched != 9 || w.MatchRate != 0.9 || w.Fallbacks != 1 {
		t.Errorf("compared %d matched %d rate %v fallbacks %d", w.Compared, w.Matched, w.MatchRate, w.Fallbacks)
	}
	if w.ServiceP99ms <= 2.5 || w.ServiceP99ms > 5 {
		t.Errorf("service p99 %v ms, want within the 2.5–5 ms bucket", w.ServiceP99ms)
	}
	if got := window(nil); got != (WindowFigures{}) {
		t.Errorf("window of no history = %+v", got)
	}
	f := figuresOf(w)
	for _, k := range []string{"window_seconds", "service_requests", "service_error_rate", "service_p99_ms",
		"legacy_requests", "legacy_p99_ms", "compared", "match_rate", "fallbacks"} {
		if _, ok := f[k]; !ok {
			t.Errorf("figures lack %s", k)
		}
	}
}

// TestWindowP99AgreesWithRouteFigures: the gates' service_p99_ms and
// legacy_p99_ms read the same estimator as the admin API's route figures
// (metrics.Route.Figures) and the diff report: the same requests give
// the same p99 (3 ms requests gave 4.975 ms here and 3.158 ms there when
// snapshots kept the exported histogram's buckets).
func TestWindowP99AgreesWithRouteFigures(t *testing.T) {
	tests := []struct {
		name string
		durs func(i int) time.Duration
	}{
		{"3 ms", func(int) time.Duration { return 3 * time.Millisecond }},
		{"1 to 1000 ms", func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }},
		{"slow tail of 2%", func(i int) time.Duration {
			if i%50 == 0 {
				return 2 * time.Second
			}
			return 800 * time.Microsecond
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var figs metrics.Figures
			w := windowOf(t, func(reg *metrics.Registry) {
				for i := range 1000 {
					reg.Route("r").Observe("canary", metrics.SideService, 200, tt.durs(i))
					reg.Route("r").Observe("canary", metrics.SideLegacy, 200, tt.durs(999-i))
				}
				figs = reg.Route("r").Figures()
			})
			if w.ServiceP99ms != figs.Service.P99ms || w.LegacyP99ms != figs.Legacy.P99ms || w.ServiceP99ms == 0 {
				t.Errorf("gates read p99 %v ms (service) / %v ms (legacy); route figures %v / %v",
					w.ServiceP99ms, w.LegacyP99ms, figs.Service.P99ms, figs.Legacy.P99ms)
			}
		})
	}
}

// trim keeps one snapshot at or before the window's start as its base.
func TestTrimKeepsBase(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := []metrics.Snapshot{{At: t0}, {At: t0.Add(time.Minute)}, {At: t0.Add(2 * time.Minute)}, {At: t0.Add(3 * time.Minute)}}
	for _, tc := range []struct {
		since time.Time
		first time.Time
	}{
		{t0.Add(-time.Hour), t0},
		{t0.Add(90 * time.Second), t0.Add(time.Minute)},
		{t0.Add(2 * time.Minute), t0.Add(2 * time.Minute)},
		{t0.Add(time.Hour), t0.Add(3 * time.Minute)},
	} {
		if got := trim(h, tc.since); !got[0].At.Equal(tc.first) || !got[len(got)-1].At.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("trim since %s starts at %s, want %s", tc.since.Sub(t0), got[0].At.Sub(t0), tc.first.Sub(t0))
		}
	}
}

func gateRoute(st string, shadowCanary bool) *config.Route {
	r := &config.Route{Name: "r", Service: "orders", Stage: st, Percent: 25}
	if st != stage.Canary.String() {
		r.Percent = 0
	}
	r.Shadow.Canary = shadowCanary
	r.Automation = config.Automation{Enabled: true, Hold: time.Minute, Window: time.Hour,
		Gates: config.Gates{MinCompared: 50, MinRequests: 40, MatchRate: 0.99, ErrorRate: ptrTo(0.01),
			P99Ratio: 1.5, P99Max: 200 * time.Millisecond},
		Rollback: config.Triggers{MatchRate: 0.9, ErrorRate: 0.05, P99Ratio: 3, P99Max: time.Second, MinSamples: 20}}
	return r
}

func ptrTo[T any](v T) *T { return &v }

func checkNames(t *testing.T, what string, cs []Check, want ...string) map[string]Check {
	t.Helper()
	var names []string
	byName := map[string]Check{}
	for _, c := range cs {
		names = append(names, c.Name)
		byName[c.Name] = c
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("%s = %v, want %v", what, names, want)
	}
	return byName
}

// Which gates apply depends on the stage: comparisons while mirrored,
// service figures while the service serves.
func TestGatesPerStage(t *testing.T) {
	w := WindowFigures{Compared: 60, Matched: 60, MatchRate: 1, ServiceRequests: 50, ServiceP99ms: 10,
		LegacyRequests: 50, LegacyP99ms: 10}
	tests := []struct {
		stage  string
		mirror bool
		want   []string
	}{
		{stage.Shadow.String(), false, []string{"min_compared", "match_rate"}},
		{stage.Canary.String(), true, []string{"min_compared", "match_rate", "min_requests", "error_rate", "p99_ratio", "p99_max"}},
		{stage.Canary.String(), false, []string{"min_requests", "error_rate", "p99_ratio", "p99_max"}},
	}
	for _, tc := range tests {
		got := gates(gateRoute(tc.stage, tc.mirror), w)
		for name, c := range checkNames(t, tc.stage, got, tc.want...) {
			if !c.Holds {
				t.Errorf("%s: gate %s does not hold: %s", tc.stage, name, c.Detail)
			}
		}
	}
}

func TestGateThresholds(t *testing.T) {
	base := WindowFigures{Compared: 60, Matched: 60, MatchRate: 1, ServiceRequests: 50, ServiceP99ms: 10,
		LegacyRequests: 50, LegacyP99ms: 10}
	tests := []struct {
		name   string
		change func(*WindowFigures)
		gate   string
		value  float64
		thresh float64
	}{
		{"too few comparisons", func(w *WindowFigures) { w.Compared = 49 }, "min_compared", 49, 50},
		{"too few requests", func(w *WindowFigures) { w.ServiceRequests = 39 }, "min_requests", 39, 40},
		{"match rate low", func(w *WindowFigures) { w.MatchRate = 0.98 }, "match_rate", 0.98, 0.99},
		{"error rate high", func(w *WindowFigures) { w.ServiceErrorRate = 0.02 }, "error_rate", 0.02, 0.01},
		{"slower than the monolith", func(w *WindowFigures) { w.ServiceP99ms = 16 }, "p99_ratio", 1.6, 1.5},
		{"no monolith baseline", func(w *WindowFigures) { w.LegacyRequests, w.LegacyP99ms = 0, 0 }, "p99_ratio", 0, 1.5},
		{"p99 over max", func(w *WindowFigures) { w.ServiceP99ms, w.LegacyP99ms = 250, 250 }, "p99_max", 250, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := base
			tc.change(&w)
			for _, c := range gates(gateRoute(stage.Canary.String(), true), w) {
				if c.Name != tc.gate {
					if !c.Holds {
						t.Errorf("gate %s fails too: %s", c.Name, c.Detail)
					}
					continue
				}
				if c.Holds || c.Value != tc.value || c.Threshold != tc.thresh || c.Detail == "" {
					t.Errorf("gate %+v, want failing with value %v threshold %v", c, tc.value, tc.thresh)
				}
			}
		})
	}
}

// Triggers act only while the service serves, and only with enough
// samples; a p99 ratio cannot fire without a monolith baseline.
func TestTriggers(t *testing.T) {
	a := &Automator{}
	bad := WindowFigures{Compared: 100, Matched: 50, MatchRate: 0.5, ServiceRequests: 100, ServiceErrors: 50,
		ServiceErrorRate: 0.5, ServiceP99ms: 5000, LegacyRequests: 100, LegacyP99ms: 10}
	if got := a.triggerStatus(gateRoute(stage.Shadow.String(), false), bad); len(got) != 0 {
		t.Errorf("triggers at shadow: %+v", got)
	}
	fired := checkNames(t, "fired", failed(a.triggerStatus(gateRoute(stage.Canary.String(), true), bad)),
		"error_rate", "p99_ratio", "p99_max", "match_rate")
	if c := fired["error_rate"]; c.Value != 0.5 || c.Threshold != 0.05 {
		t.Errorf("error_rate trigger %+v", c)
	}
	few := bad
	few.ServiceRequests, few.Compared, few.LegacyRequests = 19, 19, 19
	if got := failed(a.triggerStatus(gateRoute(stage.Canary.String(), true), few)); len(got) != 0 {
		t.Errorf("triggers fired on 19 samples: %+v", got)
	}
	noBase := bad
	noBase.LegacyRequests, noBase.LegacyP99ms = 0, 0
	checkNames(t, "fired without baseline", failed(a.triggerStatus(gateRoute(stage.Migrated.String(), true), noBase)),
		"error_rate", "p99_max")
	// With no breaker source, breaker_open is listed and holds.
	all := checkNames(t, "status", a.triggerStatus(gateRoute(stage.Canary.String(), false), WindowFigures{}), "breaker_open")
	if !all["breaker_open"].Holds {
		t.Errorf("breaker_open fired without breakers: %+v", all["breaker_open"])
	}
	off := gateRoute(stage.Canary.String(), false)
	off.Automation.Rollback.BreakerOpen = ptrTo(false)
	if got := a.triggerStatus(off, WindowFigures{}); len(got) != 0 {
		t.Errorf("breaker_open listed although disabled: %+v", got)
	}
}
