package upstream

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

// recordingBackend is a real server that remembers the last request it
// received and answers according to the path.
type recordingBackend struct {
	*httptest.Server
	mu   sync.Mutex
	last echo
	// conns counts the connections the server accepted.
	conns atomic.Int64
}

func newRecordingBackend(t *testing.T) *recordingBackend {
	t.Helper()
	b := &recordingBackend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *recordingBackend) lastRequest() echo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func (b *recordingBackend) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.last = echo{Host: r.Host, RequestURI: r.RequestURI, Header: r.Header.Clone()}
	b.mu.Unlock()
	h := w.Header()
	switch strings.TrimPrefix(r.URL.Path, "/v2") {
	case "/trailers":
		h.Set("Trailer", "X-Sum")
		h.Set("Content-Type", "text/plain")
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			w.(http.Flusher).Flush()
		}
		h.Set("X-Sum", "3")
	case "/no-content":
		w.WriteHeader(http.StatusNoContent)
	case "/not-modified":
		h.Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	case "/close":
		h.Set("Connection", "close")
		_, _ = io.WriteString(w, "closing")
	case "/early-hints":
		h.Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "hinted")
	case "/hop":
		h.Set("Connection", "X-Backend-Hop")
		h.Set("X-Backend-Hop", "secret")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("X-End-To-End", "kept")
		_, _ = io.WriteString(w, "hop")
	case "/big":
		h.Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(strings.Repeat("0123456789abcdef", 16<<10)))
	default:
		h.Set("Content-Type", "application/json")
		h.Add("Set-Cookie", "a=1")
		h.Add("Set-Cookie", "b=2")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
}

// answer is what a client saw, minus the Date header.
type answer struct {
	// Informational lists the 1xx answers before the final one.
	Informational []string
	Status        int
	Header        http.Header
	Body          string
	Trailer       http.Header
}

// send writes head on a fresh connection to addr and reads the answer.
func send(t *testing.T, addr, method, head string) answer {
	t.Helper()
	a, err := exchange(addr, method, head)
	if err != nil {
		t.Fatalf("%q to %s: %v", head, addr, err)
	}
	return a
}

// exchange writes head on a fresh connection to addr and reads the
// answer: the 1xx ones, then the final one, minus its Date.
func exchange(addr, method, head string) (answer, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return answer{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		return answer{}, err
	}
	br := bufio.NewReader(conn)
	var informational []string
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return answer{}, err
		}
		if resp.StatusCode < 200 {
			informational = append(informational, fmt.Sprint(resp.StatusCode, " ", resp.Header))
			continue
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		resp.Header.Del("Date")
		return answer{Informational: informational, Status: resp.StatusCode, Header: resp.Header,
			Body: string(body), Trailer: resp.Trailer}, err
	}
}

