package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stranglerfig/strangler/config"
)

// ErrUnavailable is a change refused because the shared state backend
// (etcd) cannot be reached: it is never accepted locally and lost.
var ErrUnavailable = errors.New("the shared state backend is unreachable; the change was not made, retry when it is back")

// ErrNotLeader is an automatic decision refused because the replica that
// made it no longer leads automation (its leadership term, the Fence, is
// over): a paused or partitioned former leader never applies a stale
// decision.
var ErrNotLeader = errors.New("this replica no longer leads automation; the decision was not applied")

// Fence is one term of automation leadership on a shared backend: the
// election key this replica holds and the revision that created it. A
// fenced change commits only while the key still has that revision.
type Fence struct {
	Key string
	Rev int64
}

// Record is one route's shared state: its override, version and pause.
type Record struct {
	Override *Override `json:"override,omitempty"`
	Version  uint64    `json:"version"`
	Paused   *Pause    `json:"paused,omitempty"`
}

// Snapshot is the shared state at one revision.
type Snapshot struct {
	// Rev is the backend revision the snapshot was read at.
	Rev int64
	// Routes maps route names to their records.
	Routes map[string]Record
	// RouteRevs maps route names to the revision their record was last
	// written at (the compare of the next change).
	RouteRevs map[string]int64
	// Events are the audit events written after the revision asked for,
	// oldest first, their IDs set to the revision that wrote them.
	Events []Event
}

// Txn is one atomic change of the shared state.
type Txn struct {
	// Expect maps each route written to the revision its record must
	// still have (0: it must not exist); any difference is ErrConflict.
	Expect map[string]int64
	// Put are the new records.
	Put map[string]Record
	// Events are appended to the audit trail (oldest trimmed).
	Events []Event
	// Fence, if set, must still hold (the key at its creating revision),
	// else the commit fails with ErrNotLeader.
	Fence *Fence
}

// Shared is a state backend several replicas share (etcd). Its methods
// are called with the Controller's lock held.
type Shared interface {
	// Snapshot reads the state at rev (0: the newest) with the audit
	// events written after since.
	Snapshot(ctx context.Context, since, rev int64) (Snapshot, error)
	// Commit applies t atomically and returns its revision. A failed
	// compare is ErrConflict; an unreachable backend ErrUnavailable.
	Commit(ctx context.Context, t Txn) (int64, error)
	// Up reports whether the backend answers, and why not.
	Up() (bool, string)
}

// sharedTimeout bounds one shared-state operation made for a caller.
const sharedTimeout = 3 * time.Second

// Revision returns the shared-state revision last applied (0 with the
// file backend).
func (c *Controller) Revision() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// Degraded reports, with the etcd backend, whether the backend is
// unreachable and why: the data plane keeps serving the last applied
// state and changes are refused.
func (c *Controller) Degraded() (string, bool) {
	if c.shared == nil {
		return "", false
	}
	up, reason := c.shared.Up()
	return reason, !up
}

// SyncTo applies the shared state at rev (0: the newest) when it is newer
// than the revision applied: a watch notification, a reconnect or a
// start. Changes are applied in revision order, each once.
func (c *Controller) SyncTo(ctx context.Context, rev int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncLocked(ctx, rev)
}

// syncLocked is SyncTo with c.mu held.
func (c *Controller) syncLocked(ctx context.Context, rev int64) error {
	if rev != 0 && rev <= c.rev {
		return nil
	}
	snap, err := c.shared.Snapshot(ctx, c.rev, rev)
	if err != nil {
		return fmt.Errorf("reading the shared state at revision %d: %w", rev, err)
	}
	if snap.Rev <= c.rev {
		return nil
	}
	next := stateOf(snap)
	if c.file != nil {
		for _, e := range c.dropInvalidOverrides(c.file, next.Overrides) {
			c.log.Warn().Str("route", e.Route).Str("reason", e.Reason).Msg("shared override not applied on this replica")
		}
		eff, err := effectiveConfig(c.file, next.Overrides)
		if err != nil {
			return err
		}
		if cur := c.effective.Load(); cur == nil || c.appliedFile != c.file || !samePositions(cur, eff) {
			if err := c.applier.Apply(eff); err != nil {
				return fmt.Errorf("applying the shared state at revision %d: %w", snap.Rev, err)
			}
			c.effective.Store(eff)
			c.appliedFile = c.file
		}
	}
	first := c.rev == 0
	c.state, c.rev, c.revs = next, snap.Rev, snap.RouteRevs
	if first { // the trail so far: kept, not announced again
		c.audit.restore(snap.Events)
		return nil
	}
	c.record(snap.Events)
	return nil
}

