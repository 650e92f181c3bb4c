package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/metrics"
)

// TestLatencyAgreesWithRouteFigures feeds the same durations to the
// report and to a route's live figures (metrics) and wants the same p50
// and p99 from both and from a metrics.Snapshot (what the rollout gates
// and the cluster figures read), to the microsecond: one estimator.
func TestLatencyAgreesWithRouteFigures(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 3))
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
		{"log-uniform 10 µs to 10 s", func(int) time.Duration {
			return time.Duration(10e3 * math.Pow(10, 6*rng.Float64()))
		}},
		{"over 2 minutes", func(i int) time.Duration { return 3*time.Minute + time.Duration(i)*time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStore(t, Options{})
			reg := metrics.New()
			var recs []Record
			for i := range 1000 {
				rec := record("r", diff.VerdictEqual)
				rec.Legacy.Duration, rec.Service.Duration = tt.durs(i), tt.durs(999-i)
				reg.Route("r").Observe("shadow", metrics.SideLegacy, 200, rec.Legacy.Duration)
				reg.Route("r").Observe("shadow", metrics.SideService, 200, rec.Service.Duration)
				recs = append(recs, rec)
			}
			offerAll(t, s, recs...)
			rr := s.Report(nil).Routes[0]
			figs, snap := reg.Route("r").Figures(), reg.Snapshot("r").Figures()
			for _, side := range []struct {
				name string
				rep  Latency
				fig  metrics.SideFigures
				snap metrics.SideFigures // what the rollout gates and cluster figures read
			}{{"legacy", rr.LegacyLatency, figs.Legacy, snap.Legacy}, {"service", rr.ServiceLatency, figs.Service, snap.Service}} {
				got := fmt.Sprintf("p50 %v ms, p99 %v ms", side.rep.P50ms, side.rep.P99ms)
				want := fmt.Sprintf("p50 %v ms, p99 %v ms", side.fig.P50ms, side.fig.P99ms)
				if got != want || side.rep.P99ms == 0 {
					t.Errorf("%s: report says %s, route figures say %s", side.name, got, want)
				}
				if s := fmt.Sprintf("p50 %v ms, p99 %v ms", side.snap.P50ms, side.snap.P99ms); s != got {
					t.Errorf("%s: report says %s, a snapshot says %s", side.name, got, s)
				}
			}
		})
	}
}
