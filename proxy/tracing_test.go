package proxy

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/shadow"
	"github.com/stranglerfig/strangler/tracing"
	"github.com/stranglerfig/strangler/tracing/tracingtest"
)

// newTestTracer exports over OTLP/HTTP to recv at ratio.
func newTestTracer(t testing.TB, recv *tracingtest.Receiver, ratio float64) *tracing.Tracer {
	t.Helper()
	cfg := config.Tracing{Enabled: true, Endpoint: recv.URL, Protocol: config.TracingHTTP, SampleRatio: &ratio,
		ServiceName: "strangler-test", QueueSize: 4096, BatchSize: 512}
	tr, err := tracing.New(context.Background(), cfg, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tr.Shutdown(ctx)
	})
	return tr
}

// parentRecorder is a backend that keeps the traceparent of each request
// it gets, copies (X-Strangler-Shadow) apart from primaries.
type parentRecorder struct {
	*httptest.Server
	mu              sync.Mutex
	primary, copies []string
}

func newParentRecorder(t *testing.T, body string, status int) *parentRecorder {
	b := &parentRecorder{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		if r.Header.Get("X-Strangler-Shadow") != "" {
			b.copies = append(b.copies, r.Header.Get("Traceparent"))
		} else {
			b.primary = append(b.primary, r.Header.Get("Traceparent"))
		}
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *parentRecorder) seen() (primary, copies []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.primary...), append([]string(nil), b.copies...)
}

// spanID is the parent-id field of a traceparent.
func spanIDOf(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 {
		return ""
	}
	return parts[2]
}

