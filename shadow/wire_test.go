package shadow

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/upstream"
)

// TestCopyOnTheWire checks the mirrored request as the other side's
// server receives it: marked, cleaned of hop-by-hop headers, with
// X-Forwarded-* as for the primary, rewritten for the route like the
// primary, and otherwise the client's request (method, query, body).
func TestCopyOnTheWire(t *testing.T) {
	loopback := []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}
	tests := []struct {
		name      string
		dec       routing.Decision
		edit      func(*PolicyConfig)
		method    string
		target    string // path and query as the client sends them
		host      string // client's Host, "" for the front server's
		body      string
		header    map[string]string
		wantPath  string // escaped path at the copy's side
		keepHost  bool
		wantXFF   string
		toService bool
	}{
		{
			name: "GET to the service", dec: shadowDecision, method: "GET",
			target: "/items/7?q=a%20b&x=1&x=2",
			header: map[string]string{
				"Connection":          "X-Hop, Keep-Alive",
				"X-Hop":               "secret",
				"Keep-Alive":          "timeout=5",
				"Proxy-Authorization": "Basic c2VjcmV0",
				"Proxy-Connection":    "keep-alive",
				"Te":                  "trailers",
				"X-Forwarded-For":     "6.6.6.6",
				"X-Forwarded-Host":    "evil.example",
				"X-Forwarded-Proto":   "https",
				"Forwarded":           "for=6.6.6.6",
				"X-Request-Id":        "req-1",
				"Authorization":       "Bearer end-to-end",
			},
			wantPath: "/items/7", wantXFF: "127.0.0.1", toService: true,
		},
		{
			name: "POST with prefixes rewritten", dec: shadowDecision, method: "POST",
			target: "/api/items?dry=1", body: `{"name":"widget","qty":3}`,
			header: map[string]string{"Content-Type": "application/json"},
			edit: func(c *PolicyConfig) {
				c.Service.Route.StripPrefix, c.Service.Route.AddPrefix = "/api", "/v2"
			},
			wantPath: "/v2/items", wantXFF: "127.0.0.1", toService: true,
		},
		{
			name: "escaped path kept escaped", dec: shadowDecision, method: "PUT",
			target: "/api/files/a%2Fb", body: "content",
			edit: func(c *PolicyConfig) {
				c.Service.Route.StripPrefix, c.Service.Route.AddPrefix = "/api", "/v2"
			},
			wantPath: "/v2/files/a%2Fb", wantXFF: "127.0.0.1", toService: true,
		},
		{
			name: "KeepHost sends the client's Host", dec: shadowDecision, method: "GET",
			target: "/items", host: "shop.example.com",
			edit:     func(c *PolicyConfig) { c.Service.Route.KeepHost, c.Legacy.Route.KeepHost = true, true },
			wantPath: "/items", keepHost: true, wantXFF: "127.0.0.1", toService: true,
		},
		{
			name: "trusted peer's chain is extended", dec: shadowDecision, method: "GET",
			target: "/items", header: map[string]string{"X-Forwarded-For": "6.6.6.6"},
			edit: func(c *PolicyConfig) {
				c.Service.Trusted = upstream.NewTrusted(loopback)
				c.Legacy.Trusted = c.Service.Trusted
			},
			wantPath: "/items", wantXFF: "6.6.6.6, 127.0.0.1", toService: true,
		},
		{
			name: "GET to the monolith", dec: migratedDecision, method: "GET",
			target: "/items/7?x=1", header: map[string]string{"X-Forwarded-For": "6.6.6.6"},
			edit:     func(c *PolicyConfig) { c.Legacy.Route.AddPrefix = "/legacy" },
			wantPath: "/legacy/items/7", wantXFF: "127.0.0.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			legacy, service := newCapturing(`{"id":7}`), newCapturing(`{"id":7}`)
			r := newRig(t, legacy, service, Options{Workers: 1, Queue: 8})
			cfg := r.config(tt.edit)
			p, err := r.d.NewPolicy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// The primary is the real proxy to the side that answers.
			primaryT, copySide, primarySide := cfg.Legacy, service, legacy
			if !tt.toService {
				primaryT, copySide, primarySide = cfg.Service, legacy, service
			}
			primary := primaryT.Upstream.Proxy(primaryT.Route, primaryT.Trusted, zerolog.Nop())
			var inbound http.Header
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				inbound = req.Header.Clone()
				p.ServeMirrored(w, req, tt.dec, primary)
			}))
			t.Cleanup(front.Close)

			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			var req *http.Request
			if body != nil {
				req, err = http.NewRequest(tt.method, front.URL+tt.target, body)
			} else {
				req, err = http.NewRequest(tt.method, front.URL+tt.target, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := r.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("client got %d", resp.StatusCode)
			}
			for k := range tt.header { // the test is only as good as what arrived
				if inbound.Get(k) == "" {
					t.Fatalf("header %s did not reach the proxy", k)
				}
			}

			cp := copySide.next(t, copySide.copies, "copy")
			prim := primarySide.next(t, primarySide.primaries, "primary")
			r.wait()
			wantCounts(t, r.d, 1, nil, nil)

			if got := cp.Header.Values(upstream.ShadowHeader); len(got) != 1 || got[0] != "1" {
				t.Errorf("%s = %q, want exactly \"1\"", upstream.ShadowHeader, got)
			}
			for _, h := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authorization",
				"Proxy-Connection", "Te", "Upgrade", "Transfer-Encoding", "Forwarded"} {
				if v, ok := cp.Header[h]; ok {
					t.Errorf("copy carries hop-by-hop or untrusted header %s: %q", h, v)
				}
			}
			if got := strings.Join(cp.Header.Values("X-Forwarded-For"), ", "); got != tt.wantXFF {
				t.Errorf("X-Forwarded-For = %q, want %q", got, tt.wantXFF)
			}
			wantHost := strings.TrimPrefix(r.service.URL, "http://")
			if !tt.toService {
				wantHost = strings.TrimPrefix(r.legacy.URL, "http://")
			}
			if tt.keepHost {
				wantHost = tt.host
			}
			if cp.Host != wantHost {
				t.Errorf("copy Host = %q, want %q", cp.Host, wantHost)
			}
			gotPath := cp.Path
			if cp.RawPath != "" {
				gotPath = cp.RawPath
			}
			if gotPath != tt.wantPath {
				t.Errorf("copy path = %q, want %q", gotPath, tt.wantPath)
			}
			wantQuery := ""
			if i := strings.IndexByte(tt.target, '?'); i >= 0 {
				wantQuery = tt.target[i+1:]
			}
			if cp.Method != tt.method || cp.Query != wantQuery || string(cp.Body) != tt.body {
				t.Errorf("copy = %s ?%s %q; want %s ?%s %q", cp.Method, cp.Query, cp.Body, tt.method, wantQuery, tt.body)
			}
			if cp.ContentLength != int64(len(tt.body)) {
				t.Errorf("copy Content-Length = %d, want %d", cp.ContentLength, len(tt.body))
			}
			// Apart from the mark, the copy's headers are the primary's:
			// both are rewritten the same way.
			cpHeader := cp.Header.Clone()
			cpHeader.Del(upstream.ShadowHeader)
			primHeader := prim.Header.Clone()
			primHeader.Del("Te") // "Te: trailers" is end-to-end for the proxy only
			if !headersEqual(cpHeader, primHeader) {
				t.Errorf("copy headers differ from the primary's:\ncopy    %v\nprimary %v", cpHeader, primHeader)
			}
			if prim.Method != tt.method || string(prim.Body) != tt.body || prim.Query != wantQuery {
				t.Errorf("primary = %s ?%s %q", prim.Method, prim.Query, prim.Body)
			}

			recs := r.store.Recent(testRoute, 10)
			if len(recs) != 1 {
				t.Fatalf("store holds %d records, want 1", len(recs))
			}
			wantRecPath := tt.target
			if i := strings.IndexByte(wantRecPath, '?'); i >= 0 {
				wantRecPath = wantRecPath[:i]
			}
			rec, _ := r.store.Get(recs[0].ID)
			// The record shows the client's path, not the rewritten one.
			if rec.Method != tt.method || rec.Path != strings.ReplaceAll(wantRecPath, "%2F", "/") ||
				rec.Primary != tt.dec.Side.String() {
				t.Errorf("record = %s %s primary %s", rec.Method, rec.Path, rec.Primary)
			}
		})
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if strings.Join(va, "\x00") != strings.Join(vb, "\x00") {
			return false
		}
	}
	return true
}

