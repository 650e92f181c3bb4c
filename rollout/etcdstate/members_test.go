package etcdstate_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// member registers r with the route-file hash *hash (read at every
// heartbeat) and runs its heartbeat until the test ends or stop is
// called.
type member struct {
	reg   *etcdstate.Registry
	hash  atomic.Pointer[string]
	drift atomic.Int32 // 0 unknown, 1 no drift, 2 drift
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

func register(t *testing.T, r *replica, hash string, ttl time.Duration) *member {
	t.Helper()
	m := &member{}
	m.hash.Store(&hash)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg, err := r.store.Register(ctx, etcdstate.MemberOptions{TTL: ttl, Heartbeat: 200 * time.Millisecond,
		Self: func() etcdstate.Member {
			return etcdstate.Member{Name: r.name, Advertise: "http://" + r.name + ".test:9901", Version: "v-test",
				RouteFileHash: *m.hash.Load(), AppliedRevision: r.ctl.Revision()}
		},
		OnDrift: func(d bool) {
			m.drift.Store(1)
			if d {
				m.drift.Store(2)
			}
		}})
	if err != nil {
		t.Fatalf("Register %s: %v", r.name, err)
	}
	m.reg = reg
	runCtx, stop := context.WithCancel(context.Background())
	m.stop = func() { stop(); m.wg.Wait() }
	m.wg.Go(func() { reg.Run(runCtx) })
	t.Cleanup(func() { m.stop(); reg.Close() })
	return m
}

func view(t *testing.T, m *member) etcdstate.ClusterView {
	t.Helper()
	v, err := m.reg.View(context.Background())
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return v
}

func names(v etcdstate.ClusterView) []string {
	var out []string
	for _, r := range v.Replicas {
		out = append(out, r.Name)
	}
	return out
}

// TestRegistryLists registers three replicas: each lists all three with
// itself flagged self, its advertised URL and its applied revision; the
// leader flag follows the first key under the election prefix.
func TestRegistryLists(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 3)
	ms := make([]*member, len(rs))
	for i, r := range rs {
		ms[i] = register(t, r, "hash-a", 0)
	}
	for i, mm := range ms {
		v := view(t, mm)
		if got := names(v); !slices.Equal(got, []string{"r1", "r2", "r3"}) || v.Backend != "etcd" {
			t.Fatalf("r%d lists %v on %q, want r1 r2 r3 on etcd", i, got, v.Backend)
		}
		for j, rep := range v.Replicas {
			if rep.Self != (i == j) || rep.Drift || rep.Leader || rep.Advertise != "http://"+rep.Name+".test:9901" ||
				rep.AppliedRevision == 0 || rep.Version != "v-test" || rep.LastHeartbeat.IsZero() {
				t.Errorf("replica %d sees %+v", i, rep)
			}
		}
		if v.Leader != "" || v.Drift {
			t.Errorf("r%d: leader %q drift %v, want none", i, v.Leader, v.Drift)
		}
	}

	cli := rs[0].store.Client()
	prefix := "/strangler/" + t.Name() + "/election/automation"
	first := campaign(t, cli, prefix, "r2")
	campaign(t, cli, prefix, "r3") // waits behind r2: its key is created later
	for i, mm := range ms {
		v := view(t, mm)
		for j, rep := range v.Replicas {
			if rep.Leader != (j == 1) {
				t.Errorf("replica %d sees %s leader=%v, want only r2 to lead", i, rep.Name, rep.Leader)
			}
		}
		if v.Leader != "r2" {
			t.Errorf("replica %d names leader %q, want r2", i, v.Leader)
		}
	}
	if err := first.Close(); err != nil { // r2's session ends: r3 leads
		t.Fatalf("closing r2's session: %v", err)
	}
	if v := view(t, ms[0]); v.Leader != "r3" || !v.Replicas[2].Leader || v.Replicas[1].Leader {
		t.Errorf("after r2 resigned: leader %q, %+v; want r3", v.Leader, v.Replicas)
	}
}

// campaign starts an election candidate named value under prefix; it
// returns the session (close it to resign). The campaign itself runs in
// the background: a candidate behind the leader waits.
func campaign(t *testing.T, cli *clientv3.Client, prefix, value string) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(5))
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	e := concurrency.NewElection(s, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.Campaign(ctx, value) })
	t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
	testutil.Eventually(t, "the condition at members_test.go:138", func() bool {
		resp, err := cli.Get(context.Background(), prefix+"/", clientv3.WithPrefix())
		if err != nil {
			return false
		}
		for _, kv := range resp.Kvs {
			if string(kv.Value) == value {
				return true
			}
		}
		return false
	})
	return s
}

