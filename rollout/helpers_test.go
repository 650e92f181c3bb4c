package rollout_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/proxy"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/stage"
)

const (
	monolith = "monolith"
	orders   = "orders"
	// stickyHeader keeps a user on one side of a canary.
	stickyHeader = "X-User"
)

// Positions used throughout.
var (
	legacy   = stage.Position{Stage: stage.Legacy.String()}
	shadow   = stage.Position{Stage: stage.Shadow.String()}
	migrated = stage.Position{Stage: stage.Migrated.String()}
)

func canary(pct float64) stage.Position {
	return stage.Position{Stage: stage.Canary.String(), Percent: pct}
}

// backends are the real HTTP servers behind the proxy; each names itself
// in the X-Side response header.
type backends struct {
	monolith, orders *httptest.Server
}

func newBackend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	return testutil.NewBackend(t, name).Server
}

func newBackends(t testing.TB) backends {
	t.Helper()
	return backends{monolith: newBackend(t, monolith), orders: newBackend(t, orders)}
}

// routeOpt adjusts a route of the file config.
type routeOpt func(*config.Route)

func withStage(p stage.Position) routeOpt {
	return func(r *config.Route) { r.Stage, r.Percent = p.Stage, p.Percent }
}

func withPlan(plan ...string) routeOpt { return func(r *config.Route) { r.Plan = plan } }

// fileRoute is a route to the orders service, sticky on X-User.
func fileRoute(name, prefix string, opts ...routeOpt) config.Route {
	r := config.Route{Name: name, Match: config.Match{Prefix: prefix, Methods: []string{"get", "POST"}},
		Service: orders, Sticky: "header:" + stickyHeader}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// fileConfig builds and validates a route file in code, as config.Load
// would return it. Each call returns a fresh config, like a reload.
func fileConfig(t testing.TB, b backends, routes ...config.Route) *config.Config {
	t.Helper()
	cfg := &config.Config{
		Listen: "127.0.0.1:0",
		Server: config.Server{ReadHeaderTimeout: 5e9, IdleTimeout: 60e9, MaxHeaderBytes: 1 << 20, ShutdownTimeout: 5e9},
		Admin:  config.Admin{Listen: "127.0.0.1:0", TokenEnv: "STRANGLER_ADMIN_TOKEN"},
		Log:    config.Log{Level: "info", Format: "json"},
		Legacy: config.Upstream{URL: b.monolith.URL},
		Services: map[string]config.Service{
			orders: {Upstream: config.Upstream{URL: b.orders.URL}},
		},
		Routes: routes,
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config invalid: %v", err)
	}
	return cfg
}

// defaultRoutes is the usual file: "orders" at legacy with the default
// plan, "payments" at legacy and "reports", which has no service.
func defaultRoutes(opts ...routeOpt) []config.Route {
	return []config.Route{
		fileRoute("orders", "/orders", opts...),
		fileRoute("payments", "/payments"),
		{Name: "reports", Match: config.Match{Prefix: "/reports"}},
	}
}

// env is a controller in front of a real proxy and backends, persisting
// to a real FileStore.
type env struct {
	t     *testing.T
	b     backends
	store rollout.FileStore
	proxy *proxy.Proxy
	ctl   *rollout.Controller
}

// newEnv starts a controller with the state file in a fresh directory
// and loads file into it.
func newEnv(t *testing.T, b backends, file *config.Config) *env {
	t.Helper()
	return startEnv(t, b, rollout.FileStore{Path: filepath.Join(t.TempDir(), "state.json")}, nil, file)
}

// startEnv starts a controller (a "process") on store and loads file.
func startEnv(t *testing.T, b backends, store rollout.FileStore, audit *rollout.Audit, file *config.Config) *env {
	t.Helper()
	p, err := proxy.New(file, proxy.Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	t.Cleanup(p.Close)
	ctl, err := rollout.New(rollout.Options{Store: store, Applier: p, Audit: audit, Log: zerolog.Nop()})
	if err != nil {
		t.Fatalf("rollout.New: %v", err)
	}
	if err := ctl.LoadFile(file); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	return &env{t: t, b: b, store: store, proxy: p, ctl: ctl}
}

// serve sends a request for user through the proxy and returns the side
// that answered.
func (e *env) serve(path, user string) string {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set(stickyHeader, user)
	rec := httptest.NewRecorder()
	e.proxy.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET %s: status %d: %s", path, rec.Code, rec.Body)
	}
	return rec.Header().Get("X-Side")
}

// users returns a user inside and one outside the canary of route at pct.
func users(route string, pct float64) (in, out string) {
	for i := 0; in == "" || out == ""; i++ {
		u := fmt.Sprintf("user-%d", i)
		if routing.InCanary(route, u, pct) {
			if in == "" {
				in = u
			}
		} else if out == "" {
			out = u
		}
	}
	return in, out
}

// checkServed checks that the proxy serves route (under prefix) as pos
// demands: the monolith at legacy and shadow, the service once migrated,
// and at canary the service for a user inside it and the monolith for
// one outside.
func (e *env) checkServed(route, prefix string, pos stage.Position) {
	e.t.Helper()
	in, out := users(route, 50)
	wantIn, wantOut := monolith, monolith
	switch pos.Stage {
	case stage.Migrated.String():
		wantIn, wantOut = orders, orders
	case stage.Canary.String():
		in, out = users(route, pos.Percent)
		wantIn = orders
	}
	if got := e.serve(prefix+"/1", in); got != wantIn {
		e.t.Errorf("%s at %s: user %s served by %s, want %s", route, pos, in, got, wantIn)
	}
	if got := e.serve(prefix+"/1", out); got != wantOut {
		e.t.Errorf("%s at %s: user %s served by %s, want %s", route, pos, out, got, wantOut)
	}
}

// view returns a route's view, failing if it is unknown.
func (e *env) view(name string) rollout.RouteView {
	e.t.Helper()
	v, ok := e.ctl.Route(name)
	if !ok {
		e.t.Fatalf("route %q unknown", name)
	}
	return v
}

// stateFile returns the state file's bytes, or nil when it does not exist.
func (e *env) stateFile() []byte {
	e.t.Helper()
	data, err := os.ReadFile(e.store.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}

// lastEvent returns the newest event of route.
func (e *env) lastEvent(route string) rollout.Event {
	e.t.Helper()
	evs := e.ctl.Audit().List(route, 1)
	if len(evs) != 1 {
		e.t.Fatalf("no event for %s", route)
	}
	return evs[0]
}

func checkEvent(t *testing.T, got rollout.Event, action string, from, to stage.Position, source, reason string) {
	t.Helper()
	if got.Action != action || got.From != from || got.To != to || got.Source != source || got.Reason != reason {
		t.Errorf("event = {action %q from %s to %s source %q reason %q}, want {%q %s %s %q %q}",
			got.Action, got.From, got.To, got.Source, got.Reason, action, from, to, source, reason)
	}
	if got.ID == 0 || got.Time.IsZero() {
		t.Errorf("event %+v has no ID or time", got)
	}
}

func ptr[T any](v T) *T { return &v }
