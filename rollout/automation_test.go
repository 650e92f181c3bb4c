package rollout_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// hold is the automation hold time of the tests; the automator's clock is
// stepped, so no test waits for it.
const hold = time.Minute

// autoRig is an Automator over a real Controller, a real proxy and real
// backends, reading its figures from a real metrics registry that the
// tests feed with the traffic they simulate between ticks.
type autoRig struct {
	*env
	t      *testing.T
	reg    *metrics.Registry
	auto   *rollout.Automator
	clock  time.Time
	status atomic.Int64 // the orders service's status; 0 is 200
}

// automated gives the route gated automation with the plan shadow →
// canary 25 → canary 50 → migrated, comparisons flowing at canary too.
func automated(r *config.Route) {
	r.Plan = []string{"shadow", "canary 25", "canary 50", "migrated"}
	r.Shadow.Canary = true
	r.Automation = config.Automation{Enabled: true, Hold: hold, Window: time.Hour,
		Gates: config.Gates{MinCompared: 50, MinRequests: 50, MatchRate: 0.99, ErrorRate: ptr(0.01),
			P99Max: 500 * time.Millisecond},
		Rollback: config.Triggers{MatchRate: 0.9, ErrorRate: 0.05, P99Max: time.Second, MinSamples: 20}}
}

func newAutoRig(t *testing.T, opts ...routeOpt) *autoRig {
	t.Helper()
	r := &autoRig{t: t, reg: metrics.New(), clock: time.Now()}
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("X-Side", orders)
		if st := int(r.status.Load()); st != 0 {
			w.WriteHeader(st)
		}
		_, _ = io.WriteString(w, orders)
	}))
	t.Cleanup(orders.Close)
	b := backends{monolith: newBackend(t, monolith), orders: orders}
	opts = append([]routeOpt{withStage(shadow), automated}, opts...)
	r.env = newEnv(t, b, fileConfig(t, b, defaultRoutes(opts...)...))
	r.auto = rollout.NewAutomator(r.ctl, r.reg, r.proxy, zerolog.Nop())
	r.auto.SetClockForTest(func() time.Time { return r.clock })
	return r
}

// compare records n comparisons of the route with verdict.
func (r *autoRig) compare(n int, verdict string) {
	for range n {
		r.reg.Compared("orders", verdict)
	}
}

// serve records n requests answered by the service with status in d,
// and n by the monolith.
func (r *autoRig) serve(n, status int, d time.Duration) {
	m := r.reg.Route("orders")
	for range n {
		m.Observe("canary", metrics.SideService, status, d)
		m.Observe("canary", metrics.SideLegacy, 200, 5*time.Millisecond)
	}
}

// healthy is 100 equal comparisons and 100 good, fast service answers.
func (r *autoRig) healthy() {
	r.compare(100, "equal")
	r.serve(100, 200, 5*time.Millisecond)
}

// tick steps the clock by d, evaluates and returns the route's Explain.
func (r *autoRig) tick(d time.Duration) rollout.Explain {
	r.t.Helper()
	r.clock = r.clock.Add(d)
	r.auto.Tick()
	ex, ok := r.auto.Explain("orders")
	if !ok {
		r.t.Fatal("no Explain for the automated route")
	}
	return ex
}

// at checks the route's position.
func (r *autoRig) at(want stage.Position) {
	r.t.Helper()
	if got := r.view("orders").Position; got != want {
		r.t.Fatalf("orders at %s, want %s", got, want)
	}
}

// events returns the number of audit events of the route.
func (r *autoRig) events() int { return len(r.ctl.Audit().List("orders", 0)) }

