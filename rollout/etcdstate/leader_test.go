package etcdstate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/rollout"
)

// TestEtcdLeaderKilled runs changes on replica 1 against a three-member
// etcd and kills the etcd leader in the middle: afterwards every replica
// holds every acknowledged change exactly once.
func TestEtcdLeaderKilled(t *testing.T) {
	ms := etcdtest.StartCluster(t, 3)
	rs := cluster(t, etcdtest.Endpoints(ms), 3)
	const changes = 60
	var acked []string
	refused := 0
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; len(acked) < changes && time.Now().Before(deadline); i++ {
		if len(acked) == changes/2 && refused == 0 {
			killLeader(t, ms)
		}
		pos := migrated
		if i%2 == 1 {
			pos = legacy
		}
		reason := fmt.Sprintf("change-%d", i)
		if _, err := rs[0].ctl.SetStage(rollout.Change{Route: "orders", Reason: reason}, pos); err != nil {
			refused++
			time.Sleep(20 * time.Millisecond)
			continue
		}
		acked = append(acked, reason)
	}
	if len(acked) < changes {
		t.Fatalf("only %d of %d changes acknowledged in 30 s", len(acked), changes)
	}
	want := rs[0].ctl.Revision()
	lost, doubled := 0, 0
	for _, r := range rs {
		waitRevision(t, r, want)
		seen := map[string]int{}
		for _, e := range r.ctl.Audit().List("orders", 0) {
			seen[e.Reason]++
		}
		for _, reason := range acked {
			switch seen[reason] {
			case 0:
				lost++
			case 1:
			default:
				doubled++
			}
		}
		if v, _ := r.ctl.Route("orders"); v.Version != uint64(len(r.ctl.Audit().List("orders", 0))) {
			t.Errorf("%s: version %d but %d events: a change applied twice or missed", r.name, v.Version, len(seen))
		}
	}
	t.Logf("etcd leader killed after %d changes: %d acknowledged, %d refused during the election, %d lost, %d doubled across %d replicas",
		changes/2, len(acked), refused, lost, doubled, len(rs))
	if lost != 0 || doubled != 0 {
		t.Errorf("%d acknowledged changes lost and %d doubled", lost, doubled)
	}
}

// killLeader stops the member that leads the etcd cluster.
func killLeader(t *testing.T, ms []*etcdtest.Member) {
	t.Helper()
	for _, m := range ms {
		if m.IsLeader() {
			m.Stop()
			t.Logf("stopped etcd leader %s", m.Name)
			return
		}
	}
	t.Fatal("no etcd member says it leads")
}

func waitRevision(t *testing.T, r *replica, rev int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.ctl.Revision() < rev {
		if time.Now().After(deadline) {
			t.Fatalf("%s: at revision %d, want %d", r.name, r.ctl.Revision(), rev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
