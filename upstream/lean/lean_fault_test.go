package lean

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/upstream/errkind"
	"github.com/stranglerfig/strangler/upstream/outbound"
)

// A request canceled before it is sent never reaches the upstream, even
// when a pooled connection waits for it.
func TestCanceledRequestsNotSent(t *testing.T) {
	var served atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(backend.Close)
	tr := newTransport(t, backend.URL, 90*time.Second)
	plan := outbound.NewPlan(mustURL(t, backend.URL), "", "", false, nil)
	for range 200 {
		c, _, err := tr.pool.get(context.Background(), true)
		if err != nil {
			t.Fatal(err)
		}
		tr.pool.put(c) // a reusable connection waits
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		start := time.Now()
		var serveErr error
		relayed := func() (relayed bool) {
			defer func() {
				if recover() != nil { // an aborted relay panics ErrAbortHandler
					relayed = true
				}
			}()
			serveErr = tr.Serve(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx), plan)
			return serveErr == nil
		}()
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("a canceled request blocked for %v", d)
		}
		if relayed {
			t.Fatalf("a canceled request was relayed")
		}
		if !errors.Is(serveErr, context.Canceled) {
			t.Fatalf("a canceled request failed with %v, want context.Canceled in its chain", serveErr)
		}
	}
	if n := served.Load(); n != 0 {
		t.Errorf("%d canceled requests reached the upstream, want 0", n)
	}
}

// Connections idle longer than IdleTimeout are closed, as http.Transport
// closes them.
func TestIdleConnectionsReaped(t *testing.T) {
	var open atomic.Int64
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			time.Sleep(50 * time.Millisecond) // keeps 4 requests in flight at once
		}
		_, _ = io.WriteString(w, "ok")
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	backend.Start()
	t.Cleanup(backend.Close)
	tr := newTransport(t, backend.URL, 200*time.Millisecond)
	var wg sync.WaitGroup
	for range 4 { // a burst opens 4 connections
		wg.Go(func() { get(t, tr, backend.URL+"/hold") })
	}
	wg.Wait()
	if n := open.Load(); n != 4 {
		t.Fatalf("precondition: %d connections open after the burst, want 4", n)
	}
	testutil.EventuallyWithin(t, 5*time.Second, "the 3 idle connections closed", func() bool {
		get(t, tr, backend.URL+"/x") // keeps one connection busy
		return open.Load() <= 1
	})
}

// recordingUpstream accepts connections and keeps every byte it reads,
// answering each request it can parse with 200 "ok".
type recordingUpstream struct {
	addr string
	mu   sync.Mutex
	got  []byte
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &recordingUpstream{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { u.serve(t, c) })
		}
	})
	return u
}

func (u *recordingUpstream) serve(t *testing.T, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(t.Context(), func() { c.Close() })
	defer stop()
	br := bufio.NewReader(recordReader{c: c, u: u})
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_ = req.Body.Close()
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// bytes returns everything the upstream has read so far.
func (u *recordingUpstream) bytes() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return string(u.got)
}

// recordReader reads a connection, keeping what it read.
type recordReader struct {
	c net.Conn
	u *recordingUpstream
}

func (r recordReader) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	r.u.mu.Lock()
	r.u.got = append(r.u.got, p[:n]...)
	r.u.mu.Unlock()
	return n, err
}

// TestInvalidRequestRefused sends requests with CR/LF in a header value,
// a header name that is not a token, and a control character in the
// target straight to the lean client (no net/http server in front to
// reject them first) and checks each is refused with ErrInvalidRequest,
// classified as the standard transport's refusal is (other), and that
// not one byte of it reached the upstream.
func TestInvalidRequestRefused(t *testing.T) {
	up := newRecordingUpstream(t)
	target := "http://" + up.addr
	tr := newTransport(t, target, 90*time.Second)
	plan := outbound.NewPlan(mustURL(t, target), "", "", false, nil)
	withHeader := func(k, v string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header[k] = []string{v}
		return r
	}
	badQuery := httptest.NewRequest(http.MethodGet, "/x", nil)
	badQuery.URL.RawQuery = "a=1\r\nX-Injected: 1"
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"CR LF in a value", withHeader("X-Note", "a\r\nX-Injected: 1")},
		{"LF in a value", withHeader("X-Note", "a\nX-Injected: 1")},
		{"NUL in a value", withHeader("X-Note", "a\x00b")},
		{"space in a name", withHeader("Bad Name", "v")},
		{"CR LF in a name", withHeader("X-A\r\nX-Injected", "v")},
		{"colon in a name", withHeader("X-A:b", "v")},
		{"control character in the query", badQuery},
	}
	// One valid request first, so a pooled connection is there to be
	// (mis)used by the refused ones.
	if status, body := get(t, tr, target+"/first"); status != http.StatusOK || body != "ok" {
		t.Fatalf("valid request: %d %q", status, body)
	}
	for _, tt := range tests {
		t.Run(tt.name+"/serve", func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := tr.Serve(rec, tt.req, plan)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Serve = %v, want ErrInvalidRequest", err)
			}
			if kind := errkind.Of(err); kind != errkind.Other {
				t.Errorf("kind %q, want %q (as http.Transport's refusal)", kind, errkind.Other)
			}
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Errorf("something was written to the client: %v %q", rec.Header(), rec.Body)
			}
		})
		t.Run(tt.name+"/roundtrip", func(t *testing.T) {
			req := tt.req.Clone(context.Background())
			req.URL.Scheme, req.URL.Host, req.RequestURI = "http", up.addr, ""
			if _, err := tr.RoundTrip(req); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("RoundTrip = %v, want ErrInvalidRequest", err)
			}
		})
	}
	// The connection is still in step: the next valid request is
	// answered, and the upstream saw the two valid requests only.
	if status, body := get(t, tr, target+"/last"); status != http.StatusOK || body != "ok" {
		t.Fatalf("valid request after the refused ones: %d %q", status, body)
	}
	sent := up.bytes()
	if n := strings.Count(sent, "GET "); n != 2 || !strings.HasPrefix(sent, "GET /first HTTP/1.1\r\n") {
		t.Errorf("the upstream read %d requests, want the 2 valid ones:\n%q", n, sent)
	}
	for _, bad := range []string{"Injected", "Bad Name", "X-Note", "X-A", "\x00"} {
		if strings.Contains(sent, bad) {
			t.Errorf("the upstream received %q, part of a refused request:\n%q", bad, sent)
		}
	}
	if n := tr.IdleCount(); n != 1 {
		t.Errorf("idle connections = %d, want 1: refusing a request must not cost the connection", n)
	}
}
