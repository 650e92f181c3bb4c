package metrics

// SideFigures are live figures for one side of a route.
type SideFigures struct {
	// Requests is the number of responses served by that side.
	Requests uint64 `json:"requests"`
	// Errors counts responses with status >= 500 from that side, except
	// strangler's own 503s at an upstream's capacity.
	Errors uint64 `json:"errors"`
	// P50ms is the estimated median latency in milliseconds.
	P50ms float64 `json:"p50_ms"`
	// P99ms is the estimated 99th percentile latency in milliseconds.
	P99ms float64 `json:"p99_ms"`
}

// Figures are live per-route figures for the admin API.
type Figures struct {
	// Legacy covers responses served by the legacy system.
	Legacy SideFigures `json:"legacy"`
	// Service covers responses served by the new service.
	Service SideFigures `json:"service"`
}

// Figures returns the route's counts and latency quantiles since it was
// created. Quantiles are interpolated linearly within histogram buckets,
// like PromQL's histogram_quantile.
func (m *Route) Figures() Figures {
	return Figures{
		Legacy:  m.sides[0].figures(),
		Service: m.sides[1].figures(),
	}
}

// figures snapshots one side.
func (s *sideStats) figures() SideFigures { return s.counts().figures() }

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
