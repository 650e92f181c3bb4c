// Package tracing sets up OpenTelemetry tracing for strangler: the SDK's
// tracer provider with a parent-based ratio sampler, W3C trace context
// propagation and an OTLP exporter (gRPC or HTTP) behind a batch span
// processor, so the request path never waits on the collector.
//
// A nil *Tracer is tracing switched off: callers keep a nil pointer and
// test it before doing anything, which costs no allocation.
package tracing

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"

	"github.com/stranglerfig/strangler/config"
)

// instrumentation names strangler's tracer (the instrumentation scope).
const instrumentation = "github.com/stranglerfig/strangler"

// BatchTimeout is the longest a finished span waits in the batch
// processor's queue before it is exported.
const BatchTimeout = 2 * time.Second

// Tracer makes strangler's spans. nil means tracing is off.
type Tracer struct {
	counts   *counter
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// New sets up tracing as cfg says, or returns nil, nil when cfg is off.
// Nothing is dialed here: the exporter connects on its first export.
func New(ctx context.Context, cfg config.Tracing, log zerolog.Logger) (*Tracer, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	exp, err := newExporter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("tracing resource for service %q: %w", cfg.ServiceName, err)
	}
	counts := &counter{}
	bsp := countingProcessor{SpanProcessor: sdktrace.NewBatchSpanProcessor(countingExporter{exp, counts},
		sdktrace.WithMaxQueueSize(cfg.QueueSize), sdktrace.WithMaxExportBatchSize(cfg.BatchSize),
		sdktrace.WithBatchTimeout(BatchTimeout)), c: counts}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.Ratio()))),
		sdktrace.WithSpanProcessor(bsp), sdktrace.WithResource(res), sdktrace.WithIDGenerator(idGenerator{}))
	warn := log.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		warn.Warn().Err(err).Msg("tracing: export failed")
	}))
	return &Tracer{counts: counts, provider: tp, tracer: tp.Tracer(instrumentation)}, nil
}

// Shutdown exports the spans still queued, until ctx is done, and stops
// the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing shutdown: %w", err)
	}
	return nil
}

// Flush exports the spans finished so far, until ctx is done.
func (t *Tracer) Flush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.provider.ForceFlush(ctx); err != nil {
		return fmt.Errorf("tracing flush: %w", err)
	}
	return nil
}

// Protocol returns the OTLP protocol cfg uses: its own, else the
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL
// variable ("grpc" or "http/protobuf"), else http.
func Protocol(cfg config.Tracing) (string, error) {
	if cfg.Protocol != "" {
		return cfg.Protocol, nil
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		switch v := os.Getenv(name); v {
		case "":
			continue
		case "grpc":
			return config.TracingGRPC, nil
		case "http/protobuf":
			return config.TracingHTTP, nil
		default:
			return "", fmt.Errorf("%s=%q: strangler exports grpc or http/protobuf", name, v)
		}
	}
	return config.TracingHTTP, nil
}

// newExporter builds the OTLP exporter. Only what cfg sets is passed as
// an option: the rest comes from the OTEL_EXPORTER_OTLP_* variables,
// which the exporters read themselves.
func newExporter(ctx context.Context, cfg config.Tracing) (sdktrace.SpanExporter, error) {
	proto, err := Protocol(cfg)
	if err != nil {
		return nil, err
	}
	headers, err := envHeaders(cfg.HeadersEnv)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := tlsConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	if proto == config.TracingGRPC {
		exp, err = otlptracegrpc.New(ctx, grpcOptions(cfg, headers, tlsCfg)...)
	} else {
		exp, err = otlptracehttp.New(ctx, httpOptions(cfg, headers, tlsCfg)...)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing exporter (%s, endpoint %q): %w", proto, cfg.Endpoint, err)
	}
	return exp, nil
}

// hasScheme reports whether an endpoint is a URL rather than host:port.
func hasScheme(ep string) bool {
	for i := 0; i < len(ep); i++ {
		if ep[i] == ':' {
			return i+2 < len(ep) && ep[i+1] == '/' && ep[i+2] == '/'
		}
	}
	return false
}

