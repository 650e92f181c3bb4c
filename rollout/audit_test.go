package rollout_test

import (
	"slices"
	"testing"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/rollout"
)

func ids(evs []rollout.Event) []uint64 {
	out := make([]uint64, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// TestAuditList fills a trail of 5 with 8 changes on two routes and lists
// it: newest first, filtered by route, limited, the oldest dropped.
func TestAuditList(t *testing.T) {
	b := newBackends(t)
	dir := t.TempDir()
	store := rollout.FileStore{Path: dir + "/state.json"}
	e := startEnv(t, b, store, rollout.NewAudit(5), fileConfig(t, b, defaultRoutes()...))
	// IDs 1-3: orders, 4-5: payments, 6-8: orders.
	for _, route := range []string{"orders", "orders", "orders", "payments", "payments", "orders", "orders", "orders"} {
		if _, err := e.ctl.SetStage(rollout.Change{Route: route}, shadow); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		route string
		limit int
		want  []uint64
	}{
		{"", 0, []uint64{8, 7, 6, 5, 4}},
		{"", 2, []uint64{8, 7}},
		{"", 100, []uint64{8, 7, 6, 5, 4}},
		{"orders", 0, []uint64{8, 7, 6}},
		{"orders", 1, []uint64{8}},
		{"payments", 0, []uint64{5, 4}},
		{"payments", 1, []uint64{5}},
		{"reports", 0, []uint64{}},
		{"nope", 3, []uint64{}},
	}
	for _, tc := range tests {
		got := e.ctl.Audit().List(tc.route, tc.limit)
		if got == nil || !slices.Equal(ids(got), tc.want) {
			t.Errorf("List(%q, %d) = %v, want %v", tc.route, tc.limit, ids(got), tc.want)
		}
		for _, ev := range got {
			if tc.route != "" && ev.Route != tc.route {
				t.Errorf("List(%q) returned an event of %s", tc.route, ev.Route)
			}
		}
	}
	// Versions count every change, not only the events still kept.
	if v := e.view("orders"); v.Version != 6 {
		t.Errorf("orders version %d, want 6", v.Version)
	}
}

// TestAuditPersisted restores the trail across restarts: the same events
// with their IDs and times, bounded, and new IDs continue after the old.
func TestAuditPersisted(t *testing.T) {
	b := newBackends(t)
	store := rollout.FileStore{Path: t.TempDir() + "/state.json"}
	file := func() *config.Config { return fileConfig(t, b, defaultRoutes()...) }

	e := startEnv(t, b, store, rollout.NewAudit(5), file())
	for range 3 {
		if _, err := e.ctl.Promote(rollout.Change{Route: "orders", Reason: "walk"}); err != nil {
			t.Fatal(err)
		}
	}
	before := e.ctl.Audit().List("", 0)

	tests := []struct {
		name     string
		size     int
		promotes int // changes made after the restart
		want     []uint64
	}{
		{"same events after a restart", 5, 0, []uint64{3, 2, 1}},
		{"IDs continue", 5, 1, []uint64{4, 3, 2, 1}},
		{"bounded by the new size", 2, 0, []uint64{4, 3}},
		{"IDs continue past the bound", 2, 1, []uint64{5, 4}},
		{"and again", 5, 0, []uint64{5, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := startEnv(t, b, store, rollout.NewAudit(tc.size), file())
			for range tc.promotes {
				if _, err := r.ctl.Promote(rollout.Change{Route: "orders"}); err != nil {
					t.Fatal(err)
				}
			}
			got := r.ctl.Audit().List("", 0)
			if !slices.Equal(ids(got), tc.want) {
				t.Fatalf("IDs after restart = %v, want %v", ids(got), tc.want)
			}
			seen := map[uint64]bool{}
			for _, ev := range got {
				if ev.Time.IsZero() || ev.Route != "orders" || ev.Action != "promote" || seen[ev.ID] {
					t.Errorf("restored event %+v", ev)
				}
				seen[ev.ID] = true
			}
		})
	}
	// The first restart saw exactly what the first process recorded.
	r := startEnv(t, b, store, nil, file())
	restored := r.ctl.Audit().List("", 0)
	for _, old := range before {
		for _, ev := range restored {
			if ev.ID == old.ID && (!ev.Time.Equal(old.Time) || ev.From != old.From || ev.To != old.To || ev.Reason != old.Reason) {
				t.Errorf("event %d restored as %+v, was %+v", ev.ID, ev, old)
			}
		}
	}
}
