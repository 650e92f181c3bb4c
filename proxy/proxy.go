// Package proxy is strangler's data plane: it turns a validated config
// into a routing table of reverse proxies, serves it behind request ids and
// an access log, and swaps in a new table on reload.
package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/legacy"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/shadow"
	"github.com/stranglerfig/strangler/stage"
	"github.com/stranglerfig/strangler/tracing"
	"github.com/stranglerfig/strangler/upstream"
)

// Proxy is the data plane. Its Handler serves requests from the current
// table; Apply installs a new config without disturbing requests in
// flight.
type Proxy struct {
	log       zerolog.Logger
	metrics   *metrics.Registry
	shadow    *shadow.Dispatcher
	router    *routing.Router
	inventory *legacy.Inventory
	planner   *plan.Inventory
	tracer    *tracing.Tracer // nil: tracing is off
	handler   http.Handler

	mu      sync.Mutex                 // serializes Apply and Close
	gen     atomic.Pointer[generation] // the installed table, config, pools and breakers
	started *config.Config             // the config the process started with
	server  config.Server              // the server limits read at start (request bodies)
}

// Options are the parts a Proxy reports to.
type Options struct {
	// Log receives the access log and errors.
	Log zerolog.Logger
	// Metrics, if set, counts requests and upstream errors per route.
	Metrics *metrics.Registry
	// Shadow, if set, mirrors the requests of routes that ask for it. The
	// caller starts and stops it.
	Shadow *shadow.Dispatcher
	// Tracer, if set, traces every request and its upstream attempts. The
	// caller shuts it down.
	Tracer *tracing.Tracer
}

// New builds a Proxy serving cfg.
func New(cfg *config.Config, opts Options) (*Proxy, error) {
	log := opts.Log
	p := &Proxy{
		log:       log,
		metrics:   opts.Metrics,
		shadow:    opts.Shadow,
		tracer:    opts.Tracer,
		inventory: legacy.NewInventory(legacy.DefaultMaxEndpoints),
		planner:   plan.New(plan.Options{}),
		server:    bodyLimits(cfg.Server),
	}
	g, err := p.build(cfg)
	if err != nil {
		return nil, err
	}
	p.install(g)
	p.started = cfg
	p.handler = withRequestID(withAccessLog(withShadowMarker(routed{p.router}, cfg.Shadowing.TrustMarkerFrom), log, cfg.Log.Access, p.metrics, p.planner,
		p.tracer))
	return p, nil
}

// Handler returns the data-plane handler.
func (p *Proxy) Handler() http.Handler { return p.handler }

// Router returns the router, for inspection of the current table.
func (p *Proxy) Router() *routing.Router { return p.router }

// Inventory returns the counts of requests no route claimed.
func (p *Proxy) Inventory() *legacy.Inventory { return p.inventory }

// Planner returns the inventory of every request's endpoint shape, which
// the migration planner (GET /admin/plan) ranks.
func (p *Proxy) Planner() *plan.Inventory { return p.planner }

// Config returns the config currently served.
func (p *Proxy) Config() *config.Config { return p.gen.Load().cfg }

// Apply builds a table from cfg and swaps it in. On error nothing
// changes: the previous table, pools, breakers and gauges keep serving,
// and the pools the failed build made are closed.
func (p *Proxy) Apply(cfg *config.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, err := p.build(cfg)
	if err != nil {
		return err
	}
	p.install(g)
	return nil
}

// routeSpec compiles one route, with the upstreams, breaker and shadow
// policy it uses.
func (p *builder) routeSpec(r config.Route, cfg *config.Config, services map[string]*upstream.Upstream,
	legacyUp *upstream.Upstream, legacyKeepHost bool, trusted *upstream.Trusted) (routing.Spec, error) {
	st, err := stage.Parse(r.Stage)
	if err != nil {
		return routing.Spec{}, err
	}
	spec := routing.Spec{
		Name: r.Name, Path: r.Match.Path, Prefix: r.Match.Prefix, Host: r.Match.Host,
		Methods: r.Match.Methods, Headers: r.Match.Headers,
		Stage: st, Percent: r.Percent, Sticky: r.Sticky, ServiceName: r.Service,
		Allow: allowOf(r.Match.Allow), CaseInsensitive: r.Match.CaseInsensitive, MaxBody: int64(r.MaxBodyBytes),
		Legacy: p.traced(legacyUp, legacyUp.Proxy(upstream.Route{Name: r.Name, KeepHost: legacyKeepHost,
			OnError:      p.errorCounter(r.Name, "legacy"),
			OnAtCapacity: p.capacityCounter(r.Name, "legacy", metrics.SideLegacy)}, trusted, p.log)),
	}
	if r.Service == "" {
		return spec, nil
	}
	svc := cfg.Services[r.Service]
	host := svc.HostHeader
	if r.Rewrite.HostHeader != "" {
		host = r.Rewrite.HostHeader
	}
	legacyRoute := upstream.Route{Name: r.Name, KeepHost: legacyKeepHost}
	svcRoute := upstream.Route{
		Name: r.Name, StripPrefix: r.Rewrite.StripPrefix, AddPrefix: r.Rewrite.AddPrefix,
		KeepHost: host == config.HostClient,
	}
	svcProxyRoute := svcRoute
	svcProxyRoute.OnError = p.errorCounter(r.Name, r.Service)
	svcProxyRoute.OnAtCapacity = p.capacityCounter(r.Name, r.Service, metrics.SideService)
	spec.Service = p.guarded(r, svc, spec.Legacy, p.traced(services[r.Service],
		services[r.Service].Proxy(svcProxyRoute, trusted, p.log)))
	if p.shadow == nil {
		return spec, nil
	}
	policy, err := p.shadow.NewPolicy(policyConfig(r, cfg,
		shadow.Target{Upstream: legacyUp, Route: legacyRoute, Trusted: trusted},
		shadow.Target{Upstream: services[r.Service], Route: svcRoute, Trusted: trusted, Sandbox: svc.Sandbox}))
	if err != nil {
		return spec, fmt.Errorf("shadow and diff rules: %w", err)
	}
	spec.Mirror, spec.MirrorCanary, spec.MirrorMigrated = policy, r.Shadow.Canary, r.Shadow.Migrated
	return spec, nil
}

