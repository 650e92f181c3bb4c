package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/internal/testutil"
)

// echo is what the echo backend answers: what it received.
type echo struct {
	Host       string      `json:"host"`
	RequestURI string      `json:"request_uri"`
	Header     http.Header `json:"header"`
}

// newEchoBackend is a real HTTP server answering, as JSON, the Host,
// request URI and headers it received.
func newEchoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo{Host: r.Host, RequestURI: r.RequestURI, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func testOptions(t *testing.T, target string) Options {
	return Options{
		Name:         "legacy",
		URL:          mustURL(t, target),
		Timeout:      5 * time.Second,
		DialTimeout:  2 * time.Second,
		MaxIdleConns: 4,
		Lean:         true,
	}
}

// newFront is a real HTTP server in front of the proxy handler for u.
func newFront(t *testing.T, u *Upstream, rt Route, trusted *Trusted, log zerolog.Logger) *httptest.Server {
	t.Helper()
	front := httptest.NewServer(u.Proxy(rt, trusted, log))
	t.Cleanup(front.Close)
	t.Cleanup(u.Close)
	return front
}

func mustCIDRs(t *testing.T, cidrs ...string) *Trusted {
	t.Helper()
	var nets []*net.IPNet
	for _, c := range cidrs {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, n)
	}
	return NewTrusted(nets)
}

