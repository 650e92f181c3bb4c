// Package rollout is strangler's control plane for stages. It merges the
// route file with runtime overrides (from the admin API, later from
// automation), persists overrides and the audit trail, and applies the
// effective config to the data plane.
//
// Precedence is "newest decision wins": an override holds until the file
// changes that route's stage or percent after the override was made, or
// until the override is reset.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/stage"
)

// Errors a change can fail with. Validation problems come as *FieldError.
var (
	ErrUnknownRoute = errors.New("unknown route")
	ErrConflict     = errors.New("route changed since the version given")
	ErrNoStep       = errors.New("no step in that direction")
	ErrNoOverride   = errors.New("route has no override")
	ErrNotLoaded    = errors.New("no config loaded yet")
)

// FieldError is a rejected change, naming the request field at fault.
type FieldError struct {
	Field  string
	Reason string
}

// Error returns "field: reason".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Applier installs an effective config (the data plane's Apply).
type Applier interface {
	Apply(*config.Config) error
}

// Observer hears about each applied change (metrics).
type Observer interface {
	Changed(Event)
}

// Controller owns the effective config. All changes, from the file or the
// admin API, are serialized through it.
type Controller struct {
	store    Store
	applier  Applier
	audit    *Audit
	log      zerolog.Logger
	observer Observer

	mu   sync.Mutex
	file *config.Config // last good file config
	// effective is written under mu, after a successful apply, and read
	// without it by Effective: readers never wait behind a save's fsync.
	effective atomic.Pointer[config.Config]
	state     State

	// With a shared backend (etcd): the revision applied, each route's
	// record revision, this replica's name and the file last applied.
	shared      Shared
	rev         int64
	revs        map[string]int64
	replica     string
	appliedFile *config.Config
}

// Options configures a Controller.
type Options struct {
	Store    Store
	Applier  Applier
	Audit    *Audit
	Log      zerolog.Logger
	Observer Observer // optional
	// Shared, when set, keeps the state in a backend several replicas
	// share (etcd) instead of Store; Store is then only read once, to
	// import a state file into an empty backend.
	Shared Shared
	// Replica names this replica in the events it writes to Shared.
	Replica string
}

// New returns a Controller and loads the persisted state (overrides,
// versions, audit trail) from opts.Store.
func New(opts Options) (*Controller, error) {
	if opts.Audit == nil {
		opts.Audit = NewAudit(DefaultAuditSize)
	}
	if opts.Shared != nil {
		return newShared(opts)
	}
	st, err := opts.Store.Load()
	if err != nil {
		return nil, err
	}
	if st.Overrides == nil {
		st.Overrides = map[string]Override{}
	}
	if st.Versions == nil {
		st.Versions = map[string]uint64{}
	}
	if st.Paused == nil {
		st.Paused = map[string]Pause{}
	}
	opts.Audit.restore(st.Events)
	return &Controller{store: opts.Store, applier: opts.Applier, audit: opts.Audit,
		log: opts.Log, observer: opts.Observer, state: st}, nil
}

// Audit returns the audit trail.
func (c *Controller) Audit() *Audit { return c.audit }

// LoadFile installs a newly loaded file config (at start and on every
// reload): overrides the file has since superseded are dropped, the rest
// are applied on top, and each route whose position changed is recorded.
func (c *Controller) LoadFile(file *config.Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.loadFile(file)
	for i := 0; c.shared != nil && errors.Is(err, ErrConflict) && i < loadFileRetries; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		err = c.syncLocked(ctx, 0)
		cancel()
		if err == nil {
			err = c.loadFile(file)
		}
	}
	return err
}

