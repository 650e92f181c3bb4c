package lean

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"sync"
	"time"
)

// noLimit lifts the header limit once the header has been read.
const noLimit = math.MaxInt64

// conn is one keep-alive connection of the lean path.
type pconn struct {
	conn  net.Conn
	limit *limitedReader
	br    *bufio.Reader
	bw    *bufio.Writer
	// idleSince is when the connection went back to the pool.
	idleSince time.Time
	// stop disarms the watch that interrupts the connection when the
	// client's request is canceled; false means it already fired.
	stop func() bool
	// closeConn is what that watch runs, built once per connection.
	closeConn func()
	// idle checks the connection for noise before reuse (nil: no check).
	idle *idlePeek
	// readDeadline is the read deadline set on conn (zero: none).
	readDeadline time.Time
	// nothingRead says no byte of a response has arrived yet, so a
	// failure may be retried.
	nothingRead bool
}

func (c *pconn) close() {
	if c.stop != nil {
		c.stop()
	}
	_ = c.conn.Close()
}

// armHeaderDeadline bounds the wait for the response header to about t
// from now. Setting a deadline costs a timer update, so one set less than
// t/64 ago is kept: the bound is then between 63/64 t and t. A deadline
// left from the previous answer is harmless: nothing reads the
// connection between answers.
func (c *pconn) armHeaderDeadline(t time.Duration) {
	if t <= 0 {
		return
	}
	want := time.Now().Add(t)
	if want.Sub(c.readDeadline) > t/64 {
		_ = c.conn.SetReadDeadline(want)
		c.readDeadline = want
	}
}

// disarmHeaderDeadline lifts the header deadline before a body that is
// still to come is read (a stream must not be cut by it).
func (c *pconn) disarmHeaderDeadline() {
	if !c.readDeadline.IsZero() {
		_ = c.conn.SetReadDeadline(time.Time{})
		c.readDeadline = time.Time{}
	}
}

// limitedReader fails reads past remaining bytes; it bounds how much of
// a response header is read.
type limitedReader struct {
	conn      net.Conn
	remaining int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.remaining <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.remaining {
		p = p[:l.remaining]
	}
	n, err := l.conn.Read(p)
	l.remaining -= int64(n)
	return n, err
}

// pool keeps the idle connections of one upstream, most recently
// used first, up to maxIdle; connections idle longer than idleTimeout are
// closed rather than reused.
type connPool struct {
	addr        string
	dialer      *net.Dialer
	maxIdle     int
	idleTimeout time.Duration

	mu   sync.Mutex
	idle []*pconn // oldest first: put appends in idleSince order
	// reaper closes connections idle longer than idleTimeout, as
	// http.Transport does; armed while any connection is idle.
	reaper *time.Timer
	armed  bool
	closed bool
}

func newPool(addr string, dialer *net.Dialer, maxIdle int, idleTimeout time.Duration) *connPool {
	return &connPool{addr: addr, dialer: dialer, maxIdle: maxIdle, idleTimeout: idleTimeout}
}

// get returns an idle connection (reused true) or dials a new one;
// fresh always dials.
func (p *connPool) get(ctx context.Context, fresh bool) (*pconn, bool, error) {
	if !fresh {
		if c := p.takeIdle(); c != nil {
			return c, true, nil
		}
	}
	conn, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, fmt.Errorf("dial %s: %w", p.addr, err)
	}
	l := &limitedReader{conn: conn, remaining: noLimit}
	c := &pconn{conn: conn, limit: l, br: bufio.NewReaderSize(l, 4096), bw: bufio.NewWriterSize(conn, 4096)}
	c.idle = newIdlePeek(c)
	c.closeConn = func() { _ = conn.Close() }
	return c, false, nil
}

// takeIdle pops the most recently used idle connection that is still
// fresh and quiet. Bytes or an end of stream that came while a connection
// was idle (a 408 on keep-alive timeout, a close, a stray body) make it
// unfit: it would answer the next request with them.
func (p *connPool) takeIdle() *pconn {
	now := time.Now()
	for {
		c := p.popFresh(now)
		if c == nil || c.quiet() {
			return c
		}
		c.close()
	}
}

// release ends c's use by one request: it goes back to the pool when the
// answer ended cleanly (ok) and the connection is in a known state, and
// is closed otherwise. Bytes past the answer mean the upstream is out of
// step; a fired cancel watch has poisoned the connection's deadline.
func (p *connPool) release(c *pconn, ok bool) {
	if c.stop != nil && !c.stop() {
		ok = false // the request was canceled and the deadline fired
	}
	c.stop = nil
	if !ok || c.br.Buffered() != 0 {
		c.close()
		return
	}
	p.put(c)
}

// popFresh pops the most recently used idle connection if it is fresh.
// If it is not, none is (they are kept in idleSince order): all are
// closed and it returns nil.
func (p *connPool) popFresh(now time.Time) *pconn {
	p.mu.Lock()
	n := len(p.idle)
	if n > 0 && now.Sub(p.idle[n-1].idleSince) < p.idleTimeout {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c
	}
	stale := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
	return nil
}

// put returns c to the pool, or closes it when the pool is full or
// closed.
func (p *connPool) put(c *pconn) {
	c.stop = nil
	c.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		c.close()
		return
	}
	p.idle = append(p.idle, c)
	if !p.armed {
		p.armed = true
		if p.reaper == nil {
			p.reaper = time.AfterFunc(p.idleTimeout, p.reap)
		} else {
			p.reaper.Reset(p.idleTimeout)
		}
	}
	p.mu.Unlock()
}

// reap closes the connections that have been idle for idleTimeout and
// arms itself again for the oldest one left.
func (p *connPool) reap() {
	now := time.Now()
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].idleSince) >= p.idleTimeout {
		n++
	}
	stale := make([]*pconn, n)
	copy(stale, p.idle[:n])
	rest := copy(p.idle, p.idle[n:])
	clear(p.idle[rest:])
	p.idle = p.idle[:rest]
	p.armed = len(p.idle) > 0 && !p.closed
	if p.armed {
		p.reaper.Reset(p.idle[0].idleSince.Add(p.idleTimeout).Sub(now))
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
}

// close closes the idle connections; connections in use are closed
// when their request ends.
func (p *connPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	if p.reaper != nil {
		p.reaper.Stop()
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}
