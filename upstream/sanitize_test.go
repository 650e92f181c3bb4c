package upstream

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// A 1xx answer reaches the client without the upstream's hop-by-hop
// headers or those it named in Connection, on both paths, as a final
// answer does.
func TestInformationalHopHeaders(t *testing.T) {
	addr, _ := rawBackend(t, func(c net.Conn) {
		answerEach(c, "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\nConnection: X-Hop, keep-alive\r\n"+
			"X-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	bothClients(t, "http://"+addr, func(t *testing.T, opts Options) {
		front := newFront(t, New(opts), Route{}, nil, zerolog.Nop())
		a := send(t, front.Listener.Addr().String(), "GET", "GET /x HTTP/1.1\r\nHost: shop.example\r\n\r\n")
		if a.Status != http.StatusOK || a.Body != "ok" || len(a.Informational) != 1 {
			t.Fatalf("answer %d %q after %v, want one 103 then 200 ok", a.Status, a.Body, a.Informational)
		}
		hint := a.Informational[0]
		if !strings.Contains(hint, "Link:[</app.css>; rel=preload]") {
			t.Errorf("103 lost its Link header: %s", hint)
		}
		for _, h := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade"} {
			if strings.Contains(hint, h+":") {
				t.Errorf("103 passed %s to the client: %s", h, hint)
			}
		}
	})
}

// Client addresses as another proxy saw them (X-Real-IP,
// True-Client-IP) are believed only from a trusted peer, and underscore
// spellings of internal headers never reach the upstream, whoever sends
// them, on both paths and in mirrored copies.
func TestClientAddressAndUnderscoreHeaders(t *testing.T) {
	backend := newEchoBackend(t)
	inbound := http.Header{
		"X-Real-Ip":          {"6.6.6.6"},
		"True-Client-Ip":     {"6.6.6.7"},
		"X_forwarded_for":    {"6.6.6.8"},
		"X_forwarded_host":   {"evil.example"},
		"X_real_ip":          {"6.6.6.9"},
		"X-Strangler_shadow": {"1"},
		"X_request_id":       {"forged"},
		"Transfer_encoding":  {"chunked"},
		"Proxy_connection":   {"keep-alive"},
		"My_custom_header":   {"kept"},
		"X-Plain":            {"kept"},
	}
	dropped := []string{"X_forwarded_for", "X_forwarded_host", "X_real_ip", "X-Strangler_shadow", "X_request_id",
		"Transfer_encoding", "Proxy_connection"}
	for _, tc := range []struct {
		name    string
		trusted *Trusted
		keep    bool // X-Real-IP and True-Client-IP are passed on
	}{
		{"untrusted peer", nil, false},
		{"trusted peer", mustCIDRs(t, "127.0.0.0/8"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bothClients(t, backend.URL, func(t *testing.T, opts Options) {
				u := New(opts)
				front := newFront(t, u, Route{}, tc.trusted, zerolog.Nop())
				req, _ := http.NewRequest(http.MethodGet, front.URL+"/x", nil)
				for k, v := range inbound {
					if k != http.CanonicalHeaderKey(k) {
						t.Fatalf("%q is not as the backend's server would write it", k)
					}
					req.Header[k] = v
				}
				got := getEcho(t, front.Client(), req).Header
				for _, k := range dropped {
					if v, ok := got[k]; ok {
						t.Errorf("%s: %q reached the upstream", k, v)
					}
				}
				for _, k := range []string{"My_custom_header", "X-Plain"} {
					if got.Get(k) != "kept" {
						t.Errorf("end-to-end header %s lost", k)
					}
				}
				for _, k := range []string{"X-Real-Ip", "True-Client-Ip"} {
					if _, ok := got[k]; ok != tc.keep {
						t.Errorf("%s passed on: %v, want %v", k, ok, tc.keep)
					}
				}
				if xff := got.Get("X-Forwarded-For"); !strings.HasSuffix(xff, "127.0.0.1") || strings.Contains(xff, "6.6.6.8") {
					t.Errorf("X-Forwarded-For %q, want the peer's address at the end and no forged entry", xff)
				}
			})
		})
	}
}