// promoteOnce walks one step: a first tick starts the window of the new
// position, healthy traffic follows, the next tick starts the hold and a
// tick one hold later promotes.
func (r *autoRig) promoteOnce(from, to stage.Position) rollout.Event {
	r.t.Helper()
	r.at(from)
	if ex := r.tick(time.Second); ex.HoldingSince != nil {
		r.t.Fatalf("holding at the first tick of %s: %+v", from, ex)
	}
	r.healthy()
	ex := r.tick(time.Second)
	if ex.HoldingSince == nil || !ex.HoldingSince.Equal(r.clock) || ex.NextPromotionIn != hold.String() {
		r.t.Fatalf("at %s with healthy figures: holding since %v, next promotion in %q; waiting %q",
			from, ex.HoldingSince, ex.NextPromotionIn, ex.Waiting)
	}
	n := r.events()
	r.tick(hold)
	r.at(to)
	if r.events() != n+1 {
		r.t.Fatalf("%d new events for one promotion", r.events()-n)
	}
	return r.lastEvent("orders")
}

// (a) A healthy service walks the whole plan by itself, each promotion
// recorded with its figures.
func TestAutomationWalksPlan(t *testing.T) {
	r := newAutoRig(t)
	steps := []stage.Position{shadow, canary(25), canary(50), migrated}
	for i := 0; i+1 < len(steps); i++ {
		from, to := steps[i], steps[i+1]
		ev := r.promoteOnce(from, to)
		if ev.Action != "promote" || ev.Source != rollout.SourceAutomation || ev.From != from || ev.To != to {
			t.Fatalf("event %+v, want an automatic promotion %s → %s", ev, from, to)
		}
		if !strings.Contains(ev.Reason, "every gate held for "+hold.String()) {
			t.Errorf("reason %q", ev.Reason)
		}
		f := ev.Figures
		for _, k := range []string{"service_requests", "match_rate", "compared", "service_error_rate", "service_p99_ms"} {
			if _, ok := f[k]; !ok {
				t.Errorf("%s → %s: figures lack %s: %v", from, to, k, f)
			}
		}
		if f["compared"] != 100 || f["match_rate"] != 1 || f["service_requests"] != 100 || f["service_error_rate"] != 0 {
			t.Errorf("%s → %s: figures %v", from, to, f)
		}
		r.checkServed("orders", "/orders", to)
	}
	ex := r.tick(time.Second)
	if ex.Next != nil || !strings.Contains(ex.Waiting, "last step") {
		t.Fatalf("at migrated: next %v, waiting %q", ex.Next, ex.Waiting)
	}
	n := r.events()
	r.healthy()
	r.tick(10 * hold)
	r.at(migrated)
	if r.events() != n {
		t.Fatal("automation acted at the last step of the plan")
	}
	// The decisions are persisted with their figures.
	again, err := rollout.FileStore{Path: r.store.Path}.Load()
	if err != nil {
		t.Fatal(err)
	}
	auto := 0
	for _, e := range again.Events {
		if e.Source == rollout.SourceAutomation && e.Figures["compared"] == 100 {
			auto++
		}
	}
	if auto != 3 {
		t.Fatalf("state file holds %d automatic promotions with figures, want 3", auto)
	}
}

// (b) Mid-canary, a service that starts to disagree, fail or slow down is
// rolled back at the very next tick, with the figures that fired.
func TestAutomationRollsBackAtNextTick(t *testing.T) {
	tests := []struct {
		name    string
		bad     func(r *autoRig)
		trigger string
		figure  string
		value   float64
	}{
		{"different bodies", func(r *autoRig) { r.compare(100, "different") }, "match_rate", "match_rate", 0.5},
		{"5xx", func(r *autoRig) { r.serve(100, 500, 5*time.Millisecond) }, "error_rate", "service_error_rate", 0.5},
		{"slow", func(r *autoRig) { r.serve(300, 200, 4*time.Second) }, "p99_max", "service_requests", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newAutoRig(t)
			r.promoteOnce(shadow, canary(25))
			r.tick(time.Second)
			r.healthy()
			if ex := r.tick(time.Second); ex.HoldingSince == nil {
				t.Fatalf("not holding before the trouble: %q", ex.Waiting)
			}
			tc.bad(r)
			ex := r.tick(time.Second)
			r.at(shadow)
			ev := r.lastEvent("orders")
			if ev.Action != "rollback" || ev.Source != rollout.SourceAutomation || ev.From != canary(25) || ev.To != shadow {
				t.Fatalf("event %+v, want an automatic rollback canary 25 → shadow", ev)
			}
			if !strings.Contains(ev.Reason, tc.trigger) || ev.Figures[tc.figure] != tc.value {
				t.Fatalf("rollback reason %q figures %v, want %s and %s = %v", ev.Reason, ev.Figures, tc.trigger, tc.figure, tc.value)
			}
			fired := false
			for _, c := range ex.Triggers {
				if c.Name == tc.trigger && !c.Holds {
					fired = true
				}
			}
			if !fired || !strings.HasPrefix(ex.Waiting, "rolled back") {
				t.Fatalf("Explain triggers %+v waiting %q", ex.Triggers, ex.Waiting)
			}
			r.checkServed("orders", "/orders", shadow)
		})
	}
}

