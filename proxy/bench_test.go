package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/shadow"
	"github.com/stranglerfig/strangler/tracing"
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
// At stage canary half of the users go to the service.
func benchRoutes(stage string) []config.Route {
	routes := make([]config.Route, 100)
	for i := range routes {
		routes[i] = config.Route{
			Name:    fmt.Sprintf("fn-%d", i),
			Match:   config.Match{Path: fmt.Sprintf("/api/fn%d/{id:[0-9]+}", i), Methods: []string{"GET"}},
			Service: "orders", Stage: stage,
		}
		if stage == "canary" {
			routes[i].Percent = 50
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
	for _, tc := range []struct{ name, stage, client string }{
		{"strangler-legacy", "legacy", config.ClientLean},
		{"strangler-canary", "canary", config.ClientLean},
		{"strangler-migrated", "migrated", config.ClientLean},
		{"strangler-legacy-standard-client", "legacy", config.ClientStandard},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := baseConfig(backend.URL, backend.URL, benchRoutes(tc.stage)...)
			cfg.Legacy.Client = tc.client
			for name, s := range cfg.Services {
				s.Client = tc.client
				cfg.Services[name] = s
			}
			cfg.SetDefaults()
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

// BenchmarkShadowPrimary measures the primary path of a route in stage
// shadow (capture + offer; the copies run on the workers) beside the same
// route in stage legacy, against the same real backends.
func BenchmarkShadowPrimary(b *testing.B) {
	backend := benchBackend(b)
	for _, tc := range []struct {
		name   string
		stage  string
		shadow bool
	}{{"shadow-off", "legacy", false}, {"shadow-on", "shadow", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := baseConfig(backend.URL, backend.URL, benchRoutes(tc.stage)...)
			cfg.SetDefaults()
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			opts := Options{Log: zerolog.New(io.Discard), Metrics: metrics.New()}
			if tc.shadow {
				store, err := report.New(report.Options{})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { store.Run(ctx); close(done) }()
				disp := shadow.New(shadow.Options{Workers: 8, Queue: 1024, Sink: store, Observer: opts.Metrics})
				disp.Start()
				b.Cleanup(func() {
					sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
					disp.Stop(sctx)
					scancel()
					cancel()
					<-done
				})
				opts.Shadow = disp
			}
			p, err := New(cfg, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			serveLoop(b, p.Handler(), "/api/fn99/42")
		})
	}
}

// BenchmarkPrimaryLatencySlowShadow reports the client-observed p50/p99
// of primary requests through a real server with shadowing off, and with
// every request mirrored to a candidate that takes 2 s to answer.
func BenchmarkPrimaryLatencySlowShadow(b *testing.B) {
	backend := benchBackend(b)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(slow.Close)
	for _, tc := range []struct {
		name, stage string
	}{{"shadow-off", "legacy"}, {"shadow-on-slow-candidate", "shadow"}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := baseConfig(backend.URL, slow.URL, benchRoutes(tc.stage)...)
			cfg.SetDefaults()
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			disp := shadow.New(shadow.Options{Workers: 8, Queue: 1024})
			disp.Start()
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				disp.Stop(ctx)
				cancel()
			})
			p, err := New(cfg, Options{Log: zerolog.New(io.Discard), Metrics: metrics.New(), Shadow: disp})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			srv := httptest.NewServer(p.Handler())
			b.Cleanup(srv.Close)
			client := &http.Client{}
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				resp, err := client.Get(srv.URL + "/api/fn99/42")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkTracing measures the full handler at stage legacy with
// tracing off, and on at 1 % and 100 % sampling, exporting over OTLP/HTTP
// to a local endpoint that reads and discards what it gets (a collector
// elsewhere), side by side.
func BenchmarkTracing(b *testing.B) {
	backend := benchBackend(b)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(sink.Close)
	for _, tc := range []struct {
		name  string
		ratio float64 // < 0: tracing off
	}{{"off", -1}, {"sampled-1pct", 0.01}, {"sampled-100pct", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := baseConfig(backend.URL, backend.URL, benchRoutes("legacy")...)
			cfg.SetDefaults()
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			opts := Options{Log: zerolog.New(io.Discard), Metrics: metrics.New()}
			if tc.ratio >= 0 {
				opts.Tracer = benchTracer(b, sink.URL, tc.ratio)
			}
			p, err := New(cfg, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			serveLoop(b, p.Handler(), "/api/fn99/42")
		})
	}
}

// benchTracer exports to endpoint at ratio with the config's default
// queue bounds.
func benchTracer(b *testing.B, endpoint string, ratio float64) *tracing.Tracer {
	cfg := config.Tracing{Enabled: true, Endpoint: endpoint, Protocol: config.TracingHTTP, SampleRatio: &ratio,
		ServiceName: "strangler-bench", QueueSize: config.DefaultTracingQueue, BatchSize: config.DefaultTracingBatch}
	tr, err := tracing.New(context.Background(), cfg, zerolog.New(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tr.Shutdown(ctx)
	})
	return tr
}
