// Package upstream builds the reverse proxies strangler forwards to: one
// tuned, shared Transport per upstream (the monolith or a service) and a
// cheap httputil.ReverseProxy per route and side on top of it.
package upstream

import (
	"crypto/tls"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/upstream/errkind"
	"github.com/stranglerfig/strangler/upstream/lean"
	"github.com/stranglerfig/strangler/upstream/outbound"
)

// Options describes one upstream.
type Options struct {
	// Name labels the upstream in logs and errors ("legacy" or a service).
	Name string
	URL  *url.URL
	// Timeout bounds the wait for the response header.
	Timeout     time.Duration
	DialTimeout time.Duration
	// MaxIdleConns is the keep-alive pool kept to this upstream.
	MaxIdleConns int
	// Lean forwards plain GET, HEAD and OPTIONS requests without a body
	// on the lean client (package upstream/lean) when the URL allows it.
	Lean bool
	// MaxInFlight bounds the requests forwarded at once through the
	// upstream's proxies; past it they are answered 503 at once. 0 or
	// less means no bound (config always sets one).
	MaxInFlight int
}

// Upstream is one backend with its shared connection pool.
type Upstream struct {
	opts      Options
	transport *http.Transport
	// dialer dials for both clients.
	dialer *net.Dialer
	// lean is the lean HTTP/1.1 client; nil when the lean path is off or
	// the URL needs the standard path (https, a base path or query).
	lean *lean.Transport
	// inFlight counts the requests its proxies are forwarding.
	inFlight atomic.Int64
}

// New returns an Upstream with a Transport tuned for a proxy: keep-alive
// pool sized for load, bounded dial, TLS handshake and response header
// waits, and no transparent compression (bodies pass through untouched).
func New(opts Options) *Upstream {
	dialer := &net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                  nil, // never route upstream traffic via HTTP_PROXY
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           opts.MaxIdleConns,
		MaxIdleConnsPerHost:    opts.MaxIdleConns,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    opts.DialTimeout,
		ResponseHeaderTimeout:  opts.Timeout,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: lean.DefaultMaxHeaderBytes,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
	}
	u := &Upstream{opts: opts, transport: t, dialer: dialer}
	if opts.Lean && lean.Target(opts.URL) {
		u.lean = lean.New(lean.Options{Name: opts.Name, Addr: lean.DialAddr(opts.URL), Dialer: dialer,
			MaxIdle: opts.MaxIdleConns, IdleTimeout: t.IdleConnTimeout, HeaderTimeout: opts.Timeout,
			MaxHeaderBytes: lean.DefaultMaxHeaderBytes})
	}
	return u
}

// leanFor is the one place the lean client is chosen, as Traefik's
// SmartBuilder.Build chooses its fast proxy: it returns the lean client
// when it serves r, nil when the standard path (httputil.ReverseProxy
// over http.Transport) does. plan is the route's outbound plan for a
// client's request (Proxy); nil means r is already meant for the
// upstream (Transport) and must be addressed to it.
func (u *Upstream) leanFor(r *http.Request, plan *outbound.Plan) *lean.Transport {
	switch {
	case u.lean == nil || !lean.Eligible(r):
		return nil
	case plan != nil:
		if !plan.Direct() {
			return nil
		}
	case r.URL.Scheme != u.opts.URL.Scheme || r.URL.Host != u.opts.URL.Host:
		return nil
	}
	return u.lean
}

// Lean reports whether the lean path serves this upstream.
func (u *Upstream) Lean() bool { return u.lean != nil }

// Name returns the upstream's name.
func (u *Upstream) Name() string { return u.opts.Name }

// URL returns the upstream's base URL.
func (u *Upstream) URL() *url.URL { return u.opts.URL }

// Options returns the options the upstream was built with.
func (u *Upstream) Options() Options { return u.opts }

// Transport returns the upstream's round tripper: the lean path for
// bodiless GET, HEAD and OPTIONS when it is on, the shared http.Transport
// otherwise.
func (u *Upstream) Transport() http.RoundTripper { return transport{u} }

