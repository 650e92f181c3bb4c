package metrics

import "time"

// SideCounts are one side's cumulative counts: requests, errors (status >=
// 500, except strangler's own 503s at an upstream's capacity) and the
// latency histogram (per-bucket, not cumulative).
type SideCounts struct {
	Requests uint64
	Errors   uint64
	Buckets  [numBuckets]uint64
}

// Snapshot is a route's cumulative counts at one moment. The difference of
// two snapshots (Sub) gives the figures of the time between them.
type Snapshot struct {
	At        time.Time
	Legacy    SideCounts
	Service   SideCounts
	Compared  uint64
	Matched   uint64 // equal or noise-only comparisons
	Fallbacks uint64
}

// Snapshot returns the route's cumulative counts now.
func (m *Route) Snapshot() Snapshot {
	return Snapshot{
		At: time.Now(), Legacy: m.sides[0].counts(), Service: m.sides[1].counts(),
		Compared: m.compared.Load(), Matched: m.matched.Load(), Fallbacks: m.fallbacks.Load(),
	}
}

// Snapshot returns a route's cumulative counts now.
func (r *Registry) Snapshot(route string) Snapshot { return r.Route(route).Snapshot() }

// counts snapshots the side. Errors leave out strangler's own refusals
// at an upstream's capacity (AtCapacity); refusals are counted before
// their request is observed, so the difference is kept from going below
// zero in between.
func (s *sideStats) counts() SideCounts {
	refused := s.refused.Load()
	c := SideCounts{Requests: s.requests.Load(), Errors: s.errors.Load()}
	c.Errors -= min(refused, c.Errors)
	for i := range s.buckets {
		c.Buckets[i] = s.buckets[i].Load()
	}
	return c
}

// Sub returns the counts between older and s.
func (s Snapshot) Sub(older Snapshot) Snapshot {
	return Snapshot{
		At: s.At, Legacy: s.Legacy.sub(older.Legacy), Service: s.Service.sub(older.Service),
		Compared: s.Compared - older.Compared, Matched: s.Matched - older.Matched,
		Fallbacks: s.Fallbacks - older.Fallbacks,
	}
}

func (c SideCounts) sub(o SideCounts) SideCounts {
	out := SideCounts{Requests: c.Requests - o.Requests, Errors: c.Errors - o.Errors}
	for i := range c.Buckets {
		out.Buckets[i] = c.Buckets[i] - o.Buckets[i]
	}
	return out
}

// Quantile estimates the q-quantile latency of the counts (0 without
// requests), interpolated linearly within the histogram's buckets like
// PromQL's histogram_quantile. The buckets are the exported histogram's,
// coarser than the live figures' (Route.Figures): replicas publish them
// within a byte budget (see rollout/etcdstate).
func (c SideCounts) Quantile(q float64) time.Duration {
	secs := quantile(q, durationBuckets[:], c.Buckets[:])
	return time.Duration(secs * float64(time.Second))
}

// ErrorRate returns errors / requests (0 without requests).
func (c SideCounts) ErrorRate() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.Errors) / float64(c.Requests)
}

// quantile estimates the q-quantile from per-bucket (non-cumulative)
// counts, where counts has one more entry than bounds for +Inf. It returns
// 0 without observations and the highest finite bound when the quantile
// falls in the +Inf bucket.
func quantile(q float64, bounds []float64, counts []uint64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var below float64
	for i, c := range counts[:len(bounds)] {
		n := float64(c)
		if below+n >= rank && n > 0 {
			return interpolate(bounds, i, (rank-below)/n)
		}
		below += n
	}
	return bounds[len(bounds)-1]
}

// interpolate returns the point at fraction frac of bucket i.
func interpolate(bounds []float64, i int, frac float64) float64 {
	lower := 0.0
	if i > 0 {
		lower = bounds[i-1]
	}
	return lower + (bounds[i]-lower)*frac
}
