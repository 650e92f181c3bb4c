package proxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/shadow"
	"github.com/stranglerfig/strangler/shadow/mark"
)

// headerRecorder is a backend that records selected headers of every
// request it serves, with the method and request-target.
type headerRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	method, target string
	header         http.Header
	verify         error // mark.Verify with the recorder's secret
}

func newHeaderRecorder(t *testing.T, secret []byte) *headerRecorder {
	t.Helper()
	h := &headerRecorder{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s := seenRequest{method: r.Method, target: r.RequestURI, header: r.Header.Clone(),
			verify: mark.Verify(r, secret, time.Now(), 0)}
		h.mu.Lock()
		h.seen = append(h.seen, s)
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *headerRecorder) requests() []seenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seenRequest(nil), h.seen...)
}

// TestShadowMarkerStrippedAtEdge: a client-sent marker is stripped before
// routing and the upstreams, even when its peer is trusted for
// X-Forwarded-For; only shadowing.trust_marker_from keeps it.
func TestShadowMarkerStrippedAtEdge(t *testing.T) {
	tests := []struct {
		name       string
		trustedXFF []string
		trustMark  []string
		method     string
		stage      string
		wantMark   string
	}{
		{"XFF-trusted peer, POST to the service", []string{"127.0.0.0/8"}, nil, "POST", "migrated", ""},
		{"XFF-trusted peer, GET to the service (lean path)", []string{"127.0.0.0/8"}, nil, "GET", "migrated", ""},
		{"XFF-trusted peer, POST to the monolith", []string{"127.0.0.0/8"}, nil, "POST", "legacy", ""},
		{"untrusted peer, GET to the monolith", nil, nil, "GET", "legacy", ""},
		{"marker-trusted peer keeps it", nil, []string{"127.0.0.1"}, "POST", "migrated", "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mono, svc := newHeaderRecorder(t, nil), newHeaderRecorder(t, nil)
			cfg := baseConfig(mono.URL, svc.URL, config.Route{Name: "orders", Match: config.Match{Prefix: "/orders"},
				Service: "orders", Stage: tc.stage})
			cfg.TrustedProxies = tc.trustedXFF
			cfg.Shadowing.TrustMarkerFrom = tc.trustMark
			url, _, _ := startProxy(t, cfg)
			req, _ := http.NewRequest(tc.method, url+"/orders/1", strings.NewReader(`{"pay":1}`))
			if tc.method == "GET" {
				req.Body, req.ContentLength = nil, 0
			}
			req.Header.Set(mark.Header, "1")
			req.Header.Set(mark.SignatureHeader, "t=1,v1=00")
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			all := append(mono.requests(), svc.requests()...)
			if len(all) != 1 {
				t.Fatalf("backends saw %d requests; want 1", len(all))
			}
			h := all[0].header
			if got := h.Get(mark.Header); got != tc.wantMark {
				t.Errorf("upstream saw %s=%q; want %q", mark.Header, got, tc.wantMark)
			}
			if got, want := h.Get(mark.SignatureHeader) != "", tc.wantMark != ""; got != want {
				t.Errorf("upstream saw %s=%q", mark.SignatureHeader, h.Get(mark.SignatureHeader))
			}
		})
	}
}

// TestShadowCopySigned: every copy carries a marker signature that the
// service verifies with the shared secret; a client's forged marker
// neither reaches the monolith nor opts the request out of mirroring.
func TestShadowCopySigned(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	tests := []struct {
		name, target string
		forged       bool
	}{
		{"plain GET", "/api/items/7", false},
		{"query kept in the signed target", "/api/items?b=2&a=1", false},
		{"client forges the marker", "/api/items/8", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mono, svc := newHeaderRecorder(t, secret), newHeaderRecorder(t, secret)
			cfg := baseConfig(mono.URL, svc.URL, shadowRoute(nil))
			cfg.TrustedProxies = []string{"127.0.0.0/8"}
			rig := startShadowRig(t, cfg, shadow.Options{Secret: secret})
			req, _ := http.NewRequest("GET", rig.url+tc.target, nil)
			if tc.forged {
				req.Header.Set(mark.Header, "1")
				req.Header.Set(mark.SignatureHeader, mark.Sign([]byte("guessed"), "GET", tc.target, time.Now()))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			rig.settle(t)
			if m := mono.requests(); len(m) != 1 || m[0].header.Get(mark.Header) != "" {
				t.Fatalf("monolith saw %d requests, marker %q; want 1 unmarked", len(m), m[0].header.Get(mark.Header))
			}
			copies := svc.requests()
			if len(copies) != 1 {
				t.Fatalf("service saw %d copies; want 1", len(copies))
			}
			c := copies[0]
			if c.verify != nil {
				t.Errorf("copy %s %s: Verify = %v; signature %q", c.method, c.target, c.verify, c.header.Get(mark.SignatureHeader))
			}
			if c.target != tc.target {
				t.Errorf("copy target %q; want %q", c.target, tc.target)
			}
			// The same signature does not fit another request.
			other := mark.VerifyValues(secret, "POST", c.target, c.header.Get(mark.SignatureHeader), time.Now(), 0)
			if !errors.Is(other, mark.ErrMismatch) {
				t.Errorf("signature verified for POST too: %v", other)
			}
		})
	}
}

// TestShadowCopyMethodOverride: X-HTTP-Method-Override and its variants
// reach a sandbox service's copies only; on any other copy a GET carrying
// one would act as a write.
func TestShadowCopyMethodOverride(t *testing.T) {
	overrides := []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}
	tests := []struct {
		name    string
		sandbox bool
		want    string
	}{
		{"non-sandbox service", false, ""},
		{"sandbox service", true, "DELETE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mono, svc := newHeaderRecorder(t, nil), newHeaderRecorder(t, nil)
			cfg := baseConfig(mono.URL, svc.URL, shadowRoute(nil))
			s := cfg.Services["orders"]
			s.Sandbox = tc.sandbox
			cfg.Services["orders"] = s
			rig := startShadowRig(t, cfg, shadow.Options{})
			req, _ := http.NewRequest("GET", rig.url+"/api/items/7", nil)
			for _, h := range overrides {
				req.Header.Set(h, "DELETE")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			rig.settle(t)
			copies := svc.requests()
			if len(copies) != 1 {
				t.Fatalf("service saw %d copies; want 1", len(copies))
			}
			for _, h := range overrides {
				if got := copies[0].header.Get(h); got != tc.want {
					t.Errorf("copy carried %s=%q; want %q", h, got, tc.want)
				}
			}
		})
	}
}

// BenchmarkShadowMarker measures the edge check alone, for a request
// without the marker (nearly all) and one with a forged marker.
func BenchmarkShadowMarker(b *testing.B) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h := withShadowMarker(next, []string{"10.0.0.0/8"})
	for _, bc := range []struct {
		name   string
		marked bool
	}{{"unmarked", false}, {"forged", true}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/orders/1", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				if bc.marked {
					req.Header[mark.Header] = []string{"1"}
				}
				h.ServeHTTP(w, req)
			}
		})
	}
}
