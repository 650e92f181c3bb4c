package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
)

// Figures gives a route's cumulative counts (metrics.Registry).
type Figures interface {
	Snapshot(route string) metrics.Snapshot
}

// Breakers gives a service's circuit breaker state ("open", ...).
type Breakers interface {
	BreakerState(service string) string
}

// Automator promotes routes one step at a time when every gate of their
// plan has held for the hold time, and rolls them back at once when a
// trigger fires. It evaluates every automated route each interval, from
// the proxy's own figures, and records each decision with its figures.
type Automator struct {
	control  *Controller
	figures  Figures
	breakers Breakers
	log      zerolog.Logger
	now      func() time.Time

	mu     sync.Mutex
	routes map[string]*autoState
}

// autoState is what the automator remembers about one route.
type autoState struct {
	pos       config.Position    // position the history belongs to
	version   uint64             // route version the history belongs to
	history   []metrics.Snapshot // oldest first, within the window
	holdSince time.Time          // when every gate began to hold
	explain   Explain
}

// NewAutomator returns an Automator over c.
func NewAutomator(c *Controller, f Figures, b Breakers, log zerolog.Logger) *Automator {
	return &Automator{control: c, figures: f, breakers: b, log: log, now: time.Now, routes: map[string]*autoState{}}
}

// Run evaluates every interval until ctx is done.
func (a *Automator) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Tick()
		}
	}
}

