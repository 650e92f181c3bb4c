// Package latency is strangler's latency estimator. The diff report's
// per-route latencies, the admin API's live route figures, the rollout
// gates and the dashboard's timeline count durations in the same fixed log-scale
// buckets and read a quantile the same way, so the same requests give the
// same p50 and p99 in the report and in the route figures.
//
// Bucket i holds durations in [2^(i/4), 2^((i+1)/4)) µs: StepsPerDoubling
// buckets per doubling from 1 µs, so neighbouring bounds differ by a
// factor of 2^(1/4) ≈ 1.19 and a quantile read as the geometric middle of
// its bucket is within about ±9% of the true value from 10 µs up (the
// result is rounded to the microsecond). Bucket 0
// also holds everything under 1 µs, and the last bucket everything over
// 2^27 µs ≈ 134 s. A coarse layout of one bucket per doubling
// (CoarseBuckets, for the timeline's many small histograms) reads its
// quantile the same way from the wider bucket, within about ±41%, and a
// half layout of two per doubling (HalfBuckets, the planner's
// per-endpoint histograms) within about ±19%.
//
// metrics.Snapshot counts in the fine buckets too, so the rollout gates
// and the cluster-wide sums replicas publish to etcd read the same p99 as
// the route figures; only the Prometheus histogram strangler exports
// keeps its own 16 buckets, for PromQL.
package latency

import (
	"math"
	"math/bits"
	"time"
)

// Bucket layout.
const (
	// StepsPerDoubling is the number of buckets per doubling.
	StepsPerDoubling = 4
	// Buckets is the number of fine buckets, 1 µs to 2^27 µs.
	Buckets = 27 * StepsPerDoubling
	// CoarseBuckets is the number of coarse buckets, one per doubling.
	CoarseBuckets = Buckets / StepsPerDoubling
	// HalfBuckets is the number of half buckets, two per doubling (two
	// fine buckets each): the planner's per-endpoint histograms, of which
	// it keeps tens of thousands.
	HalfBuckets = Buckets / 2
)

// lower[i] is the shortest duration of bucket i ≥ 1, ⌈2^(i/4) µs⌉ in
// nanoseconds; lower[0] is 0.
var lower = func() (t [Buckets]time.Duration) {
	for i := 1; i < Buckets; i++ {
		t[i] = time.Duration(math.Ceil(float64(time.Microsecond) * math.Exp2(float64(i)/StepsPerDoubling)))
	}
	return t
}()

// Bucket returns the fine bucket index of d: the last i with
// d >= lower[i], which is ⌊4·log2(d/1 µs)⌋ clamped to the buckets. It
// finds the doubling from the bit length and then compares at most three
// bounds, without a logarithm: it is on every request's path.
func Bucket(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us == 0 {
		return 0
	}
	i := (bits.Len64(us) - 1) * StepsPerDoubling
	if i >= Buckets {
		return Buckets - 1
	}
	for i+1 < Buckets && d >= lower[i+1] {
		i++
	}
	return i
}

// CoarseBucket returns the coarse bucket index of d: the doubling its
// fine bucket is in.
func CoarseBucket(d time.Duration) int { return Bucket(d) / StepsPerDoubling }

// HalfBucket returns the half bucket index of d.
func HalfBucket(d time.Duration) int { return Bucket(d) / 2 }

// HalfQuantile is Quantile for the counts of a half histogram
// (HalfBuckets entries), in 32 or 64 bits.
func HalfQuantile[C ~uint32 | ~uint64](q float64, counts []C) time.Duration {
	return quantile(q, counts, 2)
}

// Quantile returns the q-quantile (0 < q <= 1) of the per-bucket,
// non-cumulative counts of a fine histogram (Buckets entries), or 0
// without observations. It is the geometric middle of the bucket that
// holds the ⌈q·n⌉-th smallest of the n durations, rounded to the
// microsecond.
func Quantile(q float64, counts []uint64) time.Duration { return quantile(q, counts, 1) }

// CoarseQuantile is Quantile for the counts of a coarse histogram
// (CoarseBuckets entries).
func CoarseQuantile(q float64, counts []uint64) time.Duration {
	return quantile(q, counts, StepsPerDoubling)
}

// quantile reads the q-quantile of counts whose buckets are width fine
// buckets wide.
func quantile[C ~uint32 | ~uint64](q float64, counts []C, width int) time.Duration {
	var total uint64
	for _, c := range counts {
		total += uint64(c)
	}
	if total == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i, c := range counts {
		seen += uint64(c)
		if seen >= rank {
			return middle(i*width, width)
		}
	}
	return middle((len(counts)-1)*width, width)
}

// middle is the geometric middle of the width fine buckets starting at
// fine bucket i, rounded to the microsecond.
func middle(i, width int) time.Duration {
	us := math.Exp2((float64(i) + float64(width)/2) / StepsPerDoubling)
	return time.Duration(math.Round(us)) * time.Microsecond
}

// Ms returns d in milliseconds, the unit figures and reports show.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Histogram counts durations in the fine buckets. It is a value type:
// copying it copies the counts.
type Histogram struct {
	// Counts are the per-bucket counts.
	Counts [Buckets]uint64
	// N is the number of durations added.
	N uint64
}

// Add counts d.
func (h *Histogram) Add(d time.Duration) {
	h.Counts[Bucket(d)]++
	h.N++
}

// Quantile returns the q-quantile of the durations added (see Quantile).
func (h *Histogram) Quantile(q float64) time.Duration { return Quantile(q, h.Counts[:]) }
