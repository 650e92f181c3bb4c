package tracing

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/tracing/tracingtest"
)

// endSpans ends n sampled server spans.
func endSpans(tr *Tracer, n int) {
	for range n {
		r, span := tr.StartServer(httptest.NewRequest(http.MethodGet, "/c", nil))
		EndServer(span, Served{Status: 200}, r.Method)
	}
}

// TestCounts: spans are counted as ended, then exported or failed; the
// ones a full queue drops are the difference.
func TestCounts(t *testing.T) {
	t.Run("exported", func(t *testing.T) {
		recv := tracingtest.NewReceiver(t)
		tr := newTracer(t, config.Tracing{Endpoint: recv.URL, SampleRatio: ratio(1)})
		endSpans(tr, 3)
		flushed(t, tr)
		if got := tr.Counts(); got != (Counts{Ended: 3, Exported: 3}) {
			t.Errorf("counts %+v; want 3 ended, 3 exported", got)
		}
	})
	t.Run("failed", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + ln.Addr().String()
		ln.Close()
		tr := newTracer(t, config.Tracing{Endpoint: dead, SampleRatio: ratio(1), Timeout: time.Second})
		endSpans(tr, 2)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tr.Flush(ctx) // the export fails: that is the point
		if got := tr.Counts(); got.Ended != 2 || got.Failed != 2 || got.Exported != 0 {
			t.Errorf("counts %+v; want 2 ended, 2 failed", got)
		}
	})
	t.Run("dropped at a full queue", func(t *testing.T) {
		recv := tracingtest.NewReceiver(t)
		inner := recv.Config.Handler
		recv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(50 * time.Millisecond) // a slow collector
			inner.ServeHTTP(w, r)
		})
		tr := newTracer(t, config.Tracing{Endpoint: recv.URL, SampleRatio: ratio(1), QueueSize: 2, BatchSize: 1})
		endSpans(tr, 100)
		flushed(t, tr)
		got := tr.Counts()
		if dropped := got.Ended - got.Exported - got.Failed; got.Ended != 100 || dropped == 0 {
			t.Errorf("counts %+v: %d dropped; want 100 ended and some dropped by the 2-span queue", got, dropped)
		}
	})
	t.Run("off", func(t *testing.T) {
		var tr *Tracer
		if got := tr.Counts(); got != (Counts{}) {
			t.Errorf("a nil tracer counts %+v", got)
		}
	})
}
