package proxy

import (
	"fmt"
	"net/url"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/legacy"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/upstream"
)

// generation is one config compiled: the routing table and the upstream
// pools and circuit breakers it uses. A builder makes it without
// publishing anything; install publishes it whole, so a failed build
// leaves no trace and a reader sees one generation or the next.
type generation struct {
	cfg       *config.Config
	table     *routing.Table
	upstreams map[string]*upstream.Upstream // by upstreamKey
	breakers  map[string]*guard.Breaker     // by breakerKey
}

// builder is a Proxy compiling its next generation. It reuses the
// installed generation's pools and breakers whose key is unchanged, so
// keep-alive connections and breaker state survive a reload, and it
// remembers the pools it made so a failed build can close them.
type builder struct {
	*Proxy
	cur     *generation // the installed generation; nil on the first build
	next    *generation
	created []*upstream.Upstream // pools made by this build, not reused
}

// newBuilder starts building cfg next to the installed generation.
// Called with p.mu held (or before p is shared).
func (p *Proxy) newBuilder(cfg *config.Config) *builder {
	return &builder{Proxy: p, cur: p.gen.Load(), next: &generation{cfg: cfg,
		upstreams: map[string]*upstream.Upstream{}, breakers: map[string]*guard.Breaker{}}}
}

// build compiles cfg into an unpublished generation. On error it closes
// the pools it made and nothing installed has changed.
func (p *Proxy) build(cfg *config.Config) (*generation, error) { return p.newBuilder(cfg).build() }

// build compiles the builder's config; on error it releases what it made.
func (p *builder) build() (*generation, error) {
	table, err := p.table()
	if err != nil {
		p.release()
		return nil, err
	}
	p.next.table = table
	p.keepBreakers()
	return p.next, nil
}

// table compiles the routes, making or reusing the upstreams they use.
func (p *builder) table() (*routing.Table, error) {
	cfg := p.next.cfg
	trusted, err := trustedSet(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	legacyUp, err := p.upstream("legacy", cfg.Legacy)
	if err != nil {
		return nil, err
	}
	services := map[string]*upstream.Upstream{}
	for name, s := range cfg.Services {
		if services[name], err = p.upstream(name, s.Upstream); err != nil {
			return nil, err
		}
	}
	legacyKeepHost := cfg.Legacy.HostHeader == config.HostClient
	defaultLegacy := legacy.Handler(p.traced(legacyUp, legacyUp.Proxy(upstream.Route{KeepHost: legacyKeepHost,
		OnError:      p.errorCounter(metrics.Unmatched, "legacy"),
		OnAtCapacity: p.capacityCounter(metrics.Unmatched, "legacy", metrics.SideLegacy)}, trusted, p.log)), p.inventory)
	specs := make([]routing.Spec, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		spec, err := p.routeSpec(r, cfg, services, legacyUp, legacyKeepHost, trusted)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Name, err)
		}
		specs = append(specs, spec)
	}
	return routing.Build(specs, defaultLegacy, routing.Options{ClientIP: trusted.ClientIP, Admit: p.admit})
}

// release closes the pools a failed build made. Pools reused from the
// installed generation are left alone: they still serve.
func (p *builder) release() {
	for _, up := range p.created {
		up.Close()
	}
	p.created = nil
}

// upstream returns the pooled upstream for these settings: the one this
// build already made, the installed generation's, or a new one.
func (p *builder) upstream(name string, u config.Upstream) (*upstream.Upstream, error) {
	target, err := url.Parse(u.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", name, err)
	}
	key := upstreamKey(name, u)
	up, ok := p.next.upstreams[key]
	if !ok && p.cur != nil {
		up, ok = p.cur.upstreams[key]
	}
	if !ok {
		up = upstream.New(upstream.Options{
			Name: name, URL: target, Timeout: u.Timeout, DialTimeout: u.DialTimeout, MaxIdleConns: u.MaxIdleConns,
			Lean: u.Client != config.ClientStandard, MaxInFlight: u.MaxInFlight,
		})
		p.created = append(p.created, up)
	}
	p.next.upstreams[key] = up
	return up, nil
}

func upstreamKey(name string, u config.Upstream) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d|%s|%d", name, u.URL, u.Timeout, u.DialTimeout, u.MaxIdleConns, u.Client,
		u.MaxInFlight)
}

// breaker returns the service's breaker, kept across reloads while the
// service's URL and breaker settings stay the same. A new breaker's gauge
// is set when its generation is installed, not here.
func (p *builder) breaker(name string, svc config.Service) *guard.Breaker {
	key := breakerKey(name, svc)
	b, ok := p.next.breakers[key]
	if !ok && p.cur != nil {
		b, ok = p.cur.breakers[key]
	}
	if !ok {
		c := svc.Breaker
		b = guard.NewBreaker(name, guard.BreakerConfig{ConsecutiveFailures: c.ConsecutiveFailures,
			FailureRatio: c.FailureRatio, MinRequests: c.MinRequests, Window: c.Window, OpenFor: c.OpenFor,
			HalfOpenRequests: c.HalfOpenRequests}, p.breakerChanged)
	}
	p.next.breakers[key] = b
	return b
}

// keepBreakers carries over the installed breakers of services the new
// config still names with the same URL and settings, even when no route
// uses them now (a breaker turned off, a route removed for a while): the
// state is there when they come back.
func (p *builder) keepBreakers() {
	if p.cur == nil {
		return
	}
	for name, s := range p.next.cfg.Services {
		key := breakerKey(name, s)
		if b, ok := p.cur.breakers[key]; ok {
			p.next.breakers[key] = b
		}
	}
}

// breakerKey identifies a breaker by service, URL and settings.
func breakerKey(name string, svc config.Service) string {
	c := svc.Breaker
	return fmt.Sprintf("%s|%s|%d|%g|%d|%s|%s|%d", name, svc.URL, c.ConsecutiveFailures, c.FailureRatio,
		c.MinRequests, c.Window, c.OpenFor, c.HalfOpenRequests)
}

// install publishes g in one place: the gauges of the breakers g made
// (before the swap, so no request can move them first), the routing
// table, then g itself; last it closes the pools the previous generation
// had and g does not. Called with p.mu held (or before p is shared).
func (p *Proxy) install(g *generation) {
	old := p.gen.Load()
	p.breakerGauges(old, g)
	if p.router == nil {
		p.router = routing.NewRouter(g.table)
	} else {
		p.router.Swap(g.table)
	}
	p.gen.Store(g)
	if old != nil {
		closeUnused(old, g)
	}
}

// breakerGauges sets the state gauge of each breaker g has that old did
// not (a new breaker: closed). Reused breakers keep theirs.
func (p *Proxy) breakerGauges(old, g *generation) {
	if p.metrics == nil {
		return
	}
	for key, b := range g.breakers {
		if old == nil || old.breakers[key] != b {
			p.metrics.BreakerState(b.Service(), b.State())
		}
	}
}

// closeUnused closes the pools old had and g does not. Their idle
// connections close; requests still in flight on them finish normally.
// Breakers g dropped go with old.
func closeUnused(old, g *generation) {
	for key, up := range old.upstreams {
		if g.upstreams[key] != up {
			up.Close()
		}
	}
}
