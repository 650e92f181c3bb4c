package etcdstate_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/proxy"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/stage"
)

// TestSnapshotAtPastRevision reads the state at a revision that later
// changes have passed: the snapshot is the state at that revision and
// says so (Rev), whatever etcd's current revision is, so that a replica
// syncing to it still applies the later changes when their watch events
// come.
func TestSnapshotAtPastRevision(t *testing.T) {
	m := etcdtest.Start(t)
	st := openStore(t, "r1", "/strangler/"+t.Name(), []string{m.ClientURL})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	commit := func(version uint64, rev int64) int64 {
		t.Helper()
		got, err := st.Commit(ctx, rollout.Txn{Expect: map[string]int64{"orders": rev},
			Put:    map[string]rollout.Record{"orders": {Version: version}},
			Events: []rollout.Event{{Route: "orders", Action: "stage", Reason: "step"}}})
		if err != nil {
			t.Fatalf("commit of version %d: %v", version, err)
		}
		return got
	}
	first := commit(1, 0)
	later := commit(2, first)
	tests := []struct {
		name    string
		rev     int64
		wantRev int64
		version uint64
		events  int
	}{
		{"past revision", first, first, 1, 1},
		{"newest revision", later, later, 2, 2},
		{"newest (0)", 0, later, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := st.Snapshot(ctx, 0, tt.rev)
			if err != nil {
				t.Fatalf("Snapshot(0, %d): %v", tt.rev, err)
			}
			if snap.Rev != tt.wantRev || snap.Routes["orders"].Version != tt.version || len(snap.Events) != tt.events {
				t.Errorf("Snapshot(0, %d) = rev %d, orders version %d, %d events; want rev %d, version %d, %d events",
					tt.rev, snap.Rev, snap.Routes["orders"].Version, len(snap.Events), tt.wantRev, tt.version, tt.events)
			}
		})
	}
}

// TestSyncToPastRevisionThenNewer is the start-up flake of
// TestServeOnEtcd: replica two applies the revision of its own write
// (the leader event) after replica one's stage change was committed,
// then the watch brings replica one's revision. Replica two must end up
// serving replica one's stage, with its event recorded once.
func TestSyncToPastRevisionThenNewer(t *testing.T) {
	m := etcdtest.Start(t)
	file := fileConfig(t, backend(t, "monolith").URL, backend(t, "orders").URL)
	prefix := "/strangler/" + t.Name()
	st := openStore(t, "two", prefix, []string{m.ClientURL})
	two := controllerOn(t, st, "two", file)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Two's own audit-only write, as RecordLeader makes it, then one's
	// stage change on top of it.
	own, err := st.Commit(ctx, rollout.Txn{Events: []rollout.Event{{Action: rollout.ActionLeader, Replica: "two"}}})
	if err != nil {
		t.Fatalf("two's audit-only commit: %v", err)
	}
	oneCtl := controllerOn(t, openStore(t, "one", prefix, []string{m.ClientURL}), "one", file)
	if _, err := oneCtl.SetStage(rollout.Change{Route: "orders", Reason: "on one"}, migrated); err != nil {
		t.Fatalf("stage on one: %v", err)
	}
	newest := oneCtl.Revision()
	if newest <= own {
		t.Fatalf("one's change at revision %d is not after two's at %d", newest, own)
	}
	for _, rev := range []int64{own, newest} { // the order the watch brings them
		if err := two.SyncTo(ctx, rev); err != nil {
			t.Fatalf("two: SyncTo(%d): %v", rev, err)
		}
	}
	if v, _ := two.Route("orders"); v.Stage != stage.Migrated.String() || two.Revision() != newest {
		t.Errorf("two after syncing to %d then %d: orders at %s, revision %d; want migrated at %d",
			own, newest, v.Stage, two.Revision(), newest)
	}
	if n := len(two.Audit().List("orders", 0)); n != 1 {
		t.Errorf("two recorded %d events of orders, want 1 (one's stage change, once)", n)
	}
}

// openStore opens a Store on endpoints and initialises prefix.
func openStore(t *testing.T, name, prefix string, endpoints []string) *etcdstate.Store {
	t.Helper()
	st, err := etcdstate.Open(etcdstate.Options{Replica: name, Log: zerolog.Nop(),
		Config: config.Etcd{Endpoints: endpoints, Prefix: prefix, DialTimeout: 2 * time.Second}})
	if err != nil {
		t.Fatalf("etcdstate.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := st.Init(ctx, rollout.State{}, ""); err != nil {
		t.Fatalf("Init %s: %v", prefix, err)
	}
	return st
}

// controllerOn builds a replica's controller on st with its own proxy,
// the route file loaded; nothing watches.
func controllerOn(t *testing.T, st *etcdstate.Store, name string, file *config.Config) *rollout.Controller {
	t.Helper()
	p, err := proxy.New(file, proxy.Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	t.Cleanup(p.Close)
	c, err := rollout.New(rollout.Options{Applier: p, Log: zerolog.Nop(), Shared: st, Replica: name})
	if err != nil {
		t.Fatalf("rollout.New for %s: %v", name, err)
	}
	if err := c.LoadFile(file); err != nil {
		t.Fatalf("LoadFile for %s: %v", name, err)
	}
	return c
}