// (c) Too few samples: no promotion, however long, and Explain says which
// minimum is not reached.
func TestAutomationWaitsForSamples(t *testing.T) {
	t.Run("comparisons at shadow", func(t *testing.T) {
		r := newAutoRig(t)
		r.tick(time.Second)
		r.compare(10, "equal")
		n := r.events()
		for range 3 {
			ex := r.tick(10 * hold)
			if ex.HoldingSince != nil || !strings.Contains(ex.Waiting, "min_compared: 10 comparisons in the window, 50 needed") {
				t.Fatalf("waiting %q", ex.Waiting)
			}
		}
		r.at(shadow)
		if r.events() != n {
			t.Fatal("a decision was made on 10 comparisons")
		}
	})
	t.Run("service requests at canary", func(t *testing.T) {
		r := newAutoRig(t)
		r.promoteOnce(shadow, canary(25))
		r.tick(time.Second)
		r.compare(100, "equal")
		r.serve(10, 200, 5*time.Millisecond)
		n := r.events()
		for range 3 {
			ex := r.tick(10 * hold)
			if !strings.Contains(ex.Waiting, "min_requests: 10 service requests in the window, 50 needed") ||
				strings.Contains(ex.Waiting, "min_compared") {
				t.Fatalf("waiting %q", ex.Waiting)
			}
		}
		r.at(canary(25))
		if r.events() != n {
			t.Fatal("a decision was made on 10 service requests")
		}
	})
}

// (d) While paused, automation decides nothing: no promotion, no
// rollback. Resumed, it continues, holding afresh.
func TestAutomationPaused(t *testing.T) {
	r := newAutoRig(t)
	r.promoteOnce(shadow, canary(25))
	r.tick(time.Second)
	r.healthy()
	r.tick(time.Second)
	table := r.proxy.Router().Table()
	if _, err := r.ctl.SetPaused(rollout.Change{Route: "orders", Reason: "investigating"}, true); err != nil {
		t.Fatal(err)
	}
	if r.proxy.Router().Table() != table {
		t.Error("pausing rebuilt the route table; nothing it serves changed")
	}
	if ev := r.lastEvent("orders"); ev.Action != "pause" || ev.Source != rollout.SourceAdmin {
		t.Fatalf("pause event %+v", ev)
	}
	n := r.events()
	ex := r.tick(10 * hold)
	if !ex.Paused || ex.PausedReason != "investigating" || !strings.Contains(ex.Waiting, "paused") {
		t.Fatalf("paused Explain %+v", ex)
	}
	r.serve(100, 500, 5*time.Millisecond) // would fire the error-rate trigger
	r.tick(time.Second)
	r.at(canary(25))
	if r.events() != n {
		t.Fatalf("automation acted while paused: %+v", r.lastEvent("orders"))
	}

	if _, err := r.ctl.SetPaused(rollout.Change{Route: "orders"}, false); err != nil {
		t.Fatal(err)
	}
	// Resumed, the automator starts afresh: the figures and the hold
	// from before the resume do not count.
	ex = r.tick(time.Second)
	if ex.Paused || ex.HoldingSince != nil || ex.Window.ServiceRequests != 0 {
		t.Fatalf("first tick after resume: paused %v holding since %v window %+v", ex.Paused, ex.HoldingSince, ex.Window)
	}
	r.at(canary(25))
	r.healthy()
	ex = r.tick(time.Second)
	if ex.Paused || ex.HoldingSince == nil || !ex.HoldingSince.Equal(r.clock) {
		t.Fatalf("after resume: paused %v holding since %v, waiting %q", ex.Paused, ex.HoldingSince, ex.Waiting)
	}
	r.tick(hold)
	r.at(canary(50))
	if ev := r.lastEvent("orders"); ev.Action != "promote" || ev.Source != rollout.SourceAutomation {
		t.Fatalf("after resume: %+v", ev)
	}
}

