package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
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
	up      *Upstream
	rt      Route
	trusted *Trusted
	host    string // Host sent when the client's is not kept
	// addPrefix is rt.AddPrefix escaped as the standard path would send
	// it ("/my app" -> "/my%20app").
	addPrefix string
	std       http.Handler
	onError   func(http.ResponseWriter, *http.Request, error)
}

func (p *leanProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !leanEligible(r) {
		p.std.ServeHTTP(w, r)
		return
	}
	ctx := r.Context()
	c, resp, err := p.up.leanRoundTrip(ctx, outbound{r: r, proxy: p, w: w})
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
	removeHopHeaders(resp.Header)
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

// outbound is one request to send on the lean path.
type outbound struct {
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
func (u *Upstream) leanRoundTrip(ctx context.Context, o outbound) (*leanConn, *http.Response, error) {
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
		c.close()
		if !reused || attempt > 0 || !c.nothingRead || isTimeout(err) || ctx.Err() != nil {
			return nil, nil, err
		}
	}
}

// exchange writes o on c and reads the response header, passing
// informational (1xx) answers on to o.w.
func (u *Upstream) exchange(c *leanConn, o outbound) (*http.Response, error) {
	c.nothingRead = true
	if o.proxy != nil {
		o.proxy.writeRequest(c.bw, o.r)
	} else {
		writeOutbound(c.bw, o.r)
	}
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

// writeRequest serializes r for the upstream: the request line, Host,
// the client's end-to-end headers and the X-Forwarded-* set, the same
// headers the standard path sends.
func (p *leanProxy) writeRequest(bw *bufio.Writer, r *http.Request) {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	path := r.URL.EscapedPath()
	if p.rt.StripPrefix != "" || p.addPrefix != "" {
		path = rewriteEscapedPath(path, p.rt.StripPrefix, p.addPrefix)
	}
	bw.WriteString(path)
	if r.URL.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(r.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	if p.rt.KeepHost && r.Host != "" { // an HTTP/1.0 client may send none
		bw.WriteString(r.Host)
	} else {
		bw.WriteString(p.host)
	}
	bw.WriteString("\r\n")
	fromTrusted := p.trusted.Contains(r.RemoteAddr)
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		if dropOutbound(k, fromTrusted) || listedIn(conn, k) || spoofsInternal(k) {
			continue
		}
		for _, v := range vv {
			writeHeaderLine(bw, k, v)
		}
	}
	if hasToken(r.Header["Te"], "trailers") {
		// The one Te value a proxy passes on, as httputil does.
		writeHeaderLine(bw, "Te", "trailers")
	}
	p.writeForwarded(bw, r, fromTrusted)
	bw.WriteString("\r\n")
}

// writeForwarded adds X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded does; a trusted peer's values are
// kept and its For chain is extended.
func (p *leanProxy) writeForwarded(bw *bufio.Writer, r *http.Request, fromTrusted bool) {
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		bw.WriteString("X-Forwarded-For: ")
		if prior := r.Header["X-Forwarded-For"]; fromTrusted && len(prior) > 0 {
			for _, v := range prior {
				bw.WriteString(v)
				bw.WriteString(", ")
			}
		}
		bw.WriteString(ip)
		bw.WriteString("\r\n")
	}
	host, proto := r.Host, "http"
	if r.TLS != nil {
		proto = "https"
	}
	if fromTrusted {
		if v := r.Header.Get("X-Forwarded-Host"); v != "" {
			host = v
		}
		if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
			proto = v
		}
	}
	writeHeaderLine(bw, "X-Forwarded-Host", host)
	writeHeaderLine(bw, "X-Forwarded-Proto", proto)
}

func writeHeaderLine(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// dropOutbound reports whether the inbound header k is not forwarded:
// hop-by-hop headers and the X-Forwarded-* set (written afresh). The
// shadow mark is not among them: the edge (proxy) has already stripped an
// untrusted one. It is a switch, not a walk over
// hopHeaders and forwardedHeaders, because it runs for every header of
// every request; TestDropOutbound keeps it in step with those lists.
func dropOutbound(k string, fromTrusted bool) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Host",
		"Content-Length": // no body is sent: the upstream needs no length
		return true
	case "X-Real-Ip", "True-Client-Ip":
		// Client addresses as another proxy saw them: believed, like
		// X-Forwarded-Host, only from a trusted peer.
		return !fromTrusted
	}
	return false
}

// spoofsInternal reports whether the header name k is an underscore
// spelling of a header strangler controls ("X_Forwarded_For",
// "X-Strangler_Shadow"): many backends (CGI, PHP, WSGI, nginx's
// variables) read '-' and '_' alike, so such a header would pass for the
// real one. It is dropped from every peer. Names without '_' cost one
// byte scan.
func spoofsInternal(k string) bool {
	if strings.IndexByte(k, '_') < 0 {
		return false
	}
	return internalHeader(http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-")))
}

// internalHeader reports whether the canonical name k is one strangler
// drops, writes or reads itself: hop-by-hop and framing headers, the
// forwarding family, client addresses, the request id and X-Strangler-*.
func internalHeader(k string) bool {
	return dropOutbound(k, false) || k == "X-Request-Id" || strings.HasPrefix(k, "X-Strangler-")
}

// listedIn reports whether the Connection header values name k.
func listedIn(connection []string, k string) bool {
	return len(connection) > 0 && hasToken(connection, k)
}

// hasToken reports whether the comma-separated values hold tok (case
// insensitive).
func hasToken(values []string, tok string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
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
	removeHopHeaders(resp.Header)
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
