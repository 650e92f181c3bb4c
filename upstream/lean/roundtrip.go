package lean

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// RoundTrip implements http.RoundTripper for a request already meant
// for the upstream (ShadowRequest applied the route's plan): it is
// written as it is, after the same checks http.Transport makes. A
// request that is not Eligible, or addressed to another host, is refused
// with ErrNotEligible. Reading the body to its end returns the
// connection to the pool.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !Eligible(req) || req.URL.Scheme != "http" || (req.URL.Host != t.upstream && DialAddr(req.URL) != t.upstream) {
		return nil, fmt.Errorf("lean %s: %s %s: %w", t.name, req.Method, req.URL.Redacted(), ErrNotEligible)
	}
	ctx := req.Context()
	c, resp, err := t.roundTrip(ctx, leanRequest{r: req})
	if err != nil {
		return nil, withContextErr(ctx, err)
	}
	if resp.Body == http.NoBody {
		t.pool.release(c, !resp.Close)
		return resp, nil
	}
	resp.Body = &leanBody{ctx: ctx, body: resp.Body, c: c, pool: t.pool, keep: !resp.Close}
	return resp, nil
}

// writeOutbound serializes a request that is already meant for the
// upstream (ShadowRequest applied the plan): request line, Host and its
// headers. It fails, writing nothing, on a request net/http's transport
// would refuse.
func writeOutbound(w *headWriter, r *http.Request) error {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	w.requestLine(r.Method, r.URL.RequestURI(), "", host)
	for k, vv := range r.Header {
		if k != "Host" && k != "Content-Length" { // framing: written here
			w.Keep(k, vv)
		}
	}
	return w.end()
}

// leanBody is the body of a response read on the lean path: reading it
// to the end gives the connection back to the pool; closing it earlier
// closes the connection (an unread rest is not drained).
type leanBody struct {
	mu   sync.Mutex
	ctx  context.Context // the request's; its end closes the connection
	body io.ReadCloser
	c    *pconn
	pool *connPool
	keep bool // the upstream allows reuse
	// end is what reads return once the connection is released: io.EOF
	// after a complete answer, the read error, or ErrBodyReadAfterClose.
	end error
}

// Read reads the body. The lock is not held while reading, so a Close
// from another goroutine interrupts a blocked Read by closing the
// connection.
func (b *leanBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	end := b.end
	b.mu.Unlock()
	if end != nil {
		return 0, end
	}
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF {
		err = withContextErr(b.ctx, err)
	}
	if err != nil {
		b.mu.Lock()
		if b.end == nil {
			b.end = err
			b.pool.release(b.c, err == io.EOF && b.keep)
		}
		b.mu.Unlock()
	}
	return n, err
}

// Close releases the connection: closed unless the body was read to its
// end. An unread rest is not drained.
func (b *leanBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.end == nil {
		b.end = http.ErrBodyReadAfterClose
		b.pool.release(b.c, false)
	}
	return nil
}