// (e) An open circuit breaker of the service (the proxy's own, tripped by
// real failures) rolls the route back at once.
func TestAutomationRollsBackOnOpenBreaker(t *testing.T) {
	r := newAutoRig(t)
	r.promoteOnce(shadow, canary(25))
	r.tick(time.Second)
	r.healthy()
	ex := r.tick(time.Second)
	if len(ex.Triggers) == 0 || ex.Triggers[0].Name != "breaker_open" || !ex.Triggers[0].Holds {
		t.Fatalf("triggers %+v, want breaker_open first and holding", ex.Triggers)
	}
	// The service fails; users in the canary trip its breaker.
	r.status.Store(http.StatusServiceUnavailable)
	in, _ := users("orders", 25)
	for i := 0; i < 50 && r.proxy.BreakerState(orders) != "open"; i++ {
		req := httptest.NewRequest(http.MethodGet, "/orders/1", nil)
		req.Header.Set(stickyHeader, in)
		rec := httptest.NewRecorder()
		r.proxy.Handler().ServeHTTP(rec, req)
	}
	if s := r.proxy.BreakerState(orders); s != "open" {
		t.Fatalf("breaker %q after the service failed", s)
	}
	ex = r.tick(time.Second)
	r.at(shadow)
	ev := r.lastEvent("orders")
	if ev.Action != "rollback" || ev.Source != rollout.SourceAutomation || !strings.Contains(ev.Reason, "breaker of orders is open") {
		t.Fatalf("event %+v", ev)
	}
	if ev.Figures == nil {
		t.Fatal("rollback recorded without figures")
	}
	if len(ex.Triggers) == 0 || ex.Triggers[0].Name != "breaker_open" || ex.Triggers[0].Holds || ex.Triggers[0].Value != 1 {
		t.Fatalf("Explain triggers %+v", ex.Triggers)
	}
}

