package upstream

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/guard"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/upstream/errkind"
)

// bothClients runs f against an upstream on the lean path and on the
// standard one: each fault must be handled the same way by both.
func bothClients(t *testing.T, target string, f func(t *testing.T, opts Options)) {
	for _, lean := range []bool{true, false} {
		name := map[bool]string{true: "lean", false: "standard"}[lean]
		t.Run(name, func(t *testing.T) {
			opts := testOptions(t, target)
			opts.Lean = lean
			f(t, opts)
		})
	}
}

// A header timeout is not retried: that would double the wait and the
// load on an upstream that is already slow.
func TestTimeoutNotRetried(t *testing.T) {
	var slowHits atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slowHits.Add(1)
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	bothClients(t, backend.URL, func(t *testing.T, opts Options) {
		slowHits.Store(0)
		opts.Timeout = 200 * time.Millisecond
		front := newFront(t, New(opts), Route{}, nil, zerolog.Nop())
		get(t, front.Client(), front.URL+"/fast") // a pooled connection to reuse
		if status, _ := get(t, front.Client(), front.URL+"/slow"); status != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504", status)
		}
		if n := slowHits.Load(); n != 1 {
			t.Errorf("the upstream got the timed-out request %d times, want 1", n)
		}
	})
}

// Trailers reach the client through guard's fallback writer, which hands
// out its own header map until the answer is committed.
func TestTrailersThroughFallbackWriter(t *testing.T) {
	backend := newRecordingBackend(t)
	bothClients(t, backend.URL, func(t *testing.T, opts Options) {
		u := New(opts)
		t.Cleanup(u.Close)
		p := u.Proxy(Route{}, nil, zerolog.Nop())
		front := httptest.NewServer(guard.Handler(guard.Options{Service: p, Legacy: p, Fallback: true}))
		t.Cleanup(front.Close)
		resp, err := front.Client().Get(front.URL + "/trailers")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		if got := resp.Trailer.Get("X-Sum"); got != "3" {
			t.Errorf("trailer X-Sum = %q, want 3", got)
		}
	})
}

// rawUpstream serves each request on a raw connection with answer(conn,
// request, index on the connection).
func rawUpstream(t *testing.T, answer func(c net.Conn, r *http.Request, n int)) (string, *atomic.Int64) {
	t.Helper()
	addr, accepted := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for n := 0; ; n++ {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			answer(c, r, n)
		}
	})
	return "http://" + addr, accepted
}

// What an upstream sends on an idle keep-alive connection must never be
// taken as the answer to the next request.
func TestIdleConnectionNoise(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name   string
		first  string // method of the request that leaves the connection idle
		answer func(c net.Conn, r *http.Request, n int)
	}{
		{"408 on keep-alive timeout, then close", http.MethodGet, func(c net.Conn, _ *http.Request, _ int) {
			_, _ = io.WriteString(c, ok)
			time.Sleep(20 * time.Millisecond)
			_, _ = io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			c.Close()
		}},
		{"a body after a HEAD answer", http.MethodHead, func(c net.Conn, r *http.Request, _ int) {
			if r.Method == http.MethodHead {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
				time.Sleep(20 * time.Millisecond)
				_, _ = io.WriteString(c, "hello")
				return
			}
			_, _ = io.WriteString(c, ok)
		}},
		{"close while idle", http.MethodGet, func(c net.Conn, _ *http.Request, _ int) {
			_, _ = io.WriteString(c, ok)
			time.Sleep(20 * time.Millisecond)
			c.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, _ := rawUpstream(t, tt.answer)
			bothClients(t, target, func(t *testing.T, opts Options) {
				front := newFront(t, New(opts), Route{}, nil, zerolog.Nop())
				req, _ := http.NewRequest(tt.first, front.URL+"/first", nil)
				resp, err := front.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				time.Sleep(100 * time.Millisecond) // the noise arrives
				if status, body := get(t, front.Client(), front.URL+"/second"); status != 200 || body != "ok" {
					t.Errorf("next request answered %d %q, want 200 ok", status, body)
				}
			})
		})
	}
}

