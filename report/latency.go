package report

import (
	"math"
	"time"
)

// Latency histogram resolution: fixed log-scale buckets, histSteps per
// doubling, starting at 1µs. Bucket i holds durations in
// [2^(i/4), 2^((i+1)/4)) µs, so neighbouring bounds differ by a factor of
// 2^(1/4) ≈ 1.19 and a percentile read as the geometric middle of its
// bucket is within about ±9% of the true value. Bucket 0 also holds
// everything under 1µs, and the last bucket everything over
// 2^27 µs ≈ 134 s.
const (
	histSteps   = 4
	histBuckets = 27 * histSteps
)

// histogram counts durations in fixed log-scale buckets. It is a value
// type so that copying a routeRow copies it.
type histogram struct {
	Counts [histBuckets]uint64
	N      uint64
}

// add records d; non-positive durations (not measured) are skipped.
func (h *histogram) add(d time.Duration) {
	if d <= 0 {
		return
	}
	h.Counts[bucketOf(d)]++
	h.N++
}

// bucketOf returns the bucket index for d.
func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	i := int(math.Floor(histSteps * math.Log2(us)))
	return min(max(i, 0), histBuckets-1)
}

// quantileMs returns the q-quantile (0 < q <= 1) in milliseconds, or 0 when
// nothing was recorded.
func (h *histogram) quantileMs(q float64) float64 {
	if h.N == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.N)))
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= max(rank, 1) {
			return bucketMidMs(i)
		}
	}
	return bucketMidMs(histBuckets - 1)
}

// bucketMidMs is the geometric middle of bucket i, in milliseconds,
// rounded to the microsecond.
func bucketMidMs(i int) float64 {
	us := math.Exp2((float64(i) + 0.5) / histSteps)
	return math.Round(us) / 1000
}

// Latency is a side's latency distribution, estimated from the histogram.
type Latency struct {
	Samples uint64  `json:"samples"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
}

// latency summarizes h.
func (h *histogram) latency() Latency {
	return Latency{Samples: h.N, P50ms: h.quantileMs(0.50), P99ms: h.quantileMs(0.99)}
}
