package guard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/exchange"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// side is one upstream of a guarded route, served over real HTTP through
// the guard: it counts requests, keeps the bodies it read and answers
// with its status (200 by default) and its name in X-Side.
type side struct {
	name   string
	status atomic.Int64
	hits   atomic.Int64
	mu     sync.Mutex
	bodies [][]byte
}

func newSide(name string) *side { return &side{name: name} }

func (s *side) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.mu.Unlock()
	status := int(s.status.Load())
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("X-Side", s.name)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s.name+" answered "+strconv.Itoa(status))
}

func (s *side) lastBody() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		return nil
	}
	return s.bodies[len(s.bodies)-1]
}

// rig is a guarded handler served by a real server.
type rig struct {
	url             string
	service, legacy *side
	mu              sync.Mutex
	reasons         []string
	refused         atomic.Int64
	noted           atomic.Pointer[string]
}

func (g *rig) fallbacks() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.reasons...)
}

// note records the fallback a request's exchange noted, as the proxy's
// access log reads it.
func (g *rig) note(reason string) {
	g.noted.Store(&reason)
	g.mu.Lock()
	g.reasons = append(g.reasons, reason)
	g.mu.Unlock()
}

func startRig(t *testing.T, o Options, service http.Handler) *rig {
	t.Helper()
	g := &rig{service: newSide("orders"), legacy: newSide("monolith")}
	o.Route, o.Legacy = "orders", g.legacy
	o.Service = g.service
	if service != nil {
		o.Service = service
	}
	o.OnRefused = func() { g.refused.Add(1) }
	h := Handler(o)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The request's exchange, as the proxy's access log makes it.
		x := exchange.New(w)
		defer func() {
			if x.Fallback != "" {
				g.note(x.Fallback)
			}
		}()
		h.ServeHTTP(x.Writer(), r)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

type answer struct {
	status int
	side   string
	body   string
	header http.Header
}

func send(t *testing.T, method, url string, body io.Reader, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return answer{resp.StatusCode, resp.Header.Get("X-Side"), string(b), resp.Header}
}

func TestHandlerFallsBackOnlyWhenSafe(t *testing.T) {
	tests := []struct {
		name     string
		fallback bool
		statuses []int
		method   string
		header   []string
		service  int    // the service's status
		want     int    // the client's status
		side     string // who answered
		reason   string // fallback reason, "" for none
	}{
		{"GET healthy", true, nil, "GET", nil, 200, 200, "orders", ""},
		{"GET 502", true, nil, "GET", nil, 502, 200, "monolith", "status_502"},
		{"GET 503", true, nil, "GET", nil, 503, 200, "monolith", "status_503"},
		{"GET 504", true, nil, "GET", nil, 504, 200, "monolith", "status_504"},
		{"HEAD 503", true, nil, "HEAD", nil, 503, 200, "monolith", "status_503"},
		{"OPTIONS 503", true, nil, "OPTIONS", nil, 503, 200, "monolith", "status_503"},
		{"GET 500 not listed", true, nil, "GET", nil, 500, 500, "orders", ""},
		{"GET 500 listed", true, []int{500}, "GET", nil, 500, 200, "monolith", "status_500"},
		{"GET 429 listed", true, []int{429, 500}, "GET", nil, 429, 200, "monolith", "status_429"},
		{"GET 404 passes", true, []int{500}, "GET", nil, 404, 404, "orders", ""},
		{"POST 503 without key", true, nil, "POST", nil, 503, 503, "orders", ""},
		{"POST 500 listed without key", true, []int{500}, "POST", nil, 500, 500, "orders", ""},
		{"POST 503 with Idempotency-Key", true, nil, "POST", []string{"Idempotency-Key", "k1"}, 503, 200, "monolith", "status_503"},
		{"PUT 503 with Idempotency-Key", true, nil, "PUT", []string{"Idempotency-Key", "k2"}, 503, 200, "monolith", "status_503"},
		{"DELETE 503 without key", true, nil, "DELETE", nil, 503, 503, "orders", ""},
		{"GET 503 upgrade", true, nil, "GET", []string{"Connection", "Upgrade", "Upgrade", "websocket"}, 503, 503, "orders", ""},
		{"GET 503 fallback off", false, nil, "GET", nil, 503, 503, "orders", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := startRig(t, Options{Fallback: tc.fallback, Statuses: tc.statuses}, nil)
			g.service.status.Store(int64(tc.service))
			got := send(t, tc.method, g.url+"/orders/1", nil, tc.header...)
			if got.status != tc.want || got.side != tc.side {
				t.Fatalf("got %d from %q, want %d from %q", got.status, got.side, tc.want, tc.side)
			}
			if tc.method != "HEAD" && !strings.HasPrefix(got.body, tc.side+" answered") {
				t.Fatalf("body %q is not %s's alone", got.body, tc.side)
			}
			if n := g.service.hits.Load(); n != 1 {
				t.Fatalf("service hit %d times, want 1", n)
			}
			wantLegacy := int64(0)
			if tc.reason != "" {
				wantLegacy = 1
			}
			if n := g.legacy.hits.Load(); n != wantLegacy {
				t.Fatalf("monolith hit %d times, want %d", n, wantLegacy)
			}
			var wantReasons []string
			if tc.reason != "" {
				wantReasons = []string{tc.reason}
			}
			if got := g.fallbacks(); strings.Join(got, ",") != strings.Join(wantReasons, ",") {
				t.Fatalf("exchange noted fallbacks %v, want %v", got, wantReasons)
			}
			noted := ""
			if p := g.noted.Load(); p != nil {
				noted = *p
			}
			if noted != tc.reason {
				t.Fatalf("exchange noted %q, want %q", noted, tc.reason)
			}
		})
	}
}

