package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/proxy"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/shadow"
)

// routeFile is the route file every fixture starts from. %s are the
// monolith's and the orders service's URLs.
const routeFile = `listen: "127.0.0.1:0"
admin:
  listen: "127.0.0.1:0"
log:
  level: info
  format: json
  access: false
legacy:
  url: %s
services:
  orders:
    url: %s
    timeout: 5s
routes:
  - name: order-details
    match:
      path: "/api/orders/{id:[0-9]+}"
      methods: [GET]
    service: orders
    stage: canary
    percent: 10
    sticky: header:X-User-ID
  - name: order-list
    match:
      path: /api/orders
      methods: [GET]
    service: orders
    stage: shadow
  - name: customers
    match:
      prefix: /api/customers/
    service: orders
    stage: migrated
  - name: legacy-reports
    match:
      prefix: /reports/
    stage: legacy
`

// fixtureOptions vary the fixture.
type fixtureOptions struct {
	// Token is the admin bearer token ("" = none, the loopback default).
	Token string
	// Log receives the admin and rollout logs; zero means zerolog.Nop().
	Log *zerolog.Logger
	// LoginLimit bounds failed logins per client IP (zero: the defaults).
	LoginLimit admin.LoginLimit
	// Reports runs a real shadow dispatcher and report store, wired into
	// the proxy and the admin API, with reportsRouteFile and backends
	// whose answers differ on the shadowed route.
	Reports bool
	// Cluster, if set, lists the replicas (/admin/cluster, scope=cluster).
	Cluster admin.ClusterFunc
}

// fixture is a whole strangler minus the CLI: two real backends, the real
// data plane, metrics registry and rollout controller, and the admin API
// served over real HTTP.
type fixture struct {
	t        testing.TB
	dir      string // temp dir holding the route file and the state file
	path     string // the route file
	monolith *httptest.Server
	orders   *httptest.Server
	reg      *metrics.Registry
	proxy    *proxy.Proxy
	control  *rollout.Controller
	data     *httptest.Server // the data plane
	admin    *httptest.Server // the admin API
	client   *http.Client
	token    string
	store    *report.Store      // with Reports only
	disp     *shadow.Dispatcher // with Reports only

	readyErr atomic.Pointer[error] // what Ready returns; nil = ready
}

// newFixture builds and starts a fixture; everything stops at cleanup.
func newFixture(t testing.TB, opts fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), token: opts.Token,
		client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(f.client.CloseIdleConnections)
	file, newBackend := routeFile, backend
	if opts.Reports {
		file, newBackend = reportsRouteFile, reportsBackend
	}
	f.monolith = newBackend(t, "monolith")
	f.orders = newBackend(t, "orders")
	f.path = filepath.Join(f.dir, "strangler.yaml")
	f.writeRouteFile(fmt.Sprintf(file, f.monolith.URL, f.orders.URL))
	cfg, err := config.Load(f.path, config.Source{})
	if err != nil {
		t.Fatalf("loading the route file: %v", err)
	}
	log := zerolog.Nop()
	if opts.Log != nil {
		log = *opts.Log
	}
	f.reg = metrics.New()
	if opts.Reports {
		f.startReports()
	}
	if f.proxy, err = proxy.New(cfg, proxy.Options{Log: zerolog.Nop(), Metrics: f.reg, Shadow: f.disp}); err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	t.Cleanup(f.proxy.Close)
	if opts.Reports {
		// Before the proxy closes its pools: the workers send through them.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			f.disp.Stop(ctx)
		})
	}
	f.control, err = rollout.New(rollout.Options{Store: rollout.FileStore{Path: cfg.StateFile},
		Applier: f.proxy, Log: log})
	if err != nil {
		t.Fatalf("rollout.New: %v", err)
	}
	if err := f.control.LoadFile(cfg); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	reloader := &proxy.Reloader{Proxy: f.proxy, Path: f.path, Apply: f.control.LoadFile,
		Done: func(_ string, err error) { f.reg.ConfigReload(err == nil) }}
	f.data = httptest.NewServer(f.proxy.Handler())
	t.Cleanup(f.data.Close)
	deps := admin.Deps{
		Control: f.control, Figures: f.reg,
		Reload: func() error { return reloader.Reload("admin") },
		Ready: func() error {
			if e := f.readyErr.Load(); e != nil {
				return *e
			}
			return nil
		},
		Metrics:   f.reg.Handler(),
		Inventory: f.proxy.Inventory(),
		Planner:   f.proxy.Planner(),
		PlanOptions: func() plan.BuildOptions {
			return plan.BuildOptions{Config: f.proxy.Config()}
		},
		ConfigPath: f.path,
		Token:      opts.Token,
		LoginLimit: opts.LoginLimit,
		Log:        log,
		Cluster:    opts.Cluster,
	}
	if opts.Reports {
		// Set only here: a nil *report.Store in the interface would not
		// read as "not enabled".
		deps.Reports, deps.Shadow = f.store, f.disp
	}
	f.admin = httptest.NewServer(admin.New(deps))
	t.Cleanup(f.admin.Close)
	return f
}

