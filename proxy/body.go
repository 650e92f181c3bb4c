package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/exchange"
	"github.com/stranglerfig/strangler/routing"
)

// Why a request body was cut off; the answer's status is the client's
// fault, whatever the upstream side made of the broken body.
const (
	bodyOK       = 0
	bodyTooLarge = http.StatusRequestEntityTooLarge // 413
	bodyTooSlow  = http.StatusRequestTimeout        // 408
)

var (
	errBodyTooLarge = errors.New("request body larger than the limit (max_body_bytes)")
	errBodyTooSlow  = errors.New("request body too slow (server.body_read_timeout, server.body_min_rate)")
	errBodyDone     = errors.New("request body read after the request ended")
)

// bodyGuard wraps a request body: it bounds its size and how long each
// read may wait (a read deadline on the client connection, moved before
// every read, so no goroutine or timer per request), and records why it
// cut the body off so that the data plane answers 413 or 408 itself.
//
// The upstream transport may read the body from its own goroutine, even
// after the handler returned; mu orders those reads with finish, after
// which the connection's deadline is never touched again.
type bodyGuard struct {
	body io.ReadCloser
	rc   *http.ResponseController // of the server's writer: sets the connection's read deadline

	mu       sync.Mutex
	limit    int64
	read     int64
	start    time.Time
	timeout  time.Duration
	minRate  int64
	deadline bool      // a read deadline is set on the connection
	reading  time.Time // while a read waits: its deadline
	ended    bool      // the body was read to its end (or broke)
	done     bool

	cut atomic.Int32 // bodyOK, bodyTooLarge or bodyTooSlow
}

// Read reads from the client's body within the limit and the deadline.
func (g *bodyGuard) Read(p []byte) (int, error) {
	g.mu.Lock()
	if g.done {
		g.mu.Unlock()
		return 0, errBodyDone
	}
	if room := g.limit - g.read + 1; int64(len(p)) > room {
		p = p[:room] // one byte past the limit tells a body that is too large
	}
	g.reading = g.armLocked()
	g.mu.Unlock()

	n, err := g.body.Read(p)

	g.mu.Lock()
	defer g.mu.Unlock()
	g.reading = time.Time{}
	g.read += int64(n)
	switch {
	case g.read > g.limit:
		g.cut.CompareAndSwap(bodyOK, bodyTooLarge)
		return 0, fmt.Errorf("after %d bytes: %w", g.read, errBodyTooLarge)
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		g.cut.CompareAndSwap(bodyOK, bodyTooSlow)
		return n, fmt.Errorf("after %d bytes in %s: %w", g.read, time.Since(g.start).Round(time.Millisecond), errBodyTooSlow)
	case err != nil:
		g.ended = true
		g.disarmLocked() // EOF or a broken body: no more waiting on the client
	}
	return n, err
}

// armLocked sets the connection's read deadline for the next read: at
// most timeout from now and, with a minimum rate, no later than the
// start plus timeout plus the time the bytes so far may take at that
// rate (Apache's mod_reqtimeout MinRate).
func (g *bodyGuard) armLocked() time.Time {
	now := time.Now()
	if g.start.IsZero() {
		g.start = now
	}
	dl := now.Add(g.timeout)
	if g.minRate > 0 {
		allowed := time.Duration(float64(g.read) / float64(g.minRate) * float64(time.Second))
		if byRate := g.start.Add(g.timeout + allowed); byRate.Before(dl) {
			dl = byRate
		}
	}
	if g.rc.SetReadDeadline(dl) != nil {
		return time.Time{}
	}
	g.deadline = true
	return dl
}

// cutOff returns why the body was cut off, or bodyOK. A read still
// waiting past its deadline counts as too slow already: net/http cancels
// the request's context as soon as the deadline hits, so the upstream
// side may answer before the read returns.
func (g *bodyGuard) cutOff() int32 {
	if c := g.cut.Load(); c != bodyOK {
		return c
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.reading.IsZero() && !time.Now().Before(g.reading) {
		g.cut.CompareAndSwap(bodyOK, bodyTooSlow)
	}
	return g.cut.Load()
}

func (g *bodyGuard) disarmLocked() {
	if g.deadline {
		_ = g.rc.SetReadDeadline(time.Time{})
		g.deadline = false
	}
}

// Close closes the client's body.
func (g *bodyGuard) Close() error { return g.body.Close() }

// finish ends the guard when the handler returns; later reads fail
// without touching the connection. net/http then reads what is left of
// the body (up to 256 KiB) to reuse the connection: after a cut-off the
// deadline is put in the past so that it does not (the connection
// closes), otherwise that read gets the body timeout too.
func (g *bodyGuard) finish() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done = true
	switch {
	case g.cut.Load() != bodyOK:
		_ = g.rc.SetReadDeadline(time.Now())
	case !g.ended:
		_ = g.rc.SetReadDeadline(time.Now().Add(g.timeout))
	default:
		g.disarmLocked()
	}
}

// admit is the router's last word on a routed request (rt nil: the
// monolith): a body declared larger than the limit is refused with 413
// before anything is sent upstream; any other body is guarded.
func (p *Proxy) admit(w http.ResponseWriter, r *http.Request, rt *routing.Route) bool {
	limit := int64(p.server.MaxBodyBytes)
	if rt != nil && rt.MaxBody() > 0 {
		limit = rt.MaxBody()
	}
	if r.ContentLength > limit {
		refuseBody(w, bodyTooLarge)
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	x := exchange.From(w)
	if x == nil {
		return true
	}
	e, ok := x.Edge().(*edge)
	if !ok {
		return true
	}
	g := &bodyGuard{body: r.Body, rc: http.NewResponseController(x.Writer().Unwrap()), limit: limit,
		timeout: p.server.BodyReadTimeout, minRate: int64(p.server.BodyMinRate)}
	r.Body = g
	e.body = g
	return true
}

// bodyLimits returns a server's body limits, with defaults for zero
// values (a config built in code).
func bodyLimits(s config.Server) config.Server {
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = config.DefaultMaxBodyBytes
	}
	if s.BodyReadTimeout <= 0 {
		s.BodyReadTimeout = config.DefaultBodyReadTimeout
	}
	return s
}

// refuseBody answers 413 or 408 and closes the connection: the rest of
// the body is not read.
func refuseBody(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Connection", "close")
	w.WriteHeader(status)
	msg := `{"error":"request body too large"}` + "\n"
	if status == bodyTooSlow {
		msg = `{"error":"request body not received in time"}` + "\n"
	}
	_, _ = io.WriteString(w, msg)
}
