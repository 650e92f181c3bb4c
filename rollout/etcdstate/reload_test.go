package etcdstate_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// TestReloadTogether reloads a route file that supersedes an override on
// two replicas at the same moment: both reloads succeed (the loser of the
// transaction reads the state again), the override is dropped once.
func TestReloadTogether(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 2)
	base := rs[0].ctl.Effective()
	stages := []string{stage.Shadow.String(), stage.Legacy.String(), stage.Shadow.String(), stage.Legacy.String()}
	for round, stage := range stages {
		if _, err := rs[0].ctl.SetStage(rollout.Change{Route: "orders"}, migrated); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, r := range rs {
			if _, ok := r.waitSide("orders", 5*time.Second); !ok {
				t.Fatalf("round %d: %s never served the override", round, r.name)
			}
		}
		errs := make([]error, len(rs))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, r := range rs {
			file := fileConfigFrom(t, base)
			file.Routes[0].Stage = stage
			wg.Go(func() {
				<-start
				errs[i] = r.ctl.LoadFile(file)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: reload on %s: %v", round, rs[i].name, err)
			}
		}
		for _, r := range rs {
			if _, ok := r.waitSide("monolith", 5*time.Second); !ok {
				t.Errorf("round %d: %s still serves the superseded override", round, r.name)
			}
		}
	}
	waitRevision(t, rs[1], rs[0].ctl.Revision())
	for _, r := range rs {
		n := 0
		for _, e := range r.ctl.Audit().List("orders", 0) {
			if e.Action == "override-superseded" {
				n++
			}
		}
		if n != len(stages) {
			t.Errorf("%s: %d override-superseded events, want %d (one per reload)", r.name, n, len(stages))
		}
	}
}
