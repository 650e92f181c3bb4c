package outbound

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recordSink keeps what Plan.Header decided, as the upstream would get it.
type recordSink struct {
	out     http.Header
	dropped []string
}

func (s *recordSink) Keep(k string, vv []string) { s.out[k] = append(s.out[k], vv...) }
func (s *recordSink) Drop(k string)              { s.dropped = append(s.dropped, k) }
func (s *recordSink) Set(k, v string)            { s.out[k] = append(s.out[k], v) }
func (s *recordSink) ForwardedFor(prior []string, ip string) {
	v := ""
	for _, p := range prior {
		v += p + ", "
	}
	s.out["X-Forwarded-For"] = append(s.out["X-Forwarded-For"], v+ip)
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u
}

func TestPlanPath(t *testing.T) {
	target := mustURL(t, "http://backend:8080")
	tests := []struct {
		strip, add, in, want string
		direct               bool
	}{
		{"", "", "/a/b", "/a/b", true},
		{"/api", "", "/api/x", "/x", true},
		{"/api", "", "/api", "/", true},
		{"/api", "", "/apix", "/apix", true},
		{"/api/", "", "/api/x", "/x", true},
		{"", "/v2", "/x", "/v2/x", true},
		{"", "/v2/", "/x", "/v2/x", true},
		{"/api", "/v2", "/api/x%2Fy", "/v2/x%2Fy", true},
		{"", "/my app", "/x", "/my%20app/x", true},
		{"", "/a%2Fb", "/x", "/a%2Fb/x", true},
		{"", "/%zz", "/x", "/%zz/x", false},
	}
	for _, tt := range tests {
		p := NewPlan(target, tt.strip, tt.add, false, nil)
		if got := p.Path(tt.in); got != tt.want {
			t.Errorf("strip %q add %q: Path(%q) = %q, want %q", tt.strip, tt.add, tt.in, got, tt.want)
		}
		if p.Direct() != tt.direct {
			t.Errorf("strip %q add %q: Direct = %v, want %v", tt.strip, tt.add, p.Direct(), tt.direct)
		}
	}
}

func TestPlanHost(t *testing.T) {
	target := mustURL(t, "http://backend:8080")
	tests := []struct {
		keep     bool
		in, want string
	}{
		{false, "client.example", "backend:8080"},
		{true, "client.example", "client.example"},
		{true, "", "backend:8080"}, // an HTTP/1.0 client may send none
	}
	for _, tt := range tests {
		if got := NewPlan(target, "", "", tt.keep, nil).Host(tt.in); got != tt.want {
			t.Errorf("keep %v: Host(%q) = %q, want %q", tt.keep, tt.in, got, tt.want)
		}
	}
}

func TestPlanHeader(t *testing.T) {
	_, lb, _ := net.ParseCIDR("10.0.0.0/8")
	trusted := NewTrusted([]*net.IPNet{lb})
	plan := NewPlan(mustURL(t, "http://backend"), "", "", false, trusted)
	inbound := func(remote string, h http.Header) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://front.example/x", nil)
		r.RemoteAddr, r.Header = remote, h
		return r
	}
	tests := []struct {
		name string
		in   *http.Request
		want http.Header
	}{
		{"untrusted peer", inbound("192.0.2.1:5000", http.Header{
			"Accept": {"*/*"}, "Connection": {"keep-alive, X-Secret"}, "X-Secret": {"s"}, "Keep-Alive": {"5"},
			"Te": {"gzip, trailers"}, "X-Forwarded-For": {"6.6.6.6"}, "X-Forwarded-Host": {"evil"},
			"X-Real-Ip": {"6.6.6.6"}, "X_forwarded_for": {"6.6.6.6"}, "Content-Length": {"0"},
		}), http.Header{
			"Accept": {"*/*"}, "Te": {"trailers"}, "X-Forwarded-For": {"192.0.2.1"},
			"X-Forwarded-Host": {"front.example"}, "X-Forwarded-Proto": {"http"},
		}},
		{"trusted peer", inbound("10.1.2.3:5000", http.Header{
			"X-Forwarded-For": {"198.51.100.7"}, "X-Forwarded-Host": {"public.example"},
			"X-Forwarded-Proto": {"https"}, "X-Real-Ip": {"198.51.100.7"},
		}), http.Header{
			"X-Forwarded-For": {"198.51.100.7, 10.1.2.3"}, "X-Forwarded-Host": {"public.example"},
			"X-Forwarded-Proto": {"https"}, "X-Real-Ip": {"198.51.100.7"},
		}},
		{"upgrade", inbound("192.0.2.1:5000", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}),
			http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "X-Forwarded-For": {"192.0.2.1"},
				"X-Forwarded-Host": {"front.example"}, "X-Forwarded-Proto": {"http"}}},
		{"no peer address", inbound("pipe", http.Header{}), http.Header{
			"X-Forwarded-Host": {"front.example"}, "X-Forwarded-Proto": {"http"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &recordSink{out: http.Header{}}
			plan.Header(tt.in.Header, tt.in, plan.FromTrusted(tt.in.RemoteAddr), s)
			if d := cmp.Diff(tt.want, s.out); d != "" {
				t.Errorf("outbound header (-want +got):\n%s", d)
			}
		})
	}
	r := inbound("192.0.2.1:5000", http.Header{})
	r.TLS = &tls.ConnectionState{}
	s := &recordSink{out: http.Header{}}
	plan.Header(r.Header, r, false, s)
	if got := s.out.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("X-Forwarded-Proto over TLS = %q, want https", got)
	}
}
