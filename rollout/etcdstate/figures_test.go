package etcdstate_test

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/stage"
)

// figured is one replica's own metrics published as cluster figures.
type figured struct {
	reg  *metrics.Registry
	figs *etcdstate.ClusterFigures
	stop func()
}

// publish starts r's cluster figures over a fresh metrics registry,
// publishing every 100 ms under a lease of ttl, until the test ends or
// stop is called (stop does not revoke: the replica "dies").
func publish(t *testing.T, r *replica, ttl time.Duration) *figured {
	t.Helper()
	f := &figured{reg: metrics.New()}
	f.figs = r.store.Figures(etcdstate.FiguresOptions{Name: r.name, Local: f.reg, Interval: 100 * time.Millisecond,
		TTL: ttl, Log: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.figs.Run(ctx) })
	var once sync.Once
	f.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(func() { f.stop(); f.figs.Close() })
	return f
}

// serve records n service requests of route orders at canary taking d.
func (f *figured) serve(n int, d time.Duration) {
	for range n {
		f.reg.Route("orders").Observe(stage.Canary.String(), metrics.SideService, 200, d)
	}
}

// sync publishes f's figures and reads the peers' now.
func (f *figured) sync(t *testing.T) {
	t.Helper()
	if err := f.figs.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// minRequests is the min_requests gate as an Automator reading figs sees
// it, after a window start, traffic, and a second evaluation.
func minRequests(t *testing.T, auto *rollout.Automator) rollout.Check {
	t.Helper()
	auto.Tick()
	ex, ok := auto.Explain("orders")
	if !ok {
		t.Fatal("orders not evaluated")
	}
	for _, c := range ex.Gates {
		if c.Name == "min_requests" {
			return c
		}
	}
	t.Fatalf("no min_requests gate in %+v", ex.Gates)
	return rollout.Check{}
}

// TestGatesCountTheCluster: three replicas each serve a third of the
// traffic; the gates of an automator reading the cluster figures meet
// min_requests with the sum, while one replica's own figures do not.
// Percentiles come from the summed buckets, not averaged p99s.
func TestGatesCountTheCluster(t *testing.T) {
	m := etcdtest.Start(t)
	file := fileConfig(t, backend(t, "monolith").URL, backend(t, "orders").URL)
	file.Routes[0].Stage, file.Routes[0].Percent = stage.Canary.String(), 50
	file.Routes[0].Automation = config.Automation{Enabled: true, Hold: time.Hour, Window: time.Minute,
		Gates: config.Gates{MinRequests: 30, MinCompared: 1}}
	if err := file.Validate(); err != nil {
		t.Fatal(err)
	}
	prefix := "/strangler/" + t.Name()
	var rs []*replica
	var fs []*figured
	for _, name := range []string{"r1", "r2", "r3"} {
		r := startReplica(t, name, prefix, []string{m.ClientURL}, file)
		rs = append(rs, r)
		fs = append(fs, publish(t, r, 5*time.Second))
	}
	cases := []struct {
		name    string
		figures rollout.Figures
		want    float64
	}{
		{"one replica's own figures", fs[0].reg, 10},
		{"cluster figures", fs[0].figs, 30},
	}
	autos := make([]*rollout.Automator, len(cases))
	for i, c := range cases {
		autos[i] = rollout.NewAutomator(rs[0].ctl, c.figures, rs[0].proxy, zerolog.Nop())
		autos[i].Tick() // the window starts
	}
	// 10 requests each; r3's are slow, so only the summed buckets give
	// the cluster's p99 (an average of p99s would not reach 1 s).
	fs[0].serve(10, 3*time.Millisecond)
	fs[1].serve(10, 3*time.Millisecond)
	fs[2].serve(10, 2*time.Second)
	for _, f := range fs {
		f.sync(t)
	}
	fs[0].sync(t) // r1 reads the others' latest
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := minRequests(t, autos[i])
			if g.Value != c.want || g.Holds != (c.want >= 30) {
				t.Errorf("min_requests = %v (holds %v), want %v", g.Value, g.Holds, c.want)
			}
		})
	}
	p99 := fs[0].figs.Figures("orders").Service.P99ms
	if p99 < 1000 {
		t.Errorf("cluster service p99 = %.1f ms, want above 1000 (from the summed buckets)", p99)
	}
	per := fs[0].figs.ReplicaFigures("orders")
	if got := slices.Sorted(mapKeys(per)); !slices.Equal(got, []string{"r1", "r2", "r3"}) {
		t.Errorf("replica figures of %v, want r1 r2 r3", got)
	}
	if per["r3"].Service.Requests != 10 {
		t.Errorf("r3's figures %+v, want 10 service requests", per["r3"].Service)
	}
	t.Logf("one replica publishes %d bytes for 1 route", fs[0].figs.Published())
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestFiguresLeaveWithTheLease: a replica that stops publishing without
// leaving drops out of the live figures once its lease expires; the sum
// the gates difference keeps its counts, so a window never goes back. A
// replica that restarts (counts from zero) does not make it go back
// either.
func TestFiguresLeaveWithTheLease(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 3)
	const ttl = 2 * time.Second
	fs := []*figured{publish(t, rs[0], ttl), publish(t, rs[1], ttl), publish(t, rs[2], ttl)}
	for i, f := range fs {
		f.serve(10*(i+1), time.Millisecond) // 10, 20, 30
	}
	testutil.Eventually(t, "fs[0].figs.Figures(\"orders\").Service.Requests == 60", func() bool { return fs[0].figs.Figures("orders").Service.Requests == 60 })
	before := fs[0].figs.Snapshot("orders")

	fs[1].stop() // r2 dies: no more publishing, no revoke
	start := time.Now()
	testutil.Eventually(t, "slices.Equal(fs[0].figs.Peers(), []string{\"r3\"})", func() bool { return slices.Equal(fs[0].figs.Peers(), []string{"r3"}) })
	if gone := time.Since(start); gone < ttl/2 {
		t.Errorf("r2 left after %s, before its lease (%s) could expire", gone, ttl)
	}
	if got := fs[0].figs.Figures("orders").Service.Requests; got != 40 {
		t.Errorf("live cluster figures count %d service requests after r2 left, want 40 (r1 + r3)", got)
	}
	if _, ok := fs[0].figs.ReplicaFigures("orders")["r2"]; ok {
		t.Error("r2 still in the replica figures after its lease expired")
	}
	after := fs[0].figs.Snapshot("orders")
	if after.Service.Requests != before.Service.Requests {
		t.Errorf("gates' cumulative sum went from %d to %d when r2 left; want it kept (a window must not go back)",
			before.Service.Requests, after.Service.Requests)
	}

	fs[2].stop() // r3 restarts: a new registry, counting from zero
	fs[2].figs.Close()
	fs[2] = publish(t, rs[2], ttl)
	fs[2].serve(5, time.Millisecond)
	testutil.Eventually(t, "fs[0].figs.Figures(\"orders\").Service.Requests == 15", func() bool { return fs[0].figs.Figures("orders").Service.Requests == 15 })
	if got := fs[0].figs.Snapshot("orders").Service.Requests; got != 65 {
		t.Errorf("gates' cumulative sum after r3 restarted = %d, want 65 (60 before + 5 new)", got)
	}
}

