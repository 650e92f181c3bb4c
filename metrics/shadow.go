package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Shadow outcomes, the "result" label of strangler_shadow_requests_total.
const (
	ShadowSent    = "sent"    // the copy went out
	ShadowDropped = "dropped" // eligible, but the queue was full or the proxy stopping
	ShadowSkipped = "skipped" // not eligible (method, body size, streaming, ...)
	ShadowFailed  = "failed"  // the copy went out and its upstream failed
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
	r.Route(route).timeline().compared(time.Now(), verdict == "equal" || verdict == "noise-only")
}

// ReportDropped counts a result the report store could not take.
func (r *Registry) ReportDropped() { r.shadow.reportDrops.Inc() }
