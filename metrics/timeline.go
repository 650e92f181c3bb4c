package metrics

import (
	"sync"
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
)

// Timeline resolution: BucketSeconds-wide buckets covering the last hour.
const (
	BucketSeconds = 15
	TimelineSize  = 3600 / BucketSeconds
)

// sideBucket is one side's traffic in one time bucket. Its latency
// histogram has latency's coarse layout (one bucket per doubling): it is
// kept per time bucket.
type sideBucket struct {
	requests uint32
	errors   uint32
	lat      [latency.CoarseBuckets]uint32
}

// timeBucket is one route's figures in one time bucket.
type timeBucket struct {
	slot     int64 // unix time / BucketSeconds; a stale slot is reset on use
	sides    [len(sides)]sideBucket
	compared uint32
	matched  uint32 // equal or noise-only
}

// timeline is one route's ring of buckets. Memory is fixed per route
// (about 60 KB) and allocated on the route's first request.
type timeline struct {
	mu      sync.Mutex
	buckets [TimelineSize]timeBucket
}

// bucket returns the bucket for now, resetting it if it holds an older
// slot, or nil if it already holds a newer one (the clock went back).
// Called with t.mu held.
func (t *timeline) bucket(now time.Time) *timeBucket {
	slot := now.Unix() / BucketSeconds
	b := &t.buckets[slot%TimelineSize]
	switch {
	case b.slot > slot:
		return nil
	case b.slot < slot:
		*b = timeBucket{slot: slot}
	}
	return b
}

// observe counts one request of side sd whose latency is in the coarse
// latency bucket coarse.
func (t *timeline) observe(now time.Time, sd, status, coarse int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(now)
	if b == nil {
		return
	}
	s := &b.sides[sd]
	s.requests++
	if status >= 500 {
		s.errors++
	}
	s.lat[coarse]++
}

func (t *timeline) compared(now time.Time, matched bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(now)
	if b == nil {
		return
	}
	b.compared++
	if matched {
		b.matched++
	}
}

// SideSeries is one side's figures per bucket, oldest first.
type SideSeries struct {
	Requests []uint32  `json:"requests"`
	Errors   []uint32  `json:"errors"`
	P99ms    []float64 `json:"p99_ms"`
}

// Series is one route's figures over the last hour, oldest bucket first.
type Series struct {
	Legacy   SideSeries `json:"legacy"`
	Service  SideSeries `json:"service"`
	Compared []uint32   `json:"compared"`
	Matched  []uint32   `json:"matched"`
}

// Timeline is every route's Series with the time of the first bucket.
type Timeline struct {
	BucketSeconds int               `json:"bucket_seconds"`
	Start         time.Time         `json:"start"`
	Routes        map[string]Series `json:"routes"`
}

// series snapshots the ring for the hour ending at now.
func (t *timeline) series(now time.Time) Series {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := Series{Legacy: newSideSeries(), Service: newSideSeries(),
		Compared: make([]uint32, TimelineSize), Matched: make([]uint32, TimelineSize)}
	last := now.Unix() / BucketSeconds
	for i := range TimelineSize {
		slot := last - TimelineSize + 1 + int64(i)
		b := &t.buckets[slot%TimelineSize]
		if b.slot != slot {
			continue
		}
		out.Legacy.set(i, &b.sides[0])
		out.Service.set(i, &b.sides[1])
		out.Compared[i], out.Matched[i] = b.compared, b.matched
	}
	return out
}

func newSideSeries() SideSeries {
	return SideSeries{Requests: make([]uint32, TimelineSize), Errors: make([]uint32, TimelineSize),
		P99ms: make([]float64, TimelineSize)}
}

func (s *SideSeries) set(i int, b *sideBucket) {
	s.Requests[i], s.Errors[i] = b.requests, b.errors
	var counts [latency.CoarseBuckets]uint64
	for j, c := range b.lat {
		counts[j] = uint64(c)
	}
	s.P99ms[i] = latency.Ms(latency.CoarseQuantile(0.99, counts[:]))
}

// Timeline returns the last hour of every route that saw traffic.
func (r *Registry) Timeline() Timeline {
	now := time.Now()
	start := time.Unix((now.Unix()/BucketSeconds-TimelineSize+1)*BucketSeconds, 0).UTC()
	out := Timeline{BucketSeconds: BucketSeconds, Start: start, Routes: map[string]Series{}}
	r.mu.RLock()
	routes := make(map[string]*Route, len(r.routes))
	for name, m := range r.routes {
		routes[name] = m
	}
	r.mu.RUnlock()
	for name, m := range routes {
		if tl := m.tl.Load(); tl != nil {
			out.Routes[name] = tl.series(now)
		}
	}
	return out
}

// timeline returns the route's ring, creating it on first use.
func (m *Route) timeline() *timeline {
	if tl := m.tl.Load(); tl != nil {
		return tl
	}
	m.tl.CompareAndSwap(nil, new(timeline))
	return m.tl.Load()
}