// Close releases idle connections. Requests in flight are not affected;
// their connections close when they end.
func (u *Upstream) Close() {
	u.transport.CloseIdleConnections()
	if u.lean != nil {
		u.lean.Close()
	}
}

// FlushInterval is the longest an answer of known length waits in
// strangler's buffers on the standard path when the upstream pauses
// mid-answer (httputil.ReverseProxy.FlushInterval). The lean path needs
// no interval: it flushes whenever its next read would wait.
const FlushInterval = 100 * time.Millisecond

// copyBuffers recycles the 32 KiB buffers ReverseProxy copies bodies
// with; without a pool it allocates one per request.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// Trusted is the set of peers whose X-Forwarded-* headers strangler
// believes (outbound.Trusted); the nil *Trusted trusts nobody.
type Trusted = outbound.Trusted

// NewTrusted returns a Trusted set of networks.
func NewTrusted(nets []*net.IPNet) *Trusted { return outbound.NewTrusted(nets) }

// Route describes how one route's requests are rewritten for this
// upstream.
type Route struct {
	// Name is the route ("" for the monolith's default).
	Name string
	// StripPrefix is removed from the start of the path; AddPrefix is put
	// in front of it (after stripping).
	StripPrefix string
	AddPrefix   string
	// KeepHost sends the client's Host instead of the upstream's.
	KeepHost bool
	// OnError, if set, hears the kind of each upstream failure (metrics).
	OnError func(kind string)
	// OnAtCapacity, if set, hears each request refused because the
	// upstream had MaxInFlight requests in flight (metrics).
	OnAtCapacity func()
}

// Proxy returns a handler that forwards to u, rewriting requests for rt.
// Errors answer 502 (or 504 on timeout) with a short JSON body; a client
// that went away is logged at debug level only. trusted says which peers'
// X-Forwarded-* headers are kept and extended; from others they are
// replaced.
func (u *Upstream) Proxy(rt Route, trusted *Trusted, log zerolog.Logger) http.Handler {
	onError := errorHandler(u.opts.Name, rt, log)
	plan := outbound.NewPlan(u.opts.URL, rt.StripPrefix, rt.AddPrefix, rt.KeepHost, trusted)
	var h http.Handler = u.standardProxy(plan, onError, log)
	if u.lean != nil {
		h = &proxy{up: u, plan: plan, std: h, onError: onError}
	}
	if u.opts.MaxInFlight <= 0 {
		return h
	}
	return &bounded{up: u, next: h, rt: rt, max: int64(u.opts.MaxInFlight),
		log: log.Sample(&zerolog.BurstSampler{Burst: 1, Period: time.Second})}
}

// proxy serves a route of an upstream with a lean client: each request
// goes where leanFor says.
type proxy struct {
	up      *Upstream
	plan    *outbound.Plan
	std     http.Handler
	onError func(http.ResponseWriter, *http.Request, error)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lt := p.up.leanFor(r, p.plan)
	if lt == nil {
		p.std.ServeHTTP(w, r)
		return
	}
	if err := lt.Serve(w, r, p.plan); err != nil {
		p.onError(w, r, err)
	}
}

// transport is the http.RoundTripper of an upstream: what leanFor picks
// (bodiless GET, HEAD and OPTIONS: mirrored copies, mostly) goes on the
// lean client, everything else through the tuned http.Transport.
type transport struct{ u *Upstream }

// RoundTrip implements http.RoundTripper. req must already be the
// upstream request (hop-by-hop headers removed), as ShadowRequest builds
// it.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if lt := t.u.leanFor(req, nil); lt != nil {
		return lt.RoundTrip(req)
	}
	return t.u.transport.RoundTrip(req)
}

