package etcdstate_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
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

// TestPublishedBytesPerRoute measures one replica's key per route, for
// a quiet route and for the worst case (every count at its maximum).
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
	worst := worstCase(t)
	t.Logf("published bytes per route: %d with 1000 requests a side, %d at most (every count at 2^64-1)", typical, worst)
	if typical == 0 || worst < typical || worst > 1024 {
		t.Errorf("bytes per route: typical %d, worst %d; want 0 < typical <= worst <= 1024", typical, worst)
	}
}

// worstCase is the length of one route's array with every count maxed,
// in the layout a replica publishes.
func worstCase(t *testing.T) int {
	t.Helper()
	a := make([]uint64, 2*(2+len(metrics.SideCounts{}.Buckets))+3)
	for i := range a {
		a[i] = math.MaxUint64
	}
	b, err := json.Marshal(map[string][]uint64{"": a})
	if err != nil {
		t.Fatal(err)
	}
	return len(b) - len(`{"":}`)
}
