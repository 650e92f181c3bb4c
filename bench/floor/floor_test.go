package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/proxy"
)

// TestMain checks for leaks, except fasthttp's own: its date updater and
// its default dialer's address cache run for the life of the process by
// design, and a stopped worker pool's
// cleaner finishes its sleep (10 s) before it sees the stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

// serveFloor runs handler on a real listener until the test ends and
// returns its base URL.
func serveFloor(t *testing.T, handler fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// newClient returns a fasthttp client for backend that is closed with
// the test.
func newClient(t *testing.T, backend string) *fasthttp.HostClient {
	c := &fasthttp.HostClient{Addr: strings.TrimPrefix(backend, "http://")}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestFloor(t *testing.T) {
	seen := make(chan http.Header, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()
	cfg := filepath.Join(t.TempDir(), "strangler.yaml")
	conf := fmt.Sprintf("listen: 127.0.0.1:0\nlegacy: {url: %q}\nservices:\n  svc: {url: %q}\n"+
		"routes:\n  - {name: items, match: {path: \"/items/{id:[0-9]+}\", methods: [GET]}, service: svc, stage: legacy}\n",
		backend.URL, backend.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path, route string
		featured          bool
	}{
		{name: "minimal", path: "/items/7"},
		{name: "featured, a route", path: "/items/7", route: "items", featured: true},
		{name: "featured, no route", path: "/other", featured: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(t, backend.URL)
			handler := minimal(client)
			var logs testutil.SyncBuffer
			var f *featured
			if tt.featured {
				var closeFn func()
				var err error
				f, closeFn, err = newFeatured(cfg, client, zerolog.New(&logs))
				if err != nil {
					t.Fatal(err)
				}
				defer closeFn()
				handler = f.serve
			}
			resp, body := get(t, serveFloor(t, handler)+tt.path)
			if resp.StatusCode != http.StatusOK || body != `{"ok":true}` {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			up := <-seen
			if up.Get("X-Forwarded-For") != "127.0.0.1" {
				t.Errorf("X-Forwarded-For upstream = %q", up.Get("X-Forwarded-For"))
			}
			if !tt.featured {
				return
			}
			id := resp.Header.Get(proxy.RequestIDHeader)
			if len(id) != 16 || up.Get(proxy.RequestIDHeader) != id {
				t.Errorf("request id: answer %q, upstream %q", id, up.Get(proxy.RequestIDHeader))
			}
			if line := logs.String(); !strings.Contains(line, `"route":"`+tt.route+`"`) || !strings.Contains(line, `"status":200`) ||
				!strings.Contains(line, `"request_id":"`+id+`"`) {
				t.Errorf("access line %q", line)
			}
			route := tt.route
			if route == "" {
				route = metrics.Unmatched
			}
			if n := f.reg.Snapshot(route).Legacy.Requests; n != 1 {
				t.Errorf("route %s counted %d requests, want 1", route, n)
			}
		})
	}
}

func TestFloorBadGateway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	resp, body := get(t, serveFloor(t, minimal(newClient(t, dead)))+"/x")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "bad gateway") {
		t.Fatalf("got %d %q, want a 502", resp.StatusCode, body)
	}
}