// startReports starts the report store's writer and the shadow
// dispatcher; the store stops at cleanup (after the dispatcher, which
// newFixture stops once the proxy exists).
func (f *fixture) startReports() {
	f.t.Helper()
	var err error
	if f.store, err = report.New(report.Options{}); err != nil {
		f.t.Fatalf("report.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.store.Run(ctx)
	}()
	f.t.Cleanup(func() { cancel(); <-done })
	f.disp = shadow.New(shadow.Options{Workers: 2, Queue: 64, Sink: f.store, Observer: f.reg})
	f.disp.Start()
}

// backend starts a real upstream that names itself in its JSON body.
func backend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"side": name, "path": r.URL.Path})
	}))
	t.Cleanup(s.Close)
	return s
}

func (f *fixture) writeRouteFile(content string) {
	f.t.Helper()
	if err := os.WriteFile(f.path, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// setReady makes Ready return err (nil: ready).
func (f *fixture) setReady(err error) {
	if err == nil {
		f.readyErr.Store(nil)
		return
	}
	f.readyErr.Store(&err)
}

// traffic sends a fixed, deterministic mix of requests through the data
// plane: routes at legacy, shadow and migrated, and unclaimed paths.
func (f *fixture) traffic() {
	f.t.Helper()
	reqs := []struct {
		path string
		n    int
		side string
	}{
		{"/api/orders", 3, "monolith"},          // order-list, shadow: the monolith serves
		{"/api/customers/7", 2, "orders"},       // customers, migrated
		{"/reports/2024/annual", 1, "monolith"}, // legacy-reports
		{"/legacy/invoices/42", 2, "monolith"},  // unclaimed
		{"/about", 1, "monolith"},               // unclaimed
	}
	for _, rq := range reqs {
		for range rq.n {
			resp, err := f.client.Get(f.data.URL + rq.path)
			if err != nil {
				f.t.Fatalf("GET %s through the proxy: %v", rq.path, err)
			}
			var got map[string]string
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || got["side"] != rq.side {
				f.t.Fatalf("GET %s through the proxy: status %d, body %v, err %v; want %s to serve it",
					rq.path, resp.StatusCode, got, err, rq.side)
			}
		}
	}
}

// response is one admin API answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into any.
func (r response) JSON(t testing.TB) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response is not JSON (%v): %q", err, r.Body)
	}
	return v
}

// errorBody decodes an error response.
func (r response) errorBody(t testing.TB) (msg, field string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("error response is not JSON (%v): %q", err, r.Body)
	}
	return e.Error, e.Field
}

// do sends an admin request. body may be "" (none); headers are set as
// given; the fixture's token is sent unless headers set Authorization
// (an empty value sends none).
func (f *fixture) do(method, path, body string, headers map[string]string) response {
	f.t.Helper()
	r, err := f.try(method, path, body, headers)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is do without failing the test (for the fuzz target, which reports
// itself).
func (f *fixture) try(method, path, body string, headers map[string]string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.admin.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	for k, v := range headers {
		switch {
		case k == "Host":
			req.Host = v
		case v == "":
			req.Header.Del(k)
		default:
			req.Header.Set(k, v)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// snapshot is the controller state a refused request must not change:
// every route's view (position, override, version) and the audit trail.
// It calls no method of f.t: the fuzz target may not.
func (f *fixture) snapshot() string {
	data, err := json.Marshal(map[string]any{
		"routes": f.control.Routes(),
		"events": f.control.Audit().List("", 0),
	})
	if err != nil {
		panic(err) // plain data: cannot happen
	}
	return string(data)
}

var errNotReady = errors.New("draining")
