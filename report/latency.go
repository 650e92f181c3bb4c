package report

import (
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
)

// histogram counts one side's measured durations with latency.Histogram,
// the estimator the route figures and the rollout gates use too, so a
// route's p50 and p99 read the same here and there. It is a value type so
// that copying a routeRow copies it.
type histogram struct{ latency.Histogram }

// add records d; non-positive durations (not measured) are skipped.
func (h *histogram) add(d time.Duration) {
	if d > 0 {
		h.Add(d)
	}
}

// Latency is a side's latency distribution, estimated from the histogram.
type Latency struct {
	Samples uint64  `json:"samples"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
}

// latency summarizes h.
func (h *histogram) latency() Latency {
	return Latency{Samples: h.N, P50ms: latency.Ms(h.Quantile(0.50)), P99ms: latency.Ms(h.Quantile(0.99))}
}
