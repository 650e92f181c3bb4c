package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/shadow"
)

// shadowRig is a proxy with mirroring and a report store, all real.
type shadowRig struct {
	url     string
	stop    func() // shuts the rig down; also run at cleanup
	proxy   *Proxy
	disp    *shadow.Dispatcher
	store   *report.Store
	metrics *metrics.Registry
	logs    *testutil.SyncBuffer
}

func startShadowRig(t *testing.T, cfg *config.Config, opts shadow.Options) *shadowRig {
	t.Helper()
	mustValid(t, cfg)
	rig := &shadowRig{metrics: metrics.New(), logs: &testutil.SyncBuffer{}}
	var err error
	if rig.store, err = report.New(report.Options{}); err != nil {
		t.Fatal(err)
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.Queue == 0 {
		opts.Queue = 64
	}
	opts.Observer, opts.Sink, opts.Log = rig.metrics, rig.store, zerolog.New(rig.logs)
	rig.disp = shadow.New(opts)
	rig.disp.Start()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { rig.store.Run(ctx) })
	rig.proxy, err = New(cfg, Options{Log: zerolog.New(rig.logs), Metrics: rig.metrics, Shadow: rig.disp,
		Tracer: opts.Tracer})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rig.proxy.Handler())
	rig.url = srv.URL
	var once sync.Once
	rig.stop = func() {
		once.Do(func() {
			srv.Close()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			rig.disp.Stop(sctx)
			scancel()
			cancel()
			wg.Wait()
			rig.proxy.Close()
		})
	}
	t.Cleanup(rig.stop)
	return rig
}

// settle waits until every copy is compared and stored.
func (r *shadowRig) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.disp.Wait(ctx); err != nil {
		t.Fatalf("copies still pending: %v", err)
	}
	if err := r.store.Flush(ctx); err != nil {
		t.Fatalf("store flush: %v", err)
	}
}

// jsonBackend answers a fixed JSON document, optionally stamped with a
// time and a random id, and counts requests by method.
type jsonBackend struct {
	*httptest.Server
	mu      sync.Mutex
	methods map[string]int
}

func newJSONBackend(t *testing.T, name string, stamp bool) *jsonBackend {
	b := &jsonBackend{methods: map[string]int{}}
	var n atomic.Int64
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		b.mu.Lock()
		b.methods[r.Method]++
		b.mu.Unlock()
		doc := map[string]any{"id": 7, "name": "widget", "price": 12.5, "tags": []string{"a", "b"}}
		if stamp {
			doc["generated_at"] = time.Now().Format(time.RFC3339Nano)
			doc["trace"] = fmt.Sprintf("%s-%d", name, n.Add(1))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Side", name)
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *jsonBackend) count(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.methods[method]
}

func shadowRoute(extra func(*config.Route)) config.Route {
	r := config.Route{Name: "items", Match: config.Match{Prefix: "/api/"}, Service: "orders", Stage: "shadow"}
	if extra != nil {
		extra(&r)
	}
	return r
}

// TestShadowIdenticalWithNoise: a monolith and a service that agree
// except for per-call stamps give zero mismatches once noise is learned.
func TestShadowIdenticalWithNoise(t *testing.T) {
	mono, svc := newJSONBackend(t, "monolith", true), newJSONBackend(t, "orders", true)
	rig := startShadowRig(t, baseConfig(mono.URL, svc.URL, shadowRoute(func(r *config.Route) {
		r.Diff.Noise = config.Noise{Enabled: true, Warmup: 20, Sample: 5}
		r.Diff.Ignore = []string{"header:X-Side"} // the test backends name themselves
	})), shadow.Options{})
	client := &http.Client{}
	send := func(n int) {
		for range n {
			if status, _ := get(t, client, rig.url+"/api/items/7"); status != 200 {
				t.Fatalf("primary status %d", status)
			}
		}
		rig.settle(t)
	}
	send(20) // warm-up: the monolith is asked twice for each
	before := rig.store.Report([]string{"items"}).Routes[0]
	send(2000)
	after := rig.store.Report([]string{"items"}).Routes[0]
	if d := after.Different - before.Different; d != 0 {
		t.Errorf("%d mismatches after noise was learned; want 0 (noise: %v)", d, rig.disp.Noise("items"))
	}
	if got := after.Compared - before.Compared; got != 2000 {
		t.Errorf("compared %d after warm-up; want 2000", got)
	}
	if after.NoiseOnly == 0 {
		t.Error("no noise-only results: the stamps were not recognised as noise")
	}
	learned := map[string]bool{}
	for _, p := range rig.disp.Noise("items") {
		learned[p.Path] = true
	}
	if !learned["/generated_at"] || !learned["/trace"] {
		t.Errorf("learned noise %v; want /generated_at and /trace", rig.disp.Noise("items"))
	}
}

// TestShadowDefaultSendsNoWrites: with default shadow methods, 1,000
// mixed-method requests send no write to the candidate.
func TestShadowDefaultSendsNoWrites(t *testing.T) {
	mono, svc := newJSONBackend(t, "monolith", false), newJSONBackend(t, "orders", false)
	rig := startShadowRig(t, baseConfig(mono.URL, svc.URL, shadowRoute(nil)), shadow.Options{})
	client := &http.Client{}
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	for i := range 1000 {
		req, _ := http.NewRequest(methods[i%len(methods)], rig.url+"/api/items/1", strings.NewReader(`{"x":1}`))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", req.Method, resp.StatusCode)
		}
	}
	rig.settle(t)
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		if n := svc.count(m); n != 0 {
			t.Errorf("candidate received %d %s requests; want 0", n, m)
		}
	}
	if svc.count("GET") == 0 || svc.count("HEAD") == 0 {
		t.Errorf("candidate got GET %d, HEAD %d; want both mirrored", svc.count("GET"), svc.count("HEAD"))
	}
	if got := rig.disp.Counts("items").Skipped[shadow.ReasonMethod]; got == 0 {
		t.Error("skipped writes not counted with reason method")
	}
}

