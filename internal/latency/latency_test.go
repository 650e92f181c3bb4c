package latency

import (
	"math"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	tests := []struct {
		d          time.Duration
		want, wide int
	}{
		{0, 0, 0},
		{time.Nanosecond, 0, 0},
		{time.Microsecond, 0, 0},
		{2 * time.Microsecond, StepsPerDoubling, 1},
		{time.Millisecond, 39, 9}, // log2(1000) ≈ 9.97
		{3 * time.Millisecond, 46, 11},
		{time.Second, 79, 19}, // log2(1e6) ≈ 19.93
		{time.Hour, Buckets - 1, CoarseBuckets - 1},
		{-time.Second, 0, 0},
	}
	for _, tt := range tests {
		if got := Bucket(tt.d); got != tt.want {
			t.Errorf("Bucket(%v) = %d, want %d", tt.d, got, tt.want)
		}
		if got := CoarseBucket(tt.d); got != tt.wide {
			t.Errorf("CoarseBucket(%v) = %d, want %d", tt.d, got, tt.wide)
		}
	}
}

// TestBucketMatchesLog2: Bucket agrees with ⌊4·log2(d/1 µs)⌋ (the
// formula the report used) except within a nanosecond of a bound, where
// float rounding decides, over durations from 1 µs to 200 s.
func TestBucketMatchesLog2(t *testing.T) {
	ref := func(d time.Duration) int {
		us := float64(d) / float64(time.Microsecond)
		if us < 1 {
			return 0
		}
		return min(max(int(math.Floor(StepsPerDoubling*math.Log2(us))), 0), Buckets-1)
	}
	nearBound := func(d time.Duration) bool {
		for _, b := range lower {
			if d-b <= 1 && b-d <= 1 {
				return true
			}
		}
		return false
	}
	checked := 0
	for d := time.Microsecond; d < 200*time.Second; d += d/997 + 1 {
		for _, e := range []time.Duration{d, lower[Bucket(d)], lower[Bucket(d)] - 1} {
			checked++
			if got, want := Bucket(e), ref(e); got != want && !nearBound(e) {
				t.Fatalf("Bucket(%d ns) = %d, want %d", e, got, want)
			}
		}
	}
	for i := 1; i < Buckets; i++ {
		if Bucket(lower[i]) != i || Bucket(lower[i]-1) != i-1 {
			t.Errorf("bucket %d starts at %d ns: Bucket there %d, one ns before %d", i, lower[i], Bucket(lower[i]), Bucket(lower[i]-1))
		}
	}
	t.Logf("%d durations checked", checked)
}

func BenchmarkBucket(b *testing.B) {
	d := 3 * time.Millisecond
	for b.Loop() {
		d += time.Duration(Bucket(d) & 1)
	}
}

// counts builds per-bucket counts of n buckets from (index, count) pairs.
func counts(n int, pairs ...int) []uint64 {
	c := make([]uint64, n)
	for i := 0; i < len(pairs); i += 2 {
		c[pairs[i]] = uint64(pairs[i+1])
	}
	return c
}

