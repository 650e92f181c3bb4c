package metrics

import (
	"math"
	"testing"
	"time"
)

// near compares floats with a tolerance for interpolation rounding.
func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// bucketCounts builds per-bucket counts from (bucket index, count) pairs.
func bucketCounts(pairs ...int) []uint64 {
	c := make([]uint64, numBuckets)
	for i := 0; i < len(pairs); i += 2 {
		c[pairs[i]] = uint64(pairs[i+1])
	}
	return c
}

func TestQuantile(t *testing.T) {
	oneEach := make([]uint64, numBuckets)
	for i := range 10 {
		oneEach[i] = 1
	}
	tests := []struct {
		name   string
		q      float64
		counts []uint64
		want   float64
	}{
		{"empty p50", 0.5, bucketCounts(), 0},
		{"empty p99", 0.99, bucketCounts(), 0},
		{"one bucket p50", 0.5, bucketCounts(3, 100), 0.00375},
		{"one bucket p99", 0.99, bucketCounts(3, 100), 0.004975},
		{"first bucket from zero", 0.5, bucketCounts(0, 4), 0.00025},
		{"uniform p50", 0.5, oneEach, 0.01},
		{"uniform p99", 0.99, oneEach, 0.475},
		{"split p50", 0.5, bucketCounts(1, 50, 4, 50), 0.001},
		{"split p99", 0.99, bucketCounts(1, 50, 4, 50), 0.0099},
		{"overflow p50", 0.5, bucketCounts(numBuckets-1, 7), 30},
		{"overflow p99 only", 0.99, bucketCounts(0, 90, numBuckets-1, 10), 30},
	}
	for _, tt := range tests {
		if got := quantile(tt.q, durationBuckets[:], tt.counts); !near(got, tt.want) {
			t.Errorf("%s: quantile = %v, want %v", tt.name, got, tt.want)
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
	// want are the live figures (latency's log-scale buckets, read at the
	// geometric middle of a bucket); wantSnap a Snapshot's (the exported
	// histogram's buckets, interpolated linearly).
	tests := []struct {
		name     string
		batches  []batch
		want     Figures
		wantSnap Figures
	}{
		{"empty", nil, Figures{}, Figures{}},
		// 3 ms is in [2^11.5, 2^11.75) µs, read as 2^11.625 µs
		{"100 x 3ms legacy", []batch{{SideLegacy, 200, 3 * time.Millisecond, 100}},
			Figures{Legacy: SideFigures{Requests: 100, P50ms: 3.158, P99ms: 3.158}},
			Figures{Legacy: SideFigures{Requests: 100, P50ms: 3.75, P99ms: 4.975}}},
		// a minute is in [2^25.75, 2^26) µs, read as 2^25.875 µs
		{"service errors and overflow", []batch{
			{SideService, 502, time.Minute, 3},
			{SideService, 499, time.Minute, 1},
		}, Figures{Service: SideFigures{Requests: 4, Errors: 3, P50ms: 61539.1, P99ms: 61539.1}},
			Figures{Service: SideFigures{Requests: 4, Errors: 3, P50ms: 30000, P99ms: 30000}}},
		// 2 slow requests in 100 make the p99, not the p50
		{"p99 of a slow tail", []batch{
			{SideService, 200, time.Millisecond, 98},
			{SideService, 200, 2 * time.Second, 2},
		}, Figures{Service: SideFigures{Requests: 100, P50ms: 0.939, P99ms: 1923.097}},
			Figures{Service: SideFigures{Requests: 100, P50ms: 0.5 + 0.5*50/98.0, P99ms: 1750}}},
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
		if got := m.Snapshot().Figures(); !sameFigures(got, tt.wantSnap) {
			t.Errorf("%s: Snapshot().Figures = %+v, want %+v", tt.name, got, tt.wantSnap)
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
