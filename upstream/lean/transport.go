// Package lean is strangler's hand-written HTTP/1.1 client for the bulk
// of a proxy's traffic: plain GET, HEAD and OPTIONS requests without a
// body to a plain-http upstream without a base path. It runs on the
// handler's own goroutine: it writes the request straight from the
// inbound header map (through the route's outbound.Plan) into the
// upstream connection's buffer and parses the answer with net/http's
// ReadResponse. http.Transport runs two goroutines per connection and
// hands every request and response between them, and
// httputil.ReverseProxy clones the request and its headers first; the
// lean client does neither. Everything else goes through the standard
// path; package upstream chooses between them in one place.
//
// A Transport is used two ways: as an http.RoundTripper (RoundTrip) for
// requests already meant for the upstream (shadow copies), and as the
// sending half of a proxy (Serve) that writes the plan as it goes and
// relays the answer.
package lean

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Options configures a Transport.
type Options struct {
	// Name labels the upstream in errors.
	Name string
	// Addr is the upstream's host:port.
	Addr string
	// Dialer dials new connections; the caller may share it with its
	// http.Transport.
	Dialer *net.Dialer
	// MaxIdle bounds the idle keep-alive connections kept.
	MaxIdle int
	// IdleTimeout closes connections idle longer than this.
	IdleTimeout time.Duration
	// HeaderTimeout bounds the wait for the response header (0: none).
	HeaderTimeout time.Duration
	// MaxHeaderBytes bounds the response header (0: DefaultMaxHeaderBytes).
	MaxHeaderBytes int64
}

// DefaultMaxHeaderBytes bounds an upstream's response header when
// Options.MaxHeaderBytes is 0 (http.Transport's default is the same).
const DefaultMaxHeaderBytes = 1 << 20

// Transport is a lean client of one upstream with its connection pool.
type Transport struct {
	name     string
	timeout  time.Duration
	maxHead  int64
	pool     *connPool
	upstream string // Addr, compared with a RoundTrip request's host
}

// New returns a Transport for the upstream at opts.Addr.
func New(opts Options) *Transport {
	maxHead := opts.MaxHeaderBytes
	if maxHead <= 0 {
		maxHead = DefaultMaxHeaderBytes
	}
	return &Transport{name: opts.Name, timeout: opts.HeaderTimeout, maxHead: maxHead, upstream: opts.Addr,
		pool: newPool(opts.Addr, opts.Dialer, opts.MaxIdle, opts.IdleTimeout)}
}

// Target reports whether the lean client can serve the upstream at
// target: plain http, no base path, no query to merge, no user info.
func Target(target *url.URL) bool {
	return target != nil && target.Scheme == "http" && (target.Path == "" || target.Path == "/") &&
		target.RawPath == "" && target.RawQuery == "" && target.User == nil && target.Host != ""
}

// DialAddr is target's host:port, port 80 when none is given.
func DialAddr(target *url.URL) string {
	if target.Port() != "" {
		return target.Host
	}
	return net.JoinHostPort(target.Hostname(), "80")
}

// Eligible reports whether r can be sent by the lean client: a method
// that is safe to retry on a fresh connection, no body, no upgrade and
// no expectation.
func Eligible(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	if r.ContentLength != 0 || (r.Body != nil && r.Body != http.NoBody) {
		return false
	}
	if len(r.URL.Path) == 0 || r.URL.Path[0] != '/' {
		return false
	}
	h := r.Header
	return h["Upgrade"] == nil && h["Expect"] == nil && h["Transfer-Encoding"] == nil
}

// ErrNotEligible is returned by RoundTrip for a request the lean client
// does not send (see Eligible).
var ErrNotEligible = errors.New("request not eligible for the lean client")

// Close closes the idle connections; connections in use are closed when
// their request ends.
func (t *Transport) Close() { t.pool.close() }

// IdleCount returns how many connections wait in the pool.
func (t *Transport) IdleCount() int {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	return len(t.pool.idle)
}

// withContextErr puts ctx's error in front of err when ctx is done: the
// connection was closed because of it, and callers classify by it
// (timeout, canceled) as they do for http.Transport's errors.
func withContextErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return err
}

// copyBuffers recycles the 32 KiB buffers bodies are relayed with.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