// TestRegistryDrift flags the replicas whose route-file hash differs from
// the majority, or, on a tie, from the asking replica's.
func TestRegistryDrift(t *testing.T) {
	m := etcdtest.Start(t)
	cases := []struct {
		name   string
		hashes []string
		drift  [][]bool // per asking replica, per listed replica
	}{
		{"same", []string{"a", "a", "a"}, [][]bool{{false, false, false}, {false, false, false}, {false, false, false}}},
		{"one differs", []string{"a", "b", "a"}, [][]bool{{false, true, false}, {false, true, false}, {false, true, false}}},
		{"tie", []string{"a", "b"}, [][]bool{{false, true}, {true, false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := cluster(t, []string{m.ClientURL}, len(tc.hashes))
			ms := make([]*member, len(rs))
			for i, r := range rs {
				ms[i] = register(t, r, tc.hashes[i], 0)
			}
			for i, mm := range ms {
				v := view(t, mm)
				drift := false
				for j, rep := range v.Replicas {
					drift = drift || tc.drift[i][j]
					if rep.Drift != tc.drift[i][j] {
						t.Errorf("r%d sees r%d (hash %s) drift=%v, want %v", i, j, rep.RouteFileHash, rep.Drift, tc.drift[i][j])
					}
				}
				if v.Drift != drift {
					t.Errorf("r%d: view drift %v, want %v", i, v.Drift, drift)
				}
				want := int32(1)
				if drift {
					want = 2
				}
				testutil.Eventually(t, "mm.drift.Load() == want", func() bool { return mm.drift.Load() == want })
			}
		})
	}
}

// TestRegistryRouteFileChange: a replica that loads another route file
// publishes its new hash at the next heartbeat, and drift clears when
// all agree again.
func TestRegistryRouteFileChange(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 3)
	ms := []*member{register(t, rs[0], "a", 0), register(t, rs[1], "a", 0), register(t, rs[2], "b", 0)}
	testutil.Eventually(t, "ms[0].drift.Load() == 2", func() bool { return ms[0].drift.Load() == 2 })
	fixed := "a"
	ms[2].hash.Store(&fixed)
	testutil.Eventually(t, "ms[0].drift.Load() == 1 && !view(t, ms[1]).Drift", func() bool { return ms[0].drift.Load() == 1 && !view(t, ms[1]).Drift })
}

// TestRegistryLeaseExpiry: a replica that stops heartbeating without
// leaving drops out once its lease expires; one that keeps heartbeating
// stays well past its TTL; one that closes leaves at once.
func TestRegistryLeaseExpiry(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 3)
	const ttl = 2 * time.Second
	ms := []*member{register(t, rs[0], "a", ttl), register(t, rs[1], "a", ttl), register(t, rs[2], "a", ttl)}
	ms[1].stop() // r2 dies: no heartbeat, no revoke
	start := time.Now()
	testutil.Eventually(t, "slices.Equal(names(view(t, ms[0])), []string{\"r1\", \"r3\"})", func() bool { return slices.Equal(names(view(t, ms[0])), []string{"r1", "r3"}) })
	if gone := time.Since(start); gone < ttl/2 {
		t.Errorf("r2 left after %s, before its lease (%s) could expire", gone, ttl)
	}
	time.Sleep(ttl) // r1 and r3 keep their leases alive past the TTL
	if got := names(view(t, ms[2])); !slices.Equal(got, []string{"r1", "r3"}) {
		t.Errorf("after %s lists %v, want r1 r3", 2*ttl, got)
	}
	ms[2].stop()
	ms[2].reg.Close()
	if got := names(view(t, ms[0])); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("after r3 closed lists %v, want r1 at once", got)
	}
}

// TestRegisterDuplicateName: a second replica with a live replica's name
// is refused; once the first leaves, the name is free.
func TestRegisterDuplicateName(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 2)
	first := register(t, rs[0], "a", 0)
	self := func() etcdstate.Member { return etcdstate.Member{Name: "r1"} }
	_, err := rs[1].store.Register(context.Background(), etcdstate.MemberOptions{Self: self})
	if !errors.Is(err, etcdstate.ErrNameTaken) {
		t.Fatalf("second r1: %v, want ErrNameTaken", err)
	}
	first.stop()
	first.reg.Close()
	reg, err := rs[1].store.Register(context.Background(), etcdstate.MemberOptions{Self: self})
	if err != nil {
		t.Fatalf("r1 after the first left: %v", err)
	}
	reg.Close()
}

// TestHeartbeatsDoNotResync: heartbeats write under the prefix, but the
// replicas do not read the rollout state again for them, so the applied
// revision moves only with the state.
func TestHeartbeatsDoNotResync(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 2)
	register(t, rs[0], "a", 0)
	register(t, rs[1], "a", 0)
	before := rs[1].ctl.Revision()
	time.Sleep(time.Second) // five heartbeats of each
	resp, err := rs[0].store.Client().Get(context.Background(), "/strangler/"+t.Name()+"/replicas/r1")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("reading r1's key: %v", err)
	}
	if resp.Header.Revision <= before+2 {
		t.Fatalf("etcd revision %d: the heartbeats did not write", resp.Header.Revision)
	}
	if after := rs[1].ctl.Revision(); after != before {
		t.Errorf("applied revision moved from %d to %d with heartbeats only", before, after)
	}
	t.Logf("one replica's key holds %d bytes", len(resp.Kvs[0].Value))
}

// TestRegistryRejoins: a replica whose lease is gone (etcd was away longer
// than the TTL) registers again at its next heartbeat.
func TestRegistryRejoins(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 2)
	register(t, rs[0], "a", 0)
	other := register(t, rs[1], "a", 0)
	cli := rs[0].store.Client()
	resp, err := cli.Get(context.Background(), "/strangler/"+t.Name()+"/replicas/r1")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("reading r1's key: %v", err)
	}
	if _, err := cli.Revoke(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatalf("revoking r1's lease: %v", err)
	}
	if got := names(view(t, other)); !slices.Equal(got, []string{"r2"}) {
		t.Fatalf("after the revoke lists %v, want r2", got)
	}
	testutil.Eventually(t, "slices.Equal(names(view(t, other)), []string{\"r1\", \"r2\"})", func() bool { return slices.Equal(names(view(t, other)), []string{"r1", "r2"}) })
}
