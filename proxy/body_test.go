package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// chunked encodes body as one chunk and the last chunk.
func chunked(body string) string {
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

// TestBodyLimit checks the request body limits: a declared length over
// the limit is refused with 413 before anything is sent upstream, a
// chunked body that grows past it gets 413 and a closed connection, and
// a route's max_body_bytes overrides the server's.
func TestBodyLimit(t *testing.T) {
	mono, svc := newRecorder(t, "monolith"), newRecorder(t, "orders")
	cfg := baseConfig(mono.URL, svc.URL, config.Route{Name: "upload", Match: config.Match{Prefix: "/upload/"},
		Service: "orders", Stage: "migrated", MaxBodyBytes: 5000})
	cfg.Server.MaxBodyBytes = 1000
	sp := serveProxy(t, cfg)
	tests := []struct {
		name, path string
		size       int
		chunked    bool
		want       int
		upstream   bool // the request reaches a backend whole
	}{
		{"length at the server limit", "/legacy", 1000, false, 200, true},
		{"length over the server limit", "/legacy", 1001, false, 413, false},
		{"length far over, nothing sent", "/legacy", 50 << 20, false, 413, false},
		{"length within the route limit", "/upload/a", 4000, false, 200, true},
		{"length at the route limit", "/upload/a", 5000, false, 200, true},
		{"length over the route limit", "/upload/a", 5001, false, 413, false},
		{"chunked within the limit", "/legacy", 900, true, 200, true},
		{"chunked over the server limit", "/legacy", 1500, true, 413, false},
		{"chunked within the route limit", "/upload/a", 4500, true, 200, true},
		{"chunked over the route limit", "/upload/a", 9000, true, 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mono.count() + svc.count()
			body := strings.Repeat("x", min(tt.size, 10000))
			head := "POST " + tt.path + " HTTP/1.1\r\nHost: x\r\n"
			var raw string
			if tt.chunked {
				raw = head + "Transfer-Encoding: chunked\r\n\r\n" + chunked(body)
			} else {
				raw = head + fmt.Sprintf("Content-Length: %d\r\n\r\n", tt.size) + body
			}
			resp, answer, closed := rawExchange(t, sp.addr, raw)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d %q; want %d", resp.StatusCode, answer, tt.want)
			}
			got := mono.count() + svc.count() - before
			if tt.upstream && got != 1 || !tt.upstream && got != 0 {
				t.Errorf("%d request(s) reached a backend whole; want %v", got, tt.upstream)
			}
			if tt.want == 413 && !closed {
				t.Errorf("the connection stayed open after 413 (%v): the rest of the body would be read as a request", resp.Header)
			}
		})
	}
}

// TestBodyReadTimeout checks that a body that stalls, or trickles below
// the minimum rate, is answered 408 and its connection closed, while a
// body sent at once is served.
func TestBodyReadTimeout(t *testing.T) {
	mono := newRecorder(t, "monolith")
	cfg := baseConfig(mono.URL, mono.URL)
	cfg.Server.BodyReadTimeout = 300 * time.Millisecond
	cfg.Server.BodyMinRate = 100 // bytes per second
	sp := serveProxy(t, cfg)
	tests := []struct {
		name  string
		every time.Duration // between one-byte writes; 0: the whole body at once
		want  int
	}{
		{"whole body at once", 0, 200},
		{"stalls longer than the timeout", time.Second, 408},
		{"one byte per 100ms, under the minimum rate", 100 * time.Millisecond, 408},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", sp.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			const size = 200
			_, _ = io.WriteString(c, fmt.Sprintf("POST /legacy HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size))
			answered := make(chan struct{})
			go func() { // writes until the answer comes (bounded by size)
				if tt.every == 0 {
					_, _ = io.WriteString(c, strings.Repeat("x", size))
					return
				}
				for range size {
					select {
					case <-answered:
						return
					case <-time.After(tt.every):
					}
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}()
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			close(answered)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d; want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 408 {
				if _, err := br.ReadByte(); err == nil || isTimeout(err) {
					t.Errorf("the connection stayed open after 408 (%v)", err)
				}
			}
		})
	}
}

// TestSlowUploadsClosed opens 500 connections that each send a request
// body one byte every 2 s and checks that the body timeout answers every
// one 408 and closes it, releasing the upstream connections, while a
// normal request is served beside them.
func TestSlowUploadsClosed(t *testing.T) {
	var inFlight, maxInFlight atomic.Int64
	mono := newRecorder(t, "monolith")
	mono.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Side", "monolith")
	})
	cfg := baseConfig(mono.URL, mono.URL)
	cfg.Server.BodyReadTimeout = time.Second
	sp := serveProxy(t, cfg)
	const clients = 500
	var wg sync.WaitGroup
	var timedOut, other atomic.Int64
	for range clients {
		wg.Go(func() {
			c, err := net.Dial("tcp", sp.addr)
			if err != nil {
				other.Add(1)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(15 * time.Second))
			_, _ = io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
			done := make(chan struct{})
			defer close(done)
			go func() {
				for range 5 {
					select {
					case <-done:
						return
					case <-time.After(2 * time.Second):
					}
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil && resp.StatusCode == http.StatusRequestTimeout {
				timedOut.Add(1)
				return
			}
			other.Add(1)
			if err == nil {
				t.Logf("answered %d", resp.StatusCode)
			} else {
				t.Logf("no answer: %v", err)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get("http://" + sp.addr + "/normal")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("a normal request beside the slow uploads: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	wg.Wait()
	t.Logf("%d answered 408, %d otherwise; at most %d upstream requests in flight at once",
		timedOut.Load(), other.Load(), maxInFlight.Load())
	if timedOut.Load() != clients {
		t.Errorf("%d of %d slow uploads answered 408", timedOut.Load(), clients)
	}
	testutil.Eventually(t, "every upstream request released after the uploads were refused",
		func() bool { return inFlight.Load() == 0 })
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
