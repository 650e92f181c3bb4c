package tracing

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/tracing/tracingtest"
)

func ratio(r float64) *float64 { return &r }

// newTracer sets up tracing to endpoint with the config's defaults.
func newTracer(t *testing.T, cfg config.Tracing) *Tracer {
	t.Helper()
	cfg.Enabled = true
	if cfg.QueueSize == 0 {
		cfg.QueueSize, cfg.BatchSize = 64, 16
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "strangler-test"
	}
	tr, err := New(context.Background(), cfg, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

func flushed(t *testing.T, tr *Tracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		name, cfg, tracesEnv, env, want, err string
	}{
		{name: "default http", want: "http"},
		{name: "config wins", cfg: "grpc", env: "http/protobuf", want: "grpc"},
		{name: "traces variable", tracesEnv: "grpc", env: "http/protobuf", want: "grpc"},
		{name: "general variable", env: "http/protobuf", want: "http"},
		{name: "json refused", env: "http/json", err: "OTEL_EXPORTER_OTLP_PROTOCOL=\"http/json\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", tc.tracesEnv)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.env)
			got, err := Protocol(config.Tracing{Protocol: tc.cfg})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Protocol = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestTracesURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://collector:4318", "http://collector:4318/v1/traces"},
		{"https://collector:4318/", "https://collector:4318/v1/traces"},
		{"https://otlp.example/api/v2/spans", "https://otlp.example/api/v2/spans"},
	}
	for _, tc := range tests {
		if got := tracesURL(tc.in); got != tc.want {
			t.Errorf("tracesURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSetupErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  config.Tracing
		want string
	}{
		{"unset header variable", config.Tracing{HeadersEnv: map[string]string{"x-api-key": "STRANGLER_TEST_UNSET_KEY"}},
			"tracing.headers_env.x-api-key: environment variable STRANGLER_TEST_UNSET_KEY is unset"},
		{"missing CA", config.Tracing{TLS: config.TLSFiles{CA: filepath.Join(dir, "none.pem")}}, "tracing.tls.ca"},
		{"CA without PEM", config.Tracing{TLS: config.TLSFiles{CA: notPEM}}, "no PEM certificate in " + notPEM},
		{"missing key pair", config.Tracing{TLS: config.TLSFiles{Cert: notPEM, Key: notPEM}}, "tracing.tls.cert"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Enabled, tc.cfg.QueueSize, tc.cfg.BatchSize = true, 8, 8
			tr, err := New(context.Background(), tc.cfg, zerolog.New(io.Discard))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", tr, err, tc.want)
			}
		})
	}
}

func TestOffIsNil(t *testing.T) {
	tr, err := New(context.Background(), config.Tracing{}, zerolog.New(io.Discard))
	if tr != nil || err != nil {
		t.Fatalf("New(off) = %v, %v; want nil, nil", tr, err)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("nil Shutdown: %v", err)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Errorf("nil Flush: %v", err)
	}
}

// traceService is a real OTLP/gRPC trace endpoint.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names []string
}

func (s *traceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s.names = append(s.names, sp.Name)
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// TestExportGRPC: protocol grpc to a host:port endpoint in plain text
// delivers the server span to a real gRPC TraceService.
func TestExportGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &traceService{}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, svc)
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	tr := newTracer(t, config.Tracing{Protocol: config.TracingGRPC, Endpoint: ln.Addr().String(), Insecure: true,
		SampleRatio: ratio(1), Timeout: 5 * time.Second})
	r, span := tr.StartServer(httptest.NewRequest(http.MethodGet, "/grpc", nil))
	EndServer(span, Served{Route: "r1", Stage: "legacy", Side: "legacy", Status: 200}, r.Method)
	flushed(t, tr)
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if len(svc.names) != 1 || svc.names[0] != "GET r1" {
		t.Errorf("gRPC endpoint got spans %q, want [GET r1]", svc.names)
	}
}

// TestExportHTTPHeadersFromEnv: headers_env values reach the collector.
func TestExportHTTPHeadersFromEnv(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	var mu sync.Mutex
	var got string
	inner := recv.Config.Handler
	recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Get("X-Api-Key")
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	t.Setenv("STRANGLER_TEST_OTLP_KEY", "s3cret")
	tr := newTracer(t, config.Tracing{Endpoint: recv.URL, SampleRatio: ratio(1),
		HeadersEnv: map[string]string{"x-api-key": "STRANGLER_TEST_OTLP_KEY"}})
	_, span := tr.StartServer(httptest.NewRequest(http.MethodGet, "/h", nil))
	EndServer(span, Served{Status: 204}, http.MethodGet)
	flushed(t, tr)
	mu.Lock()
	defer mu.Unlock()
	if got != "s3cret" || len(recv.Spans()) != 1 {
		t.Errorf("collector saw X-Api-Key %q and %d spans; want s3cret and 1", got, len(recv.Spans()))
	}
}

// TestSampling: ratio 0 keeps no new trace and gives its copy no span,
// but follows an inbound sampled traceparent (parent-based).
func TestSampling(t *testing.T) {
	tests := []struct {
		name, traceparent string
		sampled           bool
	}{
		{"new trace dropped", "", false},
		{"sampled parent followed", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{"unsampled parent followed", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recv := tracingtest.NewReceiver(t)
			tr := newTracer(t, config.Tracing{Endpoint: recv.URL, SampleRatio: ratio(0)})
			in := httptest.NewRequest(http.MethodGet, "/s", nil)
			if tc.traceparent != "" {
				in.Header.Set("Traceparent", tc.traceparent)
			}
			r, span := tr.StartServer(in)
			if TraceID(r.Context()) == "" {
				t.Errorf("no trace id in the request's context: logs could not carry one")
			}
			_, shadow, ok := tr.StartShadow(LinkOf(r.Context()), "r", "service")
			if ok {
				EndShadow(shadow, "equal", 0, "")
			}
			EndServer(span, Served{Status: 200}, r.Method)
			flushed(t, tr)
			want := 0
			if tc.sampled {
				want = 2
			}
			if ok != tc.sampled || len(recv.Spans()) != want {
				t.Errorf("shadow span started %v, %d spans exported; want %v, %d", ok, len(recv.Spans()), tc.sampled, want)
			}
		})
	}
}
