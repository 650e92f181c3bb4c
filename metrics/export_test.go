package metrics

import (
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
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

// TestSnapshotAgreesWithRouteFigures: the same durations give the same
// p50 and p99 via Route.Figures, via a Snapshot, via the difference of
// two snapshots (what the rollout gates read) and via the sum of two
// replicas' snapshots (the cluster figures), to the microsecond, and the
// same as a latency.Histogram fed directly.
func TestSnapshotAgreesWithRouteFigures(t *testing.T) {
	tests := []struct {
		name string
		durs func(i int) time.Duration
	}{
		{"one value", func(int) time.Duration { return 3 * time.Millisecond }},
		{"1 to 1000 ms", func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }},
		{"slow tail of 2%", func(i int) time.Duration {
			if i%50 == 0 {
				return 2 * time.Second
			}
			return 800 * time.Microsecond
		}},
		{"over 2 minutes", func(i int) time.Duration { return 3*time.Minute + time.Duration(i)*time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			one, other := New(), New()
			before := one.Snapshot("r")
			var h latency.Histogram
			for i := range 1000 {
				reg := one
				if i%2 == 1 {
					reg = other
				}
				reg.Route("r").Observe("canary", SideService, 200, tt.durs(i))
				h.Add(tt.durs(i))
			}
			whole := New()
			for i := range 1000 {
				whole.Route("r").Observe("canary", SideService, 200, tt.durs(i))
			}
			sum := one.Snapshot("r").Add(other.Snapshot("r"))
			want := SideFigures{Requests: 1000, P50ms: latency.Ms(h.Quantile(0.5)), P99ms: latency.Ms(h.Quantile(0.99))}
			for _, c := range []struct {
				via string
				got SideFigures
			}{
				{"Route.Figures", whole.Route("r").Figures().Service},
				{"Snapshot.Figures", whole.Snapshot("r").Figures().Service},
				{"summed snapshots", sum.Figures().Service},
				{"Quantile of a window", SideFigures{Requests: sum.Sub(before).Service.Requests,
					P50ms: latency.Ms(sum.Sub(before).Service.Quantile(0.5)), P99ms: latency.Ms(sum.Sub(before).Service.Quantile(0.99))}},
			} {
				if c.got != want || c.got.P99ms == 0 {
					t.Errorf("%s: %+v, want %+v (latency.Histogram)", c.via, c.got, want)
				}
			}
		})
	}
}
