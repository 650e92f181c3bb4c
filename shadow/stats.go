package shadow

import (
	"cmp"
	"maps"
	"slices"
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

// outcome is what became of one request: a result and its reason (the
// kind of failure for failed, none for sent).
type outcome struct{ result, reason string }

// routeStats counts one route's mirroring outcomes. It is the one source
// of these counts: the report reads them through Dispatcher.Counts and
// strangler_shadow_requests_total reads them at each scrape (see New).
type routeStats struct {
	mu sync.Mutex
	n  map[outcome]uint64
}

func newRouteStats() *routeStats { return &routeStats{n: map[outcome]uint64{}} }

// add counts one outcome.
func (st *routeStats) add(result, reason string) {
	st.mu.Lock()
	st.n[outcome{result, reason}]++
	st.mu.Unlock()
}

// snapshot copies the counts.
func (st *routeStats) snapshot() map[outcome]uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return maps.Clone(st.n)
}

// report returns the counts as the report shows them: sent includes the
// copies whose upstream failed.
func (st *routeStats) report() report.ShadowCounts {
	out := report.ShadowCounts{Dropped: map[string]uint64{}, Skipped: map[string]uint64{}}
	for o, n := range st.snapshot() {
		switch o.result {
		case resultSent, resultFailed:
			out.Sent += n
		case resultDropped:
			out.Dropped[o.reason] += n
		case resultSkipped:
			out.Skipped[o.reason] += n
		}
	}
	return out
}

// each calls fn with every count, by result then reason.
func (st *routeStats) each(fn func(result, reason string, n uint64)) {
	snap := st.snapshot()
	keys := slices.SortedFunc(maps.Keys(snap), func(a, b outcome) int {
		return cmp.Or(cmp.Compare(a.result, b.result), cmp.Compare(a.reason, b.reason))
	})
	for _, o := range keys {
		fn(o.result, o.reason, snap[o])
	}
}

// count records one outcome in the policy's route stats. They are looked
// up once, in NewPolicy: no lock of the registry's is taken on the
// request path.
func (p *Policy) count(result, reason string) { p.stats.add(result, reason) }

func (p *Policy) skipped(reason string) { p.count(resultSkipped, reason) }
func (p *Policy) dropped(reason string) { p.count(resultDropped, reason) }

// Counts returns a route's mirroring counts for the report.
func (d *Dispatcher) Counts(route string) report.ShadowCounts { return d.reg.counts(route) }

// Noise returns a route's learned noisy paths for the report.
func (d *Dispatcher) Noise(route string) []report.NoisePath { return d.reg.noise(route) }
