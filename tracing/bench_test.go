package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
)

// nopWriter is a ResponseWriter that keeps nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkTracingOverhead isolates what tracing adds to one request:
// the server span, one client span with traceparent injection and the
// end of both, around an upstream handler that answers at once, at 1 %
// and 100 % sampling. The spans are exported to a local endpoint that
// discards them. Without network noise, this is the CPU per request that
// tracing costs (off, none of it runs).
func BenchmarkTracingOverhead(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.Cleanup(sink.Close)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tc := range []struct {
		name  string
		ratio float64
	}{{"sampled-1pct", 0.01}, {"sampled-100pct", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			tr := newBenchTracer(b, sink.URL, tc.ratio)
			client := tr.Client(upstream, Upstream{Name: "legacy", Host: "127.0.0.1:8081"})
			req := httptest.NewRequest(http.MethodGet, "/api/orders/1", nil)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				req.Header.Del("Traceparent")
				r, span := tr.StartServer(req)
				client.ServeHTTP(w, r)
				EndServer(span, Served{Route: "orders", Stage: "canary", Side: "legacy", Status: 200}, r.Method)
			}
		})
	}
}

func newBenchTracer(b *testing.B, endpoint string, ratio float64) *Tracer {
	cfg := config.Tracing{Enabled: true, Endpoint: endpoint, Protocol: config.TracingHTTP, SampleRatio: &ratio,
		ServiceName: "bench", QueueSize: config.DefaultTracingQueue, BatchSize: config.DefaultTracingBatch}
	tr, err := New(context.Background(), cfg, zerolog.New(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}
