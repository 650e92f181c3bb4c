package tracing

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/stranglerfig/strangler/exchange"
)

// Attribute keys of strangler's own span attributes.
const (
	AttrRoute       = attribute.Key("strangler.route")
	AttrStage       = attribute.Key("strangler.stage")
	AttrSide        = attribute.Key("strangler.side") // legacy or service: who served
	AttrService     = attribute.Key("strangler.service")
	AttrFallback    = attribute.Key("strangler.fallback")
	AttrUpstream    = attribute.Key("strangler.upstream")
	AttrAttempt     = attribute.Key("strangler.attempt")
	AttrVerdict     = attribute.Key("strangler.shadow.verdict")
	AttrDifferences = attribute.Key("strangler.shadow.differences")
	AttrTarget      = attribute.Key("strangler.shadow.target")
	AttrFailure     = attribute.Key("strangler.shadow.failure")
)

// requestState is what the upstream attempts of one request share.
type requestState struct{ attempts atomic.Int32 }

type stateKey struct{}

// StartServer continues the trace of r's traceparent, or starts one, and
// starts the request's server span. The returned request carries the
// span in its context; end the span with EndServer.
func (t *Tracer) StartServer(r *http.Request) (*http.Request, trace.Span) {
	ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
	if span.IsRecording() { // the sampler reads no attributes: an unsampled span gets none
		span.SetAttributes(serverAttrs(r)...)
		ctx = context.WithValue(ctx, stateKey{}, &requestState{})
	}
	return r.WithContext(ctx), span
}