// (f) Explain lists every gate with its value, threshold and verdict, and
// counts down to the next promotion while the gates hold.
func TestAutomationExplain(t *testing.T) {
	r := newAutoRig(t)
	if _, ok := r.auto.Explain("payments"); ok {
		t.Fatal("Explain of a route without automation")
	}
	r.promoteOnce(shadow, canary(25))
	r.tick(time.Second)
	r.healthy()
	ex := r.tick(time.Second)
	start := r.clock
	if !ex.Enabled || ex.Step != canary(25) || ex.Next == nil || *ex.Next != canary(50) || !ex.EvaluatedAt.Equal(start) {
		t.Fatalf("Explain %+v", ex)
	}
	want := []struct {
		name             string
		value, threshold float64
	}{
		{"min_compared", 100, 50}, {"match_rate", 1, 0.99}, {"min_requests", 100, 50},
		{"error_rate", 0, 0.01}, {"p99_max", -1, 500},
	}
	if len(ex.Gates) != len(want) {
		t.Fatalf("gates %+v", ex.Gates)
	}
	for i, w := range want {
		g := ex.Gates[i]
		if g.Name != w.name || g.Threshold != w.threshold || !g.Holds || g.Detail == "" || (w.value >= 0 && g.Value != w.value) {
			t.Errorf("gate %d = %+v, want %s %v/%v holding", i, g, w.name, w.value, w.threshold)
		}
	}
	if ex.Window.Compared != 100 || ex.Window.ServiceRequests != 100 || ex.Window.MatchRate != 1 {
		t.Errorf("window %+v", ex.Window)
	}
	if ex.NextPromotionIn != "1m0s" || !strings.Contains(ex.Waiting, "promoting to canary 50 in 1m0s") {
		t.Errorf("next promotion in %q, waiting %q", ex.NextPromotionIn, ex.Waiting)
	}
	ex = r.tick(20 * time.Second)
	if ex.NextPromotionIn != "40s" || ex.HoldingSince == nil || !ex.HoldingSince.Equal(start) {
		t.Errorf("20s later: next promotion in %q, holding since %v (want %v)", ex.NextPromotionIn, ex.HoldingSince, start)
	}

	// A gate that stops holding shows, and the countdown stops.
	r.compare(3, "different") // 100/103 ≈ 97%: under the gate, above the trigger
	ex = r.tick(time.Second)
	if ex.HoldingSince != nil || ex.NextPromotionIn != "" || !strings.HasPrefix(ex.Waiting, "waiting: match_rate") {
		t.Fatalf("with a failing gate: holding %v, next %q, waiting %q", ex.HoldingSince, ex.NextPromotionIn, ex.Waiting)
	}
	for _, g := range ex.Gates {
		if (g.Name == "match_rate") == g.Holds {
			t.Errorf("gate %+v", g)
		}
	}
	r.at(canary(25))
}

// (g) A person's stage change restarts the hold: figures and hold time
// from before it do not count.
func TestAutomationHumanChangeResetsHold(t *testing.T) {
	t.Run("to another step", func(t *testing.T) {
		r := newAutoRig(t)
		r.promoteOnce(shadow, canary(25))
		r.tick(time.Second)
		r.healthy()
		r.tick(time.Second) // holding
		r.clock = r.clock.Add(hold / 2)
		if _, err := r.ctl.SetStage(rollout.Change{Route: "orders", Reason: "by hand"}, canary(50)); err != nil {
			t.Fatal(err)
		}
		ex := r.tick(time.Second)
		if ex.HoldingSince != nil || ex.Window.Compared != 0 {
			t.Fatalf("after the change: holding since %v, window %+v", ex.HoldingSince, ex.Window)
		}
		r.healthy()
		r.tick(time.Second) // holding afresh
		ex = r.tick(hold - 2*time.Second)
		r.at(canary(50))
		if ex.NextPromotionIn == "" {
			t.Fatalf("not counting down: %q", ex.Waiting)
		}
		r.tick(2 * time.Second)
		r.at(migrated)
	})
	t.Run("away and back between two ticks", func(t *testing.T) {
		r := newAutoRig(t)
		r.promoteOnce(shadow, canary(25))
		r.tick(time.Second)
		r.healthy()
		r.tick(time.Second)                // holding
		ex := r.tick(hold - 2*time.Second) // 2s to go
		if ex.NextPromotionIn != "2s" {
			t.Fatalf("next promotion in %q", ex.NextPromotionIn)
		}
		if _, err := r.ctl.Rollback(rollout.Change{Route: "orders", Reason: "look at something"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ctl.Promote(rollout.Change{Route: "orders", Reason: "looked"}); err != nil {
			t.Fatal(err)
		}
		r.at(canary(25))
		n := r.events()
		ex = r.tick(5 * time.Second)
		r.at(canary(25))
		if r.events() != n {
			t.Fatalf("promoted right after a person's change, on the hold from before it: %+v", r.lastEvent("orders"))
		}
		if ex.HoldingSince != nil && ex.HoldingSince.Before(r.clock) {
			t.Fatalf("holding since %v, before the person's change", ex.HoldingSince)
		}
	})
}
