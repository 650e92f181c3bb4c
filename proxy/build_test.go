package proxy

import (
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/upstream"
)

// connBackend is a real HTTP server that names itself in X-Side, answers
// with the status set in status (200 when 0) and counts its connections:
// accepted ever, and open now.
type connBackend struct {
	*httptest.Server
	status   atomic.Int32
	accepted atomic.Int64
	open     atomic.Int64
}

func newConnBackend(t *testing.T, name string) *connBackend {
	t.Helper()
	b := &connBackend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Side", name)
		if s := b.status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
		_, _ = io.WriteString(w, name)
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.accepted.Add(1)
			b.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.open.Add(-1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// reloadBase is the config the build tests start from: the monolith and
// orders, whose breaker opens after 2 failures and stays open, behind one
// migrated route.
func reloadBase(legacyURL, ordersURL string) *config.Config {
	cfg := baseConfig(legacyURL, ordersURL, config.Route{Name: "orders", Match: config.Match{Prefix: "/orders/"},
		Service: "orders", Stage: "migrated"})
	svc := cfg.Services["orders"]
	svc.Breaker = config.Breaker{ConsecutiveFailures: 2, OpenFor: time.Hour}
	cfg.Services["orders"] = svc
	return cfg
}

// withUsers adds the users service behind its own migrated route: a
// reload of it makes a new pool and a new breaker.
func withUsers(cfg *config.Config, usersURL string) {
	cfg.Services["users"] = config.Service{Upstream: config.Upstream{URL: usersURL}}
	cfg.Routes = append(cfg.Routes, config.Route{Name: "users", Match: config.Match{Prefix: "/users/"},
		Service: "users", Stage: "migrated"})
}

// installed is what a reload may change: the generation and what it
// publishes, the breaker gauges and the breaker's state.
type installed struct {
	gen       *generation
	table     *routing.Table
	cfg       *config.Config
	upstreams map[string]*upstream.Upstream
	breakers  map[string]*guard.Breaker
	gauges    map[string]float64
	state     string
}

func snapshot(t *testing.T, p *Proxy) installed {
	t.Helper()
	g := p.gen.Load()
	return installed{gen: g, table: p.Router().Table(), cfg: p.Config(), upstreams: maps.Clone(g.upstreams),
		breakers: maps.Clone(g.breakers), gauges: breakerGauges(t, p), state: p.BreakerState("orders")}
}

// diff names what differs between before and now ("" when nothing
// does). The maps are compared with the installed generation's live maps,
// so a change made in place shows too.
func (before installed) diff(now installed) string {
	var d []string
	check := func(what string, same bool) {
		if !same {
			d = append(d, what)
		}
	}
	check("generation", before.gen == now.gen)
	check("routing table", before.table == now.table)
	check("config", before.cfg == now.cfg)
	check("upstream pools", maps.Equal(before.upstreams, now.gen.upstreams))
	check("breakers", maps.Equal(before.breakers, now.gen.breakers))
	check("breaker gauges", maps.Equal(before.gauges, now.gauges))
	check("orders breaker state", before.state == now.state)
	return strings.Join(d, ", ")
}

// breakerGauges returns every strangler_breaker_state series by service.
func breakerGauges(t *testing.T, p *Proxy) map[string]float64 {
	t.Helper()
	fams, err := p.metrics.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "strangler_breaker_state" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// openOrdersBreaker fails two requests on orders and checks its breaker
// opened, and sends one request to the monolith, so both pools hold an
// idle keep-alive connection.
func openOrdersBreaker(t *testing.T, url string, p *Proxy, orders *connBackend) {
	t.Helper()
	orders.status.Store(http.StatusServiceUnavailable)
	for range 2 {
		if status, side := get(t, http.DefaultClient, url+"/orders/1"); status != 503 || side != "orders" {
			t.Fatalf("orders answered %d from %q, want its own 503", status, side)
		}
	}
	if s := p.BreakerState("orders"); s != guard.StateOpen {
		t.Fatalf("orders breaker %q after 2 failures, want open", s)
	}
	if status, side := get(t, http.DefaultClient, url+"/elsewhere"); status != 200 || side != "monolith" {
		t.Fatalf("monolith answered %d from %q", status, side)
	}
}

// TestFailedReloadLeavesInstalledStateAlone: a reload that fails after it
// made a pool and a breaker (or before) changes nothing installed: the
// generation, its pools and breakers, the breaker gauges (an open breaker
// stays 2, a new service gets no series), and the monolith's keep-alive
// connection, which the next request reuses.
func TestFailedReloadLeavesInstalledStateAlone(t *testing.T) {
	tests := []struct {
		name    string
		change  func(cfg *config.Config, usersURL string) // a valid change, validated
		breakIt func(cfg *config.Config)                  // then what fails the build
		wantErr string
	}{
		{"route matcher fails to compile after a new pool and two new breakers",
			func(cfg *config.Config, usersURL string) {
				withUsers(cfg, usersURL)
				svc := cfg.Services["orders"]
				svc.Breaker.ConsecutiveFailures = 3 // a new orders breaker, whose gauge would read closed
				cfg.Services["orders"] = svc
			},
			func(cfg *config.Config) {
				cfg.Routes = append(cfg.Routes, config.Route{Name: "bad", Match: config.Match{Path: "/x/{id"},
					Service: "orders", Stage: "legacy"})
			}, "unbalanced braces"},
		{"duplicate route name after a new pool and breaker",
			func(cfg *config.Config, usersURL string) { withUsers(cfg, usersURL) },
			func(cfg *config.Config) { cfg.Routes = append(cfg.Routes, cfg.Routes[len(cfg.Routes)-1]) },
			"empty or taken"},
		{"unknown stage after a new pool and breaker",
			func(cfg *config.Config, usersURL string) { withUsers(cfg, usersURL) },
			func(cfg *config.Config) {
				cfg.Routes = append(cfg.Routes, config.Route{Name: "bad", Match: config.Match{Prefix: "/bad/"},
					Service: "orders", Stage: "sideways"})
			}, `route "bad"`},
		{"service URL does not parse after a new monolith pool",
			func(cfg *config.Config, usersURL string) {
				withUsers(cfg, usersURL)
				cfg.Legacy.Timeout += time.Second // a new legacy pool
			},
			func(cfg *config.Config) {
				svc := cfg.Services["users"]
				svc.URL = "http://[::1"
				cfg.Services["users"] = svc
			}, "upstream users"},
		{"trusted proxy does not parse",
			func(cfg *config.Config, usersURL string) { withUsers(cfg, usersURL) },
			func(cfg *config.Config) { cfg.TrustedProxies = []string{"10.0.0.0/33"} }, "10.0.0.0/33"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mono, orders, users := newConnBackend(t, "monolith"), newConnBackend(t, "orders"), newConnBackend(t, "users")
			url, p, _ := startProxy(t, reloadBase(mono.URL, orders.URL))
			openOrdersBreaker(t, url, p, orders)
			before, monoConns := snapshot(t, p), mono.accepted.Load()

			bad := reloadBase(mono.URL, orders.URL)
			tc.change(bad, users.URL)
			tc.breakIt(mustValid(t, bad))
			err := p.Apply(bad)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Apply = %v, want an error containing %q", err, tc.wantErr)
			}
			if d := before.diff(snapshot(t, p)); d != "" {
				t.Fatalf("the failed reload changed the installed %s", d)
			}
			if g := before.gauges["orders"]; g != 2 {
				t.Fatalf("orders breaker gauge %v before the reload, want 2 (open)", g)
			}
			if status, side := get(t, http.DefaultClient, url+"/elsewhere"); status != 200 || side != "monolith" {
				t.Fatalf("after the failed reload the monolith answered %d from %q", status, side)
			}
			if n := mono.accepted.Load() - monoConns; n != 0 {
				t.Errorf("the monolith accepted %d new connections after the failed reload; its pool should have been kept", n)
			}
			if users.accepted.Load() != 0 {
				t.Errorf("the failed build connected to users")
			}
		})
	}
}

// TestFailedBuildClosesItsPools: the pools a failed build made are
// closed, their idle connections with them (lean and standard clients),
// while the pools it reused from the installed generation keep theirs.
func TestFailedBuildClosesItsPools(t *testing.T) {
	for _, client := range []string{config.ClientLean, config.ClientStandard} {
		t.Run(client, func(t *testing.T) {
			mono, orders, users := newConnBackend(t, "monolith"), newConnBackend(t, "orders"), newConnBackend(t, "users")
			url, p, _ := startProxy(t, reloadBase(mono.URL, orders.URL))
			if status, _ := get(t, http.DefaultClient, url+"/elsewhere"); status != 200 {
				t.Fatalf("monolith answered %d", status)
			}
			installedLegacy := p.gen.Load().upstreams[upstreamKey("legacy", p.Config().Legacy)]

			bad := reloadBase(mono.URL, orders.URL)
			withUsers(bad, users.URL)
			svc := bad.Services["users"]
			svc.Client = client
			bad.Services["users"] = svc
			mustValid(t, bad)
			bad.Routes = append(bad.Routes, bad.Routes[0]) // a duplicate name fails the build last

			p.mu.Lock()
			defer p.mu.Unlock()
			b := p.newBuilder(bad)
			up, err := b.upstream("users", bad.Services["users"].Upstream)
			if err != nil {
				t.Fatal(err)
			}
			if reused, _ := b.upstream("legacy", bad.Legacy); reused != installedLegacy {
				t.Fatal("the build made a new monolith pool; want the installed one reused")
			}
			useOnce(t, up, users.URL+"/warm")
			if n := users.open.Load(); n != 1 {
				t.Fatalf("users holds %d connections from the new pool, want 1 idle keep-alive", n)
			}
			if _, err := b.build(); err == nil || !strings.Contains(err.Error(), "empty or taken") {
				t.Fatalf("build = %v, want the duplicate name error", err)
			}
			testutil.Eventually(t, "the failed build's users pool to close its idle connection",
				func() bool { return users.open.Load() == 0 })
			if n := mono.open.Load(); n != 1 {
				t.Fatalf("monolith holds %d connections, want the installed pool's 1 kept", n)
			}
		})
	}
}

// useOnce sends one GET through up's transport and reads the answer, so
// the connection goes back to up's pool.
func useOnce(t *testing.T, up *upstream.Upstream, url string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := up.Transport().RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestReloadKeepsUnchangedServices: a successful reload keeps the pool and
// the breaker (its open state and gauge) of a service whose settings did
// not change, and replaces exactly the ones that did, closing the old
// pool's connections.
func TestReloadKeepsUnchangedServices(t *testing.T) {
	tests := []struct {
		name                      string
		change                    func(cfg *config.Config, usersURL, ordersURL2 string)
		samePool, sameBreaker     bool
		wantState                 string
		wantGauge, wantUsersGauge float64
	}{
		{"route stage changes", func(cfg *config.Config, _, _ string) { cfg.Routes[0].Stage = "canary"; cfg.Routes[0].Percent = 50 },
			true, true, guard.StateOpen, 2, -1},
		{"a service and its route are added", func(cfg *config.Config, usersURL, _ string) { withUsers(cfg, usersURL) },
			true, true, guard.StateOpen, 2, 0},
		{"the route is removed for a while", func(cfg *config.Config, _, _ string) { cfg.Routes = nil },
			true, true, guard.StateOpen, 2, -1},
		{"orders breaker settings change", func(cfg *config.Config, _, _ string) {
			svc := cfg.Services["orders"]
			svc.Breaker.ConsecutiveFailures = 3
			cfg.Services["orders"] = svc
		}, true, false, guard.StateClosed, 0, -1},
		{"orders URL changes", func(cfg *config.Config, _, ordersURL2 string) {
			svc := cfg.Services["orders"]
			svc.URL = ordersURL2
			cfg.Services["orders"] = svc
		}, false, false, guard.StateClosed, 0, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mono, orders := newConnBackend(t, "monolith"), newConnBackend(t, "orders")
			users, orders2 := newConnBackend(t, "users"), newConnBackend(t, "orders")
			url, p, _ := startProxy(t, reloadBase(mono.URL, orders.URL))
			openOrdersBreaker(t, url, p, orders)
			ordersKey := upstreamKey("orders", p.Config().Services["orders"].Upstream)
			before, monoConns, ordersOpen := snapshot(t, p), mono.accepted.Load(), orders.open.Load()

			next := reloadBase(mono.URL, orders.URL)
			tc.change(next, users.URL, orders2.URL)
			if err := p.Apply(mustValid(t, next)); err != nil {
				t.Fatal(err)
			}
			now := snapshot(t, p)
			newKey := upstreamKey("orders", next.Services["orders"].Upstream)
			if same := now.upstreams[newKey] == before.upstreams[ordersKey]; same != tc.samePool {
				t.Errorf("orders pool kept = %v, want %v", same, tc.samePool)
			}
			oldBreaker := before.breakers[breakerKey("orders", before.cfg.Services["orders"])]
			if same := now.breakers[breakerKey("orders", next.Services["orders"])] == oldBreaker; same != tc.sameBreaker {
				t.Errorf("orders breaker kept = %v, want %v", same, tc.sameBreaker)
			}
			if now.state != tc.wantState || now.gauges["orders"] != tc.wantGauge {
				t.Errorf("orders breaker %q with gauge %v, want %q and %v", now.state, now.gauges["orders"], tc.wantState, tc.wantGauge)
			}
			if g, ok := now.gauges["users"]; (tc.wantUsersGauge < 0) == ok || (ok && g != tc.wantUsersGauge) {
				t.Errorf("users breaker gauge %v (set %v), want %v (-1: none)", g, ok, tc.wantUsersGauge)
			}
			if tc.samePool {
				if n := orders.open.Load(); n != ordersOpen {
					t.Errorf("orders holds %d connections after the reload, want its %d kept alive", n, ordersOpen)
				}
			} else {
				testutil.Eventually(t, "the replaced orders pool to close its idle connection",
					func() bool { return orders.open.Load() == 0 })
			}
			if status, side := get(t, http.DefaultClient, url+"/elsewhere"); status != 200 || side != "monolith" {
				t.Fatalf("after the reload the monolith answered %d from %q", status, side)
			}
			if n := mono.accepted.Load() - monoConns; n != 0 {
				t.Errorf("the monolith accepted %d new connections after the reload; its keep-alive pool should serve", n)
			}
		})
	}
}

// TestRequestsAnsweredDuringReloads: while clients send requests to a
// migrating route and to the monolith, and a reader asks for the breaker's
// state and the config, failing and succeeding reloads alternate; every
// request is answered 200 by a backend and the reader always sees a whole
// generation: the breaker closed, the config a valid one (run with -race).
func TestRequestsAnsweredDuringReloads(t *testing.T) {
	mono, orders := testutil.NewBackend(t, "monolith"), testutil.NewBackend(t, "orders")
	cfgFor := func(stage string, broken bool) *config.Config {
		cfg := mustValid(t, reloadBase(mono.URL, orders.URL))
		cfg.Routes[0].Stage = stage
		if broken {
			cfg.Routes = append(cfg.Routes, cfg.Routes[0])
		}
		return cfg
	}
	url, p, _ := startProxy(t, cfgFor("migrated", false))
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var load sync.WaitGroup
	for _, path := range []string{"/orders/1", "/orders/2", "/elsewhere", "/elsewhere"} {
		load.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Get(url + path)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Side") == "" {
					failed.Add(1)
				}
			}
		})
	}
	var torn atomic.Int64
	load.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s, cfg := p.BreakerState("orders"), p.Config(); s != guard.StateClosed || len(cfg.Routes) != 1 {
				torn.Add(1)
			}
			time.Sleep(100 * time.Microsecond) // pace the reader: leave the CPU to the requests
		}
	})
	stages := []string{"legacy", "canary", "migrated"}
	const reloads = 60
	for i := range reloads {
		if err := p.Apply(cfgFor(stages[i%3], false)); err != nil {
			t.Errorf("reload %d: %v", i, err)
		}
		if err := p.Apply(cfgFor(stages[i%3], true)); err == nil {
			t.Errorf("reload %d: a duplicate route name was applied", i)
		}
		want := sent.Load() + 8 // let requests run between reloads, not only beside them
		testutil.Eventually(t, "requests sent between two reloads", func() bool { return sent.Load() >= want })
	}
	close(stop)
	load.Wait()
	t.Logf("%d requests during %d good and %d failed reloads: %d failed", sent.Load(), reloads, reloads, failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests were not answered 200 during reloads", failed.Load(), sent.Load())
	}
	if torn.Load() != 0 {
		t.Errorf("a reader saw %d times a breaker state other than closed or a config that was never applied", torn.Load())
	}
	if mono.Hits() == 0 || orders.Hits() == 0 {
		t.Errorf("monolith served %d and orders %d; want both used", mono.Hits(), orders.Hits())
	}
}
