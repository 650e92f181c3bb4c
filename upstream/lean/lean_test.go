package lean

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/testutil"
)

// TestMain fails the package if any goroutine outlives its tests.
func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newTransport is a lean client of the upstream at rawURL, closed when
// the test ends.
func newTransport(t *testing.T, rawURL string, idle time.Duration) *Transport {
	t.Helper()
	target := mustURL(t, rawURL)
	tr := New(Options{Name: "legacy", Addr: DialAddr(target), Dialer: &net.Dialer{Timeout: 2 * time.Second},
		MaxIdle: 4, IdleTimeout: idle, HeaderTimeout: 5 * time.Second})
	t.Cleanup(tr.Close)
	return tr
}

// get sends a GET for url through tr and reads the answer to its end.
func get(t *testing.T, tr *Transport, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestEligible(t *testing.T) {
	body := func(r *http.Request) *http.Request {
		r.Body = io.NopCloser(strings.NewReader("x"))
		r.ContentLength = 1
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"GET", httptest.NewRequest("GET", "/a", nil), true},
		{"HEAD", httptest.NewRequest("HEAD", "/a", nil), true},
		{"OPTIONS", httptest.NewRequest("OPTIONS", "/a", nil), true},
		{"POST", httptest.NewRequest("POST", "/a", nil), false},
		{"DELETE", httptest.NewRequest("DELETE", "/a", nil), false},
		{"GET with body", body(httptest.NewRequest("GET", "/a", nil)), false},
		{"GET with unknown length", func() *http.Request {
			r := body(httptest.NewRequest("GET", "/a", nil))
			r.ContentLength = -1
			return r
		}(), false},
		{"upgrade", func() *http.Request {
			r := httptest.NewRequest("GET", "/a", nil)
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			return r
		}(), false},
		{"expect", func() *http.Request {
			r := httptest.NewRequest("GET", "/a", nil)
			r.Header.Set("Expect", "100-continue")
			return r
		}(), false},
		{"OPTIONS *", httptest.NewRequest("OPTIONS", "*", nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Eligible(tt.req); got != tt.want {
				t.Errorf("Eligible = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://monolith.internal/", true},
		{"https://monolith.internal", false},
		{"http://monolith.internal/base", false},
		{"http://monolith.internal/?tenant=a", false},
		{"http://user:pw@monolith.internal", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := Target(mustURL(t, tt.url)); got != tt.want {
				t.Errorf("Target = %v, want %v", got, tt.want)
			}
		})
	}
	if got := DialAddr(mustURL(t, "http://monolith.internal")); got != "monolith.internal:80" {
		t.Errorf("DialAddr without port = %q", got)
	}
}

// RoundTrip sends only what the lean client can: other requests are
// refused, unsent, with ErrNotEligible (upstream's leanFor never passes
// them on).
func TestRoundTripNotEligible(t *testing.T) {
	backend := testutil.NewBackend(t, "legacy")
	tr := newTransport(t, backend.URL, 90*time.Second)
	post, _ := http.NewRequest(http.MethodPost, backend.URL+"/x", strings.NewReader("body"))
	other, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/x", nil)
	tlsReq, _ := http.NewRequest(http.MethodGet, strings.Replace(backend.URL, "http:", "https:", 1)+"/x", nil)
	for name, req := range map[string]*http.Request{"POST": post, "other host": other, "https": tlsReq} {
		if _, err := tr.RoundTrip(req); !errors.Is(err, ErrNotEligible) {
			t.Errorf("%s: RoundTrip = %v, want ErrNotEligible", name, err)
		}
	}
	if n := backend.Hits(); n != 0 {
		t.Errorf("the upstream was reached %d times", n)
	}
	if status, _ := get(t, tr, backend.URL+"/x"); status != http.StatusOK {
		t.Errorf("eligible GET: status %d", status)
	}
}
