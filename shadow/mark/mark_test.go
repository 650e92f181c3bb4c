package mark

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestVerify signs a request, sends it to a real server and checks the
// signature there, as a service would, against good, forged, altered and
// stale signatures.
func TestVerify(t *testing.T) {
	secret := []byte("s3cret-s3cret-s3cret")
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		method  string
		target  string // sent on the request line
		sign    func() string
		want    error
		wantNil bool
	}{
		{"good", "GET", "/a/b?x=1", func() string { return Sign(secret, "GET", "/a/b?x=1", now) }, nil, true},
		{"skew within the window", "GET", "/a", func() string { return Sign(secret, "GET", "/a", now.Add(-4*time.Minute)) }, nil, true},
		{"wrong secret (forged)", "GET", "/a", func() string { return Sign([]byte("guess"), "GET", "/a", now) }, ErrMismatch, false},
		{"other path", "GET", "/admin", func() string { return Sign(secret, "GET", "/a", now) }, ErrMismatch, false},
		{"other query", "GET", "/a?x=2", func() string { return Sign(secret, "GET", "/a?x=1", now) }, ErrMismatch, false},
		{"other method", "POST", "/a", func() string { return Sign(secret, "GET", "/a", now) }, ErrMismatch, false},
		{"stale", "GET", "/a", func() string { return Sign(secret, "GET", "/a", now.Add(-6*time.Minute)) }, ErrStale, false},
		{"from the future", "GET", "/a", func() string { return Sign(secret, "GET", "/a", now.Add(6*time.Minute)) }, ErrStale, false},
		{"timestamp changed", "GET", "/a", func() string {
			return strings.Replace(Sign(secret, "GET", "/a", now), "t=1800000000", "t=1800000001", 1)
		}, ErrMismatch, false},
		{"malformed", "GET", "/a", func() string { return "v1=abc" }, ErrMalformed, false},
		{"short hex", "GET", "/a", func() string { return "t=1800000000,v1=abcd" }, ErrMalformed, false},
		{"missing", "GET", "/a", func() string { return "" }, ErrMissing, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan error, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- Verify(r, secret, now, 0)
			}))
			defer srv.Close()
			req, _ := http.NewRequest(tc.method, srv.URL+tc.target, nil)
			req.Header.Set(Header, "1")
			if sig := tc.sign(); sig != "" {
				req.Header.Set(SignatureHeader, sig)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			err = <-got
			switch {
			case tc.wantNil && err != nil:
				t.Errorf("Verify = %v; want nil", err)
			case !tc.wantNil && !errors.Is(err, tc.want):
				t.Errorf("Verify = %v; want %v", err, tc.want)
			}
		})
	}
}

// TestSignRequestWithoutSecret: no secret, plain marker, no signature.
func TestSignRequestWithoutSecret(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://127.0.0.1/a", nil)
	req.Header.Set(SignatureHeader, "t=1,v1=00")
	SignRequest(req, nil, time.Now())
	if req.Header.Get(Header) != "1" || req.Header.Get(SignatureHeader) != "" {
		t.Errorf("headers %v; want the plain marker only", req.Header)
	}
	if err := Verify(req, []byte("k"), time.Now(), 0); !errors.Is(err, ErrMissing) {
		t.Errorf("Verify of an unsigned copy = %v; want ErrMissing", err)
	}
}
