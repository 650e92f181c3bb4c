package rollout

import (
	"fmt"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/stage"
)

// Explain says where an automated route stands and why it waits.
type Explain struct {
	Enabled      bool            `json:"enabled"`
	Paused       bool            `json:"paused"`
	PausedReason string          `json:"paused_reason,omitempty"`
	Step         stage.Position  `json:"step"`
	Next         *stage.Position `json:"next"`
	// Gates must all hold for the hold time before the next promotion.
	Gates []Check `json:"gates"`
	// Triggers roll the route back when one fires (Holds false).
	Triggers        []Check       `json:"triggers"`
	HoldingSince    *time.Time    `json:"holding_since,omitempty"`
	NextPromotionIn string        `json:"next_promotion_in,omitempty"`
	Waiting         string        `json:"waiting"`
	EvaluatedAt     time.Time     `json:"evaluated_at"`
	Window          WindowFigures `json:"window"`
	// Leader, with the etcd backend, names the replica that leads
	// automation; only it evaluates and decides.
	Leader string `json:"leader,omitempty"`
}

// Check is one gate or trigger with its current value.
type Check struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Holds: for a gate, it is met; for a trigger, it has not fired.
	Holds  bool   `json:"holds"`
	Detail string `json:"detail"`
}

// WindowFigures are a route's figures over the automation window.
type WindowFigures struct {
	Seconds          float64 `json:"seconds"`
	ServiceRequests  uint64  `json:"service_requests"`
	ServiceErrors    uint64  `json:"service_errors"`
	ServiceErrorRate float64 `json:"service_error_rate"`
	ServiceP99ms     float64 `json:"service_p99_ms"`
	LegacyRequests   uint64  `json:"legacy_requests"`
	LegacyP99ms      float64 `json:"legacy_p99_ms"`
	Compared         uint64  `json:"compared"`
	Matched          uint64  `json:"matched"`
	MatchRate        float64 `json:"match_rate"`
	Fallbacks        uint64  `json:"fallbacks"`
}

