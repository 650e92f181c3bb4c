package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/stranglerfig/strangler/upstream/outbound"
)

// The lean path forwards the bulk of a proxy's traffic, plain HTTP/1.1
// GET, HEAD and OPTIONS requests without a body, on the handler's own
// goroutine: it writes the request straight from the inbound header map
// into the upstream connection's buffer and parses the answer with
// net/http's ReadResponse. http.Transport runs two goroutines per
// connection and hands every request and response between them, and
// httputil.ReverseProxy clones the request and its headers first; the
// lean path does neither. Everything else (bodies, upgrades, TLS
// upstreams, base paths) goes through httputil.ReverseProxy unchanged.

// leanProxy is the handler returned by Upstream.Proxy when the lean path
// is on.
type leanProxy struct {
	up *Upstream
	// plan is the route's outbound rules, applied as the request is
	// written.
	plan    *outbound.Plan
	std     http.Handler
	onError func(http.ResponseWriter, *http.Request, error)
}

func (p *leanProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !leanEligible(r) {
		p.std.ServeHTTP(w, r)
		return
	}
	ctx := r.Context()
	c, resp, err := p.up.leanRoundTrip(ctx, leanRequest{r: r, proxy: p, w: w})
	if err != nil {
		p.onError(w, r, withContextErr(ctx, err))
		return
	}
	p.relay(w, c, resp)
}

// addHeader adds the upstream's header src to the answer's h. The
// response is ours and dropped afterwards, so its value slices are handed
// over, not copied, where h has none of its own.
func addHeader(h, src http.Header) {
	for k, vv := range src {
		if prior := h[k]; len(prior) > 0 {
			h[k] = append(prior, vv...)
		} else {
			h[k] = vv
		}
	}
}

// informational passes a 1xx answer (103 Early Hints, 100 Continue) on
// to the client, as httputil does, without its hop-by-hop headers.
func informational(w http.ResponseWriter, resp *http.Response) {
	h := w.Header()
	outbound.RemoveHop(resp.Header)
	addHeader(h, resp.Header)
	w.WriteHeader(resp.StatusCode)
	clear(h) // WriteHeader keeps the header map for 1xx answers
}

// leanEligible reports whether r can take the lean path: a method that
// is safe to retry on a fresh connection, no body, no upgrade and no
// expectation.
func leanEligible(r *http.Request) bool {
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

// errHeaderTooLarge is returned when the upstream's response header does
// not fit the limit.
var errHeaderTooLarge = errors.New("upstream response header too large")

// max1xx bounds the informational answers before the final one, as
// http.Transport does.
const max1xx = 5

// leanRequest is one request to send on the lean path.
type leanRequest struct {
	r *http.Request
	// proxy rewrites r for the upstream as it is written; nil means r is
	// already the upstream request (RoundTrip).
	proxy *leanProxy
	// w receives 1xx answers; nil drops them.
	w http.ResponseWriter
}

// leanRoundTrip sends o on a pooled connection and reads the response
// header. When a reused connection fails before any response byte came
// (the upstream closed it while it was idle), the request is sent once
// more on a newly dialed connection: the methods taken here are
// idempotent. A timeout is never retried (it would double the wait and
// the load on a struggling upstream).
func (u *Upstream) leanRoundTrip(ctx context.Context, o leanRequest) (*leanConn, *http.Response, error) {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		c, reused, err := u.pool.get(ctx, attempt > 0)
		if err != nil {
			return nil, nil, err
		}
		// Closing, unlike a deadline, cannot be undone by the header
		// deadline set later; a canceled connection is never reused.
		c.stop = context.AfterFunc(ctx, c.closeConn)
		resp, err := u.exchange(c, o)
		if err == nil {
			return c, resp, nil
		}
		if errors.Is(err, ErrInvalidRequest) {
			u.pool.release(c, true) // nothing was written: the connection is as it was
			return nil, nil, err
		}
		c.close()
		if !reused || attempt > 0 || !c.nothingRead || isTimeout(err) || ctx.Err() != nil {
			return nil, nil, err
		}
	}
}