// TestFiguresDoNotResync: publishing figures writes under the prefix but
// the replicas do not read the rollout state again for it.
func TestFiguresDoNotResync(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 2)
	fs := []*figured{publish(t, rs[0], 0), publish(t, rs[1], 0)}
	before := rs[1].ctl.Revision()
	for i := range 5 {
		fs[0].serve(1, time.Millisecond) // changed counts: each sync puts
		fs[0].sync(t)
		fs[1].serve(1, time.Millisecond)
		fs[1].sync(t)
		_ = i
	}
	resp, err := rs[0].store.Client().Get(context.Background(), "/strangler/"+t.Name()+"/figures/r1")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("reading r1's figures: %v", err)
	}
	if resp.Header.Revision <= before+5 {
		t.Fatalf("etcd revision %d: the figures did not write", resp.Header.Revision)
	}
	time.Sleep(200 * time.Millisecond) // let the watch see the writes
	if after := rs[1].ctl.Revision(); after != before {
		t.Errorf("applied revision moved from %d to %d with figures only", before, after)
	}
}

// TestFiguresOfOtherLayouts: during a rolling upgrade a replica reads a
// peer still publishing layout 1 (16 Prometheus buckets) and counts it,
// and leaves out a peer in a newer layout with one warning, not an error
// at every beat.
func TestFiguresOfOtherLayouts(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 1)
	var log bytes.Buffer
	figs := rs[0].store.Figures(etcdstate.FiguresOptions{Name: rs[0].name, Local: metrics.New(),
		Log: zerolog.New(&log)})
	t.Cleanup(figs.Close)
	prefix := "/strangler/" + t.Name() + "/figures/"
	// old: legacy 10 requests, 1 error, all in (2.5, 5] ms; service 4
	// requests over 30 s; 7 compared, 6 matched, 2 fallbacks.
	old := `{"orders":[10,1,0,0,0,10,0,0,0,0,0,0,0,0,0,0,0,0,4,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,4,7,6,2]}`
	for name, value := range map[string]string{"old": old, "newer": `{"v":3,"routes":{"orders":{"x":[1]}}}`} {
		if _, err := rs[0].store.Client().Put(context.Background(), prefix+name, value); err != nil {
			t.Fatalf("putting %s's figures: %v", name, err)
		}
	}
	for range 3 {
		if err := figs.Sync(context.Background()); err != nil {
			t.Fatalf("Sync with an old and a newer peer: %v", err)
		}
	}
	if got := figs.Peers(); !slices.Equal(got, []string{"old"}) {
		t.Errorf("peers %v, want old only", got)
	}
	f := figs.Figures("orders")
	if f.Legacy.Requests != 10 || f.Legacy.Errors != 1 || f.Service.Requests != 4 {
		t.Errorf("cluster figures %+v, want the old replica's 10 legacy requests (1 error) and 4 service", f)
	}
	if p99 := f.Legacy.P99ms; p99 < 4 || p99 > 6 {
		t.Errorf("legacy p99 %v ms from the old replica's (2.5, 5] ms bucket, want about 5", p99)
	}
	if s := figs.Snapshot("orders"); s.Compared != 7 || s.Matched != 6 || s.Fallbacks != 2 {
		t.Errorf("cluster snapshot %+v, want 7 compared, 6 matched, 2 fallbacks", s)
	}
	if n := strings.Count(log.String(), `"peer":"newer"`); n != 1 {
		t.Errorf("%d warnings about the newer peer over 3 beats, want 1:\n%s", n, log.String())
	}
}

