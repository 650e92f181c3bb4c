package shadow

import (
	"sync"

	"github.com/stranglerfig/strangler/report"
)

// Results of a mirroring attempt (metrics label values).
const (
	resultSent    = "sent"
	resultDropped = "dropped"
	resultSkipped = "skipped"
	resultFailed  = "failed"
)

// routeStats counts one route's mirroring outcomes for the report.
type routeStats struct {
	mu      sync.Mutex
	sent    uint64 // including copies whose upstream failed
	dropped map[string]uint64
	skipped map[string]uint64
}

func (d *Dispatcher) routeStats(route string) *routeStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.stats[route]
	if !ok {
		st = &routeStats{dropped: map[string]uint64{}, skipped: map[string]uint64{}}
		d.stats[route] = st
	}
	return st
}

// learner returns the route's noise learner, kept across reloads.
func (d *Dispatcher) learner(route string) *Learner {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.learners[route]
	if !ok {
		l = NewLearner()
		d.learners[route] = l
	}
	return l
}

// count records one outcome in the policy's route stats and the
// observer. The stats are looked up once, in NewPolicy: no lock of the
// dispatcher's is taken on the request path.
func (p *Policy) count(result, reason string) {
	st := p.stats
	st.mu.Lock()
	switch result {
	case resultSent, resultFailed:
		st.sent++
	case resultDropped:
		st.dropped[reason]++
	case resultSkipped:
		st.skipped[reason]++
	}
	st.mu.Unlock()
	if o := p.d.opts.Observer; o != nil {
		o.Shadow(p.cfg.Route, result, reason)
	}
}

func (p *Policy) skipped(reason string) { p.count(resultSkipped, reason) }
func (p *Policy) dropped(reason string) { p.count(resultDropped, reason) }

// Counts returns a route's mirroring counts for the report.
func (d *Dispatcher) Counts(route string) report.ShadowCounts {
	st := d.routeStats(route)
	st.mu.Lock()
	defer st.mu.Unlock()
	out := report.ShadowCounts{Sent: st.sent, Dropped: map[string]uint64{}, Skipped: map[string]uint64{}}
	for k, v := range st.dropped {
		out.Dropped[k] = v
	}
	for k, v := range st.skipped {
		out.Skipped[k] = v
	}
	return out
}

// Noise returns a route's learned noisy paths for the report.
func (d *Dispatcher) Noise(route string) []report.NoisePath {
	d.mu.Lock()
	l := d.learners[route]
	d.mu.Unlock()
	if l == nil {
		return nil
	}
	return l.Paths()
}
