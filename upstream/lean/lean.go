package lean

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/stranglerfig/strangler/upstream/errkind"
	"github.com/stranglerfig/strangler/upstream/outbound"
)

// Serve sends r upstream as plan says, writing the plan as it goes, and
// relays the answer to w, 1xx answers included. An error is returned,
// and nothing written to w, when no answer came (the caller answers it:
// 502, 504, or the client's fault); a failure after the answer started
// aborts the client's response (http.ErrAbortHandler), as httputil does,
// so a truncated body is never passed off as complete. r must be
// Eligible and plan Direct.
func (t *Transport) Serve(w http.ResponseWriter, r *http.Request, plan *outbound.Plan) error {
	ctx := r.Context()
	c, resp, err := t.roundTrip(ctx, leanRequest{r: r, plan: plan, w: w})
	if err != nil {
		return withContextErr(ctx, err)
	}
	t.relay(w, c, resp)
	return nil
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

// errHeaderTooLarge is returned when the upstream's response header does
// not fit the limit.
var errHeaderTooLarge = errors.New("upstream response header too large")

// max1xx bounds the informational answers before the final one, as
// http.Transport does.
const max1xx = 5

// leanRequest is one request to send on the lean path.
type leanRequest struct {
	r *http.Request
	// plan rewrites r for the upstream as it is written; nil means r is
	// already the upstream request (RoundTrip).
	plan *outbound.Plan
	// w receives 1xx answers; nil drops them.
	w http.ResponseWriter
}

// roundTrip sends o on a pooled connection and reads the response
// header. When a reused connection fails before any response byte came
// (the upstream closed it while it was idle), the request is sent once
// more on a newly dialed connection: the methods taken here are
// idempotent. A timeout is never retried (it would double the wait and
// the load on a struggling upstream).
func (t *Transport) roundTrip(ctx context.Context, o leanRequest) (*pconn, *http.Response, error) {
	// The head is built and checked before a connection is taken, as
	// http.Transport checks a request before it dials; a retry sends the
	// same bytes.
	head := heads.Get().(*headWriter)
	defer head.release()
	if err := o.writeHead(head); err != nil {
		return nil, nil, fmt.Errorf("write request to %s: %w", t.name, err)
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		c, reused, err := t.pool.get(ctx, attempt > 0)
		if err != nil {
			return nil, nil, err
		}
		// Closing, unlike a deadline, cannot be undone by the header
		// deadline set later; a canceled connection is never reused.
		c.stop = context.AfterFunc(ctx, c.closeConn)
		resp, err := t.exchange(c, head.buf, o)
		if err == nil {
			return c, resp, nil
		}
		c.close()
		if !reused || attempt > 0 || !c.nothingRead || errkind.IsTimeout(err) || ctx.Err() != nil {
			return nil, nil, err
		}
	}
}

// writeHead builds o's request head in w.
func (o leanRequest) writeHead(w *headWriter) error {
	if o.plan != nil {
		return writeRequest(w, o.r, o.plan)
	}
	return writeOutbound(w, o.r)
}

// exchange writes head, o's request head, on c and reads the response
// header, passing informational (1xx) answers on to o.w.
func (t *Transport) exchange(c *pconn, head []byte, o leanRequest) (*http.Response, error) {
	c.nothingRead = true
	_, _ = c.bw.Write(head)
	if err := c.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write request to %s: %w", t.name, err)
	}
	c.limit.remaining = t.maxHead
	c.armHeaderDeadline(t.timeout)
	if _, err := c.br.Peek(1); err != nil {
		return nil, fmt.Errorf("read response from %s: %w", t.name, err)
	}
	c.nothingRead = false
	for informational1xx := 0; ; informational1xx++ {
		if informational1xx > max1xx {
			return nil, fmt.Errorf("read response from %s: more than %d informational answers", t.name, max1xx)
		}
		resp, err := http.ReadResponse(c.br, o.r)
		if err != nil {
			return nil, fmt.Errorf("read response from %s: %w", t.name, err)
		}
		if resp.StatusCode >= 200 {
			c.limit.remaining = noLimit
			if !bodyBuffered(resp, c.br) {
				c.disarmHeaderDeadline()
			}
			return resp, nil
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("read response from %s: unexpected 101 to a request without upgrade", t.name)
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

// writeRequest serializes r for the upstream as plan says:
// the request line, Host, the client's end-to-end headers and the
// X-Forwarded-* set, the same headers the standard path sends. It fails,
// writing nothing, on a request net/http's transport would refuse.
func writeRequest(w *headWriter, r *http.Request, plan *outbound.Plan) error {
	path := r.URL.EscapedPath()
	if plan.Rewrites() {
		path = plan.Path(path)
	}
	w.requestLine(r.Method, path, r.URL.RawQuery, plan.Host(r.Host))
	plan.Header(r.Header, r, plan.FromTrusted(r.RemoteAddr), w)
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
func (t *Transport) relay(w http.ResponseWriter, c *pconn, resp *http.Response) {
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
	t.pool.release(c, reusable)
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
	bp := copyBuffers.Get().(*[]byte) // the pointer itself: Put(buf) would allocate one
	defer copyBuffers.Put(bp)
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
