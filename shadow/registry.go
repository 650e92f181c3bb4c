package shadow

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/upstream"
)

// registry holds what the mirroring of each route keeps across config
// reloads: its noise learner and its counts, and the shadow breaker of
// each copy target. Each is created on first use and kept for the life of
// the dispatcher (a route that leaves the config keeps its counts and
// what it learned, so the report still shows them). It is safe for
// concurrent use; policies look their entries up once, when built, so the
// request path takes no lock of the registry's.
type registry struct {
	mu       sync.Mutex
	learners map[string]*Learner
	stats    map[string]*routeStats
	breakers map[string]*guard.Breaker // per copy target: stop copying to a dead one
}

func newRegistry() *registry {
	return &registry{learners: map[string]*Learner{}, stats: map[string]*routeStats{},
		breakers: map[string]*guard.Breaker{}}
}

// learner returns the route's noise learner.
func (r *registry) learner(route string) *Learner {
	return getOrAdd(&r.mu, r.learners, route, NewLearner)
}

// routeStats returns the route's counts.
func (r *registry) routeStats(route string) *routeStats {
	return getOrAdd(&r.mu, r.stats, route, newRouteStats)
}

// targetBreaker settings: after 5 transport failures in a row (or half of
// 20 in 10 s), stop copying to that target for 5 s, then probe.
var targetBreaker = guard.BreakerConfig{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20,
	Window: 10 * time.Second, OpenFor: 5 * time.Second, HalfOpenRequests: 1}

// breaker returns the copy target's breaker. A target that keeps failing
// (refused, timing out) is skipped early instead of costing a capture, a
// queue slot and a failed dial per request.
func (r *registry) breaker(u *upstream.Upstream) *guard.Breaker {
	key := u.Name() + "|" + u.URL().String()
	return getOrAdd(&r.mu, r.breakers, key, func() *guard.Breaker { return guard.NewBreaker(key, targetBreaker, nil) })
}

// getOrAdd returns m[key], adding create() first if it is missing, under
// mu.
func getOrAdd[V any](mu *sync.Mutex, m map[string]V, key string, create func() V) V {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[key]
	if !ok {
		v = create()
		m[key] = v
	}
	return v
}

// lookup returns m[key] under mu, without adding it.
func lookup[V any](mu *sync.Mutex, m map[string]V, key string) (V, bool) {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[key]
	return v, ok
}

// counts returns a route's counts for the report (zero for a route never
// mirrored).
func (r *registry) counts(route string) report.ShadowCounts {
	st, ok := lookup(&r.mu, r.stats, route)
	if !ok {
		return report.ShadowCounts{Dropped: map[string]uint64{}, Skipped: map[string]uint64{}}
	}
	return st.report()
}

// eachCount calls fn with every count of every route, by result and
// reason, in route order.
func (r *registry) eachCount(fn func(route, result, reason string, n uint64)) {
	r.mu.Lock()
	stats := maps.Clone(r.stats)
	r.mu.Unlock()
	for _, route := range slices.Sorted(maps.Keys(stats)) {
		stats[route].each(func(result, reason string, n uint64) { fn(route, result, reason, n) })
	}
}

// noise returns a route's learned noisy paths (none for a route that
// learns none).
func (r *registry) noise(route string) []report.NoisePath {
	if l, ok := lookup(&r.mu, r.learners, route); ok {
		return l.Paths()
	}
	return nil
}

// learnedNoise returns every route's learned noisy paths, leaving out
// routes that learned none.
func (r *registry) learnedNoise() map[string][]report.NoisePath {
	r.mu.Lock()
	ls := maps.Clone(r.learners)
	r.mu.Unlock()
	out := make(map[string][]report.NoisePath, len(ls))
	for route, l := range ls {
		if ps := l.Paths(); len(ps) > 0 {
			out[route] = ps
		}
	}
	return out
}
