package metrics

import (
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
)

// SideCounts are one side's cumulative counts: requests, errors (status >=
// 500, except strangler's own 503s at an upstream's capacity) and the
// latency histogram.
type SideCounts struct {
	Requests uint64
	Errors   uint64
	// Buckets are the latency counts per latency.Bucket (per bucket, not
	// cumulative): the layout the live figures and the diff report read.
	Buckets [latency.Buckets]uint64
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
	for i := range s.fine {
		c.Buckets[i] = s.fine[i].Load()
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
// requests) with latency.Quantile, the estimator of the live figures
// (Route.Figures) and of the diff report: the same requests give the
// same p99 to the rollout gates, the admin API and the report.
func (c SideCounts) Quantile(q float64) time.Duration { return latency.Quantile(q, c.Buckets[:]) }

// ErrorRate returns errors / requests (0 without requests).
func (c SideCounts) ErrorRate() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.Errors) / float64(c.Requests)
}
