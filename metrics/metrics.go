// Package metrics owns every Prometheus collector of strangler and computes
// live per-route figures for the admin API.
//
// All series are labeled by route name, never by raw request path, so the
// cardinality is bounded by the configuration rather than by traffic.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/stage"
)

// Side values used as the "side" label (and the "served_by" label),
// spelled by routing.Side.
var (
	// SideLegacy marks a response produced by the legacy system.
	SideLegacy = routing.SideLegacy.String()
	// SideService marks a response produced by the new service.
	SideService = routing.SideService.String()
)

// Unmatched is the route label for requests no route claimed.
const Unmatched = "_unmatched"

const namespace = "strangler"

// Registry holds strangler's own Prometheus registry, its collectors and a
// cache of per-route handles. The zero value is not usable; call New.
type Registry struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	atCapacity     *prometheus.CounterVec
	stage          *prometheus.GaugeVec
	percent        *prometheus.GaugeVec
	reloads        *prometheus.CounterVec
	lastReload     prometheus.Gauge
	adminChanges   *prometheus.CounterVec
	shadow         shadowCollectors
	guard          guardCollectors

	mu     sync.RWMutex
	routes map[string]*Route

	stateUpOnce sync.Once
	stateUp     prometheus.Gauge
	driftOnce   sync.Once
	drift       prometheus.Gauge
	// strangler_automation_leader, registered on first use (etcd backend)
	leaderOnce sync.Once
	leader     prometheus.Gauge
}

// New returns a Registry backed by a fresh prometheus.Registry (not the
// global default) with the Go runtime and process collectors registered.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry(), routes: make(map[string]*Route)}
	r.initRouteCollectors()
	r.initControlCollectors()
	r.shadow = newShadowCollectors()
	r.guard = newGuardCollectors()
	r.reg.MustRegister(
		r.guard.fallbacks, r.guard.refused, r.guard.breaker,
		r.shadow.shadows, r.shadow.comparisons, r.shadow.reportDrops, r.shadow.inflight, r.shadow.queueDepth,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.requests, r.duration, r.upstreamErrors, r.atCapacity, r.stage, r.percent,
		r.reloads, r.lastReload, r.adminChanges,
	)
	return r
}

// initRouteCollectors builds the collectors fed by proxied traffic.
func (r *Registry) initRouteCollectors() {
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "requests_total",
		Help: "Proxied requests by route, migration stage, serving side and status class.",
	}, []string{"route", "stage", "served_by", "code_class"})
	r.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "request_duration_seconds",
		Help:    "Upstream response latency by route and side.",
		Buckets: durationBuckets[:],
	}, []string{"route", "side"})
	r.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "upstream_errors_total",
		Help: "Failures reaching an upstream, by route, upstream and kind.",
	}, []string{"route", "upstream", "kind"})
	r.atCapacity = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "upstream_at_capacity_total",
		Help: "Requests refused with 503 because their upstream had max_in_flight requests in flight, by route and upstream.",
	}, []string{"route", "upstream"})
}

// initControlCollectors builds the collectors fed by configuration and admin changes.
func (r *Registry) initControlCollectors() {
	r.stage = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "route_stage",
		Help: "1 for the current migration stage of a route, 0 for the others.",
	}, []string{"route", "stage"})
	r.percent = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "route_percent",
		Help: "Percentage of a route's traffic sent to the new service.",
	}, []string{"route"})
	r.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "config_reloads_total",
		Help: "Configuration reload attempts by result.",
	}, []string{"result"})
	r.reloads.WithLabelValues("success")
	r.reloads.WithLabelValues("failure")
	r.lastReload = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "config_last_reload_success_timestamp_seconds",
		Help: "Unix time of the last successful configuration reload.",
	})
	r.adminChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "admin_changes_total",
		Help: "Changes made through the admin API by route and action.",
	}, []string{"route", "action"})
}

// TracingSpans exports strangler_tracing_spans_total{result}: the sampled
// spans ended, exported and failed to export, read from counts at each
// scrape. Their difference (less at most the queue size still waiting)
// is what the exporter's full queue dropped. Call it once.
func (r *Registry) TracingSpans(counts func() (ended, exported, failed uint64)) {
	for i, result := range []string{"ended", "exported", "failed"} {
		r.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "strangler_tracing_spans_total",
			Help: "Sampled spans by result: ended (queued for export), exported, failed (export error). " +
				"ended - exported - failed, beyond the queue size, were dropped at a full queue.",
			ConstLabels: prometheus.Labels{"result": result},
		}, func() float64 {
			e, x, f := counts()
			return float64([3]uint64{e, x, f}[i])
		}))
	}
}

// Handler serves the registry in the Prometheus exposition format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// Gatherer exposes the underlying registry, e.g. for tests or federation.
func (r *Registry) Gatherer() prometheus.Gatherer {
	return r.reg
}

// Route returns the handle for the named route, creating it on first use.
// The same name always yields the same *Route until ForgetRoute is called.
// It is safe for concurrent use and does not allocate once the route exists.
func (r *Registry) Route(name string) *Route {
	r.mu.RLock()
	m, ok := r.routes[name]
	r.mu.RUnlock()
	if ok {
		return m
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok = r.routes[name]; !ok {
		m = newRoute(r, name)
		r.routes[name] = m
	}
	return m
}

// ForgetRoute drops a route that left the configuration: every series
// labeled with it is deleted and its cached handle is discarded. A *Route
// obtained earlier must not be used afterwards; its observations would be
// lost or would re-create series.
func (r *Registry) ForgetRoute(name string) {
	r.mu.Lock()
	delete(r.routes, name)
	r.mu.Unlock()
	match := prometheus.Labels{"route": name}
	r.requests.DeletePartialMatch(match)
	r.duration.DeletePartialMatch(match)
	r.upstreamErrors.DeletePartialMatch(match)
	r.atCapacity.DeletePartialMatch(match)
	r.stage.DeletePartialMatch(match)
	r.percent.DeletePartialMatch(match)
	r.adminChanges.DeletePartialMatch(match)
	r.shadow.shadows.DeletePartialMatch(match)
	r.shadow.comparisons.DeletePartialMatch(match)
	r.guard.fallbacks.DeletePartialMatch(match)
	r.guard.refused.DeletePartialMatch(match)
}

// SetRouteState publishes a route's migration stage and service percentage:
// strangler_route_stage is 1 for stage and 0 for the other known stages
// (legacy, shadow, canary, migrated); strangler_route_percent is percent.
// An unknown stage sets all four stage gauges to 0.
func (r *Registry) SetRouteState(route, stageName string, percent float64) {
	for _, s := range stage.Names() {
		v := 0.0
		if s == stageName {
			v = 1
		}
		r.stage.WithLabelValues(route, s).Set(v)
	}
	r.percent.WithLabelValues(route).Set(percent)
}

// ConfigReload counts a configuration reload attempt; on success it also
// records the current time as the last successful reload.
func (r *Registry) ConfigReload(ok bool) {
	if !ok {
		r.reloads.WithLabelValues("failure").Inc()
		return
	}
	r.reloads.WithLabelValues("success").Inc()
	r.lastReload.SetToCurrentTime()
}

// AdminChange counts one change made through the admin API.
func (r *Registry) AdminChange(route, action string) {
	r.adminChanges.WithLabelValues(route, action).Inc()
}

// Figures returns the live figures of a route.
func (r *Registry) Figures(route string) Figures { return r.Route(route).Figures() }
