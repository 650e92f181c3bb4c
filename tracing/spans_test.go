package tracing

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/exchange"
	"github.com/stranglerfig/strangler/tracing/tracingtest"
)

// TestClientSpanStatus: an attempt's client span records the status the
// upstream wrote, read from the request's exchange (one is made when the
// writer has none); under the guard's hold that is the failing status
// the client never saw.
func TestClientSpanStatus(t *testing.T) {
	tests := []struct {
		name      string
		upstream  http.HandlerFunc
		hold      bool // serve through an exchange that holds 503s back
		want      string
		wantError string // error.type, "" for none
	}{
		{"status and body", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "gone")
		}, false, "404", "404"},
		{"body alone is 200", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}, false, "200", ""},
		{"nothing written is aborted", func(http.ResponseWriter, *http.Request) {}, false, "", "aborted"},
		{"held failing status", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "down")
		}, true, "503", "503"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recv := tracingtest.NewReceiver(t)
			tr := newTracer(t, config.Tracing{Endpoint: recv.URL, SampleRatio: ratio(1)})
			r, server := tr.StartServer(httptest.NewRequest(http.MethodGet, "/orders/1", nil))
			rec := httptest.NewRecorder()
			var w http.ResponseWriter = rec
			var x *exchange.Exchange
			if tc.hold {
				x = exchange.New(rec)
				x.Hold(map[int]bool{http.StatusServiceUnavailable: true}, nil)
				w = x.Writer()
			}
			tr.Client(tc.upstream, Upstream{Name: "orders", Host: "127.0.0.1:9"}).ServeHTTP(w, r)
			if x != nil {
				if _, failed := x.Release(); !failed || rec.Body.Len() != 0 {
					t.Fatalf("the hold passed the failing answer on: failed %v, body %q", failed, rec.Body)
				}
			}
			server.End()
			flushed(t, tr)
			var client *tracingtest.Span
			for _, s := range recv.Spans() {
				if s.Kind == tracepb.Span_SPAN_KIND_CLIENT {
					client = &s
				}
			}
			if client == nil {
				t.Fatal("no client span exported")
			}
			if got, errType := client.Attr("http.response.status_code"), client.Attr("error.type"); got != tc.want || errType != tc.wantError {
				t.Errorf("client span status %q error.type %q; want %q, %q", got, errType, tc.want, tc.wantError)
			}
		})
	}
}
