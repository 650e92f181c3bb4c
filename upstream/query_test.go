package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
)

// The query string reaches the upstream byte for byte on the lean path,
// the standard path and in mirrored copies, whatever it holds.
func TestQueryForwardedVerbatim(t *testing.T) {
	queries := []string{
		"z=1&a=2&c=x;y",
		"q=100%&x=1",
		"a=%zz&b=%2",
		"x=1&x=2&&=&y",
		"sp=a+b%20c&u=%C3%A9",
		"only;semi",
		"%",
		"",
	}
	backend := newRecordingBackend(t)
	bothClients(t, backend.URL, func(t *testing.T, opts Options) {
		u := New(opts)
		front := newFront(t, u, Route{StripPrefix: "/api"}, nil, zerolog.Nop())
		for _, q := range queries {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				target := "/api/x"
				if q != "" {
					target += "?" + q
				}
				a := send(t, front.Listener.Addr().String(), method,
					method+" "+target+" HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
				if a.Status != http.StatusOK {
					t.Fatalf("%s %s: status %d %s", method, target, a.Status, a.Body)
				}
				want := "/x"
				if q != "" {
					want += "?" + q
				}
				if got := backend.lastRequest().RequestURI; got != want {
					t.Errorf("%s %s: upstream saw %q, want %q", method, target, got, want)
				}
			}
		}
		// A mirrored copy is built by the same rewrite.
		for _, q := range queries {
			in := httptest.NewRequest(http.MethodGet, "http://shop.example/api/x", nil)
			in.URL.RawQuery = q
			in.RemoteAddr = "192.0.2.7:5000"
			resp, err := u.Transport().RoundTrip(u.ShadowRequest(context.Background(), in, nil, Route{StripPrefix: "/api"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			want := "/x"
			if q != "" {
				want += "?" + q
			}
			if got := backend.lastRequest().RequestURI; got != want {
				t.Errorf("copy with query %q: upstream saw %q, want %q", q, got, want)
			}
		}
	})
}
