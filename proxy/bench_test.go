package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
)

// discardWriter is a minimal ResponseWriter, so the benchmark measures
// the handler and the upstream round trip, not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

const benchBody = `{"id":42,"title":"The Pragmatic Programmer","author":"Hunt & Thomas","price":39.5,"currency":"EUR","tags":["craft","classic"],"stock":12,"updated":"2026-01-01T00:00:00Z"}`

func benchBackend(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchBody)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchRoutes returns 100 routes; the benchmarked path hits the last.
func benchRoutes(stage string) []config.Route {
	routes := make([]config.Route, 100)
	for i := range routes {
		routes[i] = config.Route{
			Name:    fmt.Sprintf("fn-%d", i),
			Match:   config.Match{Path: fmt.Sprintf("/api/fn%d/{id:[0-9]+}", i), Methods: []string{"GET"}},
			Service: "orders", Stage: stage,
		}
	}
	return routes
}

func serveLoop(b *testing.B, h http.Handler, target string) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		req.Header.Del(RequestIDHeader)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkProxy compares a bare httputil.ReverseProxy with strangler's
// full handler (request id, access log to a discarding writer, routing
// over 100 routes) against the same real backend, side by side.
func BenchmarkProxy(b *testing.B) {
	backend := benchBackend(b)
	target, _ := url.Parse(backend.URL)
	b.Run("bare-httputil", func(b *testing.B) {
		bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		}}
		serveLoop(b, bare, "/api/fn99/42")
	})
	for _, stage := range []string{"legacy", "migrated"} {
		b.Run("strangler-"+stage, func(b *testing.B) {
			cfg := baseConfig(backend.URL, backend.URL, benchRoutes(stage)...)
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			p, err := New(cfg, Options{Log: zerolog.New(io.Discard), Metrics: metrics.New()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			serveLoop(b, p.Handler(), "/api/fn99/42")
		})
	}
}