// standardProxy is httputil.ReverseProxy over the shared Transport: it
// serves every request the lean path does not take.
func (u *Upstream) standardProxy(plan *outbound.Plan, onError func(http.ResponseWriter, *http.Request, error),
	log zerolog.Logger) http.Handler {
	p := &httputil.ReverseProxy{
		Transport: u.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			if b := pr.Out.Body; b != nil && b != http.NoBody {
				// Remember a failure to read the client's body: it is
				// the client's fault, not the upstream's (errorHandler).
				pr.Out.Body = &clientBody{rc: b}
			}
			plan.Rewrite(pr)
		},
		ErrorHandler: onError,
		// An answer of known length is flushed when the upstream pauses
		// (httputil's timer-based writer); streams flush every write.
		FlushInterval: FlushInterval,
		BufferPool:    copyBuffers,
		ErrorLog:      stdlog.New(log.With().Str("upstream", u.opts.Name).Logger(), "", 0),
	}
	return stdProxy{p}
}

// stdProxy serves a request through httputil.ReverseProxy with a writer
// that strips hop-by-hop headers from the 1xx answers it relays: httputil
// copies those verbatim (Got1xxResponse), unlike final answers.
type stdProxy struct{ rp *httputil.ReverseProxy }

func (p stdProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	iw := informationalWriters.Get().(*informationalWriter)
	iw.ResponseWriter = w
	p.rp.ServeHTTP(iw, r)
	// Not reached when the handler aborts: the writer is then dropped,
	// never reused while anything may still hold it.
	iw.ResponseWriter = nil
	informationalWriters.Put(iw)
}

var informationalWriters = sync.Pool{New: func() any { return new(informationalWriter) }}

// informationalWriter removes hop-by-hop headers, and those the upstream
// named in Connection, from 1xx answers other than 101 (whose Upgrade
// and Connection headers are the switch itself).
type informationalWriter struct{ http.ResponseWriter }

func (w *informationalWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		outbound.RemoveHop(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap exposes the underlying writer to http.ResponseController
// (flushes, hijacks for upgrades) and guard.Exempt.
func (w *informationalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// The start of the JSON answered when the upstream fails; the handler
// completes it with the upstream's name and the request id.
const (
	badGatewayBody     = `{"error":"upstream unavailable","upstream":"`
	gatewayTimeoutBody = `{"error":"upstream timed out","upstream":"`
)

func errorHandler(upstream string, rt Route, log zerolog.Logger) func(http.ResponseWriter, *http.Request, error) {
	route := rt.Name
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if bodyErr := bodyError(r); bodyErr != nil || clientGone(r) {
			// The client's body broke or the client went away: not an
			// upstream failure.
			clientFailed(w, r, bodyErr, route, upstream, log)
			return
		}
		reqID := r.Header.Get("X-Request-Id")
		kind := ErrorKind(err)
		if rt.OnError != nil {
			rt.OnError(kind)
		}
		status, body := http.StatusBadGateway, badGatewayBody
		if kind == errkind.Timeout {
			status, body = http.StatusGatewayTimeout, gatewayTimeoutBody
		}
		log.Warn().Str("route", route).Str("upstream", upstream).Str("request_id", reqID).
			Str("method", r.Method).Int("status", status).Str("error_kind", kind).Err(err).
			Msg("upstream request failed")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body + upstream + `","request_id":"` + jsonSafe(reqID) + `"}` + "\n"))
	}
}

// StatusClientClosed is logged for requests the client abandoned
// (nginx's convention). It never reaches a client.
const StatusClientClosed = 499

// isTimeout reports a deadline (errkind.IsTimeout).
func isTimeout(err error) bool { return errkind.IsTimeout(err) }

// ErrorKind classifies an upstream error for logs and metrics into one
// of the kinds named in package errkind: timeout, refused, reset, dns,
// tls or other. It looks at the error's chain (errno, net and TLS error
// types), never at its text.
func ErrorKind(err error) string { return errkind.Of(err) }

// jsonSafe keeps only characters that need no JSON escaping.
func jsonSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return ""
		}
	}
	return s
}