// TestLeanMatchesStandard sends the same requests through the lean path
// and through httputil.ReverseProxy and wants the backend to receive, and
// the client to get, the same thing.
func TestLeanMatchesStandard(t *testing.T) {
	routes := []struct {
		name    string
		rt      Route
		trusted *Trusted
	}{
		{"plain", Route{}, nil},
		{"prefix rewrite and client host", Route{StripPrefix: "/api", AddPrefix: "/v2", KeepHost: true}, nil},
		{"trusted peer", Route{}, mustCIDRs(t, "127.0.0.0/8")},
	}
	requests := []struct {
		name, method, target, headers string
	}{
		{"simple", "GET", "/api/items", ""},
		{"query and escapes", "GET", "/api/a%2Fb/c%20d?x=1&y=%20z&x=2", ""},
		{"head", "HEAD", "/api/items", ""},
		{"options", "OPTIONS", "/api/items", ""},
		{"end-to-end headers", "GET", "/api/items",
			"Authorization: Bearer tok\r\nCookie: a=1\r\nAccept: application/json\r\nX-Multi: 1\r\nX-Multi: 2\r\nUser-Agent: curl/8\r\n"},
		{"hop-by-hop headers", "GET", "/api/items",
			"Connection: keep-alive, X-Hop\r\nX-Hop: h\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nTe: trailers, gzip\r\nTrailer: X-T\r\nUpgrade: h2c\r\n"},
		{"forwarded headers", "GET", "/api/items",
			"X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 7.7.7.7\r\nX-Forwarded-Host: public.example\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\n"},
		{"shadow mark", "GET", "/api/items", ShadowHeader + ": 1\r\n"},
		{"content-length zero", "GET", "/api/items", "Content-Length: 0\r\n"},
		{"chunked with trailers", "GET", "/api/trailers", ""},
		{"204", "GET", "/api/no-content", ""},
		{"304", "GET", "/api/not-modified", "If-None-Match: \"v1\"\r\n"},
		{"upstream closes", "GET", "/api/close", ""},
		{"early hints", "GET", "/api/early-hints", ""},
		{"response hop-by-hop", "GET", "/api/hop", ""},
		{"large body", "GET", "/api/big", ""},
		{"head of large body", "HEAD", "/api/big", ""},
	}
	backend := newRecordingBackend(t)
	for _, rc := range routes {
		leanUp := New(testOptions(t, backend.URL))
		stdOpts := testOptions(t, backend.URL)
		stdOpts.Lean = false
		stdUp := New(stdOpts)
		if !leanUp.Lean() || stdUp.Lean() {
			t.Fatalf("precondition: lean %v, standard %v", leanUp.Lean(), stdUp.Lean())
		}
		leanFront := newFront(t, leanUp, rc.rt, rc.trusted, zerolog.Nop())
		stdFront := newFront(t, stdUp, rc.rt, rc.trusted, zerolog.Nop())
		for _, rq := range requests {
			t.Run(rc.name+"/"+rq.name, func(t *testing.T) {
				head := rq.method + " " + rq.target + " HTTP/1.1\r\nHost: shop.example\r\n" + rq.headers + "\r\n"
				gotStd := send(t, stdFront.Listener.Addr().String(), rq.method, head)
				sentStd := backend.lastRequest()
				gotLean := send(t, leanFront.Listener.Addr().String(), rq.method, head)
				sentLean := backend.lastRequest()
				if d := cmp.Diff(sentStd, sentLean); d != "" {
					t.Errorf("backend received (-standard +lean):\n%s", d)
				}
				if d := cmp.Diff(gotStd, gotLean); d != "" {
					t.Errorf("client received (-standard +lean):\n%s", d)
				}
			})
		}
	}
}

// get sends a GET through front and returns the status and body.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestLeanReusesConnections(t *testing.T) {
	backend := newRecordingBackend(t)
	u := New(testOptions(t, backend.URL))
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	for i := range 50 {
		if status, _ := get(t, front.Client(), front.URL+"/items"); status != http.StatusOK {
			t.Fatalf("request %d: status %d", i, status)
		}
	}
	if n := backend.conns.Load(); n != 1 {
		t.Errorf("backend accepted %d connections for 50 sequential requests, want 1", n)
	}
	if n := u.lean.IdleCount(); n != 1 {
		t.Errorf("idle connections = %d, want 1", n)
	}
}

// An upstream that closed an idle keep-alive connection must not cost
// the client an error: the request goes again on a new connection.
func TestLeanRetriesClosedIdleConnection(t *testing.T) {
	backend := newRecordingBackend(t)
	u := New(testOptions(t, backend.URL))
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	for i := range 5 {
		if status, body := get(t, front.Client(), front.URL+"/items"); status != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, status, body)
		}
		backend.CloseClientConnections() // the pooled connection is now dead
	}
	if n := backend.conns.Load(); n != 5 {
		t.Errorf("backend accepted %d connections, want 5 (one per request)", n)
	}
}

func TestLeanRefusedIsNotRetried(t *testing.T) {
	u := New(testOptions(t, "http://"+closedAddr(t)))
	var dials atomic.Int64
	u.dialer.Control = func(string, string, syscall.RawConn) error { dials.Add(1); return nil }
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	status, body := get(t, front.Client(), front.URL+"/items")
	if status != http.StatusBadGateway || !strings.Contains(body, "upstream unavailable") {
		t.Errorf("status %d body %s, want 502 upstream unavailable", status, body)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("dialed %d times, want 1 (a new connection that fails is not retried)", n)
	}
}

// rawBackend serves each accepted connection with handle until the test
// ends; it returns the address and the count of accepted connections.
func rawBackend(t testing.TB, handle func(net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), &accepted
}

