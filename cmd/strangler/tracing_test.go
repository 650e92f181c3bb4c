package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/tracing/tracingtest"
)

// tracingYAML is a tracing block exporting every request to endpoint.
func tracingYAML(endpoint string) string {
	return fmt.Sprintf("tracing: {enabled: true, protocol: http, endpoint: %q, sample_ratio: 1, service_name: strangler-e2e}\n", endpoint)
}

// TestServeExportsTraces: strangler serve with a tracing block sends a
// shadowed request's spans to the collector, at the latest when it
// stops (Shutdown flushes the queue), and its access log carries the
// trace id.
func TestServeExportsTraces(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	side := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"side":"`+name+`"}`)
		}))
		t.Cleanup(s.Close)
		return s
	}
	mono, svc := side("monolith"), side("service")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
legacy: {url: %s}
services:
  orders: {url: %s}
routes:
  - name: orders
    match: {prefix: /api/orders}
    service: orders
    stage: shadow
`, mono.URL, svc.URL) + tracingYAML(recv.URL)
	logs := &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan string, 2)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, serveOptions{path: writeFile(t, cfg), out: logs, errOut: io.Discard,
			listening: func(data, admin string) { addrs <- data; addrs <- admin }})
	}()
	var data, adminAddr string
	select {
	case data = <-addrs:
		adminAddr = <-addrs
	case err := <-done:
		t.Fatalf("runServe ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not start")
	}
	resp, err := http.Get("http://" + data + "/api/orders/1")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The spans are counted on /metrics (3 ended once the copy's is).
	waitMetric(t, "http://"+adminAddr+"/metrics", `strangler_tracing_spans_total{result="ended"} 3`)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("runServe did not stop")
	}
	kinds := map[tracepb.Span_SpanKind]int{}
	var traceID string
	for _, s := range recv.Spans() {
		kinds[s.Kind]++
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			traceID = s.TraceID()
		}
		if s.Service != "strangler-e2e" {
			t.Errorf("span %q of service %q, want strangler-e2e", s.Name, s.Service)
		}
	}
	if kinds[tracepb.Span_SPAN_KIND_SERVER] != 1 || kinds[tracepb.Span_SPAN_KIND_CLIENT] != 1 || kinds[tracepb.Span_SPAN_KIND_INTERNAL] != 1 {
		t.Fatalf("spans by kind %v; want one server, one client and one shadow span", kinds)
	}
	if !strings.Contains(logs.String(), `"trace_id":"`+traceID+`"`) {
		t.Errorf("access log lacks trace_id %s:\n%s", traceID, logs.String())
	}
}

// waitMetric polls a /metrics URL until it holds line (10 s at most).
func waitMetric(t *testing.T, url, line string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), line) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never showed %q; last:\n%s", url, line, body)
}