// closedAddr returns the address of a listener that has been closed: dials
// to it are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func getEcho(t *testing.T, client *http.Client, req *http.Request) echo {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var e echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNewTransport(t *testing.T) {
	u := New(Options{Name: "svc", URL: mustURL(t, "http://example.invalid"), Timeout: 3 * time.Second,
		DialTimeout: time.Second, MaxIdleConns: 7})
	defer u.Close()
	tr := u.transport
	tests := []struct {
		name      string
		got, want any
	}{
		{"no proxy from environment", tr.Proxy == nil, true},
		{"no transparent compression", tr.DisableCompression, true},
		{"response header timeout", tr.ResponseHeaderTimeout, 3 * time.Second},
		{"tls handshake timeout", tr.TLSHandshakeTimeout, time.Second},
		{"idle pool", tr.MaxIdleConns, 7},
		{"idle pool per host", tr.MaxIdleConnsPerHost, 7},
		{"name", u.Name(), "svc"},
		{"url", u.URL().String(), "http://example.invalid"},
		{"options", u.Options().MaxIdleConns, 7},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestXForwarded(t *testing.T) {
	backend := newEchoBackend(t)
	tests := []struct {
		name    string
		trusted *Trusted
		inbound http.Header
		// want values; "" means the header must be absent.
		wantFor, wantHost, wantProto string
	}{
		{
			name:    "untrusted (nil) client headers replaced",
			trusted: nil,
			inbound: http.Header{
				"X-Forwarded-For":   {"6.6.6.6"},
				"X-Forwarded-Host":  {"evil.example"},
				"X-Forwarded-Proto": {"https"},
			},
			wantFor: "127.0.0.1", wantHost: "shop.example", wantProto: "http",
		},
		{
			name:    "peer outside trusted nets is untrusted",
			trusted: mustCIDRs(t, "10.0.0.0/8", "::1/128"),
			inbound: http.Header{
				"X-Forwarded-For":   {"6.6.6.6"},
				"X-Forwarded-Host":  {"evil.example"},
				"X-Forwarded-Proto": {"https"},
			},
			wantFor: "127.0.0.1", wantHost: "shop.example", wantProto: "http",
		},
		{
			name:    "untrusted chain of several lines is dropped",
			trusted: nil,
			inbound: http.Header{"X-Forwarded-For": {"6.6.6.6, 7.7.7.7", "8.8.8.8"}},
			wantFor: "127.0.0.1", wantHost: "shop.example", wantProto: "http",
		},
		{
			name:    "trusted peer: chain kept and peer appended",
			trusted: mustCIDRs(t, "127.0.0.0/8"),
			inbound: http.Header{
				"X-Forwarded-For":   {"6.6.6.6"},
				"X-Forwarded-Host":  {"public.example"},
				"X-Forwarded-Proto": {"https"},
			},
			wantFor: "6.6.6.6, 127.0.0.1", wantHost: "public.example", wantProto: "https",
		},
		{
			name:    "trusted peer: chain of several lines joined",
			trusted: mustCIDRs(t, "127.0.0.0/8"),
			inbound: http.Header{"X-Forwarded-For": {"1.1.1.1, 2.2.2.2", "6.6.6.6"}},
			wantFor: "1.1.1.1, 2.2.2.2, 6.6.6.6, 127.0.0.1", wantHost: "shop.example", wantProto: "http",
		},
		{
			name:    "trusted peer without headers: set from the request",
			trusted: mustCIDRs(t, "127.0.0.0/8"),
			inbound: http.Header{},
			wantFor: "127.0.0.1", wantHost: "shop.example", wantProto: "http",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := New(testOptions(t, backend.URL))
			front := newFront(t, u, Route{}, tt.trusted, zerolog.Nop())
			req, err := http.NewRequest(http.MethodGet, front.URL+"/xf", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "shop.example"
			for k, vs := range tt.inbound {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			req.Header.Set("Forwarded", "for=6.6.6.6;proto=https")
			got := getEcho(t, front.Client(), req)
			check := func(h, want string) {
				t.Helper()
				if vs := got.Header.Values(h); len(vs) > 1 {
					t.Errorf("%s sent as %d lines %q, want one", h, len(vs), vs)
				}
				if v := got.Header.Get(h); v != want {
					t.Errorf("%s = %q, want %q", h, v, want)
				}
			}
			check("X-Forwarded-For", tt.wantFor)
			check("X-Forwarded-Host", tt.wantHost)
			check("X-Forwarded-Proto", tt.wantProto)
			if tt.trusted == nil || !tt.trusted.Contains("127.0.0.1") {
				check("Forwarded", "")
				if strings.Contains(strings.Join(got.Header.Values("X-Forwarded-For"), ","), "6.6.6.6") {
					t.Errorf("backend saw spoofed 6.6.6.6 from an untrusted client")
				}
			}
		})
	}
}

// rawRequest sends one HTTP/1.1 request written byte for byte (so
// Connection lists and hop-by-hop headers go out exactly as given) and
// reads the response.
func rawRequest(t *testing.T, addr, head string) (*http.Response, []byte) {
	t.Helper()
	a := send(t, addr, http.MethodGet, head)
	return &http.Response{StatusCode: a.Status, Header: a.Header, Trailer: a.Trailer}, []byte(a.Body)
}

func TestHopByHopRequestHeaders(t *testing.T) {
	backend := newEchoBackend(t)
	u := New(testOptions(t, backend.URL))
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	addr := front.Listener.Addr().String()

	tests := []struct {
		name    string
		headers string            // raw header lines, each ending in \r\n
		absent  []string          // must not reach the backend
		present map[string]string // must reach the backend with this value
	}{
		{
			name:    "header named in Connection",
			headers: "Connection: X-Secret-Hop\r\nX-Secret-Hop: s3cret\r\nX-Ordinary: kept\r\n",
			absent:  []string{"Connection", "X-Secret-Hop"},
			present: map[string]string{"X-Ordinary": "kept"},
		},
		{
			name:    "several headers named in Connection, two lines",
			headers: "Connection: X-Hop-A, x-hop-b\r\nConnection: X-Hop-C\r\nX-Hop-A: a\r\nX-Hop-B: b\r\nX-Hop-C: c\r\nX-Ordinary: kept\r\n",
			absent:  []string{"Connection", "X-Hop-A", "X-Hop-B", "X-Hop-C"},
			present: map[string]string{"X-Ordinary": "kept"},
		},
		{
			name:    "Connection keep-alive and Keep-Alive",
			headers: "Connection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\n",
			absent:  []string{"Connection", "Keep-Alive"},
		},
		{
			name:    "Proxy-Connection",
			headers: "Proxy-Connection: keep-alive\r\n",
			absent:  []string{"Proxy-Connection"},
		},
		{
			name:    "Proxy-Authorization and Proxy-Authenticate",
			headers: "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Authenticate: Basic\r\n",
			absent:  []string{"Proxy-Authorization", "Proxy-Authenticate"},
		},
		{
			name:    "Te other than trailers",
			headers: "Te: gzip\r\n",
			absent:  []string{"Te"},
		},
		{
			// httputil's one exception: "Te: trailers" is re-added.
			name:    "Te trailers is forwarded",
			headers: "Te: trailers, gzip\r\n",
			present: map[string]string{"Te": "trailers"},
		},
		{
			name:    "Trailer",
			headers: "Trailer: X-Checksum\r\n",
			absent:  []string{"Trailer"},
		},
		{
			name:    "Upgrade without Connection upgrade",
			headers: "Upgrade: websocket\r\n",
			absent:  []string{"Upgrade"},
		},
		{
			name:    "ordinary end-to-end headers",
			headers: "Authorization: Bearer tok\r\nCookie: a=1\r\nX-Request-Id: r1\r\nAccept: application/json\r\n",
			present: map[string]string{"Authorization": "Bearer tok", "Cookie": "a=1", "X-Request-Id": "r1",
				"Accept": "application/json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := "GET /hop HTTP/1.1\r\nHost: shop.example\r\n" + tt.headers + "\r\n"
			resp, body := rawRequest(t, addr, head)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var got echo
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			for _, h := range tt.absent {
				if v, ok := got.Header[http.CanonicalHeaderKey(h)]; ok {
					t.Errorf("backend received hop-by-hop %s: %q", h, v)
				}
			}
			for h, want := range tt.present {
				if v := got.Header.Get(h); v != want {
					t.Errorf("backend received %s = %q, want %q", h, v, want)
				}
			}
		})
	}
}

func TestHopByHopResponseHeaders(t *testing.T) {
	hop := map[string]string{
		"Connection":          "X-Backend-Hop",
		"X-Backend-Hop":       "secret",
		"Keep-Alive":          "timeout=5",
		"Proxy-Connection":    "keep-alive",
		"Proxy-Authenticate":  `Basic realm="x"`,
		"Proxy-Authorization": "Basic Zm9vOmJhcg==",
		"Te":                  "gzip",
		"Upgrade":             "h2c",
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hop {
			w.Header().Set(k, v)
		}
		w.Header().Set("X-End-To-End", "kept")
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)

	// Precondition: the backend really sends them.
	direct, _ := rawRequest(t, backend.Listener.Addr().String(), "GET / HTTP/1.1\r\nHost: b\r\n\r\n")
	for k, v := range hop {
		if got := direct.Header.Get(k); got != v {
			t.Fatalf("precondition: backend sent %s = %q, want %q", k, got, v)
		}
	}

	u := New(testOptions(t, backend.URL))
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	resp, body := rawRequest(t, front.Listener.Addr().String(), "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	for k := range hop {
		t.Run(k, func(t *testing.T) {
			if v, ok := resp.Header[k]; ok {
				t.Errorf("client received hop-by-hop %s: %q", k, v)
			}
		})
	}
	if got := resp.Header.Get("X-End-To-End"); got != "kept" {
		t.Errorf("X-End-To-End = %q, want kept", got)
	}
}

func TestRewrite(t *testing.T) {
	backend := newEchoBackend(t)
	backendHost := backend.Listener.Addr().String()
	tests := []struct {
		name       string
		targetPath string // appended to the backend URL
		route      Route
		reqURI     string
		host       string // client's Host
		wantURI    string
		wantHost   string
	}{
		{"strip and add keep query", "", Route{StripPrefix: "/api", AddPrefix: "/v2"},
			"/api/orders/1?x=1", "shop.example", "/v2/orders/1?x=1", backendHost},
		{"escaped slash kept", "", Route{StripPrefix: "/api", AddPrefix: "/v2"},
			"/api/a%2Fb", "", "/v2/a%2Fb", backendHost},
		{"escaped query kept", "", Route{StripPrefix: "/api", AddPrefix: "/v2"},
			"/api/a%2Fb?q=a%20b&r=%2F", "", "/v2/a%2Fb?q=a%20b&r=%2F", backendHost},
		{"escaped space kept", "", Route{StripPrefix: "/api"},
			"/api/a%20b", "", "/a%20b", backendHost},
		{"sub-delimiters kept as sent", "", Route{StripPrefix: "/api", AddPrefix: "/v2"},
			"/api/a!b$c,d", "", "/v2/a!b$c,d", backendHost},
		{"strip only", "", Route{StripPrefix: "/api"},
			"/api/orders", "", "/orders", backendHost},
		{"strip whole path", "", Route{StripPrefix: "/api"},
			"/api", "", "/", backendHost},
		{"strip prefix with trailing slash", "", Route{StripPrefix: "/api/"},
			"/api/orders", "", "/orders", backendHost},
		{"strip only at a segment boundary", "", Route{StripPrefix: "/api"},
			"/apifoo/x", "", "/apifoo/x", backendHost},
		{"prefix absent left alone", "", Route{StripPrefix: "/api"},
			"/other/x?y=2", "", "/other/x?y=2", backendHost},
		{"add only", "", Route{AddPrefix: "/v2"},
			"/orders", "", "/v2/orders", backendHost},
		{"add prefix trailing slash", "", Route{AddPrefix: "/v2/"},
			"/orders/1", "", "/v2/orders/1", backendHost},
		{"no rewrite", "", Route{},
			"/a%2Fb/c?d=e", "", "/a%2Fb/c?d=e", backendHost},
		{"target base path", "/base", Route{StripPrefix: "/api"},
			"/api/orders?x=1", "", "/base/orders?x=1", backendHost},
		{"target base path escaped", "/base/", Route{},
			"/a%2Fb", "", "/base/a%2Fb", backendHost},
		{"default host is upstream's", "", Route{},
			"/h", "shop.example", "/h", backendHost},
		{"keep host sends client's", "", Route{KeepHost: true},
			"/h", "shop.example", "/h", "shop.example"},
		{"keep host with rewrite", "", Route{StripPrefix: "/api", AddPrefix: "/v2", KeepHost: true},
			"/api/x", "shop.example:8443", "/v2/x", "shop.example:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := New(testOptions(t, backend.URL+tt.targetPath))
			front := newFront(t, u, tt.route, nil, zerolog.Nop())
			req, err := http.NewRequest(http.MethodGet, front.URL+tt.reqURI, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			got := getEcho(t, front.Client(), req)
			if got.RequestURI != tt.wantURI {
				t.Errorf("backend request URI = %q, want %q", got.RequestURI, tt.wantURI)
			}
			if got.Host != tt.wantHost {
				t.Errorf("backend Host = %q, want %q", got.Host, tt.wantHost)
			}
		})
	}
}

type errorBody struct {
	Error     string `json:"error"`
	Upstream  string `json:"upstream"`
	RequestID string `json:"request_id"`
}

func TestProxyErrors(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // sleeps past the upstream's Timeout before sending headers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	// hangup accepts the request and closes the connection without an answer.
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(hangup.Close)
	// plain answers HTTP where the upstream expects TLS.
	plain := newEchoBackend(t)

	tests := []struct {
		name       string
		target     string
		timeout    time.Duration
		requestID  string
		wantStatus int
		wantBody   errorBody
		wantKind   string
	}{
		{"refused", "http://" + closedAddr(t), time.Second, "req-123",
			http.StatusBadGateway, errorBody{"upstream unavailable", "legacy", "req-123"}, "refused"},
		{"timeout before headers", slow.URL, 100 * time.Millisecond, "req-456",
			http.StatusGatewayTimeout, errorBody{"upstream timed out", "legacy", "req-456"}, "timeout"},
		{"connection closed without answer", hangup.URL, time.Second, "req-789",
			http.StatusBadGateway, errorBody{"upstream unavailable", "legacy", "req-789"}, "reset"},
		{"tls handshake with a plain HTTP backend", "https://" + plain.Listener.Addr().String(), time.Second, "req-tls",
			http.StatusBadGateway, errorBody{"upstream unavailable", "legacy", "req-tls"}, "tls"},
		{"unsafe request id dropped", "http://" + closedAddr(t), time.Second, `bad"id\`,
			http.StatusBadGateway, errorBody{"upstream unavailable", "legacy", ""}, "refused"},
		{"no request id", "http://" + closedAddr(t), time.Second, "",
			http.StatusBadGateway, errorBody{"upstream unavailable", "legacy", ""}, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &testutil.SyncBuffer{}
			opts := testOptions(t, tt.target)
			opts.Timeout = tt.timeout
			u := New(opts)
			front := newFront(t, u, Route{Name: "orders"}, nil, zerolog.New(logs).Level(zerolog.DebugLevel))
			req, err := http.NewRequest(http.MethodGet, front.URL+"/api/orders/1", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.requestID != "" {
				req.Header.Set("X-Request-Id", tt.requestID)
			}
			start := time.Now()
			resp, err := front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantKind == "timeout" && time.Since(start) > 3*time.Second {
				t.Errorf("timeout took %v, want about %v", time.Since(start), tt.timeout)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			var got errorBody
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, body)
			}
			if got != tt.wantBody {
				t.Errorf("body = %+v, want %+v", got, tt.wantBody)
			}
			var line map[string]any
			for l := range strings.SplitSeq(logs.String(), "\n") {
				if strings.Contains(l, "upstream request failed") {
					if n := strings.Count(l, `"error":`); n != 1 {
						t.Errorf("log line has %d \"error\" keys, want 1: %s", n, l)
					}
					if err := json.Unmarshal([]byte(l), &line); err != nil {
						t.Fatalf("log line %q: %v", l, err)
					}
				}
			}
			if line == nil {
				t.Fatalf("no 'upstream request failed' log line in:\n%s", logs.String())
			}
			want := map[string]any{"level": "warn", "route": "orders", "upstream": "legacy",
				"request_id": tt.requestID, "error_kind": tt.wantKind, "status": float64(tt.wantStatus)}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("log %s = %v, want %v (line %v)", k, line[k], v, line)
				}
			}
		})
	}
}

func TestClientCancelNotWarned(t *testing.T) {
	arrived := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // until the proxy abandons the request
	}))
	t.Cleanup(backend.Close)

	logs := &testutil.SyncBuffer{}
	u := New(testOptions(t, backend.URL))
	t.Cleanup(u.Close)
	p := u.Proxy(Route{Name: "orders"}, nil, zerolog.New(logs).Level(zerolog.DebugLevel))
	served := make(chan int, 1)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		p.ServeHTTP(rec, r)
		served <- rec.status
	}))
	t.Cleanup(front.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "gone-1")
	clientErr := make(chan error, 1)
	go func() {
		resp, err := front.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the backend")
	}
	cancel()
	if err := <-clientErr; !errors.Is(err, context.Canceled) {
		t.Errorf("client error = %v, want context.Canceled", err)
	}
	select {
	case status := <-served:
		if status != StatusClientClosed {
			t.Errorf("proxy status = %d, want %d", status, StatusClientClosed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy handler did not return after the client went away")
	}

	out := logs.String()
	if strings.Contains(out, "upstream request failed") || strings.Contains(out, `"level":"warn"`) ||
		strings.Contains(out, `"level":"error"`) {
		t.Errorf("client cancellation logged as an upstream failure:\n%s", out)
	}
	if !strings.Contains(out, `"level":"debug"`) || !strings.Contains(out, "client closed the request") ||
		!strings.Contains(out, `"request_id":"gone-1"`) {
		t.Errorf("want a debug 'client closed the request' line with the request id, got:\n%s", out)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func TestErrorKind(t *testing.T) {
	refusedAddr := closedAddr(t)

	// A plain HTTP server: a TLS handshake with it fails on the record
	// header.
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)
	// A TLS server whose certificate the default config does not trust.
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	untrusted.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // expected handshake failures
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)

	// A TCP server that accepts and then closes: abortively (RST) or
	// gracefully (EOF).
	closing := func(t *testing.T, reset bool) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if reset {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
			}
		}()
		return ln.Addr().String()
	}
	readFrom := func(addr string) error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		return err
	}
	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in tests")
	}}

	tests := []struct {
		name string
		err  func(t *testing.T) error
		want string
	}{
		{"refused", func(t *testing.T) error {
			_, err := net.Dial("tcp", refusedAddr)
			return err
		}, "refused"},
		{"dial deadline", func(t *testing.T) error {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel()
			_, err := (&net.Dialer{}).DialContext(ctx, "tcp", refusedAddr)
			return err
		}, "timeout"},
		{"response header timeout", func(t *testing.T) error {
			ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts (backlog), never answers
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			tr := &http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String(), nil)
			_, err = tr.RoundTrip(req)
			return err
		}, "timeout"},
		{"dns", func(t *testing.T) error {
			_, err := (&net.Dialer{Resolver: noDNS}).Dial("tcp", "backend.invalid:80")
			return err
		}, "dns"},
		{"tls record header", func(t *testing.T) error {
			_, err := (&tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}).Dial("tcp", plain.Listener.Addr().String())
			return err
		}, "tls"},
		{"tls certificate", func(t *testing.T) error {
			_, err := (&tls.Dialer{Config: &tls.Config{ServerName: "example.com"}}).Dial("tcp", untrusted.Listener.Addr().String())
			return err
		}, "tls"},
		{"reset", func(t *testing.T) error { return readFrom(closing(t, true)) }, "reset"},
		{"eof", func(t *testing.T) error { return readFrom(closing(t, false)) }, "reset"},
		{"other: no such socket", func(t *testing.T) error {
			_, err := net.Dial("unix", t.TempDir()+"/absent.sock")
			return err
		}, "other"},
		{"other: bad address", func(t *testing.T) error {
			_, err := net.Dial("tcp", "127.0.0.1")
			return err
		}, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if err == nil {
				t.Fatal("no error produced")
			}
			if got := ErrorKind(err); got != tt.want {
				t.Errorf("ErrorKind(%v [%T]) = %q, want %q", err, err, got, tt.want)
			}
		})
	}
}

func TestTrustedClientIP(t *testing.T) {
	lan := mustCIDRs(t, "10.0.0.0/8", "fd00::/8")
	tests := []struct {
		name    string
		trusted *Trusted
		remote  string
		xff     []string
		want    string
	}{
		{"nil trusted ignores xff", nil, "10.0.0.1:1234", []string{"6.6.6.6"}, "10.0.0.1"},
		{"untrusted peer ignores xff", lan, "8.8.8.8:1234", []string{"6.6.6.6"}, "8.8.8.8"},
		{"trusted peer, no xff", lan, "10.0.0.1:1234", nil, "10.0.0.1"},
		{"trusted peer, one hop", lan, "10.0.0.1:1234", []string{"6.6.6.6"}, "6.6.6.6"},
		{"right-most untrusted hop wins", lan, "10.0.0.1:1234", []string{"1.1.1.1, 6.6.6.6"}, "6.6.6.6"},
		{"chain of trusted hops skipped", lan, "10.0.0.1:1234", []string{"1.1.1.1, 6.6.6.6, 10.0.0.3, 10.0.0.2"}, "6.6.6.6"},
		{"all hops trusted", lan, "10.0.0.1:1234", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.1"},
		{"several header lines", lan, "10.0.0.1:1234", []string{"1.1.1.1", "6.6.6.6, 10.0.0.2"}, "6.6.6.6"},
		{"spaces trimmed", lan, "10.0.0.1:1234", []string{"  1.1.1.1 ,6.6.6.6  "}, "6.6.6.6"},
		{"malformed right-most hop", lan, "10.0.0.1:1234", []string{"6.6.6.6, garbage"}, "10.0.0.1"},
		{"malformed behind trusted hop", lan, "10.0.0.1:1234", []string{"6.6.6.6, not-an-ip, 10.0.0.2"}, "10.0.0.1"},
		{"malformed left of client ignored", lan, "10.0.0.1:1234", []string{"garbage, 6.6.6.6"}, "6.6.6.6"},
		{"hop with port is malformed", lan, "10.0.0.1:1234", []string{"6.6.6.6:80"}, "10.0.0.1"},
		{"empty trailing hop", lan, "10.0.0.1:1234", []string{"6.6.6.6,"}, "10.0.0.1"},
		{"peer without port", lan, "10.0.0.1", []string{"6.6.6.6"}, "6.6.6.6"},
		{"ipv6 trusted peer, ipv6 client", lan, "[fd00::1]:443", []string{"2001:db8::7"}, "2001:db8::7"},
		{"ipv6 trusted peer, ipv6 trusted hop", lan, "[fd00::1]:443", []string{"2001:db8::7, fd00::2"}, "2001:db8::7"},
		{"ipv6 untrusted peer", lan, "[2001:db8::5]:443", []string{"6.6.6.6"}, "2001:db8::5"},
		{"ipv4-mapped trusted hop", lan, "10.0.0.1:1234", []string{"6.6.6.6, ::ffff:10.0.0.9"}, "6.6.6.6"},
		{"ipv4 peer, ipv6 client", lan, "10.0.0.1:1234", []string{"2001:db8::9"}, "2001:db8::9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.trusted.ClientIP(r); got != tt.want {
				t.Errorf("ClientIP() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTrustedContains(t *testing.T) {
	tr := mustCIDRs(t, "127.0.0.0/8", "::1/128")
	tests := []struct {
		trusted *Trusted
		addr    string
		want    bool
	}{
		{tr, "127.0.0.1:80", true},
		{tr, "127.9.9.9", true},
		{tr, "[::1]:80", true},
		{tr, "::1", true},
		{tr, "10.0.0.1:80", false},
		{tr, "", false},
		{tr, "garbage", false},
		{nil, "127.0.0.1:80", false},
		{NewTrusted(nil), "127.0.0.1:80", false},
	}
	for _, tt := range tests {
		if got := tt.trusted.Contains(tt.addr); got != tt.want {
			t.Errorf("Contains(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestStreamingSSE(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // the upstream's response header timeout
		pause   time.Duration // extra wait between events, past timeout
	}{
		{"events flushed one by one", 5 * time.Second, 0},
		// The response header timeout must not cut a stream that pauses.
		{"pause longer than header timeout", 100 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			firstSent := make(chan struct{})
			release := make(chan struct{})
			var releaseOnce sync.Once
			releaseFn := func() { releaseOnce.Do(func() { close(release) }) }
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Cache-Control", "no-cache")
				_, _ = io.WriteString(w, "id: 1\ndata: one\n\n")
				_ = http.NewResponseController(w).Flush()
				close(firstSent)
				select { // pause until the client has the first event
				case <-release:
				case <-r.Context().Done():
					return
				}
				_, _ = io.WriteString(w, "id: 2\ndata: two\n\n")
			}))
			t.Cleanup(backend.Close)
			t.Cleanup(releaseFn) // runs before backend.Close

			opts := testOptions(t, backend.URL)
			opts.Timeout = tt.timeout
			u := New(opts)
			front := newFront(t, u, Route{}, nil, zerolog.Nop())
			client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
			resp, err := client.Get(front.URL + "/events")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			br := bufio.NewReader(resp.Body)
			readEvent := func() string {
				var ev strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						t.Fatalf("reading event: %v (got %q)", err, ev.String())
					}
					if line == "\n" {
						return ev.String()
					}
					ev.WriteString(line)
				}
			}
			// The backend writes the second event only once release is
			// closed, which happens after this read: a proxy that buffered
			// would block here until the client timeout.
			if got := readEvent(); got != "id: 1\ndata: one\n" {
				t.Fatalf("first event = %q", got)
			}
			<-firstSent // the backend is now parked before its second write
			time.Sleep(tt.pause)
			releaseFn()
			if got := readEvent(); got != "id: 2\ndata: two\n" {
				t.Fatalf("second event = %q", got)
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
				t.Errorf("after the stream: %q, %v", rest, err)
			}
		})
	}
}
