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
	"github.com/stranglerfig/strangler/stage"
)

// Figures gives a route's cumulative counts (metrics.Registry).
type Figures interface {
	Snapshot(route string) metrics.Snapshot
}

// Breakers gives a service's circuit breaker state ("open", ...).
type Breakers interface {
	BreakerState(service string) string
}

// Leadership tells the automator, on a shared backend, whether this
// replica leads automation (etcdstate.Elector).
type Leadership interface {
	// Fence returns the current term while this replica leads.
	Fence() (Fence, bool)
	// Leader names the replica that leads ("" if none is known) and
	// whether it is this one.
	Leader() (name string, self bool)
}

// ActionLeader is the audit action of a replica taking over automation.
const ActionLeader = "leader"

// Automator promotes routes one step at a time when every gate of their
// plan has held for the hold time, and rolls them back at once when a
// trigger fires. It evaluates every automated route each interval, from
// the proxy's own figures, and records each decision with its figures.
//
// With a Leadership (the etcd backend) only the leader evaluates and
// decides, each decision fenced by its term; the other replicas stay
// idle and say who leads in their Explain.
type Automator struct {
	control  *Controller
	figures  Figures
	breakers Breakers
	log      zerolog.Logger
	now      func() time.Time

	mu         sync.Mutex
	routes     map[string]*autoState
	leadership Leadership
	term       Fence // the term announced in the audit trail
	lost       int64 // a term whose decision was refused: idle until a new one
}

// autoState is what the automator remembers about one route.
type autoState struct {
	pos       stage.Position     // position the history belongs to
	version   uint64             // route version the history belongs to
	history   []metrics.Snapshot // oldest first, within the window
	holdSince time.Time          // when every gate began to hold
	explain   Explain
}

// NewAutomator returns an Automator over c.
func NewAutomator(c *Controller, f Figures, b Breakers, log zerolog.Logger) *Automator {
	return &Automator{control: c, figures: f, breakers: b, log: log, now: time.Now, routes: map[string]*autoState{}}
}

// SetLeadership makes the automator decide only while l says this
// replica leads. Without one (the file backend) it always decides.
func (a *Automator) SetLeadership(l Leadership) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.leadership = l
}

// Leader names the replica that leads automation and whether it is this
// one. Without a Leadership (the file backend) there is no election and
// this replica decides: ("", true).
func (a *Automator) Leader() (name string, self bool) {
	a.mu.Lock()
	l := a.leadership
	a.mu.Unlock()
	if l == nil {
		return "", true
	}
	return l.Leader()
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
	fence, lead := a.lead()
	if !lead {
		a.idle(cfg)
		return
	}
	seen := map[string]bool{}
	for i := range cfg.Routes {
		r := cfg.Routes[i]
		seen[r.Name] = true
		switch {
		case fence != nil && a.lost == fence.Rev:
			a.idle(cfg) // a decision was refused: the term is over
			return
		case r.Automation.Enabled:
			a.evaluate(&r, fence)
		default:
			delete(a.routes, r.Name)
		}
	}
	for name := range a.routes {
		if !seen[name] {
			delete(a.routes, name)
		}
	}
}

// lead reports whether this replica decides now, and under which fence
// (nil without a Leadership). A new term is recorded in the audit trail
// (fenced) before its first decision, and starts every route afresh: the
// new leader observes its own window and hold. Called with a.mu held.
func (a *Automator) lead() (*Fence, bool) {
	if a.leadership == nil {
		return nil, true
	}
	f, ok := a.leadership.Fence()
	if !ok || f.Rev == a.lost {
		return nil, false
	}
	if f != a.term {
		clear(a.routes)
		if err := a.control.RecordLeader(f); err != nil {
			a.refused(err, f, "", "recording the new automation leader")
			return nil, false
		}
		a.term = f
		a.log.Info().Int64("term", f.Rev).Msg("this replica leads automation: evaluating and deciding")
	}
	return &f, true
}