// answerEach reads requests from c and writes reply after each.
func answerEach(c net.Conn, reply string) {
	br := bufio.NewReader(c)
	for {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

func TestLeanUpstreamFaults(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		// wantStatus 0 means the client's response must be cut short.
		wantStatus int
		wantBody   string
	}{
		{"header larger than 1 MiB", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 1100<<10) + "\r\n\r\n", 502, "upstream unavailable"},
		{"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", 502, "upstream unavailable"},
		{"101 without upgrade", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 502, "upstream unavailable"},
		{"body shorter than its length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", 0, ""},
		{"100 continue then answer", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := rawBackend(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				_, _ = io.WriteString(c, tt.reply)
			})
			u := New(testOptions(t, "http://"+addr))
			front := newFront(t, u, Route{}, nil, zerolog.Nop())
			resp, err := front.Client().Get(front.URL + "/x")
			if err != nil && tt.wantStatus == 0 {
				return // cut before the header left the proxy
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, readErr := io.ReadAll(resp.Body)
			if tt.wantStatus == 0 {
				if readErr == nil {
					t.Errorf("client read a complete body %q from a truncated answer", body)
				}
				return
			}
			if readErr != nil {
				t.Fatal(readErr)
			}
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// Bytes after an answer mean the upstream is out of step with us: that
// connection must not carry the next request.
func TestLeanTrailingBytesNotReused(t *testing.T) {
	addr, accepted := rawBackend(t, func(c net.Conn) {
		answerEach(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforged")
	})
	u := New(testOptions(t, "http://"+addr))
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	for i := range 3 {
		if status, body := get(t, front.Client(), front.URL+"/x"); status != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q, want 200 ok", i, status, body)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("upstream accepted %d connections, want 3", n)
	}
}

func TestLeanResponseHeaderTimeout(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		case "/stream":
			// The header comes at once, the body slower than the header
			// timeout: it must not be cut.
			w.WriteHeader(http.StatusOK)
			for i := range 3 {
				w.(http.Flusher).Flush()
				time.Sleep(150 * time.Millisecond)
				fmt.Fprintf(w, "tick %d\n", i)
			}
		default:
			_, _ = io.WriteString(w, "fast")
		}
	}))
	t.Cleanup(backend.Close)
	opts := testOptions(t, backend.URL)
	opts.Timeout = 100 * time.Millisecond
	u := New(opts)
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	client := front.Client()

	if status, body := get(t, client, front.URL+"/slow"); status != http.StatusGatewayTimeout {
		t.Errorf("slow header: %d %s, want 504", status, body)
	}
	if status, body := get(t, client, front.URL+"/stream"); status != 200 || body != "tick 0\ntick 1\ntick 2\n" {
		t.Errorf("slow body: %d %q, want the whole stream", status, body)
	}
	// A deadline left on a pooled connection by an earlier answer must
	// not fail a later request, whenever it comes.
	for i := range 4 {
		if status, body := get(t, client, front.URL+"/fast"); status != 200 || body != "fast" {
			t.Fatalf("request %d after a pause: %d %q", i, status, body)
		}
		time.Sleep(60 * time.Millisecond)
	}
}

func TestLeanPoolBoundsAndClose(t *testing.T) {
	release := make(chan struct{})
	var arrived sync.WaitGroup
	backend := newRecordingBackend(t)
	backend.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			arrived.Done()
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})
	opts := testOptions(t, backend.URL)
	opts.MaxIdleConns = 2
	u := New(opts)
	front := newFront(t, u, Route{}, nil, zerolog.Nop())

	const n = 6
	arrived.Add(n)
	var done sync.WaitGroup
	for range n {
		done.Add(1)
		go func() {
			defer done.Done()
			resp, err := front.Client().Get(front.URL + "/hold")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	arrived.Wait()
	close(release)
	done.Wait()
	if got := u.lean.IdleCount(); got != 2 {
		t.Errorf("idle connections after %d parallel requests = %d, want the cap 2", n, got)
	}

	// Close drops idle connections; one in flight finishes and is not
	// pooled afterwards.
	release2 := make(chan struct{})
	arrived.Add(1)
	backend.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release2
		_, _ = io.WriteString(w, "late")
	})
	result := make(chan string, 1)
	go func() {
		_, body := get(t, front.Client(), front.URL+"/x")
		result <- body
	}()
	arrived.Wait()
	u.Close()
	close(release2)
	if body := <-result; body != "late" {
		t.Errorf("in-flight request over a closed pool answered %q", body)
	}
	if got := u.lean.IdleCount(); got != 0 {
		t.Errorf("idle connections after Close = %d, want 0", got)
	}
}