// maxBytesPerRoute bounds one route's share of a replica's figures key,
// which bounds the etcd traffic of the cluster figures: a replica puts
// its key every DefaultFiguresInterval (2 s) while its counts change.
// It is the worst case measured (every count at 2^64-1, worstCase): 2
// sides × 108 latency buckets of 20 digits, since the gates read the
// latency buckets of the route figures (before, 16 buckets: 820 bytes,
// a budget of 1024). At that worst a route named "r" costs 4742 B / 2 s
// ≈ 2.4 kB/s of etcd traffic per replica (before ≈ 0.4 kB/s), and etcd's
// 1.5 MiB request limit holds about 330 routes per replica; a route
// whose requests take a few adjacent buckets costs about 100 bytes (50
// B/s), one spread over three decades about 300 (150 B/s).
const maxBytesPerRoute = 4742

// TestPublishedBytesPerRoute measures one replica's key per route, for
// routes of 1000 requests a side spread over 0 to 1 s, for a route of
// 20 to 30 ms requests, and for the worst case (every count at its
// maximum).
func TestPublishedBytesPerRoute(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 1)
	f := publish(t, rs[0], 0)
	const routes = 20
	for i := range routes {
		name := string(rune('a'+i)) + "-route"
		for j := range 1000 {
			f.reg.Route(name).Observe(stage.Canary.String(), metrics.SideService, 200, time.Duration(j)*time.Millisecond)
			f.reg.Route(name).Observe(stage.Canary.String(), metrics.SideLegacy, 200, time.Duration(j)*time.Millisecond)
		}
	}
	f.sync(t)
	typical := f.figs.Published() / (routes + 1) // + the "orders" route
	narrow := narrowRoute(t)
	worst := worstCase(t)
	t.Logf("published bytes per route: %d with 1000 requests a side over 0-1 s, %d over 20-30 ms, %d at most (every count at 2^64-1)",
		typical, narrow, worst)
	if narrow == 0 || narrow > 128 || typical < narrow || worst < typical || worst > maxBytesPerRoute {
		t.Errorf("bytes per route: 20-30 ms %d, typical %d, worst %d; want 0 < 20-30 ms <= 128, <= typical <= worst <= %d",
			narrow, typical, worst, maxBytesPerRoute)
	}
}

// routeBytes is the size of route s in the value a replica publishes.
func routeBytes(t *testing.T, s metrics.Snapshot) int {
	t.Helper()
	none, err := etcdstate.EncodeFiguresForTest(map[string]metrics.Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	one, err := etcdstate.EncodeFiguresForTest(map[string]metrics.Snapshot{"r": s})
	if err != nil {
		t.Fatal(err)
	}
	return len(one) - len(none)
}

// narrowRoute is the size of a route whose 1000 requests a side take 20
// to 30 ms: a few adjacent latency buckets.
func narrowRoute(t *testing.T) int {
	t.Helper()
	reg := metrics.New()
	for j := range 1000 {
		d := 20*time.Millisecond + time.Duration(j)*10*time.Microsecond
		reg.Route("r").Observe(stage.Canary.String(), metrics.SideService, 200, d)
		reg.Route("r").Observe(stage.Canary.String(), metrics.SideLegacy, 200, d)
	}
	return routeBytes(t, reg.Snapshot("r"))
}

// worstCase is the size of one route in the value a replica publishes,
// with every count at its maximum: requests, errors, comparisons and
// every latency bucket of both sides at 2^64-1.
func worstCase(t *testing.T) int {
	t.Helper()
	var s metrics.Snapshot
	for _, c := range []*metrics.SideCounts{&s.Legacy, &s.Service} {
		c.Requests, c.Errors = math.MaxUint64, math.MaxUint64
		for i := range c.Buckets {
			c.Buckets[i] = math.MaxUint64
		}
	}
	s.Compared, s.Matched, s.Fallbacks = math.MaxUint64, math.MaxUint64, math.MaxUint64
	return routeBytes(t, s)
}
