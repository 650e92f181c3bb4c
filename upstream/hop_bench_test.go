package upstream

import (
	"net/http"
	"testing"
)

// BenchmarkRemoveHopHeaders strips a typical upstream answer's header.
func BenchmarkRemoveHopHeaders(b *testing.B) {
	base := http.Header{"Content-Type": {"application/json"}, "Content-Length": {"170"},
		"Date": {"Thu, 26 Nov 2026 06:00:00 GMT"}, "X-Request-Id": {"0123456789abcdef"}}
	h := make(http.Header, 8)
	b.ReportAllocs()
	for b.Loop() {
		clear(h)
		for k, v := range base {
			h[k] = v
		}
		removeHopHeaders(h)
	}
}