// TestShadowLargeBody: a body over the cap reaches the monolith whole and
// is not mirrored (counted).
func TestShadowLargeBody(t *testing.T) {
	var gotHash atomic.Value
	mono := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		_, _ = io.Copy(h, r.Body)
		gotHash.Store(hex.EncodeToString(h.Sum(nil)))
	}))
	defer mono.Close()
	svc := newJSONBackend(t, "orders", false)
	cfg := baseConfig(mono.URL, svc.URL, shadowRoute(func(r *config.Route) {
		r.Shadow.Methods = []string{"POST"}
		r.Shadow.MaxBody = 64 << 10
	}))
	cfg.Services["orders"] = config.Service{Upstream: config.Upstream{URL: svc.URL}, Sandbox: true}
	rig := startShadowRig(t, cfg, shadow.Options{})
	body := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(bytes.NewReader(body)) // unknown length: sent chunked
		}
		req, _ := http.NewRequest("POST", rig.url+"/api/upload", rd)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		sum := sha256.Sum256(body)
		if got := gotHash.Load(); got != hex.EncodeToString(sum[:]) {
			t.Errorf("chunked=%v: monolith got a body with hash %v; want every byte", chunked, got)
		}
	}
	rig.settle(t)
	if n := svc.count("POST"); n != 0 {
		t.Errorf("candidate received %d oversized POSTs; want 0", n)
	}
	if got := rig.disp.Counts("items").Skipped[shadow.ReasonBodyTooLarge]; got != 2 {
		t.Errorf("skipped body_too_large = %d; want 2", got)
	}
}

// TestShadowBadCandidate: a candidate that is slow, hangs after accept or
// refuses connections never fails or slows the primary; the queue drops
// rather than grows; goroutines return to baseline.
func TestShadowBadCandidate(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	var conns []net.Conn
	var connsMu sync.Mutex
	held.Go(func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns = append(conns, c) // accept, never answer
			connsMu.Unlock()
		}
	})
	defer func() {
		hang.Close()
		held.Wait()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
	}()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	refused := closedAddr(t)
	mono := newJSONBackend(t, "monolith", false)
	for _, tc := range []struct{ desc, url string }{
		{"slow 2s", slow.URL}, {"hangs after accept", "http://" + hang.Addr().String()}, {"refuses", refused},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			cfg := baseConfig(mono.URL, tc.url, shadowRoute(func(r *config.Route) { r.Shadow.Timeout = 300 * time.Millisecond }))
			rig := startShadowRig(t, cfg, shadow.Options{Workers: 2, Queue: 8})
			client := &http.Client{Timeout: 5 * time.Second}
			var failed, slowest int64
			for range 300 {
				start := time.Now()
				status, side := get(t, client, rig.url+"/api/items/1")
				if status != 200 || side != "monolith" {
					failed++
				}
				slowest = max(slowest, int64(time.Since(start)))
			}
			if failed != 0 {
				t.Errorf("%d of 300 primary requests failed", failed)
			}
			if time.Duration(slowest) > time.Second { // the slow candidate takes 2 s, the hanging one forever
				t.Errorf("slowest primary took %v: the shadow slowed it", time.Duration(slowest))
			}
			// A copy counts as pending from before the client's answer is
			// flushed until it is offered, so the last request's handler may
			// still hold one when get returns: one client in flight at a time.
			if p := rig.disp.Pending(); p > 8+2+1 {
				t.Errorf("%d copies pending; the queue (8), workers (2) and one handler in flight bound it", p)
			}
			c := rig.disp.Counts("items")
			t.Logf("sent %d, dropped %v, pending %d", c.Sent, c.Dropped, rig.disp.Pending())
			if c.Dropped[shadow.ReasonQueueFull] == 0 && tc.desc != "refuses" {
				t.Error("no copy dropped for a full queue: the queue did not bound the work")
			}
			if tc.desc == "refuses" && c.Skipped[shadow.ReasonTargetDown] == 0 {
				t.Errorf("a dead candidate was still copied to (skipped %v): its shadow breaker should open", c.Skipped)
			}
			rig.settle(t)
			client.CloseIdleConnections()
			rig.stop()
			waitGoroutines(t, baseline+2)
		})
	}
}

