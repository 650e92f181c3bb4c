package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stranglerfig/strangler/diff"
)

// shadowCollectors are the series of the mirroring machinery.
type shadowCollectors struct {
	shadows     *prometheus.CounterVec
	comparisons *prometheus.CounterVec
	reportDrops prometheus.Counter
}

func newShadowCollectors() shadowCollectors {
	return shadowCollectors{
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
