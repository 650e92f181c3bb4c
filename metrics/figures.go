package metrics

import "github.com/stranglerfig/strangler/internal/latency"

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
// created. The quantiles come from latency.Quantile, the diff report's
// estimator, so the same requests give the same p50 and p99 here, in the
// report, and in a Snapshot's Figures and the rollout gates.
func (m *Route) Figures() Figures { return m.Snapshot().Figures() }

// figures are the side's counts and its p50 and p99 (see Quantile).
func (c SideCounts) figures() SideFigures {
	return SideFigures{
		Requests: c.Requests, Errors: c.Errors,
		P50ms: latency.Ms(c.Quantile(0.5)), P99ms: latency.Ms(c.Quantile(0.99)),
	}
}