// The lean path and the standard one must keep all connections to one
// upstream bounded under concurrent load and answer every request.
func TestLeanConcurrentLoad(t *testing.T) {
	backend := newRecordingBackend(t)
	u := New(testOptions(t, backend.URL))
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var failures atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				method := []string{"GET", "HEAD", "POST"}[(w+i)%3]
				req, _ := http.NewRequestWithContext(ctx, method, front.URL+"/items", nil)
				resp, err := front.Client().Do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of 800 requests failed", n)
	}
	if got := u.lean.IdleCount(); got > 4 {
		t.Errorf("idle lean connections = %d, want at most MaxIdleConns 4", got)
	}
}

func TestLeanRoundTrip(t *testing.T) {
	backend := newRecordingBackend(t)
	u := New(testOptions(t, backend.URL))
	t.Cleanup(u.Close)
	rt := u.Transport()
	do := func(method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, backend.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for range 20 {
		resp := do("GET", "/items")
		if b, err := io.ReadAll(resp.Body); err != nil || string(b) != `{"ok":true}` {
			t.Fatalf("body %q, %v", b, err)
		}
		if n, err := resp.Body.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("read after the end = %d, %v; want 0, EOF", n, err)
		}
		resp.Body.Close()
		head := do("HEAD", "/items")
		head.Body.Close()
	}
	if n := backend.conns.Load(); n != 1 {
		t.Errorf("40 round trips used %d connections, want 1", n)
	}

	resp := do("GET", "/trailers")
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Trailer.Get("X-Sum"); got != "3" {
		t.Errorf("trailer X-Sum = %q, want 3", got)
	}

	// A body closed before its end takes its connection with it.
	resp = do("GET", "/big")
	if _, err := resp.Body.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n, err := resp.Body.Read(make([]byte, 1)); n != 0 || err != http.ErrBodyReadAfterClose {
		t.Errorf("read after Close = %d, %v; want ErrBodyReadAfterClose", n, err)
	}
	if n := u.lean.IdleCount(); n != 0 {
		t.Errorf("idle connections after an early Close = %d, want 0", n)
	}

	// Requests with a body go through http.Transport.
	req, _ := http.NewRequest("POST", backend.URL+"/items", strings.NewReader("x"))
	post, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, post.Body)
	post.Body.Close()
	if n := u.lean.IdleCount(); n != 0 {
		t.Errorf("a POST went through the lean pool (%d idle)", n)
	}
}

// A mirrored copy reaches the upstream the same on both clients.
func TestShadowRequestLeanMatchesStandard(t *testing.T) {
	backend := newRecordingBackend(t)
	stdOpts := testOptions(t, backend.URL)
	stdOpts.Lean = false
	lean, std := New(testOptions(t, backend.URL)), New(stdOpts)
	t.Cleanup(lean.Close)
	t.Cleanup(std.Close)
	in := httptest.NewRequest("GET", "http://shop.example/api/a%2Fb?x=1", nil)
	in.RemoteAddr = "192.0.2.7:5000"
	in.Header.Set("Connection", "X-Hop")
	in.Header.Set("X-Hop", "1")
	in.Header.Set("User-Agent", "curl/8")
	in.Header.Set("Accept", "application/json")
	in.Header.Add("Cookie", "a=1")
	rt := Route{StripPrefix: "/api", KeepHost: true}
	var sent []echo
	for _, u := range []*Upstream{std, lean} {
		req := u.ShadowRequest(context.Background(), in, nil, rt, nil)
		resp, err := u.Transport().RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		sent = append(sent, backend.lastRequest())
	}
	if d := cmp.Diff(sent[0], sent[1]); d != "" {
		t.Errorf("backend received (-standard +lean):\n%s", d)
	}
	if got := in.URL.EscapedPath(); got != "/api/a%2Fb" {
		t.Errorf("ShadowRequest changed its input's path to %q", got)
	}
	if lean.lean.IdleCount() != 1 {
		t.Errorf("the lean copy did not use the lean pool")
	}
}