// The body of a request that may fall back is kept and replayed to the
// monolith whole; a body over MaxBody is not kept, so the request cannot
// fall back, but the service still receives every byte.
func TestHandlerReplaysBody(t *testing.T) {
	const maxBody = 64
	payload := func(n int) []byte { return bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n] }
	tests := []struct {
		name    string
		size    int
		chunked bool // unknown length: no Content-Length
		replay  bool
	}{
		{"empty", 0, false, true},
		{"small", 10, false, true},
		{"exactly MaxBody", maxBody, false, true},
		{"exactly MaxBody chunked", maxBody, true, true},
		{"over MaxBody", maxBody + 1, false, false},
		{"over MaxBody chunked", maxBody + 1, true, false},
		{"far over MaxBody chunked", 10 * maxBody, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := startRig(t, Options{Fallback: true, MaxBody: maxBody}, nil)
			g.service.status.Store(503)
			data := payload(tc.size)
			var body io.Reader = bytes.NewReader(data)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			got := send(t, "POST", g.url+"/orders", body, "Idempotency-Key", "k-"+tc.name)
			if !bytes.Equal(g.service.lastBody(), data) {
				t.Fatalf("service read %d bytes, want %d", len(g.service.lastBody()), len(data))
			}
			if !tc.replay {
				if got.status != 503 || got.side != "orders" || g.legacy.hits.Load() != 0 {
					t.Fatalf("oversized body: got %d from %s, monolith hits %d; want the service's 503 and no replay",
						got.status, got.side, g.legacy.hits.Load())
				}
				return
			}
			if got.status != 200 || got.side != "monolith" {
				t.Fatalf("got %d from %s, want the monolith's 200", got.status, got.side)
			}
			if !bytes.Equal(g.legacy.lastBody(), data) {
				t.Fatalf("monolith read %q, want %q", g.legacy.lastBody(), data)
			}
		})
	}
}

// The default MaxBody applies when none is given.
func TestHandlerDefaultMaxBody(t *testing.T) {
	g := startRig(t, Options{Fallback: true}, nil)
	g.service.status.Store(503)
	big := bytes.Repeat([]byte{'x'}, DefaultMaxBody+1)
	got := send(t, "PUT", g.url+"/orders", bytes.NewReader(big), "Idempotency-Key", "big")
	if got.status != 503 || g.legacy.hits.Load() != 0 || len(g.service.lastBody()) != len(big) {
		t.Fatalf("got %d, monolith hits %d, service read %d of %d", got.status, g.legacy.hits.Load(),
			len(g.service.lastBody()), len(big))
	}
	exact := big[:DefaultMaxBody]
	got = send(t, "PUT", g.url+"/orders", bytes.NewReader(exact), "Idempotency-Key", "exact")
	if got.status != 200 || got.side != "monolith" || len(g.legacy.lastBody()) != DefaultMaxBody {
		t.Fatalf("got %d from %s, monolith read %d", got.status, got.side, len(g.legacy.lastBody()))
	}
}