// traced gives each call of an upstream's handler its own client span
// when tracing is on; off, it returns h itself.
func (p *Proxy) traced(up *upstream.Upstream, h http.Handler) http.Handler {
	if p.tracer == nil {
		return h
	}
	return p.tracer.Client(h, tracing.Upstream{Name: up.Name(), Host: up.URL().Host})
}

// allowOf translates match.allow names (validated by config).
func allowOf(names []string) routing.Allow {
	var a routing.Allow
	for _, n := range names {
		a |= routing.AllowNames[n]
	}
	return a
}

// guarded wraps a route's service handler with its service's circuit
// breaker and the route's fallback to the monolith.
func (p *builder) guarded(r config.Route, svc config.Service, legacyH, serviceH http.Handler) http.Handler {
	var b *guard.Breaker
	if svc.Breaker.On() {
		b = p.breaker(r.Service, svc)
	}
	if b == nil && !r.Fallback {
		return serviceH
	}
	o := guard.Options{Route: r.Name, Service: serviceH, Legacy: legacyH, Breaker: b,
		Fallback: r.Fallback, Statuses: r.FallbackStatuses}
	if p.metrics != nil {
		m := p.metrics
		o.OnRefused = func() { m.Route(r.Name).Refused() }
	}
	return guard.Handler(o)
}

func (p *Proxy) breakerChanged(service, from, to string) {
	p.log.Warn().Str("service", service).Str("from", from).Str("to", to).Msg("circuit breaker changed state")
	if p.metrics != nil {
		p.metrics.BreakerState(service, to)
	}
}

// BreakerState returns the state of a service's breaker ("" if none).
func (p *Proxy) BreakerState(service string) string {
	g := p.gen.Load()
	svc, ok := g.cfg.Services[service]
	if !ok || !svc.Breaker.On() {
		return ""
	}
	if b, ok := g.breakers[breakerKey(service, svc)]; ok {
		return b.State()
	}
	return ""
}

// policyConfig translates a route's shadow and diff keys.
func policyConfig(r config.Route, cfg *config.Config, legacy, service shadow.Target) shadow.PolicyConfig {
	timeout := r.Shadow.Timeout
	if timeout == 0 {
		timeout = cfg.Shadowing.Timeout
	}
	ignore := config.ClassifyEntries(r.Diff.Ignore)
	redact := config.ClassifyEntries(r.Diff.Redact)
	return shadow.PolicyConfig{
		Route: r.Name, Sample: sampleOf(r.Shadow), Methods: r.Shadow.Methods,
		MaxBody: int64(r.Shadow.MaxBody), MaxResponse: int64(r.Diff.MaxBody), Timeout: timeout,
		Legacy: legacy, Service: service,
		Rules: diff.RulesConfig{IgnorePaths: ignore.Pointers, IgnoreHeaders: ignore.Headers,
			IgnoreSelectors: ignore.Selectors, IgnoreLines: ignore.Lines, TextOnly: r.Diff.Text,
			Unordered: r.Diff.Unordered, Tolerance: diff.Tolerance{Abs: r.Diff.Tolerance.Abs, Rel: r.Diff.Tolerance.Rel}},
		Noise: r.Diff.Noise.Enabled, NoiseSample: r.Diff.Noise.Sample, NoiseWarmup: r.Diff.Noise.Warmup,
		RedactHeaders: redact.Headers, RedactPaths: redact.Pointers, RedactSelectors: redact.Selectors,
	}
}

// errorCounter returns the hook that counts a route's upstream errors.
func (p *Proxy) errorCounter(route, upstreamName string) func(kind string) {
	if p.metrics == nil {
		return nil
	}
	return func(kind string) { p.metrics.Route(route).UpstreamError(upstreamName, kind) }
}

// capacityCounter returns the hook that counts a route's requests refused
// because the upstream was at its max_in_flight, on the side whose
// figures the refusal's 503 is recorded in.
func (p *Proxy) capacityCounter(route, upstreamName, side string) func() {
	if p.metrics == nil {
		return nil
	}
	return func() { p.metrics.Route(route).AtCapacity(upstreamName, side) }
}

// Close releases idle upstream connections.
func (p *Proxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, up := range p.gen.Load().upstreams {
		up.Close()
	}
}

func trustedSet(cidrs []string) (*upstream.Trusted, error) {
	var nets []*net.IPNet
	var errs []error
	for _, c := range cidrs {
		n, err := config.ParseCIDR(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		nets = append(nets, n)
	}
	return upstream.NewTrusted(nets), errors.Join(errs...)
}

// sampleOf returns the shadow sample percent (100 when unset).
func sampleOf(s config.Shadow) float64 {
	if s.Sample == nil {
		return 100
	}
	return *s.Sample
}
