package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/metrics"
)

// servedProxy is the data plane served as in production: NewServer and
// Serve on a real loopback listener.
type servedProxy struct {
	addr string
	p    *Proxy
	logs *testutil.SyncBuffer
	stop context.CancelFunc
	done chan error // Serve's result
}

// serveProxy serves cfg with NewServer and Serve; Cleanup stops it.
func serveProxy(t testing.TB, cfg *config.Config) *servedProxy {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	cfg = mustValid(t, cfg)
	p, err := New(cfg, Options{Log: zerolog.New(logs), Metrics: metrics.New()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	sp := &servedProxy{addr: ln.Addr().String(), p: p, logs: logs, stop: stop, done: make(chan error, 1)}
	srv := NewServer(p.Handler(), cfg.Server, zerolog.New(logs))
	go func() { sp.done <- Serve(ctx, srv, ln, cfg.Server.ShutdownTimeout) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-sp.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
		p.Close()
	})
	return sp
}

// rawExchange sends raw bytes on a new connection and reads one answer.
// It returns the answer (body read) and whether the proxy then closed
// the connection.
func rawExchange(t testing.TB, addr, raw string) (*http.Response, string, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("writing %q: %v", raw, err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", raw, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err = br.ReadByte()
	var ne net.Error
	closed := err != nil && !(errors.As(err, &ne) && ne.Timeout()) // EOF or reset
	return resp, string(body), closed
}

// recorder is a backend that answers with its name and records the raw
// request-target of each request it gets.
type recorder struct {
	*httptest.Server
	name string
	mu   sync.Mutex
	seen []string
}

func newRecorder(t testing.TB, name string) *recorder {
	t.Helper()
	rec := &recorder{name: name}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return // a broken body: the request did not arrive whole
		}
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.RequestURI)
		rec.mu.Unlock()
		w.Header().Set("X-Side", name)
		w.Header().Set("X-Target", r.RequestURI)
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// count returns how many requests the backend got.
func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.seen)
}

// routeOf returns the route the access log names for a request id.
func routeOf(logs string, id string) string {
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, `"request_id":"`+id+`"`) && strings.Contains(line, `"message":"request"`) {
			_, rest, ok := strings.Cut(line, `"route":"`)
			if !ok {
				return ""
			}
			name, _, _ := strings.Cut(rest, `"`)
			return name
		}
	}
	return "?"
}
