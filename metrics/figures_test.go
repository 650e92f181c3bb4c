package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
)

// near compares floats with a tolerance for rounding.
func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// sideCounts builds a side's counts from (latency bucket, count) pairs.
func sideCounts(pairs ...int) SideCounts {
	var c SideCounts
	for i := 0; i < len(pairs); i += 2 {
		c.Buckets[pairs[i]] = uint64(pairs[i+1])
		c.Requests += uint64(pairs[i+1])
	}
	return c
}

// TestSideCountsQuantile: a Snapshot's quantile is latency.Quantile's,
// the geometric middle of the bucket holding the rank, to the µs
// (bucket 40 is read as 1117 µs, 46 as 3158 µs, 80 as 1143480 µs).
func TestSideCountsQuantile(t *testing.T) {
	tests := []struct {
		name   string
		q      float64
		counts SideCounts
		want   time.Duration
	}{
		{"empty p50", 0.5, sideCounts(), 0},
		{"empty p99", 0.99, sideCounts(), 0},
		{"one bucket p50", 0.5, sideCounts(46, 100), 3158 * time.Microsecond},
		{"one bucket p99", 0.99, sideCounts(46, 100), 3158 * time.Microsecond},
		{"first bucket", 0.5, sideCounts(0, 4), time.Microsecond},
		{"split p50", 0.5, sideCounts(40, 50, 80, 50), 1117 * time.Microsecond},
		{"split p99", 0.99, sideCounts(40, 50, 80, 50), 1143480 * time.Microsecond},
		{"p99 sees 2 in 100", 0.99, sideCounts(40, 98, 80, 2), 1143480 * time.Microsecond},
		{"p99 misses 1 in 100", 0.99, sideCounts(40, 99, 80, 1), 1117 * time.Microsecond},
		{"overflow p50", 0.5, sideCounts(latency.Buckets-1, 7), 123078199 * time.Microsecond},
	}
	for _, tt := range tests {
		if got := tt.counts.Quantile(tt.q); got != tt.want {
			t.Errorf("%s: Quantile = %v, want %v", tt.name, got, tt.want)
		}
		if got := latency.Quantile(tt.q, tt.counts.Buckets[:]); got != tt.want {
			t.Errorf("%s: latency.Quantile = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFigures(t *testing.T) {
	type batch struct {
		side   string
		status int
		d      time.Duration
		n      int
	}
	// want are the live figures and a Snapshot's alike (latency's
	// log-scale buckets, read at the geometric middle of a bucket). Before
	// one estimator, a Snapshot read the exported histogram's buckets
	// interpolated linearly: 3.75/4.975, 30000/30000 and 0.755/1750 ms.
	tests := []struct {
		name    string
		batches []batch
		want    Figures
	}{
		{"empty", nil, Figures{}},
		// 3 ms is in [2^11.5, 2^11.75) µs, read as 2^11.625 µs
		{"100 x 3ms legacy", []batch{{SideLegacy, 200, 3 * time.Millisecond, 100}},
			Figures{Legacy: SideFigures{Requests: 100, P50ms: 3.158, P99ms: 3.158}}},
		// a minute is in [2^25.75, 2^26) µs, read as 2^25.875 µs
		{"service errors of a minute", []batch{
			{SideService, 502, time.Minute, 3},
			{SideService, 499, time.Minute, 1},
		}, Figures{Service: SideFigures{Requests: 4, Errors: 3, P50ms: 61539.1, P99ms: 61539.1}}},
		// 2 slow requests in 100 make the p99, not the p50
		{"p99 of a slow tail", []batch{
			{SideService, 200, time.Millisecond, 98},
			{SideService, 200, 2 * time.Second, 2},
		}, Figures{Service: SideFigures{Requests: 100, P50ms: 0.939, P99ms: 1923.097}}},
	}
	for _, tt := range tests {
		m := New().Route("r")
		for _, b := range tt.batches {
			for range b.n {
				m.Observe("canary", b.side, b.status, b.d)
			}
		}
		if got := m.Figures(); !sameFigures(got, tt.want) {
			t.Errorf("%s: Figures = %+v, want %+v", tt.name, got, tt.want)
		}
		if got := m.Snapshot().Figures(); !sameFigures(got, tt.want) {
			t.Errorf("%s: Snapshot().Figures = %+v, want %+v", tt.name, got, tt.want)
		}
		s := m.Snapshot()
		if got := latency.Ms(s.Service.Quantile(0.99)); !near(got, tt.want.Service.P99ms) {
			t.Errorf("%s: Snapshot().Service.Quantile(0.99) = %v ms, want %v", tt.name, got, tt.want.Service.P99ms)
		}
		if got := latency.Ms(s.Legacy.Quantile(0.99)); !near(got, tt.want.Legacy.P99ms) {
			t.Errorf("%s: Snapshot().Legacy.Quantile(0.99) = %v ms, want %v", tt.name, got, tt.want.Legacy.P99ms)
		}
	}
}

func sameFigures(a, b Figures) bool {
	return sameSide(a.Legacy, b.Legacy) && sameSide(a.Service, b.Service)
}

func sameSide(a, b SideFigures) bool {
	return a.Requests == b.Requests && a.Errors == b.Errors && near(a.P50ms, b.P50ms) && near(a.P99ms, b.P99ms)
}

func TestClassIndex(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{0, "other"}, {99, "other"}, {100, "1xx"}, {204, "2xx"}, {399, "3xx"},
		{404, "4xx"}, {500, "5xx"}, {599, "5xx"}, {600, "other"}, {-1, "other"},
	}
	for _, tt := range tests {
		if got := classes[classIndex(tt.status)]; got != tt.want {
			t.Errorf("classIndex(%d) = %s, want %s", tt.status, got, tt.want)
		}
	}
}
