package shadow

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/report"
)

// count is one outcome counted for a route.
type count struct{ route, result, reason string }

// TestRegistryPerRouteCounts counts outcomes for two routes and reads
// them back per route for the report (sent includes failed) and series by
// series for the metrics.
func TestRegistryPerRouteCounts(t *testing.T) {
	reg := newRegistry()
	for _, c := range []count{
		{"a", resultSent, ""}, {"a", resultSent, ""}, {"a", resultFailed, "refused"},
		{"a", resultSkipped, ReasonMethod}, {"a", resultDropped, ReasonQueueFull},
		{"a", resultDropped, ReasonQueueFull}, {"b", resultSkipped, ReasonSampledOut},
		{"b", resultDropped, ReasonMemory}, {"b", resultFailed, "timeout"},
	} {
		reg.routeStats(c.route).add(c.result, c.reason)
	}
	tests := []struct {
		route string
		want  report.ShadowCounts
	}{
		{"a", report.ShadowCounts{Sent: 3, Skipped: map[string]uint64{ReasonMethod: 1},
			Dropped: map[string]uint64{ReasonQueueFull: 2}}},
		{"b", report.ShadowCounts{Sent: 1, Skipped: map[string]uint64{ReasonSampledOut: 1},
			Dropped: map[string]uint64{ReasonMemory: 1}}},
		{"never", report.ShadowCounts{Skipped: map[string]uint64{}, Dropped: map[string]uint64{}}},
	}
	for _, tc := range tests {
		got := reg.counts(tc.route)
		if got.Sent != tc.want.Sent || !maps.Equal(got.Skipped, tc.want.Skipped) ||
			!maps.Equal(got.Dropped, tc.want.Dropped) || got.Skipped == nil || got.Dropped == nil {
			t.Errorf("counts(%q) = %+v, want %+v", tc.route, got, tc.want)
		}
	}
	var series []string
	reg.eachCount(func(route, result, reason string, n uint64) {
		series = append(series, fmt.Sprintf("%s/%s/%s=%d", route, result, reason, n))
	})
	want := []string{"a/dropped/queue_full=2", "a/failed/refused=1", "a/sent/=2", "a/skipped/method=1",
		"b/dropped/memory=1", "b/failed/timeout=1", "b/skipped/sampled_out=1"}
	if !slices.Equal(series, want) {
		t.Errorf("eachCount:\n got %q\nwant %q", series, want)
	}
	if _, ok := lookup(&reg.mu, reg.stats, "never"); ok {
		t.Error("reading a route's counts created its entry")
	}
}

// TestRegistryCreatesOnFirstUse: each entry is made once and then shared
// (policies of later configs find the same learner, counts and breaker);
// breakers are per copy target, not per route.
func TestRegistryCreatesOnFirstUse(t *testing.T) {
	reg := newRegistry()
	a, b := newUpstream(t, "orders", "http://127.0.0.1:1"), newUpstream(t, "orders", "http://127.0.0.1:2")
	t.Cleanup(func() { a.Close(); b.Close() })
	l, st, br := reg.learner("x"), reg.routeStats("x"), reg.breaker(a)
	if again := reg.learner("x"); again != l || reg.learner("y") == l {
		t.Error("learner: not one per route")
	}
	if again := reg.routeStats("x"); again != st || reg.routeStats("y") == st {
		t.Error("routeStats: not one per route")
	}
	if again := reg.breaker(a); again != br || reg.breaker(b) == br {
		t.Error("breaker: not one per target (name and URL)")
	}
	if reg.noise("unknown") != nil || len(reg.learnedNoise()) != 0 {
		t.Error("noise of routes that learned nothing")
	}
}

// TestRegistryConcurrentCounts counts from eight goroutines into two
// routes, and into routes made on the way, while others read the counts:
// no count is lost (run with -race).
func TestRegistryConcurrentCounts(t *testing.T) {
	const writers, each = 8, 2000
	reg := newRegistry()
	stop := make(chan struct{})
	var readers, wg sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				reg.eachCount(func(string, string, string, uint64) {})
				_ = reg.counts("a")
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				route := []string{"a", "b"}[i%2]
				reg.routeStats(route).add(resultSkipped, ReasonSampledOut)
				reg.routeStats(fmt.Sprintf("r%d", w)).add(resultSent, "")
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	for _, route := range []string{"a", "b"} {
		if got := reg.counts(route).Skipped[ReasonSampledOut]; got != writers*each/2 {
			t.Errorf("route %s: %d counted, want %d", route, got, writers*each/2)
		}
	}
	var sent uint64
	reg.eachCount(func(_, result, _ string, n uint64) {
		if result == resultSent {
			sent += n
		}
	})
	if sent != writers*each {
		t.Errorf("sent over the routes made on the way = %d, want %d", sent, writers*each)
	}
}

// BenchmarkSkippedCount is what a request that is not mirrored pays to
// be counted (sampled out, say), from every core at once: one lock of its
// route's counts, nothing in the metrics (they read the counts at scrape
// time). Before the counts were kept once it also incremented a
// Prometheus child looked up by three label values: 400-740 ns/op then,
// 50-140 ns/op now, on the shared 2-core machine.
func BenchmarkSkippedCount(b *testing.B) {
	d := New(Options{Observer: metrics.New()})
	p, err := d.NewPolicy(PolicyConfig{Route: testRoute})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.skipped(ReasonSampledOut)
		}
	})
}