// window turns a snapshot history into the figures between its ends.
func window(h []metrics.Snapshot) WindowFigures {
	if len(h) < 2 {
		return WindowFigures{}
	}
	last := h[len(h)-1]
	d := last.Sub(h[0])
	w := WindowFigures{
		Seconds:         last.At.Sub(h[0].At).Seconds(),
		ServiceRequests: d.Service.Requests, ServiceErrors: d.Service.Errors,
		ServiceErrorRate: d.Service.ErrorRate(),
		ServiceP99ms:     ms(d.Service.Quantile(0.99)),
		LegacyRequests:   d.Legacy.Requests, LegacyP99ms: ms(d.Legacy.Quantile(0.99)),
		Compared: d.Compared, Matched: d.Matched, Fallbacks: d.Fallbacks,
	}
	if d.Compared > 0 {
		w.MatchRate = float64(d.Matched) / float64(d.Compared)
	}
	return w
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// figuresOf flattens window figures for the audit trail.
func figuresOf(w WindowFigures) map[string]float64 {
	return map[string]float64{
		"window_seconds": w.Seconds, "service_requests": float64(w.ServiceRequests),
		"service_error_rate": w.ServiceErrorRate, "service_p99_ms": w.ServiceP99ms,
		"legacy_requests": float64(w.LegacyRequests), "legacy_p99_ms": w.LegacyP99ms,
		"compared": float64(w.Compared), "match_rate": w.MatchRate, "fallbacks": float64(w.Fallbacks),
	}
}

// serves reports whether users are served by the service at r's stage.
func serves(r *config.Route) bool {
	return r.Stage == stage.Canary.String() || r.Stage == stage.Migrated.String()
}

// mirrored reports whether r's comparisons flow at its stage.
func mirrored(r *config.Route) bool {
	switch r.Stage {
	case stage.Shadow.String():
		return true
	case stage.Canary.String():
		return r.Shadow.Canary
	case stage.Migrated.String():
		return r.Shadow.Migrated
	}
	return false
}

// gates evaluates the promotion gates of r's current stage.
func gates(r *config.Route, w WindowFigures) []Check {
	g := r.Automation.Gates
	var out []Check
	if mirrored(r) {
		out = append(out, atLeast("min_compared", float64(w.Compared), float64(g.MinCompared), "comparisons"))
		if g.MatchRate > 0 {
			out = append(out, rateAtLeast("match_rate", w.MatchRate, g.MatchRate, w.Compared))
		}
	}
	if !serves(r) {
		return out
	}
	out = append(out, atLeast("min_requests", float64(w.ServiceRequests), float64(g.MinRequests), "service requests"))
	if g.ErrorRate != nil {
		out = append(out, rateAtMost("error_rate", w.ServiceErrorRate, *g.ErrorRate, w.ServiceRequests))
	}
	if g.P99Ratio > 0 {
		out = append(out, p99Ratio("p99_ratio", w, g.P99Ratio, true))
	}
	if g.P99Max > 0 {
		out = append(out, atMost("p99_max", w.ServiceP99ms, ms(g.P99Max), "service p99 ms", w.ServiceRequests))
	}
	return out
}

// triggerStatus evaluates r's rollback triggers; a trigger that fired has
// Holds false. Triggers act only while the service serves users.
func (a *Automator) triggerStatus(r *config.Route, w WindowFigures) []Check {
	if !serves(r) {
		return nil
	}
	t := r.Automation.Rollback
	var out []Check
	if t.BreakerOpen == nil || *t.BreakerOpen {
		open := a.breakers != nil && a.breakers.BreakerState(r.Service) == "open"
		c := Check{Name: "breaker_open", Holds: !open, Detail: "breaker of " + r.Service + " is closed"}
		if open {
			c.Value, c.Detail = 1, "breaker of "+r.Service+" is open"
		}
		out = append(out, c)
	}
	enough := func(n uint64) bool { return n >= t.MinSamples }
	if t.ErrorRate > 0 && enough(w.ServiceRequests) {
		out = append(out, rateAtMost("error_rate", w.ServiceErrorRate, t.ErrorRate, w.ServiceRequests))
	}
	if t.P99Ratio > 0 && enough(w.ServiceRequests) && enough(w.LegacyRequests) {
		out = append(out, p99Ratio("p99_ratio", w, t.P99Ratio, false))
	}
	if t.P99Max > 0 && enough(w.ServiceRequests) {
		out = append(out, atMost("p99_max", w.ServiceP99ms, ms(t.P99Max), "service p99 ms", w.ServiceRequests))
	}
	if t.MatchRate > 0 && mirrored(r) && enough(w.Compared) {
		out = append(out, rateAtLeast("match_rate", w.MatchRate, t.MatchRate, w.Compared))
	}
	return out
}

func atLeast(name string, v, min float64, what string) Check {
	return Check{Name: name, Value: v, Threshold: min, Holds: v >= min,
		Detail: fmt.Sprintf("%s: %.0f %s in the window, %.0f needed", name, v, what, min)}
}

func atMost(name string, v, max float64, what string, n uint64) Check {
	return Check{Name: name, Value: v, Threshold: max, Holds: n > 0 && v <= max,
		Detail: fmt.Sprintf("%s: %s %.2f, at most %.2f", name, what, v, max)}
}

func rateAtLeast(name string, v, min float64, n uint64) Check {
	return Check{Name: name, Value: v, Threshold: min, Holds: n > 0 && v >= min,
		Detail: fmt.Sprintf("%s: %.2f%% over %d, at least %.2f%%", name, 100*v, n, 100*min)}
}

func rateAtMost(name string, v, max float64, n uint64) Check {
	return Check{Name: name, Value: v, Threshold: max, Holds: v <= max,
		Detail: fmt.Sprintf("%s: %.2f%% over %d, at most %.2f%%", name, 100*v, n, 100*max)}
}

// p99Ratio compares the service's p99 with ratio × the monolith's.
func p99Ratio(name string, w WindowFigures, ratio float64, gate bool) Check {
	c := Check{Name: name, Threshold: ratio}
	if w.LegacyRequests == 0 || w.LegacyP99ms == 0 {
		c.Holds = !gate // a trigger cannot fire without a baseline; a gate cannot hold
		c.Detail = name + ": no monolith traffic in the window to compare latency with"
		return c
	}
	c.Value = w.ServiceP99ms / w.LegacyP99ms
	c.Holds = c.Value <= ratio
	c.Detail = fmt.Sprintf("%s: service p99 %.2f ms is %.2f× the monolith's %.2f ms, at most %.2f×",
		name, w.ServiceP99ms, c.Value, w.LegacyP99ms, ratio)
	return c
}
