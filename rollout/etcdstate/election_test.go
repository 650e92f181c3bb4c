package etcdstate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/stage"
)

var (
	canary25 = stage.Position{Stage: stage.Canary.String(), Percent: 25}
	canary50 = stage.Position{Stage: stage.Canary.String(), Percent: 50}
	shadowAt = stage.Position{Stage: stage.Shadow.String()}
)

// TestOneAutomationLeader runs automation on three replicas sharing one
// etcd with a faithful service: one replica leads and walks the plan;
// killed, another takes over within the lease TTL and continues; a
// rollback trigger fires once. Every decision is in the trail once, made
// by the replica that led at the time.
func TestOneAutomationLeader(t *testing.T) {
	m := etcdtest.Start(t)
	file := automatedFile(t)
	prefix := "/strangler/" + t.Name()
	ttl := etcdstate.DefaultLeaderTTL
	var rs []*autoReplica
	for _, name := range []string{"r1", "r2", "r3"} {
		rs = append(rs, startAutoReplica(t, name, prefix, []string{m.ClientURL}, file, ttl))
	}
	f := startFeeder(t, rs)

	first, _ := leading(t, rs, 10*time.Second)
	waitAt(t, first, canary25, 10*time.Second)
	checkIdle(t, rs, first)

	killed := time.Now()
	first.kill()
	second, _ := leading(t, rs, ttl+5*time.Second)
	elected := time.Since(killed)
	waitAt(t, second, canary50, 10*time.Second)
	decided := time.Since(killed)
	t.Logf("automation failover: %s killed; %s elected %s later (lease TTL %s); its first decision %s after the kill",
		first.name, second.name, elected.Round(time.Millisecond), ttl, decided.Round(time.Millisecond))
	if elected > ttl+1500*time.Millisecond { // etcd expires leases in a 500 ms loop
		t.Errorf("%s took over %s after the leader died, more than the lease TTL %s", second.name, elected, ttl)
	}
	waitAt(t, second, stage.Position{Stage: stage.Migrated.String()}, 10*time.Second)

	f.healthy.Store(false)
	waitAt(t, second, shadowAt, 10*time.Second)
	time.Sleep(20 * autoInterval) // more ticks on both live replicas: no second rollback
	f.stop()

	want := []struct {
		action   string
		from, to stage.Position
		by       string
	}{
		{"promote", shadowAt, canary25, first.name},
		{"promote", canary25, canary50, second.name},
		{"promote", canary50, stage.Position{Stage: stage.Migrated.String()}, second.name},
		{"rollback", stage.Position{Stage: stage.Migrated.String()}, shadowAt, second.name},
	}
	for _, r := range rs {
		if r.dead.Load() {
			continue
		}
		waitRevision(t, r.replica, second.ctl.Revision())
		got := automatic(r.ctl.Audit())
		if len(got) != len(want) {
			t.Fatalf("%s: %d automatic decisions in the trail, want %d: %+v", r.name, len(got), len(want), got)
		}
		for i, w := range want {
			g := got[i]
			if g.Action != w.action || g.From != w.from || g.To != w.to || g.Replica != w.by {
				t.Errorf("%s: decision %d is %s %s→%s by %s, want %s %s→%s by %s",
					r.name, i, g.Action, g.From, g.To, g.Replica, w.action, w.from, w.to, w.by)
			}
		}
		if got := leaders(r.ctl.Audit()); strings.Join(got, ",") != first.name+","+second.name {
			t.Errorf("%s: leader events name %v, want [%s %s]", r.name, got, first.name, second.name)
		}
	}
}

// checkIdle: the replicas that do not lead evaluate nothing and name the
// leader.
func checkIdle(t *testing.T, rs []*autoReplica, leader *autoReplica) {
	t.Helper()
	for _, r := range rs {
		if r == leader {
			continue
		}
		ex, ok := r.auto.Explain("orders")
		if !ok || ex.Leader != leader.name || !strings.Contains(ex.Waiting, "idle") || ex.Gates != nil {
			t.Errorf("%s does not lead: Explain %+v, want idle naming %s", r.name, ex, leader.name)
		}
		if name, self := r.auto.Leader(); name != leader.name || self {
			t.Errorf("%s: Leader() = %q, %v; want %q, false", r.name, name, self, leader.name)
		}
	}
}

