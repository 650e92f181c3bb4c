package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// shadowTally is a dispatcher's counts as WatchShadow reads them: one
// count per route, result and reason.
type shadowTally struct {
	mu sync.Mutex
	n  map[shadowKey]uint64
}

func (s *shadowTally) add(route, result, reason string, n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[shadowKey]uint64{}
	}
	s.n[shadowKey{route, result, reason}] += n
}

// each is the counts func WatchShadow takes.
func (s *shadowTally) each(fn func(route, result, reason string, n uint64)) {
	s.mu.Lock()
	snap := maps.Clone(s.n)
	s.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(snap), func(a, b shadowKey) int {
		return strings.Compare(a.route+a.result+a.reason, b.route+b.result+b.reason)
	})
	for _, k := range keys {
		fn(k.route, k.result, k.reason, snap[k])
	}
}

const shadowHeader = `# HELP strangler_shadow_requests_total Mirrored requests by route, result (sent, dropped, skipped, failed) and reason.
# TYPE strangler_shadow_requests_total counter
`

// wantShadowSeries compares strangler_shadow_requests_total with series
// (exposition lines, no header; none: the family is absent).
func wantShadowSeries(t *testing.T, r *Registry, step string, series ...string) {
	t.Helper()
	want := ""
	if len(series) > 0 {
		want = shadowHeader + strings.Join(series, "\n") + "\n"
	}
	if err := testutil.GatherAndCompare(r.reg, strings.NewReader(want), "strangler_shadow_requests_total"); err != nil {
		t.Errorf("%s: %v", step, err)
	}
}

// TestShadowRequestsReadAtScrape: the series are the watched counts, read
// at each scrape, as the counter family of the same name and help.
func TestShadowRequestsReadAtScrape(t *testing.T) {
	r := New()
	wantShadowSeries(t, r, "before WatchShadow")
	var tally shadowTally
	r.WatchShadow(func() int64 { return 2 }, func() int64 { return 5 }, tally.each)
	wantShadowSeries(t, r, "nothing counted yet")
	tally.add("a", "sent", "", 3)
	tally.add("a", "skipped", "method", 1)
	tally.add("b", "failed", "refused", 2)
	wantShadowSeries(t, r, "counted",
		`strangler_shadow_requests_total{reason="",result="sent",route="a"} 3`,
		`strangler_shadow_requests_total{reason="method",result="skipped",route="a"} 1`,
		`strangler_shadow_requests_total{reason="refused",result="failed",route="b"} 2`)
	tally.add("a", "sent", "", 1)
	wantShadowSeries(t, r, "counted again",
		`strangler_shadow_requests_total{reason="",result="sent",route="a"} 4`,
		`strangler_shadow_requests_total{reason="method",result="skipped",route="a"} 1`,
		`strangler_shadow_requests_total{reason="refused",result="failed",route="b"} 2`)
	fams := scrape(t, r)
	for name, want := range map[string]float64{"strangler_shadow_inflight": 2, "strangler_shadow_queue_depth": 5} {
		if f := fams[name]; f == nil || f.GetMetric()[0].GetGauge().GetValue() != want {
			t.Errorf("%s = %v, want %v", name, f, want)
		}
	}
}

// TestShadowRequestsForgetRoute: ForgetRoute hides a route's series while
// the source keeps counting it; should the route count again, its series
// start from zero, as a deleted counter's would. A new source is shown
// whole.
func TestShadowRequestsForgetRoute(t *testing.T) {
	r := New()
	var tally shadowTally
	r.WatchShadow(func() int64 { return 0 }, func() int64 { return 0 }, tally.each)
	tally.add("a", "sent", "", 3)
	tally.add("a", "dropped", "queue_full", 1)
	tally.add("b", "sent", "", 5)
	r.ForgetRoute("a")
	wantShadowSeries(t, r, "a forgotten",
		`strangler_shadow_requests_total{reason="",result="sent",route="b"} 5`)
	tally.add("a", "sent", "", 2)
	wantShadowSeries(t, r, "a counting again",
		`strangler_shadow_requests_total{reason="",result="sent",route="a"} 2`,
		`strangler_shadow_requests_total{reason="",result="sent",route="b"} 5`)
	r.ForgetRoute("a")
	r.ForgetRoute("a") // twice: nothing more to hide
	tally.add("a", "sent", "", 1)
	wantShadowSeries(t, r, "a forgotten twice, counting again",
		`strangler_shadow_requests_total{reason="",result="sent",route="a"} 1`,
		`strangler_shadow_requests_total{reason="",result="sent",route="b"} 5`)
	var other shadowTally
	other.add("a", "sent", "", 7)
	r.WatchShadow(func() int64 { return 0 }, func() int64 { return 0 }, other.each)
	wantShadowSeries(t, r, "a new source",
		`strangler_shadow_requests_total{reason="",result="sent",route="a"} 7`)
}

// TestShadowRequestsConcurrent scrapes and forgets a route while its
// counts grow (run with -race); a route never forgotten shows every
// count.
func TestShadowRequestsConcurrent(t *testing.T) {
	const writers, each = 4, 500
	r := New()
	var tally shadowTally
	r.WatchShadow(func() int64 { return 0 }, func() int64 { return 0 }, tally.each)
	stop := make(chan struct{})
	var readers, wg sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := r.reg.Gather(); err != nil {
				t.Error(err)
				return
			}
			r.ForgetRoute("a")
		}
	})
	for range writers {
		wg.Go(func() {
			for range each {
				tally.add("a", "sent", "", 1)
				tally.add("b", "sent", "", 1)
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	m := find(scrape(t, r)["strangler_shadow_requests_total"], map[string]string{"route": "b", "result": "sent"})
	if got := m.GetCounter().GetValue(); got != writers*each {
		t.Errorf("route b sent = %v, want %d", got, writers*each)
	}
}