// While the breaker is open nothing reaches the service: idempotent
// requests fall back, others get a fast 503 naming the service.
func TestHandlerBreakerOpen(t *testing.T) {
	tests := []struct {
		name     string
		fallback bool
		method   string
		header   []string
		side     string
	}{
		{"GET falls back", true, "GET", nil, "monolith"},
		{"HEAD falls back", true, "HEAD", nil, "monolith"},
		{"POST with key falls back", true, "POST", []string{"Idempotency-Key", "k"}, "monolith"},
		{"POST refused", true, "POST", nil, ""},
		{"GET without fallback refused", false, "GET", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 2, FailureRatio: 1, MinRequests: 100,
				Window: time.Hour, OpenFor: time.Hour, HalfOpenRequests: 1}, nil)
			g := startRig(t, Options{Fallback: tc.fallback, Breaker: b}, nil)
			g.service.status.Store(503)
			for i := 0; i < 2; i++ {
				send(t, "GET", g.url+"/orders", nil)
			}
			if b.State() != StateOpen {
				t.Fatalf("breaker %s after two 503s", b.State())
			}
			serviceHits, legacyHits := g.service.hits.Load(), g.legacy.hits.Load()
			start := time.Now()
			got := send(t, tc.method, g.url+"/orders", strings.NewReader("{}"), tc.header...)
			if g.service.hits.Load() != serviceHits {
				t.Fatal("a request reached the service while its breaker was open")
			}
			if tc.side == "monolith" {
				if got.status != 200 || got.side != "monolith" || g.legacy.hits.Load() != legacyHits+1 {
					t.Fatalf("got %d from %q, want the monolith", got.status, got.side)
				}
				if r := g.fallbacks(); r[len(r)-1] != ReasonBreakerOpen {
					t.Fatalf("fallback reasons %v, want the last to be %s", r, ReasonBreakerOpen)
				}
				return
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("refusal took %s", took)
			}
			if got.status != 503 || got.header.Get("Retry-After") != "1" || g.legacy.hits.Load() != legacyHits {
				t.Fatalf("got %d Retry-After %q, monolith hits %d", got.status, got.header.Get("Retry-After"), g.legacy.hits.Load())
			}
			var doc struct{ Error, Service string }
			if err := json.Unmarshal([]byte(got.body), &doc); err != nil || doc.Service != "orders" || !strings.Contains(doc.Error, "breaker") {
				t.Fatalf("refusal body %q (%v), want JSON naming the service", got.body, err)
			}
			if g.refused.Load() != 1 {
				t.Fatalf("OnRefused heard %d refusals, want 1", g.refused.Load())
			}
		})
	}
}

// The guard tells the breaker how each request went: failing statuses
// (also those that fell back) count, a client that went away (499) does
// not, anything else is a success.
func TestHandlerFeedsBreaker(t *testing.T) {
	tests := []struct {
		name     string
		fallback bool
		method   string
		statuses []int // the service's answers, in order
		want     string
	}{
		{"failures that fell back count", true, "GET", []int{503, 502, 504}, StateOpen},
		{"failures without fallback count", false, "POST", []int{503, 503, 503}, StateOpen},
		{"listed statuses count", true, "GET", []int{500, 500, 500}, StateOpen},
		{"a success in between resets", true, "GET", []int{503, 503, 200, 503, 503}, StateClosed},
		{"client-closed is not counted", true, "GET", []int{503, 503, 499, 503}, StateOpen},
		{"client-closed alone never opens", false, "GET", []int{499, 499, 499, 499}, StateClosed},
		{"4xx is a success", true, "GET", []int{404, 404, 404}, StateClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 3, FailureRatio: 1, MinRequests: 100,
				Window: time.Hour, OpenFor: time.Hour, HalfOpenRequests: 1}, nil)
			g := startRig(t, Options{Fallback: tc.fallback, Breaker: b, Statuses: []int{500}}, nil)
			for _, st := range tc.statuses {
				g.service.status.Store(int64(st))
				send(t, tc.method, g.url+"/orders", nil)
			}
			if s := b.State(); s != tc.want {
				t.Fatalf("after %v: %s, want %s", tc.statuses, s, tc.want)
			}
		})
	}
}

