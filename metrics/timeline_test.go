package metrics

import (
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
)

func TestTimelineBuckets(t *testing.T) {
	tl := &timeline{}
	now := time.Unix(1_800_000_000, 0)
	tl.observe(now, 0, 200, latency.CoarseBucket(2*time.Millisecond))
	tl.observe(now, 0, 503, latency.CoarseBucket(2*time.Millisecond))
	tl.observe(now, 1, 200, latency.CoarseBucket(20*time.Millisecond))
	tl.compared(now, true)
	tl.compared(now, false)
	older := now.Add(-10 * time.Minute)
	tl.observe(older, 1, 200, latency.CoarseBucket(300*time.Millisecond))
	tl.observe(now.Add(-2*time.Hour), 1, 200, latency.CoarseBucket(300*time.Millisecond)) // out of the window: overwritten or ignored

	s := tl.series(now)
	last, tenAgo := TimelineSize-1, TimelineSize-1-int(10*time.Minute/(BucketSeconds*time.Second))
	for _, tc := range []struct {
		desc      string
		got, want uint32
	}{
		{"legacy requests now", s.Legacy.Requests[last], 2},
		{"legacy errors now", s.Legacy.Errors[last], 1},
		{"service requests now", s.Service.Requests[last], 1},
		{"compared now", s.Compared[last], 2},
		{"matched now", s.Matched[last], 1},
		{"service 10 minutes ago", s.Service.Requests[tenAgo], 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d; want %d", tc.desc, tc.got, tc.want)
		}
	}
	var total uint32
	for _, n := range s.Service.Requests {
		total += n
	}
	if total != 2 {
		t.Errorf("service requests in the hour = %d; want 2 (the 2-hour-old one is outside)", total)
	}
	if p := s.Service.P99ms[last]; p < 16.384 || p > 32.768 {
		t.Errorf("p99 of a 20 ms request = %v ms; want within its bucket (16.384-32.768 ms)", p)
	}
	// A bucket reused an hour later starts empty.
	s = tl.series(now.Add(time.Hour))
	if s.Legacy.Requests[last] != 0 {
		t.Error("an hour-old bucket was reported as current")
	}
}

func TestRegistryTimeline(t *testing.T) {
	r := New()
	r.Route("orders").Observe("canary", SideService, 200, 3*time.Millisecond)
	r.Compared("orders", "noise-only")
	r.Route("idle")
	tl := r.Timeline()
	if tl.BucketSeconds != BucketSeconds || len(tl.Routes) != 1 {
		t.Fatalf("timeline has %d routes (bucket %ds); want only the route with traffic", len(tl.Routes), tl.BucketSeconds)
	}
	s := tl.Routes["orders"]
	if s.Service.Requests[TimelineSize-1] != 1 || s.Matched[TimelineSize-1] != 1 {
		t.Errorf("current bucket: %d requests, %d matched; want 1, 1", s.Service.Requests[TimelineSize-1], s.Matched[TimelineSize-1])
	}
	if time.Since(tl.Start) > time.Hour+time.Minute || time.Since(tl.Start) < time.Hour-time.Minute {
		t.Errorf("start %v is not an hour ago", tl.Start)
	}
}
