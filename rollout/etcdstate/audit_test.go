package etcdstate_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// TestAuditBoundedInEtcd makes more changes than the bound on two
// replicas in turn: the events kept in etcd stay within the bound (plus
// one per replica writing at once), the newest are kept, and each names
// its replica.
func TestAuditBoundedInEtcd(t *testing.T) {
	m := etcdtest.Start(t)
	file := fileConfig(t, backend(t, "monolith").URL, backend(t, "orders").URL)
	prefix := "/strangler/" + t.Name()
	const bound = 5
	rs := []*replica{
		startReplicaSized(t, "r1", prefix, []string{m.ClientURL}, file, bound),
		startReplicaSized(t, "r2", prefix, []string{m.ClientURL}, file, bound),
	}
	for i := range 3 * bound {
		r := rs[i%2]
		pos := migrated
		if i%2 == 1 {
			pos = legacy
		}
		waitRevision(t, r, rs[(i+1)%2].ctl.Revision())
		if _, err := r.ctl.SetStage(rollout.Change{Route: "orders"}, pos); err != nil {
			t.Fatalf("change %d on %s: %v", i, r.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := rs[0].store.Client().Get(ctx, prefix+"/audit/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Kvs); n > bound+len(rs) || n < bound {
		t.Errorf("%d audit events kept in etcd, want %d (at most %d)", n, bound, bound+len(rs))
	}
	waitRevision(t, rs[1], rs[0].ctl.Revision())
	evs := rs[1].ctl.Audit().List("orders", 0)
	if len(evs) != bound {
		t.Errorf("replica r2 keeps %d events, want %d", len(evs), bound)
	}
	if len(evs) == 0 || evs[0].To != stage.Position(migrated) || evs[0].Replica != "r1" {
		t.Errorf("newest event %+v, want the last change (to migrated, by r1)", evs[0])
	}
}
