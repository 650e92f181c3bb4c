package etcdstate_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/stage"
)

// Automation of the leader tests: short hold, real clock.
const (
	autoHold     = time.Second // long enough for a loaded test to see every step
	autoInterval = 25 * time.Millisecond
)

// automatedFile is the route file of the leader tests: orders at shadow,
// automated along shadow → canary 25 → canary 50 → migrated.
func automatedFile(t testing.TB) *config.Config {
	t.Helper()
	file := fileConfig(t, backend(t, "monolith").URL, backend(t, "orders").URL)
	r := &file.Routes[0]
	r.Stage = stage.Shadow.String()
	r.Plan = []string{"shadow", "canary 25", "canary 50", "migrated"}
	r.Shadow.Canary = true
	r.Automation = config.Automation{Enabled: true, Hold: autoHold, Window: 10 * time.Second,
		Gates: config.Gates{MinCompared: 20, MinRequests: 20, MatchRate: 0.99, ErrorRate: new(0.01),
			P99Max: 500 * time.Millisecond},
		Rollback: config.Triggers{MatchRate: 0.9, ErrorRate: 0.05, P99Max: time.Second, MinSamples: 20}}
	if err := file.Validate(); err != nil {
		t.Fatalf("automated route file invalid: %v", err)
	}
	return file
}

// feed records n comparisons and n service and monolith answers of the
// route: equal and fast when healthy, different and failing when not.
func feed(reg *metrics.Registry, healthy bool, n int) {
	verdict, status := "equal", 200
	if !healthy {
		verdict, status = "different", 500
	}
	m := reg.Route("orders")
	for range n {
		reg.Compared("orders", verdict)
		m.Observe("canary", metrics.SideService, status, 5*time.Millisecond)
		m.Observe("canary", metrics.SideLegacy, 200, 5*time.Millisecond)
	}
}

// autoReplica is a replica with its own figures, an elector campaigning
// for it and an automator deciding while it leads.
type autoReplica struct {
	*replica
	reg    *metrics.Registry
	el     *etcdstate.Elector
	auto   *rollout.Automator
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dead   atomic.Bool
}

// startAutoReplica starts a replica whose elector and automator run until
// kill or the end of the test.
func startAutoReplica(t *testing.T, name, prefix string, endpoints []string, file *config.Config, ttl time.Duration) *autoReplica {
	t.Helper()
	r := &autoReplica{replica: startReplica(t, name, prefix, endpoints, file), reg: metrics.New()}
	r.el = r.store.Elector(etcdstate.ElectorOptions{TTL: ttl})
	r.auto = rollout.NewAutomator(r.ctl, r.reg, r.proxy, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Str("r", name).Logger())
	r.auto.SetLeadership(r.el)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() { r.el.Run(ctx) })
	r.wg.Go(func() { r.auto.Run(ctx, autoInterval) })
	t.Cleanup(r.stop)
	return r
}

// stop ends the elector and the automator (the elector resigns).
func (r *autoReplica) stop() {
	r.cancel()
	r.wg.Wait()
}

// kill is a crash: the replica's etcd client goes away first, so it
// neither resigns nor decides again; its lease expires by itself.
func (r *autoReplica) kill() {
	r.dead.Store(true)
	_ = r.store.Close()
	r.stop()
	r.replica.Close()
}

// leading returns the live replica that leads, waiting up to limit.
func leading(t *testing.T, rs []*autoReplica, limit time.Duration) (*autoReplica, time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		for _, r := range rs {
			if _, self := r.el.Leader(); self && !r.dead.Load() {
				return r, time.Since(start)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no replica was elected within %s", limit)
	return nil, 0
}

// waitAt waits until r serves orders at want.
func waitAt(t *testing.T, r *autoReplica, want stage.Position, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if v, _ := r.ctl.Route("orders"); v.Position == want {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	v, _ := r.ctl.Route("orders")
	t.Fatalf("%s: orders at %s after %s, want %s", r.name, v.Position, limit, want)
	return 0
}

// feeder feeds every live replica's figures every 10 ms until stopped;
// healthy says which traffic.
type feeder struct {
	healthy atomic.Bool
	paused  atomic.Bool
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

func startFeeder(t *testing.T, rs []*autoReplica) *feeder {
	t.Helper()
	f := &feeder{}
	f.healthy.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	f.wg.Go(func() {
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			for _, r := range rs {
				if !r.dead.Load() && !f.paused.Load() {
					feed(r.reg, f.healthy.Load(), 5)
				}
			}
		}
	})
	t.Cleanup(func() { cancel(); f.wg.Wait() })
	return f
}