// After the upstream dropped all its idle keep-alive connections (a
// restart), no client sees an error.
func TestAllIdleConnectionsDropped(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(50 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	bothClients(t, backend.URL, func(t *testing.T, opts Options) {
		front := newFront(t, New(opts), Route{}, nil, zerolog.Nop())
		done := make(chan struct{})
		for range 4 { // four connections in the pool
			go func() {
				defer func() { done <- struct{}{} }()
				resp, err := front.Client().Get(front.URL + "/slow")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		for range 4 {
			<-done
		}
		backend.CloseClientConnections()
		time.Sleep(50 * time.Millisecond)
		for i := range 4 {
			if status, body := get(t, front.Client(), front.URL+"/x"); status != 200 {
				t.Errorf("request %d after the upstream dropped its connections: %d %s", i, status, body)
			}
		}
	})
}

// A request whose client is already gone is not sent, and a stream whose
// client goes away is cut at once, even when cancellation races with the
// header deadline.

func TestAddPrefixEscaped(t *testing.T) {
	backend := newRecordingBackend(t)
	for _, prefix := range []string{"/my app", "/a%2Fb", "/v2/"} {
		t.Run(prefix, func(t *testing.T) {
			var got []string
			bothClients(t, backend.URL, func(t *testing.T, opts Options) {
				front := newFront(t, New(opts), Route{AddPrefix: prefix}, nil, zerolog.Nop())
				if status, body := get(t, front.Client(), front.URL+"/x?q=1"); status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
				got = append(got, backend.lastRequest().RequestURI)
			})
			if len(got) == 2 && got[0] != got[1] {
				t.Errorf("upstream saw %q (lean) and %q (standard)", got[0], got[1])
			}
		})
	}
}

// A mirrored copy that runs out of time is a timeout on both clients,
// whether the header or the body was late.
func TestRoundTripTimeoutKind(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "start")
			w.(http.Flusher).Flush()
		}
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(backend.Close)
	bothClients(t, backend.URL, func(t *testing.T, opts Options) {
		u := New(opts)
		t.Cleanup(u.Close)
		for _, path := range []string{"/slow-header", "/slow-body"} {
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+path, nil)
			resp, err := u.Transport().RoundTrip(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			cancel()
			if err == nil || ErrorKind(err) != "timeout" {
				t.Errorf("%s: error %v is of kind %q, want timeout", path, err, ErrorKind(err))
			}
		}
	})
}

// Idle connections do not outlive the idle timeout, even when newer
// ones keep being used.

func TestKeepHostWithoutClientHost(t *testing.T) {
	backend := newRecordingBackend(t)
	var got []string
	bothClients(t, backend.URL, func(t *testing.T, opts Options) {
		front := newFront(t, New(opts), Route{KeepHost: true}, nil, zerolog.Nop())
		a := send(t, front.Listener.Addr().String(), http.MethodGet, "GET /x HTTP/1.0\r\n\r\n")
		if a.Status != http.StatusOK {
			t.Fatalf("status %d", a.Status)
		}
		got = append(got, backend.lastRequest().Host)
	})
	if len(got) != 2 || got[0] != got[1] || got[0] == "" {
		t.Errorf("upstream saw Host %q (lean, standard), want the upstream's on both", got)
	}
}

func TestTooManyInformationalAnswers(t *testing.T) {
	target, _ := rawUpstream(t, func(c net.Conn, _ *http.Request, _ int) {
		for range 6 {
			_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	u := New(testOptions(t, target))
	front := newFront(t, u, Route{}, nil, zerolog.Nop())
	if status, body := get(t, front.Client(), front.URL+"/x"); status != http.StatusBadGateway {
		t.Errorf("after 6 informational answers: %d %q, want 502", status, body)
	}
}

// A request net/http's server would have refused (CR/LF in a header
// value, a name that is not a token) but that reaches the proxy handler
// directly is refused by both clients alike: 502, kind other, and the
// upstream never hears of it.
func TestInvalidHeaderAnsweredAsStandard(t *testing.T) {
	backend := testutil.NewBackend(t, "legacy")
	bothClients(t, backend.URL, func(t *testing.T, opts Options) {
		u := New(opts)
		t.Cleanup(u.Close)
		var kinds []string
		p := u.Proxy(Route{OnError: func(kind string) { kinds = append(kinds, kind) }}, nil, zerolog.Nop())
		for _, h := range []struct{ k, v string }{{"X-Note", "a\r\nX-Injected: 1"}, {"Bad Name", "v"}} {
			before := backend.Hits()
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			r.Header[h.k] = []string{h.v}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, r)
			if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "upstream unavailable") {
				t.Errorf("%q: %d %q, want 502 upstream unavailable", h.k, rec.Code, rec.Body)
			}
			if backend.Hits() != before {
				t.Errorf("%q: the upstream was reached", h.k)
			}
		}
		if want := []string{errkind.Other, errkind.Other}; !slices.Equal(kinds, want) {
			t.Errorf("error kinds %q, want %q", kinds, want)
		}
	})
}