func TestQuantile(t *testing.T) {
	us := func(v float64) time.Duration { return time.Duration(math.Round(v)) * time.Microsecond }
	tests := []struct {
		name   string
		q      float64
		counts []uint64
		want   time.Duration
	}{
		{"empty p50", 0.5, counts(Buckets), 0},
		{"empty p99", 0.99, counts(Buckets), 0},
		{"one bucket p50", 0.5, counts(Buckets, 46, 100), us(math.Exp2(46.5 / 4))},
		{"one bucket p99", 0.99, counts(Buckets, 46, 100), us(math.Exp2(46.5 / 4))},
		{"bucket 0 reads 1.09 µs", 0.5, counts(Buckets, 0, 4), us(math.Exp2(0.5 / 4))},
		// rank ⌈0.5·100⌉ = 50 is the last of the first 50
		{"split p50", 0.5, counts(Buckets, 10, 50, 60, 50), us(math.Exp2(10.5 / 4))},
		{"split p51", 0.51, counts(Buckets, 10, 50, 60, 50), us(math.Exp2(60.5 / 4))},
		// 2 slow in 100: the 99th is slow
		{"p99 sees 2 in 100", 0.99, counts(Buckets, 40, 98, 80, 2), us(math.Exp2(80.5 / 4))},
		{"p99 misses 1 in 100", 0.99, counts(Buckets, 40, 99, 80, 1), us(math.Exp2(40.5 / 4))},
		{"last bucket", 0.99, counts(Buckets, Buckets-1, 3), us(math.Exp2((Buckets - 0.5) / 4))},
		{"tiny q reads the first", 1e-9, counts(Buckets, 20, 1, 30, 1), us(math.Exp2(20.5 / 4))},
	}
	for _, tt := range tests {
		if got := Quantile(tt.q, tt.counts); got != tt.want {
			t.Errorf("%s: Quantile = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCoarseQuantile(t *testing.T) {
	tests := []struct {
		name   string
		q      float64
		counts []uint64
		want   time.Duration
	}{
		{"empty", 0.99, counts(CoarseBuckets), 0},
		// 20 ms is in [16.384, 32.768) ms: the middle is 2^14.5 µs
		{"20 ms", 0.99, counts(CoarseBuckets, CoarseBucket(20*time.Millisecond), 1), 23170 * time.Microsecond},
		{"p99 of 2 ms and 20 ms", 0.99, counts(CoarseBuckets, 10, 1, 14, 1), 23170 * time.Microsecond},
		{"p50 of 2 ms and 20 ms", 0.5, counts(CoarseBuckets, 10, 1, 14, 1), 1448 * time.Microsecond},
	}
	for _, tt := range tests {
		if got := CoarseQuantile(tt.q, tt.counts); got != tt.want {
			t.Errorf("%s: CoarseQuantile = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestAccuracy: a quantile of one repeated duration is within the bound
// the layout promises, ±9% (fine) and ±41% (coarse), from 20 µs to
// 100 s (below about 10 µs the rounding to the microsecond dominates).
func TestAccuracy(t *testing.T) {
	for d := 20 * time.Microsecond; d <= 100*time.Second; d = d * 13 / 10 {
		var h Histogram
		var coarse [CoarseBuckets]uint64
		for range 10 {
			h.Add(d)
			coarse[CoarseBucket(d)]++
		}
		if err := relErr(h.Quantile(0.99), d); err > 0.095 {
			t.Errorf("p99 of %v = %v: off by %.1f%%, want within 9%%", d, h.Quantile(0.99), 100*err)
		}
		if got := CoarseQuantile(0.99, coarse[:]); relErr(got, d) > 0.42 {
			t.Errorf("coarse p99 of %v = %v: off by %.1f%%, want within 41%%", d, got, 100*relErr(got, d))
		}
	}
}

func relErr(got, want time.Duration) float64 {
	return math.Abs(float64(got-want)) / float64(want)
}

func TestHistogram(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 {
		t.Errorf("empty p99 = %v, want 0", h.Quantile(0.99))
	}
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	if h.N != 1000 {
		t.Errorf("N = %d, want 1000", h.N)
	}
	for _, q := range []float64{0.5, 0.99} {
		want := time.Duration(q * 1000 * float64(time.Millisecond))
		if got := h.Quantile(q); relErr(got, want) > 0.10 {
			t.Errorf("p%v of 1..1000 ms = %v, want %v ±10%%", 100*q, got, want)
		}
	}
	if got, want := Ms(h.Quantile(0.99)), float64(h.Quantile(0.99))/1e6; got != want {
		t.Errorf("Ms = %v, want %v", got, want)
	}
	if got := Ms(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("Ms(1.5ms) = %v, want 1.5", got)
	}
}

func TestQuantileDoesNotAllocate(t *testing.T) {
	var h Histogram
	h.Add(time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { h.Quantile(0.99) }); n != 0 {
		t.Errorf("Quantile allocates %v times, want 0", n)
	}
}

// TestHalfLayout: the planner's half layout reads a quantile from the
// two fine buckets a duration falls in, within about ±19%, in 32-bit and
// 64-bit counts alike.
func TestHalfLayout(t *testing.T) {
	for _, d := range []time.Duration{15 * time.Microsecond, 700 * time.Microsecond, 3 * time.Millisecond,
		42 * time.Millisecond, 1500 * time.Millisecond} {
		var h32 [HalfBuckets]uint32
		var h64 [HalfBuckets]uint64
		h32[HalfBucket(d)]++
		h64[HalfBucket(d)] += 3
		got32, got64 := HalfQuantile(0.99, h32[:]), HalfQuantile(0.99, h64[:])
		if got32 != got64 {
			t.Errorf("%v: 32-bit counts read %v, 64-bit %v", d, got32, got64)
		}
		if ratio := float64(got32) / float64(d); ratio < 1/1.19 || ratio > 1.19 {
			t.Errorf("%v read back as %v (ratio %.3f), want within ±19%%", d, got32, ratio)
		}
		if HalfBucket(d) != Bucket(d)/2 {
			t.Errorf("%v: half bucket %d, want fine bucket %d / 2", d, HalfBucket(d), Bucket(d))
		}
	}
	if HalfQuantile(0.5, make([]uint32, HalfBuckets)) != 0 {
		t.Error("an empty half histogram has a quantile")
	}
}
