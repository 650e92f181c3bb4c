package guard

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/stranglerfig/strangler/exchange"
)

// DefaultMaxBody bounds the request body kept to replay to the monolith.
const DefaultMaxBody = 1 << 20

// Fallback reasons (the "reason" label and the access log's "fallback").
const (
	ReasonBreakerOpen = "breaker_open"
	reasonStatus      = "status_" // + the service's status
)

// Exempt tells the request's exchange (found through w's chain of
// wrapping writers) that the answer about to be written is not the
// service's doing: the client's request or connection broke (400, 408,
// 413, 499) or strangler refused the request itself (503 at the
// in-flight bound). The breaker does not count the request, and the
// answer is passed on as it is, never swallowed for a fallback. It does
// nothing when w has no exchange.
func Exempt(w http.ResponseWriter, reason string) {
	if x := exchange.From(w); x != nil {
		x.Exempt(reason)
	}
}

// Options guard one route's service side.
type Options struct {
	Route   string
	Service http.Handler // the service's proxy
	Legacy  http.Handler // the monolith's proxy for this route
	// Breaker, if set, is the service's circuit breaker.
	Breaker *Breaker
	// Fallback answers from the monolith on failure, for idempotent
	// requests whose answer has not started.
	Fallback bool
	// Statuses fall back besides 502, 503 and 504 (which also count as
	// failures for the breaker).
	Statuses []int
	// MaxBody bounds the body kept for a replay; 0 means DefaultMaxBody.
	MaxBody int64
	// OnRefused, if set, hears each request refused with 503 because the
	// breaker is open and the request cannot fall back.
	OnRefused func()
}

// guarded is the handler Handler returns.
type guarded struct {
	Options
	failing map[int]bool
}

// Handler returns o.Service guarded by the breaker and the fallback.
func Handler(o Options) http.Handler {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	g := &guarded{Options: o, failing: map[int]bool{502: true, 503: true, 504: true}}
	for _, s := range o.Statuses {
		g.failing[s] = true
	}
	return g
}

// idempotent reports whether r may be sent to the monolith after the
// service failed: GET, HEAD, OPTIONS, or a request with an Idempotency-Key,
// and never an upgrade.
func idempotent(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return r.Header.Get("Idempotency-Key") != ""
}

func (g *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	canFallback := g.Fallback && idempotent(r)
	var body []byte
	if canFallback {
		var ok bool
		if body, ok = g.keepBody(r); !ok {
			canFallback = false // too large to replay: the service alone answers
		}
	}
	if g.Breaker == nil && !canFallback {
		g.Service.ServeHTTP(w, r) // nothing to watch for
		return
	}
	x, w := exchange.Ensure(w)
	var allowed Ticket
	if g.Breaker != nil {
		var ok bool
		if allowed, ok = g.Breaker.Allow(); !ok {
			g.open(w, r, x, body, canFallback)
			return
		}
	}
	c := calls.Get().(*call)
	*c = call{g: g, x: x, allowed: allowed}
	returned := false
	defer func() {
		c.finish(r)
		if returned { // a call whose handler panicked is dropped, never reused
			*c = call{}
			calls.Put(c)
		}
	}()
	c.serve(w, r, body, canFallback)
	returned = true
}

// serve serves r from the service, watching its answer for the breaker;
// with canFallback it holds the answer and, when it fails, serves r from
// the monolith with the kept body instead.
func (c *call) serve(w http.ResponseWriter, r *http.Request, body []byte, canFallback bool) {
	g, x := c.g, c.x
	if !canFallback {
		x.Watch(c)
		g.Service.ServeHTTP(w, r)
		status, _ := x.Release()
		c.report(status)
		return
	}
	x.Hold(g.failing, c)
	g.Service.ServeHTTP(w, r)
	status, failed := x.Release()
	c.report(status)
	if failed {
		g.fallback(w, r, x, body, reasonStatus+strconv.Itoa(status))
	}
}

// statusClientClosed is what the upstream proxy writes when the client
// went away (upstream.StatusClientClosed; guard cannot import upstream,
// whose tests run through guard).
const statusClientClosed = 499

// call is one request through the guard: the breaker's verdict, given
// once, and the exchange whose answer it watches. Calls are pooled: a
// guarded request allocates none.
type call struct {
	g        *guarded
	x        *exchange.Exchange
	allowed  Ticket // nil without a breaker
	reported bool
	// streamChecked: the breaker's state was looked at on the first
	// flush or upgrade; later ones need not (an outcome of an older
	// breaker generation is ignored anyway).
	streamChecked bool
}

var calls = sync.Pool{New: func() any { return new(call) }}

// done gives the breaker its verdict, once.
func (c *call) done(o Outcome) {
	if c.allowed != nil && !c.reported {
		c.reported = true
		c.allowed.Done(o)
	}
}

// report tells the breaker how the service did.
func (c *call) report(status int) {
	switch {
	case c.x.Exemption() != "", status == statusClientClosed:
		c.done(Excluded)
	case c.g.failing[status]:
		c.done(Failure)
	default:
		c.done(Success)
	}
}

// Streaming is told when an answer starts to stream or upgrade
// (exchange.Watcher). A probe that does must not hold the half-open slot
// for its whole life: it is reported at once. Otherwise answers are
// reported when they end, so a death mid-body counts as a failure.
func (c *call) Streaming(status int) {
	if c.allowed == nil || c.reported || c.streamChecked {
		return
	}
	c.streamChecked = true
	if c.g.Breaker.State() == StateHalfOpen {
		c.report(status)
	}
}

// finish reports a request that was not reported: the service's handler
// panicked (the reverse proxy aborts when the service dies mid-answer). A
// request never reported would hold a half-open probe slot forever.
// Without a breaker there is nothing to report.
func (c *call) finish(r *http.Request) {
	if c.reported {
		return
	}
	if c.x.Exemption() != "" || r.Context().Err() != nil {
		c.done(Excluded)
	} else {
		c.done(Failure)
	}
}

// open answers while the breaker is open: from the monolith when allowed,
// otherwise a fast 503.
func (g *guarded) open(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, body []byte, canFallback bool) {
	if canFallback {
		g.fallback(w, r, x, body, ReasonBreakerOpen)
		return
	}
	if g.OnRefused != nil {
		g.OnRefused()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `{"error":"service unavailable: its circuit breaker is open","service":"`+g.Breaker.Service()+`"}`+"\n")
}

// fallback serves r from the monolith, replaying the kept body, and
// notes on the exchange that it did and why.
func (g *guarded) fallback(w http.ResponseWriter, r *http.Request, x *exchange.Exchange, body []byte, reason string) {
	x.NoteFallback(reason)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	r.ContentLength = int64(len(body))
	g.Legacy.ServeHTTP(w, r)
}

// keepBody reads r's body (up to MaxBody) so it can be sent twice, and
// puts an equivalent body back on r. It reports false when the body is
// larger than MaxBody (r still gets every byte) or could not be read: r's
// body then gives what was read and the read error again, so that the
// proxy below sees the client's failure as it would without the guard
// (a second read of a broken body may not fail again).
func (g *guarded) keepBody(r *http.Request) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, true
	}
	if r.ContentLength > g.MaxBody {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, g.MaxBody+1))
	if err != nil {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), failedReader{err}), r.Body}
		return nil, false
	}
	if int64(len(data)) > g.MaxBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return data, true
}

// failedReader fails every read with the error a body read ended with.
type failedReader struct{ err error }

func (f failedReader) Read([]byte) (int, error) { return 0, f.err }