// loadFile is LoadFile with c.mu held.
func (c *Controller) loadFile(file *config.Config) error {
	next := cloneState(c.state)
	var events []Event
	for name, o := range next.Overrides {
		r := findRoute(file, name)
		switch {
		case r == nil:
			delete(next.Overrides, name)
			c.log.Warn().Str("route", name).Str("field", fmt.Sprintf("overrides[%q]", name)).
				Str("override", o.Position.String()).Msg("override dropped: the route is no longer in the route file")
			events = append(events, Event{Route: name, Action: "override-superseded", From: o.Position,
				Source: SourceFile, Reason: "the route is no longer in the route file"})
		case r.Position() != o.Base:
			delete(next.Overrides, name)
			events = append(events, Event{Route: name, Action: "override-superseded", From: o.Position,
				To: positionOf(r), Source: SourceFile, Reason: "the file changed this route after the override"})
		}
	}
	events = append(events, c.dropInvalidOverrides(file, next.Overrides)...)
	eff, err := effectiveConfig(file, next.Overrides)
	if err != nil {
		return err
	}
	events = append(events, c.fileEvents(eff)...)
	return c.commit(file, eff, next, events)
}

// dropInvalidOverrides removes overrides that the route as the file now
// has it cannot take (a stage that needs a service the route no longer
// names), each with a warning and an audit event. Called with c.mu held.
func (c *Controller) dropInvalidOverrides(file *config.Config, overrides map[string]Override) []Event {
	eff, err := effectiveConfig(file, overrides)
	if err != nil {
		return nil
	}
	problems := routeProblems(eff.Validate())
	var events []Event
	for name, o := range overrides {
		err := problems[routeIndex(eff, name)]
		if err == nil {
			continue
		}
		delete(overrides, name)
		c.log.Warn().Str("route", name).Str("field", fmt.Sprintf("overrides[%q]", name)).
			Str("override", o.Position.String()).Err(err).Msg("override dropped: the route cannot take it")
		events = append(events, Event{Route: name, Action: "override-invalid", From: o.Position,
			To: positionOf(findRoute(file, name)), Source: SourceFile, Reason: "the route cannot take it: " + err.Error()})
	}
	return events
}

// fileEvents lists routes whose effective position the new config moves.
func (c *Controller) fileEvents(eff *config.Config) []Event {
	cur := c.effective.Load()
	if cur == nil {
		return nil
	}
	var events []Event
	for i := range eff.Routes {
		r := &eff.Routes[i]
		if old := findRoute(cur, r.Name); old == nil || old.Position() != r.Position() {
			events = append(events, Event{Route: r.Name, Action: "file", From: positionOf(old),
				To: r.Position(), Source: SourceFile})
		}
	}
	for i := range cur.Routes {
		if old := &cur.Routes[i]; findRoute(eff, old.Name) == nil {
			events = append(events, Event{Route: old.Name, Action: "removed", From: old.Position(), Source: SourceFile})
		}
	}
	return events
}

// commit persists next with events, applies eff (unless it is the config
// already served) and, only if both work, makes them current. Called with
// c.mu held.
func (c *Controller) commit(file, eff *config.Config, next State, events []Event) error {
	return c.commitFenced(nil, file, eff, next, events)
}

// commitFenced is commit holding, with a shared backend, only while fence
// does (an automatic decision of the elected leader). The file backend
// has one replica and no election: it ignores fence.
func (c *Controller) commitFenced(fence *Fence, file, eff *config.Config, next State, events []Event) error {
	if c.shared != nil && len(events) > 0 {
		return c.commitShared(file, next, events, fence)
	}
	for _, e := range events {
		next.Versions[e.Route]++
	}
	// Save only when something changed: a read-only config directory
	// must not stop a proxy that nobody steers.
	changed := len(events) > 0
	if changed {
		c.audit.stamp(events) // persist the IDs and times the trail will show
		next.Events = append(c.audit.all(), events...)
		if over := len(next.Events) - c.audit.max; over > 0 {
			next.Events = next.Events[over:]
		}
		if err := c.store.Save(next); err != nil {
			return fmt.Errorf("persisting rollout state: %w", err)
		}
	}
	if eff != c.effective.Load() { // pause and resume change nothing served: no rebuild
		if err := c.applier.Apply(eff); err != nil {
			c.restoreState(changed)
			return fmt.Errorf("applying routes: %w", err)
		}
	}
	c.file, c.state, c.appliedFile = file, next, file
	c.effective.Store(eff)
	c.state.Events = nil // the audit trail holds them
	for _, e := range events {
		c.audit.add(e) // stamped above
		c.log.Info().Str("route", e.Route).Str("action", e.Action).Str("from", e.From.String()).
			Str("to", e.To.String()).Str("source", e.Source).Str("reason", e.Reason).Msg("stage change")
		if c.observer != nil {
			c.observer.Changed(e)
		}
	}
	return nil
}

