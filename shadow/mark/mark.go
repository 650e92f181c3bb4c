// Package mark signs and verifies the marker strangler puts on the
// copies it mirrors, so that a service can tell a real copy from a
// request that merely claims to be one.
//
// A copy carries two headers:
//
//	X-Strangler-Shadow: 1
//	X-Strangler-Shadow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// The HMAC key is the shared secret; the signed string is
//
//	"v1\n" + t + "\n" + METHOD + "\n" + request-target
//
// where request-target is the path and query exactly as sent on the
// request line (the origin form, "/a/b?x=1"). A service checks that t is
// within the allowed clock skew of its own clock and compares the HMAC in
// constant time. The package imports only the standard library, so Go
// services can use Verify directly.
package mark

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header marks a mirrored request ("1").
const Header = "X-Strangler-Shadow"

// SignatureHeader carries the marker's signature: t=<unix>,v1=<hex>.
const SignatureHeader = "X-Strangler-Shadow-Signature"

// DefaultSkew is the clock skew Verify allows when given none: a copy is
// sent within the shadow timeout of being signed, so a few minutes cover
// clocks that drift apart.
const DefaultSkew = 5 * time.Minute

// Errors Verify wraps, for errors.Is.
var (
	// ErrMissing: the request carries no marker or no signature.
	ErrMissing = errors.New("shadow marker or signature missing")
	// ErrMalformed: the signature header is not t=<unix>,v1=<hex>.
	ErrMalformed = errors.New("shadow signature malformed")
	// ErrStale: the timestamp is outside the allowed skew.
	ErrStale = errors.New("shadow signature outside the allowed clock skew")
	// ErrMismatch: the HMAC does not match (wrong secret or altered request).
	ErrMismatch = errors.New("shadow signature does not match")
)

// Payload returns the string that is signed for a request.
func Payload(unix int64, method, target string) string {
	return "v1\n" + strconv.FormatInt(unix, 10) + "\n" + method + "\n" + target
}

// Sign returns the SignatureHeader value for a request with this method
// and request-target, signed at t.
func Sign(secret []byte, method, target string, t time.Time) string {
	unix := t.Unix()
	return "t=" + strconv.FormatInt(unix, 10) + ",v1=" + hex.EncodeToString(mac(secret, Payload(unix, method, target)))
}

// SignRequest sets both marker headers on an outgoing client request,
// signing its method and r.URL.RequestURI(). With an empty secret it
// sets the plain marker only.
func SignRequest(r *http.Request, secret []byte, t time.Time) {
	r.Header.Set(Header, "1")
	if len(secret) == 0 {
		r.Header.Del(SignatureHeader)
		return
	}
	r.Header.Set(SignatureHeader, Sign(secret, r.Method, r.URL.RequestURI(), t))
}

// Verify checks the marker on a request a server received: the signature
// must match r's method and request-target (r.RequestURI) under secret,
// and its time must be within skew of now (DefaultSkew when skew <= 0).
// A nil error means strangler sent this copy.
func Verify(r *http.Request, secret []byte, now time.Time, skew time.Duration) error {
	if r.Header.Get(Header) == "" {
		return fmt.Errorf("%s: %w", Header, ErrMissing)
	}
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	return VerifyValues(secret, r.Method, target, r.Header.Get(SignatureHeader), now, skew)
}

// VerifyValues is Verify for a method, request-target and signature
// header value taken from anywhere.
func VerifyValues(secret []byte, method, target, signature string, now time.Time, skew time.Duration) error {
	if len(secret) == 0 {
		return errors.New("verifying the shadow signature: no secret given")
	}
	if signature == "" {
		return fmt.Errorf("%s: %w", SignatureHeader, ErrMissing)
	}
	unix, sum, err := parse(signature)
	if err != nil {
		return err
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	if d := now.Sub(time.Unix(unix, 0)); d > skew || d < -skew {
		return fmt.Errorf("signed at %d, %s from now (allowed %s): %w", unix, d.Round(time.Second), skew, ErrStale)
	}
	if !hmac.Equal(sum, mac(secret, Payload(unix, method, target))) {
		return fmt.Errorf("%s %s: %w", method, target, ErrMismatch)
	}
	return nil
}

// parse splits "t=<unix>,v1=<hex>".
func parse(sig string) (int64, []byte, error) {
	ts, v1, ok := strings.Cut(sig, ",")
	ts, okT := strings.CutPrefix(strings.TrimSpace(ts), "t=")
	v1, okV := strings.CutPrefix(strings.TrimSpace(v1), "v1=")
	if !ok || !okT || !okV {
		return 0, nil, fmt.Errorf("%q: want t=<unix>,v1=<hex>: %w", sig, ErrMalformed)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("timestamp %q: %w", ts, ErrMalformed)
	}
	sum, err := hex.DecodeString(v1)
	if err != nil || len(sum) != sha256.Size {
		return 0, nil, fmt.Errorf("v1 %q is not %d hex bytes: %w", v1, sha256.Size, ErrMalformed)
	}
	return unix, sum, nil
}

func mac(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}