// exchange writes o on c and reads the response header, passing
// informational (1xx) answers on to o.w.
func (u *Upstream) exchange(c *leanConn, o leanRequest) (*http.Response, error) {
	c.nothingRead = true
	var err error
	if o.proxy != nil {
		err = o.proxy.writeRequest(&c.head, o.r)
	} else {
		err = writeOutbound(&c.head, o.r)
	}
	if err != nil {
		c.head.reset()
		return nil, fmt.Errorf("write request to %s: %w", u.opts.Name, err)
	}
	c.head.writeTo(c.bw)
	if err := c.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write request to %s: %w", u.opts.Name, err)
	}
	c.limit.remaining = maxResponseHeaderBytes
	c.armHeaderDeadline(u.opts.Timeout)
	if _, err := c.br.Peek(1); err != nil {
		return nil, fmt.Errorf("read response from %s: %w", u.opts.Name, err)
	}
	c.nothingRead = false
	for informational1xx := 0; ; informational1xx++ {
		if informational1xx > max1xx {
			return nil, fmt.Errorf("read response from %s: more than %d informational answers", u.opts.Name, max1xx)
		}
		resp, err := http.ReadResponse(c.br, o.r)
		if err != nil {
			return nil, fmt.Errorf("read response from %s: %w", u.opts.Name, err)
		}
		if resp.StatusCode >= 200 {
			c.limit.remaining = noLimit
			if !bodyBuffered(resp, c.br) {
				c.disarmHeaderDeadline()
			}
			return resp, nil
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("read response from %s: unexpected 101 to a request without upgrade", u.opts.Name)
		}
		if o.w != nil {
			informational(o.w, resp)
		}
	}
}

// bodyBuffered reports whether resp's whole body is already in br, so
// no further read of the connection can hit the header deadline.
func bodyBuffered(resp *http.Response, br *bufio.Reader) bool {
	return resp.Body == http.NoBody || (resp.ContentLength >= 0 && int64(br.Buffered()) >= resp.ContentLength)
}

// writeRequest serializes r for the upstream as the route's plan says:
// the request line, Host, the client's end-to-end headers and the
// X-Forwarded-* set, the same headers the standard path sends. It fails,
// writing nothing, on a request net/http's transport would refuse.
func (p *leanProxy) writeRequest(w *headWriter, r *http.Request) error {
	path := r.URL.EscapedPath()
	if p.plan.Rewrites() {
		path = p.plan.Path(path)
	}
	w.requestLine(r.Method, path, r.URL.RawQuery, p.plan.Host(r.Host))
	p.plan.Header(r.Header, r, p.plan.FromTrusted(r.RemoteAddr), w)
	return w.end()
}

// flush sends what w buffered to the client; a writer that cannot flush
// is not an error.
func flush(rc *http.ResponseController) error {
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// relay sends resp to the client, then returns c to the pool if the
// upstream left it reusable. A failure after the header was sent aborts
// the client's response (http.ErrAbortHandler), as httputil does, so a
// truncated body is never passed off as complete.
func (p *leanProxy) relay(w http.ResponseWriter, c *leanConn, resp *http.Response) {
	h := w.Header()
	outbound.RemoveHop(resp.Header)
	addHeader(h, resp.Header)
	if len(resp.Trailer) > 0 {
		keys := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	err := copyBody(w, resp, c.br)
	if err == nil && len(resp.Trailer) > 0 {
		// Header() again: a wrapping writer may hand out its own map
		// until the answer is committed (guard's fallback does).
		th := w.Header()
		for k, vv := range resp.Trailer {
			th[http.TrailerPrefix+k] = vv
		}
		_ = http.NewResponseController(w).Flush()
	}
	reusable := err == nil && !resp.Close
	p.up.pool.release(c, reusable)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
}

// copyBody copies resp's body, read from the connection's reader br, to
// w with a pooled buffer. An answer of unknown length (streams,
// server-sent events) is flushed after every write. One of known length
// is flushed, header included, whenever the next read would wait on the
// upstream (br holds nothing and the body is not complete): what arrived
// reaches the client while the upstream pauses, with no timer. An answer
// that arrived whole with its header, the common case, is never flushed
// here: net/http sends it when the handler returns, in one write.
func copyBody(w http.ResponseWriter, resp *http.Response, br *bufio.Reader) error {
	if resp.Body == http.NoBody {
		return nil
	}
	stream := resp.ContentLength == -1
	rc := http.NewResponseController(w)
	bp := copyBuffers.pool.Get().(*[]byte) // the pointer itself: Put(buf) would allocate one
	defer copyBuffers.pool.Put(bp)
	buf := *bp
	remaining, unflushed := resp.ContentLength, true // the header is not sent yet
	for {
		if !stream && unflushed && remaining > 0 && br.Buffered() == 0 {
			if err := flush(rc); err != nil {
				return err
			}
			unflushed = false
		}
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			remaining -= int64(n)
			unflushed = true
			if stream {
				if err := flush(rc); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
