package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stranglerfig/strangler/diff"
)

// shadowCollectors are the series of the mirroring machinery.
type shadowCollectors struct {
	shadows     *prometheus.CounterVec
	comparisons *prometheus.CounterVec
	reportDrops prometheus.Counter
	// inflight and queueDepth read the watched dispatcher at scrape time,
	// so mirroring pays nothing for them.
	inflight   prometheus.GaugeFunc
	queueDepth prometheus.GaugeFunc
	source     *atomic.Pointer[shadowSource]
}

// shadowSource is the dispatcher's live state, as WatchShadow got it.
type shadowSource struct {
	inflight, queued func() int64
}

// read returns f of the watched source, or 0 before WatchShadow.
func read(p *atomic.Pointer[shadowSource], f func(*shadowSource) func() int64) float64 {
	if s := p.Load(); s != nil {
		return float64(f(s)())
	}
	return 0
}

func newShadowCollectors() shadowCollectors {
	src := &atomic.Pointer[shadowSource]{}
	return shadowCollectors{
		source: src,
		inflight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "shadow_inflight",
			Help: "Mirrored copies being sent and compared by a shadow worker right now.",
		}, func() float64 { return read(src, func(s *shadowSource) func() int64 { return s.inflight }) }),
		queueDepth: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "shadow_queue_depth",
			Help: "Mirrored copies waiting in the shadow queue for a worker.",
		}, func() float64 { return read(src, func(s *shadowSource) func() int64 { return s.queued }) }),
		shadows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "shadow_requests_total",
			Help: "Mirrored requests by route, result (sent, dropped, skipped, failed) and reason.",
		}, []string{"route", "result", "reason"}),
		comparisons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "comparisons_total",
			Help: "Comparisons of monolith and service responses by route and verdict.",
		}, []string{"route", "verdict"}),
		reportDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "report_dropped_total",
			Help: "Comparison results not stored because the report queue was full.",
		}),
	}
}

// Shadow counts one mirroring outcome of a route. It runs off the request
// path (or once per skipped request) and may allocate.
func (r *Registry) Shadow(route, result, reason string) {
	r.shadow.shadows.WithLabelValues(route, result, reason).Inc()
}

// Compared counts one comparison of a route by verdict.
func (r *Registry) Compared(route, verdict string) {
	r.shadow.comparisons.WithLabelValues(route, verdict).Inc()
	m := r.Route(route)
	matched := diff.Verdict(verdict).Matched()
	m.compared.Add(1)
	if matched {
		m.matched.Add(1)
	}
	m.timeline().compared(time.Now(), matched)
}

// WatchShadow makes strangler_shadow_inflight and
// strangler_shadow_queue_depth read the given functions at each scrape
// (the shadow dispatcher calls it when built). A later call replaces the
// earlier source.
func (r *Registry) WatchShadow(inflight, queued func() int64) {
	r.shadow.source.Store(&shadowSource{inflight: inflight, queued: queued})
}

// ReportDropped counts a result the report store could not take.
func (r *Registry) ReportDropped() { r.shadow.reportDrops.Inc() }

// guardCollectors are the series of fallbacks and circuit breakers.
type guardCollectors struct {
	fallbacks *prometheus.CounterVec
	refused   *prometheus.CounterVec
	breaker   *prometheus.GaugeVec
}

func newGuardCollectors() guardCollectors {
	return guardCollectors{
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "fallbacks_total",
			Help: "Requests the monolith answered because the service failed, by route and reason.",
		}, []string{"route", "reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "breaker_refused_total",
			Help: "Requests refused with 503 while their service's breaker was open (no fallback possible).",
		}, []string{"route"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "breaker_state",
			Help: "Circuit breaker state per service: 0 closed, 1 half-open, 2 open.",
		}, []string{"service"}),
	}
}

// Fallback counts one request the monolith answered for the service.
func (m *Route) Fallback(reason string) {
	m.reg.guard.fallbacks.WithLabelValues(m.name, reason).Inc()
	m.fallbacks.Add(1)
}

// Refused counts one request refused because the breaker was open.
func (m *Route) Refused() { m.reg.guard.refused.WithLabelValues(m.name).Inc() }

// BreakerState sets a service's breaker gauge (closed, half-open, open).
func (r *Registry) BreakerState(service, state string) {
	v := 0.0
	switch state {
	case "half-open":
		v = 1
	case "open":
		v = 2
	}
	r.guard.breaker.WithLabelValues(service).Set(v)
}
