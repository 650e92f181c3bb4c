package shadow

import (
	"testing"

	"github.com/stranglerfig/strangler/metrics"
)

// TestDispatcherGauges: strangler_shadow_inflight counts the copies a
// worker holds and strangler_shadow_queue_depth those waiting, as a
// Prometheus scrape sees them, back to 0 once the copies are done.
func TestDispatcherGauges(t *testing.T) {
	const queue, workers = 4, 1
	g := newGate()
	r := newRig(t, okHandler, g, Options{Workers: workers, Queue: queue})
	t.Cleanup(g.open)
	p := r.policy(nil)
	want := func(step string, inflight, depth float64) {
		t.Helper()
		got := [2]float64{gaugeValue(t, r.metrics, "strangler_shadow_inflight"),
			gaugeValue(t, r.metrics, "strangler_shadow_queue_depth")}
		if got != [2]float64{inflight, depth} {
			t.Errorf("%s: inflight %v, queue depth %v; want %v, %v", step, got[0], got[1], inflight, depth)
		}
	}
	want("idle", 0, 0)
	offerGET(t, p, "primary")
	g.waitArrival(t) // the worker holds the first copy
	want("one copy at the worker", 1, 0)
	for i := range queue {
		offerGET(t, p, "primary")
		want("copies queued behind it", 1, float64(i+1))
	}
	offerGET(t, p, "primary") // dropped: queue full
	want("queue full", 1, queue)
	g.open()
	r.wait()
	want("drained", 0, 0)
}

// gaugeValue returns the single gauge of family name; the family must be
// registered.
func gaugeValue(t *testing.T, reg *metrics.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s registered", name)
	return 0
}
