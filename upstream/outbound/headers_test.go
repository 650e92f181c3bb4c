package outbound

import (
	"net/http"
	"testing"

	"github.com/stranglerfig/strangler/shadow/mark"
)

func TestHasToken(t *testing.T) {
	tests := []struct {
		values []string
		tok    string
		want   bool
	}{
		{[]string{"trailers"}, "trailers", true},
		{[]string{"gzip, Trailers"}, "trailers", true},
		{[]string{"gzip", "deflate,trailers "}, "trailers", true},
		{[]string{"gzip"}, "trailers", false},
		{[]string{"trailersx"}, "trailers", false},
		{nil, "trailers", false},
	}
	for _, tt := range tests {
		if got := HasToken(tt.values, tt.tok); got != tt.want {
			t.Errorf("HasToken(%q, %q) = %v, want %v", tt.values, tt.tok, got, tt.want)
		}
	}
}

func TestDropped(t *testing.T) {
	for _, list := range [][]string{HopHeaders, ForwardedHeaders} {
		for _, k := range list {
			if k != http.CanonicalHeaderKey(k) {
				t.Errorf("%q is not canonical: RemoveHop deletes it as written", k)
			}
			if !Dropped(k, false) || !Dropped(k, true) {
				t.Errorf("Dropped(%q) = false; the standard path drops it", k)
			}
		}
	}
	if Dropped(mark.Header, false) || Dropped(mark.Header, true) {
		t.Error("the shadow mark is judged at the edge (proxy/marker.go); what it lets through is forwarded")
	}
	for _, k := range []string{"X-Real-Ip", "True-Client-Ip"} {
		if !Dropped(k, false) || Dropped(k, true) {
			t.Errorf("%s must be dropped from untrusted peers only", k)
		}
	}
	if Dropped("Accept", false) {
		t.Error("an end-to-end header was dropped")
	}
}

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
		RemoveHop(h)
	}
}
