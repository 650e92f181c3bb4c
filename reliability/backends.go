package reliability

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Seen is one request a Recorder parsed.
type Seen struct {
	Conn   int    // the recorder's connection number
	Target string // request-target exactly as received
	Method string
	Header http.Header
	Body   []byte
}

// Recorder is a raw HTTP/1.1 backend on 127.0.0.1: it parses requests
// with Go's parser, keeps every byte and every request per TCP
// connection, and answers 200 "ok" naming itself in X-Backend.
type Recorder struct {
	Name string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	seen  []Seen
	raw   map[int][]byte
	conns map[int]net.Conn
	next  int
}

// NewRecorder listens on a free loopback port and serves until Close.
func NewRecorder(name string) (*Recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("recorder %s: %w", name, err)
	}
	r := &Recorder{Name: name, ln: ln, raw: map[int][]byte{}, conns: map[int]net.Conn{}}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// URL is the recorder's base URL.
func (r *Recorder) URL() string { return "http://" + r.ln.Addr().String() }

// Close stops accepting, closes every connection and waits for them.
func (r *Recorder) Close() {
	_ = r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Recorder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.next++
		id := r.next
		r.conns[id] = c
		r.mu.Unlock()
		r.wg.Add(1)
		go r.serve(id, c)
	}
}

// recordingReader appends what it reads to the connection's raw bytes.
type recordingReader struct {
	r  *Recorder
	id int
	c  net.Conn
}

func (rr recordingReader) Read(p []byte) (int, error) {
	n, err := rr.c.Read(p)
	if n > 0 {
		rr.r.mu.Lock()
		rr.r.raw[rr.id] = append(rr.r.raw[rr.id], p[:n]...)
		rr.r.mu.Unlock()
	}
	return n, err
}

func (r *Recorder) serve(id int, c net.Conn) {
	defer r.wg.Done()
	defer func() {
		_ = c.Close()
		r.mu.Lock()
		delete(r.conns, id)
		r.mu.Unlock()
	}()
	br := bufio.NewReader(recordingReader{r: r, id: id, c: c})
	for {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, 8<<20))
		r.mu.Lock()
		r.seen = append(r.seen, Seen{Conn: id, Target: req.RequestURI, Method: req.Method, Header: req.Header, Body: body})
		r.mu.Unlock()
		if err != nil {
			return
		}
		msg := "ok"
		resp := "HTTP/1.1 200 OK\r\nX-Backend: " + r.Name + "\r\nContent-Type: text/plain\r\nContent-Length: " +
			strconv.Itoa(len(msg)) + "\r\n\r\n" + msg
		if _, err := io.WriteString(c, resp); err != nil || req.Close {
			return
		}
	}
}

// Seen returns a copy of the requests parsed so far.
func (r *Recorder) Seen() []Seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Seen(nil), r.seen...)
}

// Count is the number of requests parsed so far.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// Raw returns every byte received, in connection order.
func (r *Recorder) Raw() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []byte
	for id := 1; id <= r.next; id++ {
		out = append(out, r.raw[id]...)
	}
	return out
}

// httpBackend is an httptest server closed by its stop function.
func httpBackend(h http.Handler) (*httptest.Server, func()) {
	s := httptest.NewServer(h)
	return s, s.Close
}