func httpOptions(cfg config.Tracing, headers map[string]string, tlsCfg *tls.Config) []otlptracehttp.Option {
	var o []otlptracehttp.Option
	switch {
	case cfg.Endpoint != "" && hasScheme(cfg.Endpoint):
		o = append(o, otlptracehttp.WithEndpointURL(tracesURL(cfg.Endpoint)))
	case cfg.Endpoint != "":
		o = append(o, otlptracehttp.WithEndpoint(cfg.Endpoint))
	}
	if cfg.Insecure {
		o = append(o, otlptracehttp.WithInsecure())
	}
	if len(headers) > 0 {
		o = append(o, otlptracehttp.WithHeaders(headers))
	}
	if tlsCfg != nil {
		o = append(o, otlptracehttp.WithTLSClientConfig(tlsCfg))
	}
	if cfg.Timeout > 0 {
		o = append(o, otlptracehttp.WithTimeout(cfg.Timeout))
	}
	return o
}

// tracesURL is the OTLP/HTTP traces URL of an endpoint URL: one without
// a path gets /v1/traces, as OTEL_EXPORTER_OTLP_ENDPOINT does; a path is
// kept as given.
func tracesURL(ep string) string {
	u, err := url.Parse(ep)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return ep
	}
	u.Path = "/v1/traces"
	return u.String()
}

func grpcOptions(cfg config.Tracing, headers map[string]string, tlsCfg *tls.Config) []otlptracegrpc.Option {
	var o []otlptracegrpc.Option
	switch {
	case cfg.Endpoint != "" && hasScheme(cfg.Endpoint):
		o = append(o, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
	case cfg.Endpoint != "":
		o = append(o, otlptracegrpc.WithEndpoint(cfg.Endpoint))
	}
	if cfg.Insecure {
		o = append(o, otlptracegrpc.WithInsecure())
	}
	if len(headers) > 0 {
		o = append(o, otlptracegrpc.WithHeaders(headers))
	}
	if tlsCfg != nil {
		o = append(o, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
	}
	if cfg.Timeout > 0 {
		o = append(o, otlptracegrpc.WithTimeout(cfg.Timeout))
	}
	return o
}

// envHeaders reads the collector's headers from the environment: header
// name -> variable name. An unset or empty variable is an error, so a
// missing API key shows at start, not as refused exports.
func envHeaders(names map[string]string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(names))
	var errs []error
	for header, env := range names {
		v := os.Getenv(env)
		if v == "" {
			errs = append(errs, fmt.Errorf("tracing.headers_env.%s: environment variable %s is unset or empty", header, env))
			continue
		}
		out[http.CanonicalHeaderKey(header)] = v
	}
	return out, errors.Join(errs...)
}

// tlsConfig loads the CA and the client key pair; nil when none is set.
func tlsConfig(files config.TLSFiles) (*tls.Config, error) {
	if files == (config.TLSFiles{}) {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if files.CA != "" {
		pem, err := os.ReadFile(files.CA)
		if err != nil {
			return nil, fmt.Errorf("tracing.tls.ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tracing.tls.ca: no PEM certificate in %s", files.CA)
		}
	}
	if files.Cert != "" {
		pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
		if err != nil {
			return nil, fmt.Errorf("tracing.tls.cert %s and key %s: %w", files.Cert, files.Key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// rootTraceKey carries, in a context, the trace id a new root span must
// take (the shadow copy's span joins its request's trace without being
// its child).
type rootTraceKey struct{}

// idGenerator makes random ids, except that a root span started with a
// rootTraceKey in its context takes that trace id.
type idGenerator struct{}

// NewIDs returns the trace and span ids of a new root span.
func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(rootTraceKey{}).(trace.TraceID)
	for !ok || !tid.IsValid() {
		tid = randomTraceID()
		ok = true
	}
	return tid, randomSpanID()
}

// NewSpanID returns the id of a new span in trace tid.
func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return randomSpanID() }

func randomTraceID() trace.TraceID {
	var t trace.TraceID
	for !t.IsValid() {
		putUint64(t[:8], rand.Uint64())
		putUint64(t[8:], rand.Uint64())
	}
	return t
}

func randomSpanID() trace.SpanID {
	var s trace.SpanID
	for !s.IsValid() {
		putUint64(s[:], rand.Uint64())
	}
	return s
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}