// byKind returns the received spans of one kind.
func byKind(spans []tracingtest.Span, kind tracepb.Span_SpanKind) []tracingtest.Span {
	var out []tracingtest.Span
	for _, s := range spans {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

// TestTracingShadowedRequest: one shadowed request gives, at a real
// OTLP/HTTP endpoint, its server span, the upstream client span (whose
// traceparent the monolith saw) and the copy's own span in the same
// trace, linked to the server span and not its child, carrying the
// verdict; the record keeps the trace id. An inbound traceparent is
// continued.
func TestTracingShadowedRequest(t *testing.T) {
	const inboundTrace, inboundSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		name        string
		traceparent string
	}{
		{"new trace", ""},
		{"inbound trace continued", "00-" + inboundTrace + "-" + inboundSpan + "-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recv := tracingtest.NewReceiver(t)
			legacy := newParentRecorder(t, `{"id":7,"name":"widget","price":12.5}`, 200)
			service := newParentRecorder(t, `{"id":7,"name":"gadget","price":13}`, 200)
			tr := newTestTracer(t, recv, 1)
			rig := startShadowRig(t, baseConfig(legacy.URL, service.URL, shadowRoute(nil)), shadow.Options{Tracer: tr})
			req, _ := http.NewRequest(http.MethodGet, rig.url+"/api/items/7", nil)
			if tc.traceparent != "" {
				req.Header.Set("Traceparent", tc.traceparent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			rig.settle(t)
			// The server span ends when the handler returns, which is
			// after the client has the whole answer (it is sent before the
			// copy is offered): wait for it rather than race it.
			testutil.Eventually(t, "the server span exported", func() bool {
				flush(t, tr)
				return len(byKind(recv.Spans(), tracepb.Span_SPAN_KIND_SERVER)) > 0
			})

			spans := recv.Spans()
			servers, clients, internals := byKind(spans, tracepb.Span_SPAN_KIND_SERVER),
				byKind(spans, tracepb.Span_SPAN_KIND_CLIENT), byKind(spans, tracepb.Span_SPAN_KIND_INTERNAL)
			if len(servers) != 1 || len(clients) != 1 || len(internals) != 1 {
				t.Fatalf("got %d server, %d client, %d internal spans; want 1 each: %v", len(servers), len(clients), len(internals), spans)
			}
			srv, cl, sh := servers[0], clients[0], internals[0]
			checkServerSpan(t, srv, tc.traceparent != "", inboundTrace, inboundSpan)
			if cl.TraceID() != srv.TraceID() || cl.ParentID() != srv.SpanID() || cl.Attr("strangler.upstream") != "legacy" {
				t.Errorf("client span trace %s parent %s upstream %q; want trace %s parent %s upstream legacy",
					cl.TraceID(), cl.ParentID(), cl.Attr("strangler.upstream"), srv.TraceID(), srv.SpanID())
			}
			primary, copies := legacy.seen()
			if len(primary) != 1 || spanIDOf(primary[0]) != cl.SpanID() || !strings.Contains(primary[0], srv.TraceID()) {
				t.Errorf("monolith saw traceparent %q; want the client span %s of trace %s", primary, cl.SpanID(), srv.TraceID())
			}
			checkShadowSpan(t, sh, srv, tc.traceparent != "", inboundSpan)
			if _, svcCopies := service.seen(); len(svcCopies) != 1 || spanIDOf(svcCopies[0]) != sh.SpanID() {
				t.Errorf("service's copy carried traceparent %q; want the shadow span %s (copies to legacy: %q)", svcCopies, sh.SpanID(), copies)
			}
			recs := rig.store.Recent("", 10)
			if len(recs) != 1 {
				t.Fatalf("%d records stored, want 1", len(recs))
			}
			if rec, _ := rig.store.Get(recs[0].ID); rec.TraceID != srv.TraceID() {
				t.Errorf("record trace id %q, want %q", rec.TraceID, srv.TraceID())
			}
			if logs := rig.logs.String(); !strings.Contains(logs, `"trace_id":"`+srv.TraceID()+`"`) {
				t.Errorf("access log lacks the trace id %s:\n%s", srv.TraceID(), logs)
			}
		})
	}
}

func checkServerSpan(t *testing.T, srv tracingtest.Span, inbound bool, inboundTrace, inboundSpan string) {
	t.Helper()
	if inbound && (srv.TraceID() != inboundTrace || srv.ParentID() != inboundSpan) {
		t.Errorf("server span trace %s parent %s; want the inbound %s, %s", srv.TraceID(), srv.ParentID(), inboundTrace, inboundSpan)
	}
	if !inbound && srv.ParentID() != "" {
		t.Errorf("server span has parent %s without an inbound traceparent", srv.ParentID())
	}
	want := map[string]string{"strangler.route": "items", "strangler.stage": "shadow", "strangler.side": "legacy",
		"http.request.method": "GET", "http.response.status_code": "200", "url.path": "/api/items/7"}
	for k, v := range want {
		if got := srv.Attr(k); got != v {
			t.Errorf("server span %s = %q, want %q", k, got, v)
		}
	}
	if srv.Name != "GET items" || srv.Service != "strangler-test" {
		t.Errorf("server span name %q of service %q", srv.Name, srv.Service)
	}
}

func checkShadowSpan(t *testing.T, sh, srv tracingtest.Span, inbound bool, inboundSpan string) {
	t.Helper()
	if sh.TraceID() != srv.TraceID() {
		t.Errorf("shadow span in trace %s, want the request's %s", sh.TraceID(), srv.TraceID())
	}
	if sh.ParentID() == srv.SpanID() {
		t.Errorf("shadow span is a child of the server span; want a linked sibling")
	}
	if wantParent := map[bool]string{true: inboundSpan, false: ""}[inbound]; sh.ParentID() != wantParent {
		t.Errorf("shadow span parent %q, want %q", sh.ParentID(), wantParent)
	}
	if len(sh.Links) != 1 || tracingtest.Hex(sh.Links[0].SpanId) != srv.SpanID() || tracingtest.Hex(sh.Links[0].TraceId) != srv.TraceID() {
		t.Errorf("shadow span links %v, want one to the server span %s", sh.Links, srv.SpanID())
	}
	if sh.Attr("strangler.shadow.verdict") != "different" || sh.Attr("strangler.shadow.differences") != "2" {
		t.Errorf("shadow span verdict %q, differences %q; want different, 2",
			sh.Attr("strangler.shadow.verdict"), sh.Attr("strangler.shadow.differences"))
	}
}

func flush(t testing.TB, tr *tracing.Tracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestTracingFallbackAttempts: the service failing and the monolith
// answering in its place are two client spans of one server span, the
// second marked as attempt 2 (resend count 1).
func TestTracingFallbackAttempts(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	legacy := newParentRecorder(t, `{"ok":true}`, 200)
	service := newParentRecorder(t, `{"error":"down"}`, 503)
	tr := newTestTracer(t, recv, 1)
	route := config.Route{Name: "items", Match: config.Match{Prefix: "/api/"}, Service: "orders", Stage: "migrated",
		Fallback: true}
	p, err := New(mustValid(t, baseConfig(legacy.URL, service.URL, route)), Options{Log: zerolog.New(io.Discard), Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/items/1", nil))
	if w.Code != 200 {
		t.Fatalf("status %d, want the monolith's 200", w.Code)
	}
	flush(t, tr)
	spans := recv.Spans()
	servers, clients := byKind(spans, tracepb.Span_SPAN_KIND_SERVER), byKind(spans, tracepb.Span_SPAN_KIND_CLIENT)
	if len(servers) != 1 || len(clients) != 2 {
		t.Fatalf("got %d server and %d client spans, want 1 and 2", len(servers), len(clients))
	}
	want := map[string][2]string{"orders": {"1", "503"}, "legacy": {"2", "200"}}
	for _, c := range clients {
		w, ok := want[c.Attr("strangler.upstream")]
		if !ok || c.Attr("strangler.attempt") != w[0] || c.Attr("http.response.status_code") != w[1] || c.ParentID() != servers[0].SpanID() {
			t.Errorf("client span upstream %q attempt %q status %q parent %s", c.Attr("strangler.upstream"),
				c.Attr("strangler.attempt"), c.Attr("http.response.status_code"), c.ParentID())
		}
	}
	if got := servers[0].Attr("strangler.fallback"); got == "" {
		t.Errorf("server span has no strangler.fallback attribute")
	}
	svcSeen, _ := service.seen()
	legacySeen, _ := legacy.seen()
	if len(svcSeen) != 1 || len(legacySeen) != 1 || spanIDOf(svcSeen[0]) == spanIDOf(legacySeen[0]) {
		t.Errorf("service saw %q, monolith %q: want one traceparent each, of different spans", svcSeen, legacySeen)
	}
}

// TestRestartNeededTracing: the tracer is built at start, so a reload
// that changes the tracing block says a restart is needed.
func TestRestartNeededTracing(t *testing.T) {
	half := 0.5
	tests := []struct {
		name   string
		change func(*config.Tracing)
		want   bool
	}{
		{"unchanged", func(*config.Tracing) {}, false},
		{"switched on", func(tr *config.Tracing) { tr.Enabled = true }, true},
		{"ratio", func(tr *config.Tracing) { tr.SampleRatio = &half }, true},
		{"header", func(tr *config.Tracing) { tr.HeadersEnv = map[string]string{"x-key": "KEY"} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			started := mustValid(t, baseConfig("http://127.0.0.1:1", "http://127.0.0.1:2"))
			now := mustValid(t, baseConfig("http://127.0.0.1:1", "http://127.0.0.1:2"))
			tc.change(&now.Tracing)
			got := slices.Contains(restartNeeded(started, now), "tracing")
			if got != tc.want {
				t.Errorf("restart needed for tracing = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTracingKeepsUpgradesAndStreams: the client span's writer unwraps,
// so a WebSocket upgrade and a flushed event stream pass through a
// traced proxy as through an untraced one, and the upgrade's span
// records 101.
func TestTracingKeepsUpgradesAndStreams(t *testing.T) {
	upgrader := websocket.Upgrader{}
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			select { // hold the stream open until the client has the event
			case <-release:
			case <-time.After(10 * time.Second):
			}
			return
		}
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		mt, msg, err := c.ReadMessage()
		if err == nil {
			_ = c.WriteMessage(mt, append([]byte("echo:"), msg...))
		}
	}))
	defer backend.Close()
	recv := tracingtest.NewReceiver(t)
	tr := newTestTracer(t, recv, 1)
	route := config.Route{Name: "live", Match: config.Match{Prefix: "/"}, Service: "orders", Stage: "migrated"}
	p, err := New(mustValid(t, baseConfig(backend.URL, backend.URL, route)), Options{Log: zerolog.New(io.Discard), Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	defer func() { srv.Close(); p.Close() }()

	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("WebSocket through a traced proxy: %v", err)
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte("hi"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "echo:hi" {
		t.Errorf("WebSocket echo %q, %v", got, err)
	}
	c.Close()

	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	close(release)
	resp.Body.Close()
	if err != nil || line != "data: first\n" {
		t.Errorf("first event %q, %v: the stream was held back", line, err)
	}
	testutil.Eventually(t, "both client spans exported", func() bool {
		flush(t, tr)
		return len(byKind(recv.Spans(), tracepb.Span_SPAN_KIND_CLIENT)) >= 2
	})
	statuses := map[string]bool{}
	for _, s := range byKind(recv.Spans(), tracepb.Span_SPAN_KIND_CLIENT) {
		statuses[s.Attr("http.response.status_code")] = true
	}
	if !statuses["101"] || !statuses["200"] {
		t.Errorf("client span statuses %v, want 101 (upgrade) and 200 (stream)", statuses)
	}
}