// restoreState writes the current state back after a failed apply, when
// commit had saved the next one (changed).
func (c *Controller) restoreState(changed bool) {
	if !changed {
		return
	}
	prev := c.state
	prev.Events = c.audit.all()
	if err := c.store.Save(prev); err != nil {
		c.log.Error().Err(err).Msg("restoring the rollout state file after a failed apply")
	}
}

// Change is a request to move one route.
type Change struct {
	Route     string
	Reason    string
	Source    string  // default SourceAdmin
	IfVersion *uint64 // refuse with ErrConflict unless the route is at this version
	// Figures, for automatic decisions, are recorded in the audit trail.
	Figures map[string]float64
	// Fence, for automatic decisions on a shared backend, is the
	// leadership term the decision was made in: the change is refused
	// with ErrNotLeader once that term is over.
	Fence *Fence
}

// SetStage moves a route to pos.
func (c *Controller) SetStage(ch Change, pos stage.Position) (RouteView, error) {
	return c.change(ch, "stage", func(*config.Route, stage.Position) (stage.Position, error) {
		return pos, nil
	})
}

// Promote moves a route to the next step of its plan.
func (c *Controller) Promote(ch Change) (RouteView, error) {
	return c.change(ch, "promote", func(r *config.Route, cur stage.Position) (stage.Position, error) {
		if next, ok := r.Next(); ok {
			return next, nil
		}
		return cur, fmt.Errorf("%w: %s is at %s, the last step of its plan", ErrNoStep, r.Name, cur)
	})
}

// Rollback sends all of a route's traffic to the monolith at once. From
// canary or migrated it goes to shadow (mirroring continues, so diffs keep
// flowing); from shadow to legacy.
func (c *Controller) Rollback(ch Change) (RouteView, error) {
	return c.change(ch, "rollback", func(r *config.Route, cur stage.Position) (stage.Position, error) {
		switch cur.Stage {
		case stage.Canary.String(), stage.Migrated.String():
			return stage.Position{Stage: stage.Shadow.String()}, nil
		case stage.Shadow.String():
			return stage.Position{Stage: stage.Legacy.String()}, nil
		}
		return cur, fmt.Errorf("%w: %s is already at legacy", ErrNoStep, r.Name)
	})
}

// Reset drops a route's override: the file's position applies again.
func (c *Controller) Reset(ch Change) (RouteView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.checkChange(ch)
	if err != nil {
		return RouteView{}, err
	}
	o, ok := c.state.Overrides[ch.Route]
	if !ok {
		return RouteView{}, fmt.Errorf("%w: %s", ErrNoOverride, ch.Route)
	}
	next := cloneState(c.state)
	delete(next.Overrides, ch.Route)
	eff, err := effectiveConfig(c.file, next.Overrides)
	if err != nil {
		return RouteView{}, err
	}
	ev := Event{Route: ch.Route, Action: "reset", From: o.Position, To: r.Position(),
		Source: sourceOr(ch.Source), Reason: ch.Reason}
	if err := c.commit(c.file, eff, next, []Event{ev}); err != nil {
		return RouteView{}, err
	}
	return c.view(ch.Route), nil
}

// change applies a computed position as an override.
func (c *Controller) change(ch Change, action string, to func(*config.Route, stage.Position) (stage.Position, error)) (RouteView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fileRoute, err := c.checkChange(ch)
	if err != nil {
		return RouteView{}, err
	}
	cur := findRoute(c.effective.Load(), ch.Route)
	pos, err := to(cur, cur.Position())
	if err != nil {
		return RouteView{}, err
	}
	next := cloneState(c.state)
	next.Overrides[ch.Route] = Override{Position: pos, Source: sourceOr(ch.Source), Reason: ch.Reason,
		At: time.Now().UTC(), Base: fileRoute.Position()}
	eff, err := effectiveConfig(c.file, next.Overrides)
	if err != nil {
		return RouteView{}, err
	}
	if err := validateRoute(eff, ch.Route); err != nil {
		return RouteView{}, err
	}
	ev := Event{Route: ch.Route, Action: action, From: cur.Position(), To: pos, Source: sourceOr(ch.Source),
		Reason: ch.Reason, Figures: ch.Figures}
	if err := c.commitFenced(ch.Fence, c.file, eff, next, []Event{ev}); err != nil {
		return RouteView{}, err
	}
	return c.view(ch.Route), nil
}

