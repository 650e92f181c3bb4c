package shadow

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/stage"
	"github.com/stranglerfig/strangler/upstream"
)

const testRoute = "orders"

// Decisions as the routing table makes them.
var (
	// shadowDecision: the monolith answers, the copy goes to the service.
	shadowDecision = routing.Decision{Route: testRoute, Stage: stage.Shadow, Side: routing.SideLegacy,
		Service: "orders"}
	// migratedDecision: the service answers, the copy goes to the monolith.
	migratedDecision = routing.Decision{Route: testRoute, Stage: stage.Migrated, Side: routing.SideService,
		Service: "orders"}
)

// rig is a started Dispatcher with real upstreams (httptest servers), a
// real report store as its Sink and a real metrics registry as its
// Observer. Everything is shut down at cleanup.
type rig struct {
	t         *testing.T
	d         *Dispatcher
	store     *report.Store
	metrics   *metrics.Registry
	logs      *testutil.SyncBuffer
	legacy    *httptest.Server
	service   *httptest.Server
	legacyUp  *upstream.Upstream
	serviceUp *upstream.Upstream
	client    *http.Client
}

// newRig starts a rig. legacy and service answer the two sides; opts
// sizes the dispatcher (Observer, Sink and Log are filled in). wrap, if
// given, wraps the store before it becomes the Sink.
func newRig(t *testing.T, legacy, service http.Handler, opts Options, wrap ...func(Sink) Sink) *rig {
	t.Helper()
	r := &rig{t: t, metrics: metrics.New(), logs: &testutil.SyncBuffer{}}
	var err error
	if r.store, err = report.New(report.Options{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var storeWG sync.WaitGroup
	storeWG.Go(func() { r.store.Run(ctx) })
	t.Cleanup(func() { cancel(); storeWG.Wait() })

	r.legacy = httptest.NewServer(legacy)
	r.service = httptest.NewServer(service)
	r.legacyUp = newUpstream(t, "legacy", r.legacy.URL)
	r.serviceUp = newUpstream(t, "orders", r.service.URL)
	t.Cleanup(func() {
		r.legacy.Close()
		r.service.Close()
		r.legacyUp.Close()
		r.serviceUp.Close()
	})

	opts.Observer, opts.Sink = r.metrics, r.store
	for _, w := range wrap {
		opts.Sink = w(opts.Sink)
	}
	opts.Log = zerolog.New(r.logs)
	r.d = New(opts)
	r.d.Start()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		r.d.Stop(sctx)
	})
	r.client = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(r.client.CloseIdleConnections)
	return r
}

func newUpstream(t *testing.T, name, raw string) *upstream.Upstream {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return upstream.New(upstream.Options{Name: name, URL: u, Timeout: 5 * time.Second,
		DialTimeout: time.Second, MaxIdleConns: 8})
}

// config returns a route config mirroring everything to these upstreams;
// edit adjusts it.
func (r *rig) config(edit func(*PolicyConfig)) PolicyConfig {
	cfg := PolicyConfig{
		Route: testRoute, Sample: 100,
		Methods: []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"},
		MaxBody: 1 << 10, MaxResponse: 1 << 10, Timeout: 5 * time.Second,
		Legacy:  Target{Upstream: r.legacyUp, Route: upstream.Route{Name: testRoute}},
		Service: Target{Upstream: r.serviceUp, Route: upstream.Route{Name: testRoute}},
	}
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// policy compiles a policy for the rig's dispatcher.
func (r *rig) policy(edit func(*PolicyConfig)) *Policy {
	r.t.Helper()
	p, err := r.d.NewPolicy(r.config(edit))
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// front serves every request through p.ServeMirrored with primary, as
// the proxy does for a mirrored route.
func (r *rig) front(p *Policy, dec routing.Decision, primary http.Handler) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p.ServeMirrored(w, req, dec, primary)
	}))
	r.t.Cleanup(srv.Close)
	return srv
}

// wait waits until no copy is queued or in flight, then until the store
// has stored every record offered so far.
func (r *rig) wait() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.d.Wait(ctx); err != nil {
		r.t.Fatalf("Wait: %v (pending %d)", err, r.d.Pending())
	}
	if err := r.store.Flush(ctx); err != nil {
		r.t.Fatalf("Flush: %v", err)
	}
}

// serve offers one exchange directly, as the router would, and returns
// what the client got.
func serve(p *Policy, req *http.Request, dec routing.Decision, primary http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	p.ServeMirrored(rec, req, dec, primary)
	return rec
}

// counting is a primary handler that counts its calls and answers body.
type counting struct {
	calls atomic.Int64
	body  string
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.calls.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, c.body)
}

// seen is one request as an upstream received it.
type seen struct {
	Method, Path, RawPath, Query, Host string
	Header                             http.Header
	Body                               []byte
	ContentLength                      int64
	RemoteAddr                         string
}

// capturing records the requests it receives, split into shadow copies
// and primaries, and answers with a fixed JSON body.
type capturing struct {
	copies    chan seen
	primaries chan seen
	body      string
}

func newCapturing(body string) *capturing {
	return &capturing{copies: make(chan seen, 64), primaries: make(chan seen, 64), body: body}
}

func (c *capturing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s := seen{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, Query: r.URL.RawQuery, Host: r.Host,
		Header: r.Header.Clone(), Body: b, ContentLength: r.ContentLength, RemoteAddr: r.RemoteAddr}
	if r.Header.Get(upstream.ShadowHeader) != "" {
		c.copies <- s
	} else {
		c.primaries <- s
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, c.body)
}

func (c *capturing) next(t *testing.T, ch chan seen, what string) seen {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s arrived", what)
		return seen{}
	}
}

// gate holds every request until opened (or until the request is
// cancelled), announcing each arrival.
type gate struct {
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
	served  atomic.Int64
}

func newGate() *gate {
	return &gate{arrived: make(chan struct{}, 256), release: make(chan struct{})}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	g.arrived <- struct{}{}
	select {
	case <-g.release:
	case <-r.Context().Done():
		return
	}
	g.served.Add(1)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// waitArrival waits for the next request to reach the gate.
func (g *gate) waitArrival(t *testing.T) {
	t.Helper()
	select {
	case <-g.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the gate")
	}
}

// okHandler answers "ok" as text.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok")
})

// wantCounts compares a route's counts; nil maps mean "none".
func wantCounts(t *testing.T, d *Dispatcher, sent uint64, skipped, dropped map[string]uint64) {
	t.Helper()
	got := d.Counts(testRoute)
	if skipped == nil {
		skipped = map[string]uint64{}
	}
	if dropped == nil {
		dropped = map[string]uint64{}
	}
	if got.Sent != sent || !maps.Equal(got.Skipped, skipped) || !maps.Equal(got.Dropped, dropped) {
		t.Errorf("counts = sent %d skipped %v dropped %v; want sent %d skipped %v dropped %v",
			got.Sent, got.Skipped, got.Dropped, sent, skipped, dropped)
	}
}

// shadowMetric reads strangler_shadow_requests_total for the test route.
func shadowMetric(t *testing.T, reg *metrics.Registry, result, reason string) float64 {
	t.Helper()
	return metricValue(t, reg, "strangler_shadow_requests_total",
		map[string]string{"route": testRoute, "result": result, "reason": reason})
}

// metricValue returns the counter of family name whose labels include
// want, or 0 when there is none.
func metricValue(t *testing.T, reg *metrics.Registry, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// goroutinesIn counts the stack frames of all goroutines that are in fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}