// Once a byte of the service's answer reached the client there is no
// falling back: a service that dies mid-body leaves the client with an
// error or a truncated body, never the monolith's answer spliced in. The
// dead request counts as a failure: as a half-open probe it must not
// keep the breaker's only probe slot forever.
func TestHandlerNoFallbackAfterBytesSent(t *testing.T) {
	var healthy atomic.Bool
	service := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Side", "orders")
		switch {
		case healthy.Load():
			_, _ = io.WriteString(w, "orders whole")
			return
		}
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "orders partial")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // what the reverse proxy does when the upstream dies mid-body
	})
	b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 1, FailureRatio: 1, MinRequests: 100,
		Window: time.Hour, OpenFor: 30 * time.Millisecond, HalfOpenRequests: 1}, nil)
	g := startRig(t, Options{Fallback: true, Breaker: b}, service)

	// A fresh connection each time: a client retries an idempotent
	// request that failed on a reused connection, and that retry may
	// rightly fall back.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	check := func() {
		t.Helper()
		resp, err := client.Get(g.url + "/orders")
		if err != nil {
			return // the connection was cut: fine
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("client read a whole body %q after the service died", body)
		}
		if strings.Contains(string(body), "monolith") || resp.Header.Get("X-Side") != "orders" {
			t.Fatalf("the monolith's answer was spliced in: %q %v", body, resp.Header)
		}
	}
	check()
	if g.legacy.hits.Load() != 0 || len(g.fallbacks()) != 0 {
		t.Fatalf("fell back after bytes were sent: monolith hits %d, reasons %v", g.legacy.hits.Load(), g.fallbacks())
	}
	if s := b.State(); s != StateOpen {
		t.Fatalf("a service that died mid-answer left the breaker %s, want open", s)
	}

	// The half-open probe dies the same way: the breaker opens again,
	// and a later probe to the recovered service closes it.
	waitState(t, b, StateHalfOpen)
	check()
	healthy.Store(true)
	testutil.Eventually(t, "the breaker to close after the service recovered", func() bool {
		got := send(t, "GET", g.url+"/orders", nil)
		return got.side == "orders" && got.body == "orders whole" && b.State() == StateClosed
	})
}

// TestStreamingProbeFreesHalfOpenSlot: a half-open probe that streams
// (an SSE answer held open) reports success when it starts, so the breaker
// closes and other requests reach the service while the stream lasts.
func TestStreamingProbeFreesHalfOpenSlot(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	service := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: hello\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 1, FailureRatio: 1, MinRequests: 100,
		Window: time.Hour, OpenFor: 30 * time.Millisecond, HalfOpenRequests: 1}, nil)
	g := startRig(t, Options{Breaker: b}, service)
	send(t, "GET", g.url+"/fail", nil)
	if b.State() != StateOpen {
		t.Fatalf("breaker %s after a failure; want open", b.State())
	}
	waitState(t, b, StateHalfOpen) // open_for passed: the next request is the probe
	resp, err := http.Get(g.url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: hello\n" {
		t.Fatalf("stream started with %q, %v", line, err)
	}
	if a := send(t, "GET", g.url+"/x", nil); a.status != http.StatusOK {
		t.Errorf("while the probe streams, another request got %d (breaker %s); want 200 from the service", a.status, b.State())
	}
}

// An answer the proxy below exempts (the client's fault, or strangler's
// own refusal) is passed on as it is, whatever its status: no fallback,
// and the breaker does not count it.
func TestHandlerExemptAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fallback bool
		method   string
		status   int
	}{
		{"refusal with fallback", true, "GET", 503},
		{"refusal without fallback", false, "POST", 503},
		{"bad request with fallback", true, "GET", 400},
		{"listed status exempted", true, "GET", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBreaker("orders", BreakerConfig{ConsecutiveFailures: 2, FailureRatio: 1, MinRequests: 100,
				Window: time.Hour, OpenFor: time.Hour, HalfOpenRequests: 1}, nil)
			exempting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				Exempt(w, "test")
				w.Header().Set("X-Side", "orders")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, "ours")
			})
			g := startRig(t, Options{Fallback: tc.fallback, Breaker: b, Statuses: []int{500}}, exempting)
			for range 4 {
				if a := send(t, tc.method, g.url+"/orders", nil); a.status != tc.status || a.side != "orders" {
					t.Fatalf("%d from %q, want %d passed on from the service side", a.status, a.side, tc.status)
				}
			}
			if s := b.State(); s != StateClosed {
				t.Errorf("breaker %s, want closed", s)
			}
			if n := g.legacy.hits.Load(); n != 0 || len(g.fallbacks()) != 0 {
				t.Errorf("fell back %d times (%v)", n, g.fallbacks())
			}
		})
	}
}