// Tick evaluates every automated route once.
func (a *Automator) Tick() {
	cfg := a.control.Effective()
	if cfg == nil {
		return
	}
	if reason, bad := a.control.Degraded(); bad {
		a.log.Debug().Str("reason", reason).Msg("automation paused: the shared state backend is unreachable")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[string]bool{}
	for i := range cfg.Routes {
		r := cfg.Routes[i]
		seen[r.Name] = true
		if r.Automation.Enabled {
			a.evaluate(&r)
		} else {
			delete(a.routes, r.Name)
		}
	}
	for name := range a.routes {
		if !seen[name] {
			delete(a.routes, name)
		}
	}
}

// Explain returns the last evaluation of an automated route.
func (a *Automator) Explain(route string) (Explain, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.routes[route]
	if !ok {
		return Explain{}, false
	}
	return st.explain, true
}

// evaluate runs one route's triggers and gates. Called with a.mu held.
func (a *Automator) evaluate(r *config.Route) {
	now := a.now()
	st := a.state(r)
	st.history = append(st.history, a.figures.Snapshot(r.Name))
	st.history = trim(st.history, now.Add(-r.Automation.Window))
	w := window(st.history)
	ex := Explain{Enabled: true, Step: r.Position(), EvaluatedAt: now, Window: w}
	defer func() { st.explain = ex }()
	if p, paused := a.control.paused(r.Name); paused {
		ex.Paused, ex.PausedReason = true, p.Reason
		ex.Waiting = "automation is paused for this route"
		st.holdSince = time.Time{}
		return
	}
	if next, ok := r.Next(); ok {
		ex.Next = &next
	}
	status := a.triggerStatus(r, w)
	if fired := failed(status); len(fired) > 0 {
		ex.Triggers = fired
		a.rollback(r, st, fired, w)
		ex.Waiting = "rolled back: " + summary(fired)
		return
	}
	ex.Triggers = status
	switch {
	case r.Stage == config.StageLegacy:
		ex.Waiting = "automation starts at shadow: move the route to shadow to begin"
		return
	case ex.Next == nil:
		ex.Waiting = "at the last step of the plan"
		return
	}
	ex.Gates = gates(r, w)
	a.promoteIfHeld(r, st, &ex, now)
}

// state returns the route's state, starting afresh when its position
// changed (by a person, the file, or the automator itself), or when the
// route was changed at all since: a person who moved it away and back
// between two ticks restarts the hold too.
func (a *Automator) state(r *config.Route) *autoState {
	v := a.control.version(r.Name)
	st, ok := a.routes[r.Name]
	if !ok || st.pos != r.Position() || st.version != v {
		st = &autoState{pos: r.Position(), version: v}
		a.routes[r.Name] = st
	}
	return st
}

// promoteIfHeld promotes once every gate has held for the hold time.
func (a *Automator) promoteIfHeld(r *config.Route, st *autoState, ex *Explain, now time.Time) {
	if failing := failed(ex.Gates); len(failing) > 0 {
		st.holdSince = time.Time{}
		ex.Waiting = "waiting: " + summary(failing)
		return
	}
	if st.holdSince.IsZero() {
		st.holdSince = now
	}
	held := now.Sub(st.holdSince)
	since := st.holdSince
	ex.HoldingSince = &since
	if held < r.Automation.Hold {
		ex.NextPromotionIn = (r.Automation.Hold - held).Round(time.Second).String()
		ex.Waiting = fmt.Sprintf("every gate holds; promoting to %s in %s", ex.Next, ex.NextPromotionIn)
		return
	}
	// IfVersion: if a person (or the file) moved the route since this
	// evaluation began, the decision is stale and is not applied.
	version := st.version
	ch := Change{Route: r.Name, Source: SourceAutomation, Figures: figuresOf(ex.Window), IfVersion: &version,
		Reason: fmt.Sprintf("every gate held for %s: %s", r.Automation.Hold, summary(ex.Gates))}
	if _, err := a.control.Promote(ch); err != nil {
		if errors.Is(err, ErrConflict) {
			ex.Waiting = "the route changed during evaluation; re-evaluating at the next tick"
			return
		}
		ex.Waiting = "promotion failed: " + err.Error()
		a.log.Error().Str("route", r.Name).Err(err).Msg("automatic promotion failed")
		return
	}
	ex.Waiting = "promoted to " + ex.Next.String()
}

// rollback sends the route back at once.
func (a *Automator) rollback(r *config.Route, st *autoState, fired []Check, w WindowFigures) {
	version := st.version
	ch := Change{Route: r.Name, Source: SourceAutomation, Figures: figuresOf(w), IfVersion: &version,
		Reason: "rollback trigger fired: " + summary(fired)}
	if _, err := a.control.Rollback(ch); err != nil && !errors.Is(err, ErrConflict) {
		a.log.Error().Str("route", r.Name).Err(err).Msg("automatic rollback failed")
	}
	st.holdSince = time.Time{}
}

// trim drops snapshots older than since, keeping one at or before it as
// the window's base.
func trim(h []metrics.Snapshot, since time.Time) []metrics.Snapshot {
	i := 0
	for i+1 < len(h) && !h[i+1].At.After(since) {
		i++
	}
	return h[i:]
}

// failed returns the checks that do not hold.
func failed(cs []Check) []Check {
	var out []Check
	for _, c := range cs {
		if !c.Holds {
			out = append(out, c)
		}
	}
	return out
}

func summary(cs []Check) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, c.Detail)
	}
	return strings.Join(parts, "; ")
}

// version returns the route's version (bumped by every recorded change).
func (c *Controller) version(route string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.Versions[route]
}

// paused reports whether automation is paused for route.
func (c *Controller) paused(route string) (Pause, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.state.Paused[route]
	return p, ok
}

// SetPaused pauses or resumes automation for a route (persisted).
func (c *Controller) SetPaused(ch Change, paused bool) (RouteView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.checkChange(ch)
	if err != nil {
		return RouteView{}, err
	}
	if _, now := c.state.Paused[ch.Route]; now == paused {
		return c.view(ch.Route), nil
	}
	next := cloneState(c.state)
	action := "resume"
	if paused {
		action = "pause"
		next.Paused[ch.Route] = Pause{At: time.Now().UTC(), Reason: ch.Reason}
	} else {
		delete(next.Paused, ch.Route)
	}
	eff := c.effective.Load()
	pos := findRoute(eff, r.Name).Position()
	ev := Event{Route: ch.Route, Action: action, From: pos, To: pos, Source: sourceOr(ch.Source), Reason: ch.Reason}
	if err := c.commit(c.file, eff, next, []Event{ev}); err != nil {
		return RouteView{}, err
	}
	return c.view(ch.Route), nil
}
