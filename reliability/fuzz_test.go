package reliability

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/proxy"
)

// countingHandler counts the requests net/http parsed from clients and
// those still being served.
type countingHandler struct {
	h        http.Handler
	parsed   atomic.Int64
	inflight atomic.Int64
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.parsed.Add(1)
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	c.h.ServeHTTP(w, r)
}

// fuzzRig is strangler's full handler on a loopback listener in front of
// a raw recorder, with one route migrated to a second recorder.
type fuzzRig struct {
	legacy, svc *Recorder
	counter     *countingHandler
	addr        string
}

func newFuzzRig(tb testing.TB) *fuzzRig {
	tb.Helper()
	legacy, err := NewRecorder("legacy")
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := NewRecorder("svc")
	if err != nil {
		tb.Fatal(err)
	}
	yaml := fmt.Sprintf("listen: 127.0.0.1:0\nlegacy: {url: %q}\nservices:\n  svc: {url: %q}\nroutes:\n"+
		"  - {name: api, match: {prefix: /api/}, service: svc, stage: migrated}\n", legacy.URL(), svc.URL())
	cfg, err := config.Parse([]byte(yaml), "fuzz.yaml", config.Source{})
	if err != nil {
		tb.Fatalf("fuzz config: %v", err)
	}
	p, err := proxy.New(cfg, proxy.Options{Log: zerolog.Nop(), Metrics: metrics.New()})
	if err != nil {
		tb.Fatalf("proxy.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	rig := &fuzzRig{legacy: legacy, svc: svc, counter: &countingHandler{h: p.Handler()}, addr: ln.Addr().String()}
	srv := proxy.NewServer(rig.counter, cfg.Server, zerolog.Nop())
	srv.ReadHeaderTimeout = time.Second
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		<-done
		p.Close()
		legacy.Close()
		svc.Close()
	})
	return rig
}

// backendCount is the number of requests both recorders parsed.
func (r *fuzzRig) backendCount() int { return r.legacy.Count() + r.svc.Count() }

// exchange sends raw on one connection, reads for up to wait, closes, and
// waits until strangler has finished serving what it parsed.
func (r *fuzzRig) exchange(tb testing.TB, raw []byte, wait time.Duration) (parsed, backend int) {
	p0, b0 := r.counter.parsed.Load(), r.backendCount()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = c.Write(raw)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 32<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	_ = c.Close()
	deadline := time.Now().Add(3 * time.Second)
	for r.counter.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // a request written just before a cancel
	return int(r.counter.parsed.Load() - p0), r.backendCount() - b0
}

// FuzzRawRequest writes raw bytes to strangler's full handler over
// loopback. Oracle: the backends never parse more requests than
// strangler parsed from the client (a smuggled request would be one more),
// and nothing panics (a handler panic is a 500 or a broken connection;
// the recorders and strangler must stay up for the next input).
func FuzzRawRequest(f *testing.F) {
	for _, p := range smugglingPayloads() {
		f.Add([]byte(p.raw))
	}
	f.Add([]byte("GET /api/x HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"))
	rig := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		parsed, backend := rig.exchange(t, raw, 100*time.Millisecond)
		if backend > parsed {
			t.Fatalf("backends parsed %d requests, strangler parsed %d from the client: %q", backend, parsed, raw)
		}
	})
}