// closedAddr returns the URL of a port nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// waitGoroutines waits until the goroutine count falls to at most want.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines; want at most %d after the shadow deadline", runtime.NumGoroutine(), want)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShadowSecretsNeverStored plants secrets in headers, cookies and
// JSON and checks no stored result, report, log line or metric holds them.
func TestShadowSecretsNeverStored(t *testing.T) {
	const secret = "TOPSECRET-7f3a"
	leaky := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Set-Cookie", "session="+secret+"-"+name)
			w.Header().Set("X-Api-Key", secret+"-"+name)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"user":{"token":"%s-%s","name":"ann"},"cards":[{"number":"%s-%s"}]}`, secret, name, secret, name)
		}))
	}
	mono, svc := leaky("m"), leaky("s")
	defer mono.Close()
	defer svc.Close()
	rig := startShadowRig(t, baseConfig(mono.URL, svc.URL, shadowRoute(func(r *config.Route) {
		r.Diff.Redact = []string{"/user/token", "/cards/*/number", "header:X-Api-Key"}
	})), shadow.Options{})
	req, _ := http.NewRequest("GET", rig.url+"/api/me?api_key="+secret, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Cookie", "session="+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rig.settle(t)
	var out bytes.Buffer
	for _, s := range rig.store.Recent("", 10) {
		rec, _ := rig.store.Get(s.ID)
		_ = json.NewEncoder(&out).Encode(rec)
		if len(rec.Result.Differences) == 0 {
			t.Error("the planted secrets differ between sides; the result should list differences")
		}
	}
	rep := rig.store.Report([]string{"items"})
	_ = report.WriteJSON(&out, rep)
	_ = report.WriteMarkdown(&out, rep)
	_ = report.WriteHTML(&out, rep)
	out.WriteString(rig.logs.String())
	mresp, err := http.Get(httptestServer(t, rig.metrics.Handler().ServeHTTP) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(&out, mresp.Body)
	mresp.Body.Close()
	if i := bytes.Index(out.Bytes(), []byte(secret)); i >= 0 {
		lo := max(0, i-120)
		t.Errorf("secret leaked: ...%s...", out.Bytes()[lo:min(out.Len(), i+40)])
	}
	if !bytes.Contains(out.Bytes(), []byte(report.Redacted)) {
		t.Error("nothing was marked redacted: the test did not exercise redaction")
	}
}

// TestShadowFindsRealDifference: a service with a renamed field is
// reported with the path and both values.
func TestShadowFindsRealDifference(t *testing.T) {
	mono := newJSONBackend(t, "monolith", false)
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":7,"title":"widget","price":12.5,"tags":["b","a"]}`)
	}))
	defer svc.Close()
	rig := startShadowRig(t, baseConfig(mono.URL, svc.URL, shadowRoute(nil)), shadow.Options{})
	get(t, http.DefaultClient, rig.url+"/api/items/7")
	rig.settle(t)
	recent := rig.store.Recent("items", 1)
	if len(recent) != 1 {
		t.Fatalf("%d results stored; want 1", len(recent))
	}
	rec, _ := rig.store.Get(recent[0].ID)
	kinds := map[string]diff.Kind{}
	for _, d := range rec.Result.Differences {
		kinds[d.Path] = d.Kind
	}
	want := map[string]diff.Kind{"/name": diff.KindMissing, "/title": diff.KindExtra, "/tags": diff.KindOrder}
	for p, k := range want {
		if kinds[p] != k {
			t.Errorf("difference at %s: %q; want %q (all: %v)", p, kinds[p], k, rec.Result.Differences)
		}
	}
	if rec.Primary != "legacy" || rec.Result.Verdict != diff.VerdictDifferent {
		t.Errorf("primary %s verdict %s; want legacy, different", rec.Primary, rec.Result.Verdict)
	}
}
