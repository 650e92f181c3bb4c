package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stranglerfig/strangler/internal/latency"
	"github.com/stranglerfig/strangler/stage"
)

// durationBuckets are the upper bounds, in seconds, of the exported
// Prometheus latency histogram (strangler_request_duration_seconds), for
// PromQL: users' dashboards and alert rules read them. strangler's own
// figures, snapshots and gates count latencies in latency's buckets.
var durationBuckets = [...]float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

var (
	sides   = [...]string{SideLegacy, SideService}
	classes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
)

// counterSlot boxes a resolved counter so it can sit behind an atomic.Pointer.
type counterSlot struct{ c prometheus.Counter }

// observerSlot boxes a resolved histogram child.
type observerSlot struct{ o prometheus.Observer }

// sideStats are the cheap atomic figures kept beside the Prometheus series.
type sideStats struct {
	requests atomic.Uint64
	errors   atomic.Uint64
	// refused counts the 503s strangler answered itself because the
	// upstream was at capacity: not the side's errors (see counts).
	refused atomic.Uint64
	// fine counts latencies in latency's buckets, the layout a Snapshot
	// carries: the live figures, the rollout gates and the cluster-wide
	// sums (rollout/etcdstate) read their p50 and p99 from it with the
	// diff report's estimator.
	fine [latency.Buckets]atomic.Uint64
}

// Route records the traffic of one named route. Obtain it with
// Registry.Route; it is safe for concurrent use.
type Route struct {
	name      string
	reg       *Registry
	counters  [stage.Count][len(sides)][len(classes)]atomic.Pointer[counterSlot]
	observers [len(sides)]atomic.Pointer[observerSlot]
	sides     [len(sides)]sideStats
	tl        atomic.Pointer[timeline]
	fallbacks atomic.Uint64
	compared  atomic.Uint64
	matched   atomic.Uint64
}

// newRoute returns an empty handle; series are resolved lazily.
func newRoute(r *Registry, name string) *Route {
	return &Route{name: name, reg: r}
}

// Observe records one finished request served in the given stage by the
// given side with the given status and latency. For the known stages and
// sides it does not allocate once each combination has been seen; unknown
// values are still recorded, through a slower path.
func (m *Route) Observe(stageName string, side string, status int, d time.Duration) {
	st, sd, cl := stageIndex(stageName), sideIndex(side), classIndex(status)
	secs := d.Seconds()
	if st < 0 || sd < 0 {
		m.reg.requests.WithLabelValues(m.name, stageName, side, classes[cl]).Inc()
	} else {
		m.counter(st, sd, cl).Inc()
	}
	if sd < 0 {
		m.reg.duration.WithLabelValues(m.name, side).Observe(secs)
		return
	}
	m.observer(sd).Observe(secs)
	fine := latency.Bucket(d)
	m.sides[sd].record(status, fine)
	m.timeline().observe(time.Now(), sd, status, fine/latency.StepsPerDoubling)
}

// UpstreamError counts one failure reaching upstream, classified by kind
// (e.g. "timeout", "connect").
func (m *Route) UpstreamError(upstream, kind string) {
	m.reg.upstreamErrors.WithLabelValues(m.name, upstream, kind).Inc()
}

// AtCapacity counts one request refused with 503 because upstream had
// its max_in_flight requests in flight. The refusal is strangler's, not
// the upstream's: it is recorded as a request of side (legacy or service)
// but not as one of its errors in the figures and snapshots the rollout
// gates read. Call it before the request is observed.
func (m *Route) AtCapacity(upstream, side string) {
	m.reg.atCapacity.WithLabelValues(m.name, upstream).Inc()
	if sd := sideIndex(side); sd >= 0 {
		m.sides[sd].refused.Add(1)
	}
}

// counter returns the cached requests counter for a known combination.
func (m *Route) counter(st, sd, cl int) prometheus.Counter {
	p := &m.counters[st][sd][cl]
	if s := p.Load(); s != nil {
		return s.c
	}
	c := m.reg.requests.WithLabelValues(m.name, stage.Stage(st).String(), sides[sd], classes[cl])
	p.CompareAndSwap(nil, &counterSlot{c: c})
	return c
}

// observer returns the cached latency histogram child for a known side.
func (m *Route) observer(sd int) prometheus.Observer {
	p := &m.observers[sd]
	if s := p.Load(); s != nil {
		return s.o
	}
	o := m.reg.duration.WithLabelValues(m.name, sides[sd])
	p.CompareAndSwap(nil, &observerSlot{o: o})
	return o
}

// record updates the side's own counters and latency buckets: fine is
// the latency's latency.Bucket.
func (s *sideStats) record(status int, fine int) {
	s.requests.Add(1)
	if status >= 500 {
		s.errors.Add(1)
	}
	s.fine[fine].Add(1)
}

// stageIndex maps a stage name to its index, or -1 if unknown.
func stageIndex(name string) int {
	if s, ok := stage.Lookup(name); ok {
		return int(s)
	}
	return -1
}

// sideIndex maps a side name to its index, or -1 if unknown.
func sideIndex(side string) int {
	switch side {
	case SideLegacy:
		return 0
	case SideService:
		return 1
	}
	return -1
}

// classIndex maps an HTTP status to its class index; the last is "other".
func classIndex(status int) int {
	if status >= 100 && status < 600 {
		return status/100 - 1
	}
	return len(classes) - 1
}
