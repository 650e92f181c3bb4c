package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stranglerfig/strangler/diff"
)

// shadowCollectors are the series of the mirroring machinery.
type shadowCollectors struct {
	// shadows reads the dispatcher's own per-route counts at scrape time:
	// they are kept once, by the dispatcher, not here as well.
	shadows     *shadowCounts
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
	counts           func(func(route, result, reason string, n uint64))
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
		shadows: newShadowCounts(src),
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

// shadowKey names one series of strangler_shadow_requests_total.
type shadowKey struct{ route, result, reason string }

// shadowCounts is strangler_shadow_requests_total: a collector that reads
// the watched dispatcher's counts at each scrape. A route forgotten with
// DeletePartialMatch (ForgetRoute) keeps its counts in the dispatcher (the
// report still shows them); here its series disappear and, should the
// route come back, count again from zero, as a deleted CounterVec child
// would.
type shadowCounts struct {
	desc   *prometheus.Desc
	src    *atomic.Pointer[shadowSource]
	forget sync.Mutex // one DeletePartialMatch at a time
	mu     sync.Mutex
	gone   map[shadowKey]uint64 // counts at the route's forgetting: subtracted
	of     *shadowSource        // the source gone belongs to
}

func newShadowCounts(src *atomic.Pointer[shadowSource]) *shadowCounts {
	return &shadowCounts{src: src, gone: map[shadowKey]uint64{}, desc: prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "", "shadow_requests_total"),
		"Mirrored requests by route, result (sent, dropped, skipped, failed) and reason.",
		[]string{"route", "result", "reason"}, nil)}
}

// Describe sends the one family's description.
func (c *shadowCounts) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends every count of the watched dispatcher that is not zero
// since its route was last forgotten.
func (c *shadowCounts) Collect(ch chan<- prometheus.Metric) {
	c.each(func(k shadowKey, n uint64) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), k.route, k.result, k.reason)
	})
}

// each calls fn with every series and its value (counts less what was
// forgotten), leaving out zeros.
func (c *shadowCounts) each(fn func(shadowKey, uint64)) {
	src := c.source()
	if src == nil {
		return
	}
	src.counts(func(route, result, reason string, n uint64) {
		k := shadowKey{route, result, reason}
		c.mu.Lock()
		n -= min(n, c.gone[k])
		c.mu.Unlock()
		if n > 0 {
			fn(k, n)
		}
	})
}

// source returns the watched source, forgetting what was forgotten of an
// earlier one.
func (c *shadowCounts) source() *shadowSource {
	src := c.src.Load()
	c.mu.Lock()
	if c.of != src {
		c.of, c.gone = src, map[shadowKey]uint64{}
	}
	c.mu.Unlock()
	return src
}

// DeletePartialMatch hides the series whose labels include labels (as
// prometheus.CounterVec's does) until they count again, and returns how
// many it hid.
func (c *shadowCounts) DeletePartialMatch(labels prometheus.Labels) int {
	c.forget.Lock()
	defer c.forget.Unlock()
	hidden := map[shadowKey]uint64{}
	c.each(func(k shadowKey, n uint64) {
		have := map[string]string{"route": k.route, "result": k.result, "reason": k.reason}
		for name, v := range labels {
			if have[name] != v {
				return
			}
		}
		hidden[k] = n
	})
	c.mu.Lock()
	for k, n := range hidden {
		c.gone[k] += n
	}
	c.mu.Unlock()
	return len(hidden)
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
// strangler_shadow_queue_depth read inflight and queued, and
// strangler_shadow_requests_total read counts (every route's mirroring
// outcomes by result and reason), at each scrape. The shadow dispatcher
// calls it when built; a later call replaces the earlier source.
func (r *Registry) WatchShadow(inflight, queued func() int64, counts func(func(route, result, reason string, n uint64))) {
	r.shadow.source.Store(&shadowSource{inflight: inflight, queued: queued, counts: counts})
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