// TestNoiseReaskIsTheClientsRequest checks that the second ask to the
// monolith (noise learning) is the client's request rewritten for the
// monolith, not the copy already rewritten for the service, and that the
// record keeps the client's path.
func TestNoiseReaskIsTheClientsRequest(t *testing.T) {
	legacy, service := newCapturing(`{"id":7}`), newCapturing(`{"id":7}`)
	r := newRig(t, legacy, service, Options{Workers: 1, Queue: 8})
	cfg := r.config(func(c *PolicyConfig) {
		c.Service.Route.StripPrefix, c.Service.Route.AddPrefix = "/api", "/v2"
		c.Legacy.Route.AddPrefix = "/legacy"
		c.Noise, c.NoiseWarmup = true, 10
	})
	p, err := r.d.NewPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	primary := cfg.Legacy.Upstream.Proxy(cfg.Legacy.Route, nil, zerolog.Nop())
	front := r.front(p, shadowDecision, primary)
	for range 2 {
		get(t, r.client, front.URL+"/api/items/7?x=1")
	}
	r.wait()
	for i := range 2 {
		prim := legacy.next(t, legacy.primaries, "primary")
		cp := service.next(t, service.copies, "copy")
		again := legacy.next(t, legacy.copies, "second ask")
		if prim.Path != "/legacy/api/items/7" || cp.Path != "/v2/items/7" {
			t.Fatalf("request %d: primary %q, copy %q", i, prim.Path, cp.Path)
		}
		if again.Path != prim.Path || again.Query != "x=1" || again.Host != prim.Host {
			t.Errorf("request %d: second ask went to %s %s?%s, want %s %s?x=1",
				i, again.Host, again.Path, again.Query, prim.Host, prim.Path)
		}
	}
	recs := r.store.Recent(testRoute, 10)
	if len(recs) != 2 {
		t.Fatalf("store holds %d records, want 2", len(recs))
	}
	for _, s := range recs {
		if s.Path != "/api/items/7" || s.Verdict != "equal" {
			t.Errorf("record %d: path %q verdict %s, want /api/items/7 equal", s.ID, s.Path, s.Verdict)
		}
	}
	if n := r.d.Noise(testRoute); len(n) != 0 {
		t.Errorf("learned noise %v from identical answers", n)
	}
}
