package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// MinTokenLength is the shortest admin token accepted for an admin
// listener reachable beyond loopback.
const MinTokenLength = 16

// CheckExposure refuses an admin listener that is reachable beyond this
// machine without a token, or with one shorter than MinTokenLength
// (guessable even at the rate failed logins are limited to). The error
// names the variable, never the token.
func CheckExposure(listen, token, tokenEnv string) error {
	if IsLoopback(listen) {
		return nil
	}
	if token == "" {
		return fmt.Errorf("admin.listen %q is reachable beyond loopback and no admin token is set: "+
			"export %s=<a long random secret>, or bind admin.listen to 127.0.0.1", listen, tokenEnv)
	}
	if n := len(token); n < MinTokenLength {
		return fmt.Errorf("admin.listen %q is reachable beyond loopback and the admin token in %s has %d characters: "+
			"it needs at least %d (a long random secret), or bind admin.listen to 127.0.0.1", listen, tokenEnv, n, MinTokenLength)
	}
	return nil
}

// IsLoopback reports whether a host:port listen address binds only the
// loopback interface.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	return err == nil && isLoopbackHost(host)
}

// isLoopbackHost reports whether host (no port, no brackets) is
// localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authenticator checks bearer tokens in constant time.
type authenticator struct {
	sum [sha256.Size]byte
	on  bool
}

func newAuthenticator(token string) authenticator {
	if token == "" {
		return authenticator{}
	}
	return authenticator{sum: sha256.Sum256([]byte(token)), on: true}
}

// check returns nil when r carries the token (or no token is required).
// Hashing both sides first makes the comparison independent of length.
func (a authenticator) check(r *http.Request) error {
	if !a.on {
		return nil
	}
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return &Error{Status: http.StatusUnauthorized, Msg: "missing bearer token (Authorization: Bearer <token>)"}
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(given)))
	if subtle.ConstantTimeCompare(sum[:], a.sum[:]) != 1 {
		return &Error{Status: http.StatusUnauthorized, Msg: "wrong bearer token"}
	}
	return nil
}

// checkLoopbackHost refuses a request whose Host is not this machine's
// loopback when no token protects the API. Without it, a web page whose
// name is rebound to 127.0.0.1 (DNS rebinding) would be same-origin with
// the admin API in the victim's browser and could read and steer it.
func checkLoopbackHost(r *http.Request) error {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if isLoopbackHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")) {
		return nil
	}
	return &Error{Status: http.StatusForbidden,
		Msg: "without an admin token the admin API answers only requests addressed to localhost or a loopback IP"}
}

// checkSameOrigin refuses a state-changing request that a browser sent
// from another site (CSRF): Sec-Fetch-Site says cross-site or
// same-site, or Origin names another host.
func checkSameOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return &Error{Status: http.StatusForbidden, Msg: "cross-site request refused"}
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host != r.Host {
		return &Error{Status: http.StatusForbidden, Msg: "cross-origin request refused"}
	}
	return nil
}