// idle shows, on a replica that does not lead, who does. Called with
// a.mu held.
func (a *Automator) idle(cfg *config.Config) {
	leader, _ := a.leadership.Leader()
	who := "no replica leads automation yet (election in progress)"
	if leader != "" {
		who = "automation runs on the leader, replica " + leader
	}
	clear(a.routes)
	now := a.now()
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		if r.Automation.Enabled {
			a.routes[r.Name] = &autoState{pos: r.Position(), explain: Explain{Enabled: true, Step: r.Position(),
				EvaluatedAt: now, Leader: leader, Waiting: who + "; this replica is idle"}}
		}
	}
}

// refused logs a failed fenced write; ErrNotLeader ends the term: the
// automator stops deciding until it leads again.
func (a *Automator) refused(err error, f Fence, route, what string) {
	if errors.Is(err, ErrNotLeader) {
		a.lost = f.Rev
		a.log.Error().Str("route", route).Int64("term", f.Rev).Err(err).
			Msg(what + " refused: this replica no longer leads automation; it stops deciding until elected again")
		return
	}
	a.log.Error().Str("route", route).Err(err).Msg(what + " failed")
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
func (a *Automator) evaluate(r *config.Route, fence *Fence) {
	now := a.now()
	st := a.state(r)
	st.history = append(st.history, a.figures.Snapshot(r.Name))
	st.history = trim(st.history, now.Add(-r.Automation.Window))
	w := window(st.history)
	ex := Explain{Enabled: true, Step: r.Position(), EvaluatedAt: now, Window: w}
	if fence != nil {
		ex.Leader, _ = a.leadership.Leader()
	}
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
		ex.Waiting = a.rollback(r, st, fired, w, fence)
		return
	}
	ex.Triggers = status
	switch {
	case r.Stage == stage.Legacy.String():
		ex.Waiting = "automation starts at shadow: move the route to shadow to begin"
		return
	case ex.Next == nil:
		ex.Waiting = "at the last step of the plan"
		return
	}
	ex.Gates = gates(r, w)
	a.promoteIfHeld(r, st, &ex, now, fence)
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
func (a *Automator) promoteIfHeld(r *config.Route, st *autoState, ex *Explain, now time.Time, fence *Fence) {
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
		Reason: fmt.Sprintf("every gate held for %s: %s", r.Automation.Hold, summary(ex.Gates)), Fence: fence}
	if _, err := a.control.Promote(ch); err != nil {
		if errors.Is(err, ErrConflict) {
			ex.Waiting = "the route changed during evaluation; re-evaluating at the next tick"
			return
		}
		ex.Waiting = "promotion failed: " + err.Error()
		a.refused(err, fenceOr(fence), r.Name, "automatic promotion")
		return
	}
	ex.Waiting = "promoted to " + ex.Next.String()
}

// rollback sends the route back at once and says what became of it.
func (a *Automator) rollback(r *config.Route, st *autoState, fired []Check, w WindowFigures, fence *Fence) string {
	version := st.version
	ch := Change{Route: r.Name, Source: SourceAutomation, Figures: figuresOf(w), IfVersion: &version,
		Reason: "rollback trigger fired: " + summary(fired), Fence: fence}
	st.holdSince = time.Time{}
	if _, err := a.control.Rollback(ch); err != nil && !errors.Is(err, ErrConflict) {
		a.refused(err, fenceOr(fence), r.Name, "automatic rollback")
		return "rollback failed: " + err.Error()
	}
	return "rolled back: " + summary(fired)
}

// fenceOr returns *f, or the zero Fence without one.
func fenceOr(f *Fence) Fence {
	if f == nil {
		return Fence{}
	}
	return *f
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

// RecordLeader records in the audit trail (event "leader", naming this
// replica) that this replica took over automation in term f. The write
// is fenced by f, so only the replica holding the term records it. With
// the file backend there is no election and nothing to record.
func (c *Controller) RecordLeader(f Fence) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shared == nil {
		return nil
	}
	ev := Event{Action: ActionLeader, Source: SourceAutomation,
		Reason: fmt.Sprintf("replica %s leads automation (term %d)", c.replica, f.Rev)}
	return c.commitShared(c.file, c.state, []Event{ev}, &f)
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