// checkChange finds the route in the file and checks the version.
func (c *Controller) checkChange(ch Change) (*config.Route, error) {
	if c.file == nil {
		return nil, ErrNotLoaded
	}
	r := findRoute(c.file, ch.Route)
	if r == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownRoute, ch.Route)
	}
	if ch.IfVersion != nil && *ch.IfVersion != c.state.Versions[ch.Route] {
		return nil, fmt.Errorf("%w: %s is at version %d, not %d", ErrConflict, ch.Route, c.state.Versions[ch.Route], *ch.IfVersion)
	}
	return r, nil
}

// routeProblems maps route indexes to the first problem found on that
// route (fields routes[N].*).
func routeProblems(err error) map[int]error {
	out := map[int]error{}
	for _, p := range config.Problems(err) {
		var fe *config.FieldError
		var i int
		if errors.As(p, &fe) && strings.HasPrefix(fe.Field, "routes[") {
			if _, scanErr := fmt.Sscanf(fe.Field, "routes[%d]", &i); scanErr == nil && out[i] == nil {
				out[i] = p
			}
		}
	}
	return out
}

// routeIndex is the index of the named route in cfg, or -1.
func routeIndex(cfg *config.Config, name string) int {
	for i := range cfg.Routes {
		if cfg.Routes[i].Name == name {
			return i
		}
	}
	return -1
}

// validateRoute validates eff exactly as a file, reporting the changed
// route's stage and percent problems as request fields.
func validateRoute(eff *config.Config, route string) error {
	err := eff.Validate()
	if err == nil {
		return nil
	}
	idx := -1
	for i := range eff.Routes {
		if eff.Routes[i].Name == route {
			idx = i
		}
	}
	prefix := fmt.Sprintf("routes[%d].", idx)
	for _, p := range config.Problems(err) {
		var fe *config.FieldError
		if errors.As(p, &fe) && strings.HasPrefix(fe.Field, prefix) {
			field := strings.TrimPrefix(fe.Field, prefix)
			if field == "service" {
				field = "stage" // a stage that needs a service this route lacks
			}
			return &FieldError{Field: field, Reason: fe.Reason}
		}
	}
	return err
}

func sourceOr(s string) string {
	if s == "" {
		return SourceAdmin
	}
	return s
}

// effectiveConfig returns a copy of file with overrides applied. Only the
// route list is copied (overrides change its entries); the rest is shared
// with file, which is safe because Validate writes nothing.
func effectiveConfig(file *config.Config, overrides map[string]Override) (*config.Config, error) {
	if file == nil {
		return nil, ErrNotLoaded
	}
	eff := *file
	eff.Routes = append([]config.Route(nil), file.Routes...)
	for i := range eff.Routes {
		if o, ok := overrides[eff.Routes[i].Name]; ok {
			eff.Routes[i].Stage = o.Stage
			eff.Routes[i].Percent = o.Percent
		}
	}
	return &eff, nil
}

func findRoute(cfg *config.Config, name string) *config.Route {
	if cfg == nil {
		return nil
	}
	for i := range cfg.Routes {
		if cfg.Routes[i].Name == name {
			return &cfg.Routes[i]
		}
	}
	return nil
}

func positionOf(r *config.Route) stage.Position {
	if r == nil {
		return stage.Position{}
	}
	return r.Position()
}

func cloneState(s State) State {
	out := State{Overrides: make(map[string]Override, len(s.Overrides)), Versions: make(map[string]uint64, len(s.Versions)),
		Paused: make(map[string]Pause, len(s.Paused))}
	for k, v := range s.Paused {
		out.Paused[k] = v
	}
	for k, v := range s.Overrides {
		out.Overrides[k] = v
	}
	for k, v := range s.Versions {
		out.Versions[k] = v
	}
	return out
}
