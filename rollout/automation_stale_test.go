package rollout_test

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/stage"
)

// meddler is the real registry, except that it lets a person change the
// route in the middle of one evaluation (when the automator reads the
// figures), the race a stale decision must lose.
type meddler struct {
	*metrics.Registry
	during func()
}

func (m *meddler) Snapshot(route string) metrics.Snapshot {
	if f := m.during; f != nil {
		m.during = nil
		f()
	}
	return m.Registry.Snapshot(route)
}

// TestAutomationDoesNotOverrideConcurrentChange: an operator's change made
// while the automator evaluates wins; the stale promotion is not applied.
func TestAutomationDoesNotOverrideConcurrentChange(t *testing.T) {
	r := newAutoRig(t)
	m := &meddler{Registry: r.reg}
	r.auto = rollout.NewAutomator(r.ctl, m, r.proxy, zerolog.Nop())
	r.auto.SetClockForTest(func() time.Time { return r.clock })
	r.tick(time.Second)
	r.healthy()
	if ex := r.tick(time.Second); ex.HoldingSince == nil {
		t.Fatalf("not holding with healthy figures: %q", ex.Waiting)
	}
	legacy := stage.Position{Stage: stage.Legacy.String()}
	m.during = func() {
		if _, err := r.ctl.SetStage(rollout.Change{Route: "orders", Reason: "operator"}, legacy); err != nil {
			t.Errorf("operator change: %v", err)
		}
	}
	n := r.events()
	r.clock = r.clock.Add(hold)
	r.auto.Tick()
	r.at(legacy)
	if got := r.events() - n; got != 1 {
		t.Errorf("%d new events; want only the operator's", got)
	}
	if e := r.lastEvent("orders"); e.Source != rollout.SourceAdmin {
		t.Errorf("last event from %s (%s → %s); want the operator's", e.Source, e.From, e.To)
	}
}
