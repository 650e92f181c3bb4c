package guard

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// DefaultMaxBody bounds the request body kept to replay to the monolith.
const DefaultMaxBody = 1 << 20

// Fallback reasons (the "reason" label and the access log's "fallback").
const (
	ReasonBreakerOpen = "breaker_open"
	reasonStatus      = "status_" // + the service's status
)

// Noter is implemented by response writers that want to know when a
// request fell back (the access log's and the mirror's writers).
type Noter interface {
	NoteFallback(reason string)
}

// Exempter is implemented by the guard's response writers. The proxy
// below the guard calls Exempt before it answers for a failure that is
// not the service's: the client's request or connection broke (400,
// 408, 413, 499) or strangler refused the request itself (503 at the
// in-flight bound). The breaker does not count the request, and the
// answer is passed on as it is, never swallowed for a fallback.
type Exempter interface {
	Exempt(reason string)
}

// Exempt tells the nearest Exempter in w's chain of wrapping writers
// (through Unwrap) that the answer about to be written is not the
// service's doing. It does nothing when there is none.
func Exempt(w http.ResponseWriter, reason string) {
	for w != nil {
		if e, ok := w.(Exempter); ok {
			e.Exempt(reason)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
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
	c := &call{g: g}
	if g.Breaker != nil {
		allowed, ok := g.Breaker.Allow()
		if !ok {
			g.open(w, r, body, canFallback)
			return
		}
		c.allowed = allowed
		defer c.finish(r)
	}
	if !canFallback {
		c.sw = statusWriter{ResponseWriter: w, call: c}
		g.Service.ServeHTTP(&c.sw, r)
		c.report(c.sw.status)
		return
	}
	hw := &holdWriter{w: w, h: http.Header{}, failing: g.failing, call: c}
	g.Service.ServeHTTP(hw, r)
	if !hw.failed {
		hw.commitIfPending()
		c.report(hw.status)
		return
	}
	c.report(hw.status)
	g.fallback(w, r, body, reasonStatus+strconv.Itoa(hw.status))
}

// statusClientClosed is what the upstream proxy writes when the client
// went away (upstream.StatusClientClosed; guard cannot import upstream,
// whose tests run through guard).
const statusClientClosed = 499

// call is one request through the guard: the breaker's verdict, given
// once, and the writer watching the service's answer (one allocation for
// all of it).
type call struct {
	g        *guarded
	allowed  Ticket // nil without a breaker
	reported bool
	// exempt: the answer is not the service's doing (Exempt).
	exempt bool
	// streamChecked: the breaker's state was looked at on the first
	// flush or upgrade; later ones need not (an outcome of an older
	// breaker generation is ignored anyway).
	streamChecked bool
	sw            statusWriter
}

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
	case c.exempt, status == statusClientClosed:
		c.done(Excluded)
	case c.g.failing[status]:
		c.done(Failure)
	default:
		c.done(Success)
	}
}

// streaming is told when an answer starts to stream or upgrade. A probe
// that does must not hold the half-open slot for its whole life: it is
// reported at once. Otherwise answers are reported when they end, so a
// death mid-body counts as a failure.
func (c *call) streaming(status int) {
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
func (c *call) finish(r *http.Request) {
	if c.reported {
		return
	}
	if c.exempt || r.Context().Err() != nil {
		c.done(Excluded)
	} else {
		c.done(Failure)
	}
}

// open answers while the breaker is open: from the monolith when allowed,
// otherwise a fast 503.
func (g *guarded) open(w http.ResponseWriter, r *http.Request, body []byte, canFallback bool) {
	if canFallback {
		g.fallback(w, r, body, ReasonBreakerOpen)
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

// fallback serves r from the monolith, replaying the kept body.
func (g *guarded) fallback(w http.ResponseWriter, r *http.Request, body []byte, reason string) {
	note(w, reason)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	r.ContentLength = int64(len(body))
	g.Legacy.ServeHTTP(w, r)
}

func note(w http.ResponseWriter, reason string) {
	if n, ok := w.(Noter); ok {
		n.NoteFallback(reason)
	}
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