// serverAttrs are the stable HTTP server attributes of r. The query is
// left out, as in the access log: queries often carry secrets.
func serverAttrs(r *http.Request) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{methodAttr(r.Method), semconv.URLPath(r.URL.Path), semconv.URLScheme(scheme),
		semconv.NetworkProtocolVersion(protoVersion(r))}
	if host, port := splitHostPort(r.Host); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if host, _ := splitHostPort(r.RemoteAddr); host != "" {
		attrs = append(attrs, semconv.ClientAddress(host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	return attrs
}

// Served is what the access log knows of a request when it ends.
type Served struct {
	Route, Stage string
	Side         string // legacy or service
	Service      string
	Fallback     string
	Status       int
	Aborted      bool
}

// EndServer names the server span after the route, records how the
// request was served and ends the span.
func EndServer(span trace.Span, s Served, method string) {
	if !span.IsRecording() {
		span.End()
		return
	}
	if s.Route != "" {
		span.SetName(method + " " + s.Route)
		span.SetAttributes(AttrRoute.String(s.Route), AttrStage.String(s.Stage))
	}
	span.SetAttributes(AttrSide.String(s.Side), semconv.HTTPResponseStatusCode(s.Status))
	if s.Service != "" {
		span.SetAttributes(AttrService.String(s.Service))
	}
	if s.Fallback != "" {
		span.SetAttributes(AttrFallback.String(s.Fallback))
	}
	switch {
	case s.Aborted:
		span.SetAttributes(semconv.ErrorTypeKey.String("aborted"))
		span.SetStatus(codes.Error, "answer aborted")
	case s.Status >= 500:
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(s.Status)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// TraceID returns the trace id of ctx's span as 32 hex digits, or "".
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// Inject writes ctx's span context into h as traceparent and tracestate.
func (t *Tracer) Inject(ctx context.Context, h http.Header) {
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// Upstream describes the target of a client span.
type Upstream struct {
	Name string // "legacy" or the service's name
	Host string // host:port
}

// Client wraps an upstream's handler: every call is one attempt with its
// own client span, whose traceparent the upstream receives. A fallback
// to the monolith after the service failed is a second attempt.
func (t *Tracer) Client(next http.Handler, up Upstream) http.Handler {
	host, port := splitHostPort(up.Host)
	attrs := []attribute.KeyValue{AttrUpstream.String(up.Name), semconv.ServerAddress(host)}
	if port > 0 {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	return &clientHandler{t: t, next: next, attrs: attrs}
}

type clientHandler struct {
	t     *Tracer
	next  http.Handler
	attrs []attribute.KeyValue
}

func (c *clientHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !trace.SpanFromContext(ctx).IsRecording() {
		// Unsampled: its attempts would not be recorded either; the
		// upstream gets the request's own (unsampled) trace context.
		c.t.Inject(ctx, r.Header)
		c.next.ServeHTTP(w, r)
		return
	}
	attempt := 1
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		attempt = int(st.attempts.Add(1))
	}
	ctx, span := c.t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(c.attrs...)
		span.SetAttributes(methodAttr(r.Method), semconv.URLPath(r.URL.Path), AttrAttempt.Int(attempt))
		if attempt > 1 {
			span.SetAttributes(semconv.HTTPRequestResendCount(attempt - 1))
		}
	}
	c.t.Inject(ctx, r.Header)
	// The request's exchange notes the attempt's status as the upstream
	// wrote it, before the guard's hold: no writer of our own.
	x, w := exchange.Ensure(w)
	x.BeginAttempt()
	defer func() {
		endClient(span, x.AttemptStatus())
	}()
	c.next.ServeHTTP(w, r.WithContext(ctx))
}

// endClient records the upstream's status and ends the span; a status 0
// means the attempt was aborted mid-answer.
func endClient(span trace.Span, status int) {
	if status == 0 {
		span.SetAttributes(semconv.ErrorTypeKey.String("aborted"))
		span.SetStatus(codes.Error, "no answer")
	} else {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 400 {
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
}

// Link is the request a shadow copy mirrors: its server span and that
// span's parent (the inbound traceparent), if any.
type Link struct {
	Span, Parent trace.SpanContext
}

// LinkOf returns the Link of the server span in ctx (zero when there is
// none).
func LinkOf(ctx context.Context) Link {
	span := trace.SpanFromContext(ctx)
	l := Link{Span: span.SpanContext()}
	if ro, ok := span.(sdktrace.ReadOnlySpan); ok {
		l.Parent = ro.Parent()
	}
	return l
}

// StartShadow starts the span of a shadow copy: in the request's trace,
// a sibling of the server span (a child of the inbound parent, or a
// second root when the request started the trace), linked to the server
// span. It is never a child of the server span, whose duration it would
// stretch. ok is false, and nothing is started, when the request's span
// was not sampled.
func (t *Tracer) StartShadow(l Link, route, target string) (context.Context, trace.Span, bool) {
	if !l.Span.IsSampled() {
		return nil, nil, false
	}
	ctx := context.Background()
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithLinks(trace.Link{SpanContext: l.Span, Attributes: []attribute.KeyValue{attribute.String("strangler.link", "mirrors")}}),
		trace.WithAttributes(AttrRoute.String(route), AttrTarget.String(target))}
	if l.Parent.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, l.Parent)
	} else {
		ctx = context.WithValue(ctx, rootTraceKey{}, l.Span.TraceID())
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, span := t.tracer.Start(ctx, "shadow "+route, opts...)
	return ctx, span, true
}

// EndShadow records the comparison's verdict and number of differences
// (or the copy's failure) and ends the span.
func EndShadow(span trace.Span, verdict string, differences int, failure string) {
	if failure != "" {
		span.SetAttributes(AttrFailure.String(failure))
		span.SetStatus(codes.Error, "copy failed: "+failure)
	} else {
		span.SetAttributes(AttrVerdict.String(verdict), AttrDifferences.Int(differences))
	}
	span.End()
}

// methodAttr is http.request.method, _OTHER for a method HTTP does not
// define (semantic conventions: keep the attribute's cardinality bounded).
func methodAttr(m string) attribute.KeyValue {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return semconv.HTTPRequestMethodKey.String(m)
	}
	return semconv.HTTPRequestMethodOther
}

// protoVersion is network.protocol.version: "1.1", "2", ...
func protoVersion(r *http.Request) string {
	if r.ProtoMajor >= 2 {
		return strconv.Itoa(r.ProtoMajor)
	}
	return strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)
}

// splitHostPort splits host[:port]; port is 0 when absent or invalid.
func splitHostPort(hp string) (string, int) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}
