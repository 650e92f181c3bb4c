package metrics

import (
	"testing"
	"time"
)

// TestSnapshotAddAndFigures: summed snapshots add bucket by bucket, and
// the quantiles of the sum come from the summed buckets, not from an
// average of each snapshot's quantile.
func TestSnapshotAddAndFigures(t *testing.T) {
	fast, slow := New(), New()
	for range 98 {
		fast.Route("r").Observe("canary", SideService, 200, time.Millisecond)
	}
	for range 2 {
		slow.Route("r").Observe("canary", SideService, 503, 2*time.Second)
	}
	sum := fast.Snapshot("r").Add(slow.Snapshot("r"))
	cases := []struct {
		name string
		got  float64
		min  float64
		max  float64
	}{
		{"requests", float64(sum.Service.Requests), 100, 100},
		{"errors", float64(sum.Service.Errors), 2, 2},
		{"p50 ms", sum.Figures().Service.P50ms, 0.5, 1},
		{"p99 ms", sum.Figures().Service.P99ms, 1000, 2500},
	}
	for _, c := range cases {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s = %v, want in [%v, %v]", c.name, c.got, c.min, c.max)
		}
	}
	if got := fast.Snapshots(); len(got) != 1 || got["r"].Service.Requests != 98 {
		t.Errorf("Snapshots() = %+v, want route r with 98 service requests", got)
	}
}
