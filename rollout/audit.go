package rollout

import (
	"sync"
	"time"

	"github.com/stranglerfig/strangler/stage"
)

// Sources of a stage change.
const (
	SourceFile       = "file"
	SourceAdmin      = "admin"
	SourceAutomation = "automation"
)

// Event is one stage change in the audit trail.
type Event struct {
	ID     uint64         `json:"id"`
	Time   time.Time      `json:"time"`
	Route  string         `json:"route"`
	Action string         `json:"action"` // stage, promote, rollback, reset, file, override-superseded, removed
	From   stage.Position `json:"from"`
	To     stage.Position `json:"to"`
	Source string         `json:"source"`
	Reason string         `json:"reason,omitempty"`
	// Replica names the replica that made the change (etcd backend).
	Replica string `json:"replica,omitempty"`
	// Figures are the numbers that drove an automatic decision.
	Figures map[string]float64 `json:"figures,omitempty"`
}

// DefaultAuditSize bounds the audit trail kept in memory and on disk.
const DefaultAuditSize = 1000

// Audit is a bounded, newest-first trail of events. Safe for concurrent
// use.
type Audit struct {
	mu     sync.RWMutex
	max    int
	events []Event // oldest first
	nextID uint64
}

// NewAudit returns an Audit keeping at most max events.
func NewAudit(max int) *Audit {
	if max <= 0 {
		max = DefaultAuditSize
	}
	return &Audit{max: max, nextID: 1}
}

// restore loads events kept from an earlier run.
func (a *Audit) restore(events []Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(events) > a.max {
		events = events[len(events)-a.max:]
	}
	a.events = append([]Event(nil), events...)
	for _, e := range events {
		if e.ID >= a.nextID {
			a.nextID = e.ID + 1
		}
	}
}

// stamp gives events the IDs and time add will keep, so that they can be
// persisted before they are added.
func (a *Audit) stamp(events []Event) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	now := time.Now().UTC()
	for i := range events {
		events[i].ID = a.nextID + uint64(i)
		if events[i].Time.IsZero() {
			events[i].Time = now
		}
	}
}

// add appends e, already given its ID and time by stamp, and drops the
// oldest events beyond the bound.
func (a *Audit) add(e Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID = e.ID + 1
	a.events = append(a.events, e)
	if over := len(a.events) - a.max; over > 0 {
		a.events = append(a.events[:0:0], a.events[over:]...)
	}
}

// all returns a copy of every event, oldest first.
func (a *Audit) all() []Event {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]Event(nil), a.events...)
}

// List returns up to limit events, newest first, for route ("" = all).
func (a *Audit) List(route string, limit int) []Event {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := []Event{}
	for i := len(a.events) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		if route == "" || a.events[i].Route == route {
			out = append(out, a.events[i])
		}
	}
	return out
}
