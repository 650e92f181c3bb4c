package rollout_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// TestConcurrentChanges issues 50 changes at once on one route while
// requests flow: each accepted change bumps the version and records one
// event; refused ones (no step) record nothing.
func TestConcurrentChanges(t *testing.T) {
	b := newBackends(t)
	e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
	positions := []stage.Position{legacy, shadow, canary(5), canary(50), migrated}

	var ok, noStep atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// Requests keep flowing through the proxy during the changes.
	var traffic sync.WaitGroup
	for range 4 {
		traffic.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if side := e.serve("/orders/1", "someone"); side != monolith && side != orders {
					t.Errorf("served by %q", side)
				}
			}
		})
	}
	for i := range 50 {
		wg.Go(func() {
			ch := rollout.Change{Route: "orders", Reason: "load"}
			var err error
			switch i % 3 {
			case 0:
				_, err = e.ctl.SetStage(ch, positions[i%len(positions)])
			case 1:
				_, err = e.ctl.Promote(ch)
			case 2:
				_, err = e.ctl.Rollback(ch)
			}
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, rollout.ErrNoStep):
				noStep.Add(1)
			default:
				t.Errorf("change %d: %v", i, err)
			}
			_ = e.ctl.Routes()
			_ = e.ctl.Audit().List("orders", 10)
		})
	}
	wg.Wait()
	close(stop)
	traffic.Wait()

	if ok.Load()+noStep.Load() != 50 {
		t.Fatalf("%d ok + %d no step != 50", ok.Load(), noStep.Load())
	}
	v := e.view("orders")
	if v.Version != uint64(ok.Load()) {
		t.Errorf("version %d, want %d (successful changes)", v.Version, ok.Load())
	}
	evs := e.ctl.Audit().List("orders", 0)
	if len(evs) != int(ok.Load()) {
		t.Errorf("%d events, want %d", len(evs), ok.Load())
	}
	// The trail is a chain: each change starts where the previous ended.
	for i := 0; i+1 < len(evs); i++ {
		if evs[i].From != evs[i+1].To || evs[i].ID != evs[i+1].ID+1 {
			t.Errorf("event %d (%s->%s) does not follow event %d (%s->%s)",
				evs[i].ID, evs[i].From, evs[i].To, evs[i+1].ID, evs[i+1].From, evs[i+1].To)
		}
	}
	if len(evs) > 0 && evs[0].To != v.Position {
		t.Errorf("last event ends at %s, route is at %s", evs[0].To, v.Position)
	}
	e.checkServed("orders", "/orders", v.Position)
	// What was persisted is what a restart sees.
	restarted := startEnv(t, b, e.store, nil, fileConfig(t, b, defaultRoutes()...))
	if rv := restarted.view("orders"); rv.Position != v.Position || rv.Version != v.Version {
		t.Errorf("after restart: %s version %d, want %s version %d", rv.Position, rv.Version, v.Position, v.Version)
	}
	if n := len(restarted.ctl.Audit().List("orders", 0)); n != len(evs) {
		t.Errorf("after restart: %d events, want %d", n, len(evs))
	}
}

// TestEffectiveReadDuringChanges reads the served config (as readiness
// checks and the admin API do) while changes are made: the config handed
// out must never be written to afterwards.
func TestEffectiveReadDuringChanges(t *testing.T) {
	b := newBackends(t)
	e := newEnv(t, b, fileConfig(t, b, defaultRoutes()...))
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				cfg := e.ctl.Effective()
				n := 0
				for _, s := range cfg.Services {
					n += len(s.URL)
				}
				for _, r := range cfg.Routes {
					n += len(r.Match.Methods) + len(r.Shadow.Methods)
					for _, m := range r.Match.Methods {
						n += len(m)
					}
				}
				if n == 0 {
					t.Error("empty config")
				}
			}
		})
	}
	for i := range 20 {
		pos := shadow
		if i%2 == 1 {
			pos = migrated
		}
		if _, err := e.ctl.SetStage(rollout.Change{Route: "orders"}, pos); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	readers.Wait()
}