// record adds events, already stamped, to the audit trail, logs them and
// tells the observer.
func (c *Controller) record(events []Event) {
	for _, e := range events {
		c.audit.add(e)
		c.log.Info().Str("route", e.Route).Str("action", e.Action).Str("from", e.From.String()).
			Str("to", e.To.String()).Str("source", e.Source).Str("replica", e.Replica).
			Str("reason", e.Reason).Msg("stage change")
		// Another replica's file events concern its own route file.
		if c.observer != nil && e.Action != ActionLeader && (e.Source != SourceFile || e.Replica == c.replica) {
			c.observer.Changed(e)
		}
	}
}

// loadFileRetries bounds how often LoadFile reads the shared state again
// when another replica changed a route it was writing (both dropping the
// same superseded override, say).
const loadFileRetries = 5

// commitShared writes a change to the shared backend as one transaction
// on the revisions of the routes it touches, then applies the state at
// the transaction's revision. Called with c.mu held.
func (c *Controller) commitShared(file *config.Config, next State, events []Event, fence *Fence) error {
	if up, reason := c.shared.Up(); !up {
		return fmt.Errorf("%w (%s)", ErrUnavailable, reason)
	}
	t := Txn{Expect: map[string]int64{}, Put: map[string]Record{}, Fence: fence}
	now := time.Now().UTC()
	for _, e := range events {
		e.Time, e.Replica = now, c.replica
		t.Events = append(t.Events, e)
		if e.Source == SourceFile && (e.Action == "file" || e.Action == "removed") {
			continue // each replica reads its own file: recorded, no record to write
		}
		if e.Action == ActionLeader {
			continue // names the replica that leads: no route record
		}
		rec := Record{Version: c.state.Versions[e.Route] + 1}
		if o, ok := next.Overrides[e.Route]; ok {
			rec.Override = &o
		}
		if p, ok := next.Paused[e.Route]; ok {
			rec.Paused = &p
		}
		t.Expect[e.Route], t.Put[e.Route] = c.revs[e.Route], rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	rev, err := c.shared.Commit(ctx, t)
	if err != nil {
		return err
	}
	c.file = file
	if err := c.syncLocked(ctx, rev); err != nil {
		c.log.Error().Err(err).Int64("revision", rev).Msg("committed to the shared state; applying waits for the watch")
	}
	return nil
}

// stateOf turns a snapshot into a State.
func stateOf(s Snapshot) State {
	st := State{Overrides: map[string]Override{}, Versions: map[string]uint64{}, Paused: map[string]Pause{}}
	for name, r := range s.Routes {
		st.Versions[name] = r.Version
		if r.Override != nil {
			st.Overrides[name] = *r.Override
		}
		if r.Paused != nil {
			st.Paused[name] = *r.Paused
		}
	}
	return st
}

// samePositions reports whether a and b put every route at the same
// position, in the same routes.
func samePositions(a, b *config.Config) bool {
	if len(a.Routes) != len(b.Routes) {
		return false
	}
	for i := range a.Routes {
		if a.Routes[i].Name != b.Routes[i].Name || a.Routes[i].Position() != b.Routes[i].Position() {
			return false
		}
	}
	return true
}

// newShared builds a Controller on a shared backend: it reads the
// current shared state; the file config comes with LoadFile.
func newShared(opts Options) (*Controller, error) {
	c := &Controller{store: opts.Store, applier: opts.Applier, audit: opts.Audit, log: opts.Log,
		observer: opts.Observer, shared: opts.Shared, replica: opts.Replica,
		state: State{Overrides: map[string]Override{}, Versions: map[string]uint64{}, Paused: map[string]Pause{}}}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := c.SyncTo(ctx, 0); err != nil {
		return nil, err
	}
	return c, nil
}
