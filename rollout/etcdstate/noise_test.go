package etcdstate_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/shadow"
)

func syncNoise(t *testing.T, r *replica, d *shadow.Dispatcher) {
	t.Helper()
	if err := r.store.SyncNoise(context.Background(), d); err != nil {
		t.Fatalf("SyncNoise on %s: %v", r.name, err)
	}
}

// TestSharedNoise: what one replica learned reaches a replica with an
// empty learner through etcd (route names escaped, at most
// MaxSharedNoise paths per route), and the noise writes do not make the
// replicas re-read the rollout state.
func TestSharedNoise(t *testing.T) {
	m := etcdtest.Start(t)
	rs := cluster(t, []string{m.ClientURL}, 2)
	da, db := shadow.New(shadow.Options{}), shadow.New(shadow.Options{})
	big := make([]report.NoisePath, 150)
	for i := range big {
		big[i] = report.NoisePath{Path: fmt.Sprintf("/f%03d", i), Count: uint64(200 - i)}
	}
	learned := map[string][]report.NoisePath{
		"orders":        {{Path: "/served_at", Count: 3}, {Path: "/request_id", Count: 2}},
		"weird/route 1": {{Path: "/at", Count: 1}},
		"big":           big,
	}
	for route, ps := range learned {
		da.MergeNoise(route, ps)
	}
	revA, revB := rs[0].ctl.Revision(), rs[1].ctl.Revision()
	syncNoise(t, rs[0], da)
	syncNoise(t, rs[1], db)

	tests := []struct {
		route string
		want  []report.NoisePath
	}{
		{"orders", learned["orders"]},
		{"weird/route 1", learned["weird/route 1"]},
		{"big", big[:etcdstate.MaxSharedNoise]},
		{"unknown", nil},
	}
	for _, tc := range tests {
		if got := db.Noise(tc.route); !slices.Equal(got, tc.want) {
			t.Errorf("route %q on the new replica: %v, want %v", tc.route, got, tc.want)
		}
	}
	// A second round with nothing new learned writes nothing more, and
	// b's learning reaches a.
	db.MergeNoise("orders", []report.NoisePath{{Path: "/trace", Count: 1}})
	syncNoise(t, rs[1], db)
	syncNoise(t, rs[0], da)
	if !slices.Contains(da.Noise("orders"), report.NoisePath{Path: "/trace", Count: 1}) {
		t.Errorf("b's noise did not reach a: %v", da.Noise("orders"))
	}
	// Watch events travel in 10-20 ms here; give them 300 ms to (wrongly)
	// move a replica's applied state revision.
	time.Sleep(300 * time.Millisecond)
	if a, b := rs[0].ctl.Revision(), rs[1].ctl.Revision(); a != revA || b != revB {
		t.Errorf("noise writes moved the applied state revisions: %d→%d, %d→%d", revA, a, revB, b)
	}
}
