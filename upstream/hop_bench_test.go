package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// benchRequest is a typical browser GET as it reaches the proxy: a dozen
// end-to-end headers, a hop-by-hop pair and a forwarded chain.
func benchRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://shop.example/api/items/42?sort=price&page=2", nil)
	r.RemoteAddr = "10.1.2.3:40000"
	h := r.Header
	h.Set("Accept", "application/json")
	h.Set("Accept-Encoding", "gzip, br")
	h.Set("Accept-Language", "en-GB,en;q=0.9")
	h.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")
	h.Set("Cookie", "session=0123456789abcdef; theme=dark")
	h.Set("Referer", "https://shop.example/items")
	h.Set("X-Request-Id", "0123456789abcdef")
	h.Set("Connection", "keep-alive")
	h.Set("Keep-Alive", "timeout=5")
	h.Set("X-Forwarded-For", "198.51.100.7")
	h.Set("X-Forwarded-Proto", "https")
	return r
}

// benchHop measures one proxied request, client side excluded: the
// outbound plan applied, the request sent on a pooled connection, the
// answer relayed to a discarding writer.
func benchHop(b *testing.B, lean bool) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":42,"name":"kettle","price":30}`)
	}))
	b.Cleanup(backend.Close)
	target, _ := http.NewRequest(http.MethodGet, backend.URL, nil)
	_, lb, _ := net.ParseCIDR("10.0.0.0/8")
	u := New(Options{Name: "legacy", URL: target.URL, Timeout: 5 * time.Second, DialTimeout: 2 * time.Second,
		MaxIdleConns: 4, Lean: lean})
	b.Cleanup(u.Close)
	h := u.Proxy(Route{StripPrefix: "/api", AddPrefix: "/v2"}, NewTrusted([]*net.IPNet{lb}), zerolog.Nop())
	r := benchRequest()
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkHopLean is a proxied GET on the lean client.
func BenchmarkHopLean(b *testing.B) { benchHop(b, true) }

// BenchmarkHopStandard is the same GET on httputil.ReverseProxy and
// http.Transport.
func BenchmarkHopStandard(b *testing.B) { benchHop(b, false) }

// BenchmarkShadowRequest builds the mirrored copy of a typical GET.
func BenchmarkShadowRequest(b *testing.B) {
	target, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9", nil)
	u := New(Options{Name: "svc", URL: target.URL, MaxIdleConns: 1})
	b.Cleanup(u.Close)
	_, lb, _ := net.ParseCIDR("10.0.0.0/8")
	trusted := NewTrusted([]*net.IPNet{lb})
	in := benchRequest()
	rt := Route{StripPrefix: "/api", AddPrefix: "/v2"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = u.ShadowRequest(ctx, in, nil, rt, trusted)
	}
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, so the benchmark measures the hop, not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