// automatic returns the route's automatic decisions, oldest first.
func automatic(a *rollout.Audit) []rollout.Event {
	var out []rollout.Event
	events := a.List("orders", 0)
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Source == rollout.SourceAutomation {
			out = append(out, events[i])
		}
	}
	return out
}

// leaders names the replicas of the "leader" events, oldest first.
func leaders(a *rollout.Audit) []string {
	var out []string
	events := a.List("", 0)
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Action == rollout.ActionLeader {
			out = append(out, events[i].Replica)
		}
	}
	return out
}

// frozenLeader is a leader that was paused (a long GC, SIGSTOP, a
// partition): it still believes in the term it held.
type frozenLeader struct{ fence rollout.Fence }

func (f frozenLeader) Fence() (rollout.Fence, bool) { return f.fence, true }
func (f frozenLeader) Leader() (string, bool)       { return "r1", true }

// TestFencedCommit: a decision commits only while the term it was made
// in holds; admin changes are not fenced.
func TestFencedCommit(t *testing.T) {
	m := etcdtest.Start(t)
	file := automatedFile(t)
	prefix := "/strangler/" + t.Name()
	r := startReplica(t, "r1", prefix, []string{m.ClientURL}, file)
	campaign := func(name string) (*concurrency.Session, rollout.Fence) {
		s, err := concurrency.NewSession(r.store.Client(), concurrency.WithTTL(5))
		if err != nil {
			t.Fatalf("session: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		el := concurrency.NewElection(s, prefix+etcdstate.ElectionPrefix)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := el.Campaign(ctx, name); err != nil {
			t.Fatalf("campaign: %v", err)
		}
		return s, rollout.Fence{Key: el.Key(), Rev: el.Rev()}
	}
	s1, term1 := campaign("r1")
	cases := []struct {
		name    string
		before  func() *rollout.Fence
		wantErr error
	}{
		{"current term", func() *rollout.Fence { return &term1 }, nil},
		{"admin change, no fence", func() *rollout.Fence { return nil }, nil},
		{"session revoked", func() *rollout.Fence { _ = s1.Close(); return &term1 }, rollout.ErrNotLeader},
		{"former term after a new leader", func() *rollout.Fence { campaign("r2"); return &term1 }, rollout.ErrNotLeader},
		{"key of another term", func() *rollout.Fence { return &rollout.Fence{Key: term1.Key, Rev: term1.Rev + 1} }, rollout.ErrNotLeader},
	}
	for _, c := range cases {
		fence := c.before()
		before, _ := r.ctl.Route("orders")
		n := len(r.ctl.Audit().List("orders", 0))
		pos := canary25
		if before.Position == canary25 {
			pos = shadowAt
		}
		_, err := r.ctl.SetStage(rollout.Change{Route: "orders", Source: rollout.SourceAutomation, Fence: fence, Reason: c.name}, pos)
		after, _ := r.ctl.Route("orders")
		switch {
		case c.wantErr == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr != nil && !errors.Is(err, c.wantErr):
			t.Errorf("%s: err %v, want %v", c.name, err, c.wantErr)
		case c.wantErr != nil && (after.Position != before.Position || len(r.ctl.Audit().List("orders", 0)) != n):
			t.Errorf("%s: refused, yet orders moved %s→%s or the trail grew", c.name, before.Position, after.Position)
		case c.wantErr == nil && after.Position != pos:
			t.Errorf("%s: orders at %s, want %s", c.name, after.Position, pos)
		}
	}
}

// TestPausedLeaderStopsDeciding: a leader paused past its lease wakes up
// still believing it leads; its promotion is refused, logged, and it
// stays idle from then on.
func TestPausedLeaderStopsDeciding(t *testing.T) {
	m := etcdtest.Start(t)
	file := automatedFile(t)
	prefix := "/strangler/" + t.Name()
	r := startReplica(t, "r1", prefix, []string{m.ClientURL}, file)
	s, err := concurrency.NewSession(r.store.Client(), concurrency.WithTTL(5))
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	el := concurrency.NewElection(s, prefix+etcdstate.ElectionPrefix)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := el.Campaign(ctx, "r1"); err != nil {
		t.Fatalf("campaign: %v", err)
	}
	reg := metrics.New()
	auto := rollout.NewAutomator(r.ctl, reg, r.proxy, zerolog.Nop())
	auto.SetLeadership(frozenLeader{rollout.Fence{Key: el.Key(), Rev: el.Rev()}})

	auto.Tick() // the term is recorded, the window starts
	feed(reg, true, 100)
	auto.Tick() // every gate holds: the hold starts
	if ex, _ := auto.Explain("orders"); ex.HoldingSince == nil {
		t.Fatalf("gates do not hold with healthy figures: %+v", ex)
	}
	time.Sleep(autoHold)
	if err := s.Close(); err != nil { // the lease ends while the leader sleeps
		t.Fatalf("revoking the session: %v", err)
	}
	auto.Tick()
	ex, _ := auto.Explain("orders")
	if !strings.Contains(ex.Waiting, "no longer leads") {
		t.Errorf("after the lease ended the decision says %q, want a refusal", ex.Waiting)
	}
	if v, _ := r.ctl.Route("orders"); v.Position != shadowAt {
		t.Errorf("a former leader moved orders to %s", v.Position)
	}
	feed(reg, true, 100)
	auto.Tick()
	if ex, _ := auto.Explain("orders"); !strings.Contains(ex.Waiting, "idle") || ex.Gates != nil {
		t.Errorf("the former leader still evaluates: %+v", ex)
	}
	if got := automatic(r.ctl.Audit()); len(got) != 0 {
		t.Errorf("a former leader's decisions reached the trail: %+v", got)
	}
	if got := leaders(r.ctl.Audit()); len(got) != 1 {
		t.Errorf("leader events %v, want the one term", got)
	}
}

// TestLeaderAfterEtcdOutage: etcd stops for longer than the lease; the
// replicas decide nothing meanwhile; when etcd returns a leader is elected
// again (a new term in the trail) and automation continues, each step
// once.
func TestLeaderAfterEtcdOutage(t *testing.T) {
	m := etcdtest.Start(t)
	file := automatedFile(t)
	prefix := "/strangler/" + t.Name()
	const ttl = 2 * time.Second
	rs := []*autoReplica{
		startAutoReplica(t, "r1", prefix, []string{m.ClientURL}, file, ttl),
		startAutoReplica(t, "r2", prefix, []string{m.ClientURL}, file, ttl),
	}
	f := startFeeder(t, rs)
	leading(t, rs, 10*time.Second)
	waitAt(t, rs[0], canary25, 10*time.Second)
	f.paused.Store(true) // no traffic: no further step until etcd is back

	m.Stop()
	waitDegraded(t, rs[0].replica, true)
	time.Sleep(ttl + time.Second) // every session's lease runs out
	m.Restart()
	waitDegraded(t, rs[0].replica, false)
	start := time.Now()
	testutil.Eventually(t, "len(leaders(rs[0].ctl.Audit())) >= 2", func() bool { return len(leaders(rs[0].ctl.Audit())) >= 2 })
	t.Logf("etcd back: a new automation term recorded %s later", time.Since(start).Round(time.Millisecond))
	f.paused.Store(false)
	waitAt(t, rs[0], canary50, 10*time.Second)
	f.stop()

	for _, r := range rs {
		waitRevision(t, r.replica, rs[0].ctl.Revision())
		got := automatic(r.ctl.Audit())
		if len(got) != 2 || got[0].To != canary25 || got[1].To != canary50 {
			t.Errorf("%s: automatic decisions %+v, want shadow→canary 25→canary 50, each once", r.name, got)
		}
		r.stop() // resign while etcd is up
	}
}

// TestElectorStopsWhileEtcdDown: with etcd unreachable the leader and a
// candidate still waiting both stop promptly (a shutdown never hangs on
// resigning).
func TestElectorStopsWhileEtcdDown(t *testing.T) {
	m := etcdtest.Start(t)
	file := automatedFile(t)
	prefix := "/strangler/" + t.Name()
	rs := []*autoReplica{
		startAutoReplica(t, "r1", prefix, []string{m.ClientURL}, file, 2*time.Second),
		startAutoReplica(t, "r2", prefix, []string{m.ClientURL}, file, 2*time.Second),
	}
	leading(t, rs, 10*time.Second)
	m.Stop()
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		for _, r := range rs {
			r.stop()
		}
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		t.Logf("both electors stopped %s after the stop, etcd down", d.Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatal("an elector did not stop within 15 s while etcd was down")
	}
}
