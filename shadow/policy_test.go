package shadow

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/upstream"
)

// TestSkipReasons checks eligibility: each ineligible request is counted
// (in Counts and in the metrics) under its reason, reaches no upstream as
// a copy, and is answered by the primary exactly once.
func TestSkipReasons(t *testing.T) {
	tests := []struct {
		name    string
		n       int // requests sent (default 1)
		method  string
		target  string
		body    string
		header  map[string]string
		dec     routing.Decision
		edit    func(*PolicyConfig)
		want    string // skip reason; "" means mirrored
		toSvc   int    // copies expected at the service
		toLegcy int    // copies expected at the monolith
	}{
		{name: "loop header", method: "GET", target: "/items",
			header: map[string]string{upstream.ShadowHeader: "1"}, dec: shadowDecision, want: ReasonLoop},
		{name: "websocket upgrade", method: "GET", target: "/ws",
			header: map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}, dec: shadowDecision,
			want: ReasonUpgrade},
		{name: "CONNECT even when allowed", method: "CONNECT", target: "example.com:443", dec: shadowDecision,
			edit: func(c *PolicyConfig) { c.Methods = append(c.Methods, "CONNECT") }, want: ReasonUpgrade},
		{name: "method not allowed", method: "DELETE", target: "/items/1", dec: shadowDecision,
			edit: func(c *PolicyConfig) { c.Methods = []string{"GET"} }, want: ReasonMethod},
		{name: "method case matters", method: "PATCH", target: "/items/1", body: "{}", dec: shadowDecision,
			edit: func(c *PolicyConfig) { c.Methods = []string{"GET", "patch"} }, want: ReasonMethod},
		{name: "POST to the monolith though allowed", method: "POST", target: "/items", body: `{"a":1}`,
			dec: migratedDecision, want: ReasonWriteToMonolith},
		{name: "DELETE to the monolith though allowed", method: "DELETE", target: "/items/1",
			dec: migratedDecision, want: ReasonWriteToMonolith},
		{name: "GET to the monolith", method: "GET", target: "/items/1", dec: migratedDecision, toLegcy: 1},
		{name: "POST to the service", method: "POST", target: "/items", body: `{"a":1}`, dec: shadowDecision,
			toSvc: 1},
		{name: "Content-Length over MaxBody", method: "POST", target: "/items", body: strings.Repeat("x", 1025),
			dec: shadowDecision, want: ReasonBodyTooLarge},
		{name: "Content-Length at MaxBody", method: "POST", target: "/items", body: strings.Repeat("x", 1024),
			dec: shadowDecision, toSvc: 1},
		{name: "sample 0", n: 40, method: "GET", target: "/items", dec: shadowDecision,
			edit: func(c *PolicyConfig) { c.Sample = 0 }, want: ReasonSampledOut},
		{name: "sample 100", n: 40, method: "GET", target: "/items", dec: shadowDecision, toSvc: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			legacy, service := newCapturing(`{"ok":true}`), newCapturing(`{"ok":true}`)
			r := newRig(t, legacy, service, Options{Workers: 2, Queue: 64})
			p := r.policy(tt.edit)
			n := max(tt.n, 1)
			primary := &counting{body: "primary"}
			for range n {
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				req := httptest.NewRequest(tt.method, tt.target, body)
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				rec := serve(p, req, tt.dec, primary)
				if rec.Code != http.StatusOK || rec.Body.String() != "primary" {
					t.Fatalf("client got %d %q, want the primary's answer", rec.Code, rec.Body)
				}
			}
			r.wait()
			if got := primary.calls.Load(); got != int64(n) {
				t.Errorf("primary served %d times, want %d", got, n)
			}
			if tt.want != "" {
				wantCounts(t, r.d, 0, map[string]uint64{tt.want: uint64(n)}, nil)
				if got := shadowMetric(t, r.metrics, resultSkipped, tt.want); got != float64(n) {
					t.Errorf("metric skipped/%s = %v, want %d", tt.want, got, n)
				}
			} else {
				wantCounts(t, r.d, uint64(n), nil, nil)
				if got := shadowMetric(t, r.metrics, resultSent, ""); got != float64(n) {
					t.Errorf("metric sent = %v, want %d", got, n)
				}
				if got := r.store.Stats().Stored; got != n {
					t.Errorf("store holds %d records, want %d", got, n)
				}
			}
			if got := len(service.copies); got != tt.toSvc {
				t.Errorf("service got %d copies, want %d", got, tt.toSvc)
			}
			if got := len(legacy.copies); got != tt.toLegcy {
				t.Errorf("monolith got %d copies, want %d", got, tt.toLegcy)
			}
		})
	}
}

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// unknownLength hides a reader's length so the client sends it chunked.
type unknownLength struct{ io.Reader }

// TestCapture checks what the capture does with real exchanges through a
// real server: exchanges it cannot compare are skipped under the right
// reason, the client and the primary are never short-changed, and
// flushing, hijacking and http.ResponseController work through it.
func TestCapture(t *testing.T) {
	big := randomBytes(t, 64<<10)
	tests := []struct {
		name     string
		primary  func(x *exchange) http.HandlerFunc
		client   func(x *exchange)
		want     string // skip reason, "" for mirrored
		copyBody []byte // the body the copy must carry, when mirrored
	}{
		{
			name: "SSE response is streaming",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
					for i := range 3 {
						_, _ = io.WriteString(w, "data: "+string(rune('a'+i))+"\n\n")
						w.(http.Flusher).Flush()
					}
				}
			},
			client: func(x *exchange) {
				if got := get(x.t, x.client, x.url); got != "data: a\n\ndata: b\n\ndata: c\n\n" {
					x.t.Errorf("client got %q", got)
				}
			},
			want: ReasonStreaming,
		},
		{
			name: "response over MaxResponse",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/octet-stream")
					for chunk := range slices.Chunk(big, 4096) {
						_, _ = w.Write(chunk)
					}
				}
			},
			client: func(x *exchange) {
				if got := get(x.t, x.client, x.url); sum([]byte(got)) != sum(big) || len(got) != len(big) {
					x.t.Errorf("client got %d bytes (sha %s), want all %d", len(got), sum([]byte(got)), len(big))
				}
			},
			want: ReasonResponseTooLarge,
		},
		{
			name: "response at MaxResponse",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/octet-stream")
					_, _ = w.Write(big[:512])
					_, _ = w.Write(big[512:1024])
				}
			},
			client: func(x *exchange) {
				if got := get(x.t, x.client, x.url); got != string(big[:1024]) {
					x.t.Errorf("client got %d bytes, want 1024", len(got))
				}
			},
		},
		{
			name:    "chunked body over MaxBody",
			primary: hashBody,
			client: func(x *exchange) {
				if got := post(x.t, x.client, x.url, unknownLength{strings.NewReader(string(big))}); got != "-1 "+sum(big) {
					x.t.Errorf("primary saw %q, want every byte of a chunked body (%s)", got, sum(big))
				}
			},
			want: ReasonBodyTooLarge,
		},
		{
			name:     "chunked body within MaxBody",
			copyBody: big[:1024],
			primary:  hashBody,
			client: func(x *exchange) {
				if got := post(x.t, x.client, x.url, unknownLength{strings.NewReader(string(big[:1024]))}); got != "-1 "+sum(big[:1024]) {
					x.t.Errorf("primary saw %q", got)
				}
			},
		},
		{
			name: "primary does not read the body",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.WriteString(w, "ignored")
				}
			},
			client: func(x *exchange) {
				if got := post(x.t, x.client, x.url, strings.NewReader(strings.Repeat("b", 100))); got != "ignored" {
					x.t.Errorf("client got %q", got)
				}
			},
			want: ReasonBodyIncomplete,
		},
		{
			name: "primary reads part of the body",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.ReadFull(r.Body, make([]byte, 10))
					_, _ = io.WriteString(w, "partial")
				}
			},
			client: func(x *exchange) {
				if got := post(x.t, x.client, x.url, strings.NewReader(strings.Repeat("b", 100))); got != "partial" {
					x.t.Errorf("client got %q", got)
				}
			},
			want: ReasonBodyIncomplete,
		},
		{
			name: "primary writes nothing",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {}
			},
			client: func(x *exchange) { get(x.t, x.client, x.url) },
			want:   ReasonNoResponse,
		},
		{
			name: "client goes away",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					x.started <- struct{}{}
					<-r.Context().Done()
				}
			},
			client: func(x *exchange) {
				ctx, cancel := context.WithCancel(context.Background())
				req, _ := http.NewRequestWithContext(ctx, "GET", x.url, nil)
				done := make(chan error, 1)
				go func() {
					resp, err := x.client.Do(req)
					if err == nil {
						resp.Body.Close()
					}
					done <- err
				}()
				<-x.started
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					x.t.Errorf("client error = %v, want context.Canceled", err)
				}
			},
			want: ReasonClientGone,
		},
		{
			name: "hijacked through ResponseController",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					conn, brw, err := http.NewResponseController(w).Hijack()
					if err != nil {
						x.t.Errorf("Hijack: %v", err)
						return
					}
					defer conn.Close()
					_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
					_ = brw.Flush()
				}
			},
			client: func(x *exchange) {
				if got := get(x.t, x.client, x.url); got != "hijacked" {
					x.t.Errorf("client got %q", got)
				}
			},
			want: ReasonUpgrade,
		},
		{
			name: "Flush and ResponseController pass through",
			primary: func(x *exchange) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					rc := http.NewResponseController(w)
					if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
						x.t.Errorf("SetWriteDeadline: %v", err)
					}
					if err := rc.EnableFullDuplex(); err != nil {
						x.t.Errorf("EnableFullDuplex: %v", err)
					}
					w.Header().Set("Content-Type", "text/plain")
					_, _ = io.WriteString(w, "first\n")
					if err := rc.Flush(); err != nil {
						x.t.Errorf("ResponseController.Flush: %v", err)
					}
					select { // the client must have "first" before we go on
					case <-x.proceed:
					case <-time.After(5 * time.Second):
						x.t.Error("the flushed part never reached the client")
					}
					_, _ = io.WriteString(w, "second\n")
					w.(http.Flusher).Flush()
					_, _ = io.WriteString(w, "third\n")
				}
			},
			client: func(x *exchange) {
				resp, err := x.client.Get(x.url)
				if err != nil {
					x.t.Fatal(err)
				}
				defer resp.Body.Close()
				br := bufio.NewReader(resp.Body)
				line, err := br.ReadString('\n')
				if err != nil || line != "first\n" {
					x.t.Fatalf("first line = %q, %v", line, err)
				}
				close(x.proceed)
				rest, _ := io.ReadAll(br)
				if string(rest) != "second\nthird\n" {
					x.t.Errorf("rest = %q", rest)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			service := newCapturing("ok")
			r := newRig(t, okHandler, service, Options{Workers: 1, Queue: 8})
			x := &exchange{t: t, client: r.client, started: make(chan struct{}, 1), proceed: make(chan struct{})}
			var calls atomic.Int64
			h := tt.primary(x)
			primary := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				calls.Add(1)
				h(w, req)
			})
			x.url = r.front(r.policy(nil), shadowDecision, primary).URL + "/items"
			tt.client(x)
			testutil.Eventually(t, "the exchange to be counted", func() bool {
				c := r.d.Counts(testRoute)
				return c.Sent+c.Skipped[tt.want] > 0
			})
			r.wait()
			if got := calls.Load(); got != 1 {
				t.Errorf("primary served %d times, want 1", got)
			}
			if tt.want != "" {
				wantCounts(t, r.d, 0, map[string]uint64{tt.want: 1}, nil)
				if n := len(service.copies); n != 0 {
					t.Errorf("service got %d copies, want none", n)
				}
				return
			}
			wantCounts(t, r.d, 1, nil, nil)
			cp := service.next(t, service.copies, "copy")
			recs := r.store.Recent(testRoute, 10)
			if len(recs) != 1 {
				t.Fatalf("store holds %d records, want 1", len(recs))
			}
			if rec, _ := r.store.Get(recs[0].ID); rec.Legacy.Status != http.StatusOK {
				t.Errorf("stored primary status %d", rec.Legacy.Status)
			}
			if cp.ContentLength != int64(len(cp.Body)) {
				t.Errorf("copy sent with Content-Length %d for %d bytes", cp.ContentLength, len(cp.Body))
			}
			if tt.copyBody != nil && sum(cp.Body) != sum(tt.copyBody) {
				t.Errorf("copy body differs from the client's (%d bytes, want %d)", len(cp.Body), len(tt.copyBody))
			}
		})
	}
}

// TestAnswerSentBeforeTheCopy: an answer of known length is flushed to
// the client before the copy is snapshotted and offered (net/http would
// hold it until the handler returns); one of unknown length is left for
// net/http to size.
func TestAnswerSentBeforeTheCopy(t *testing.T) {
	for _, tt := range []struct {
		name        string
		length      bool
		wantFlushed bool
	}{
		{name: "Content-Length set", length: true, wantFlushed: true},
		{name: "length unknown", length: false, wantFlushed: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, okHandler, newCapturing("ok"), Options{Workers: 1, Queue: 8})
			primary := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.length {
					w.Header().Set("Content-Length", "2")
				}
				_, _ = io.WriteString(w, "ok")
			})
			rec := httptest.NewRecorder()
			r.policy(nil).ServeMirrored(rec, httptest.NewRequest(http.MethodGet, "/items", nil), shadowDecision, primary)
			r.wait()
			if rec.Flushed != tt.wantFlushed || rec.Body.String() != "ok" {
				t.Errorf("flushed %v with body %q, want flushed %v with %q", rec.Flushed, rec.Body, tt.wantFlushed, "ok")
			}
			wantCounts(t, r.d, 1, nil, nil)
		})
	}
}

// leavingClient is a recorder whose client goes away as soon as it has
// its answer (curl, an HTTP/1.0 client): a flush cancels the request.
type leavingClient struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (l leavingClient) Flush() {
	l.ResponseRecorder.Flush()
	l.cancel()
}

// TestClientLeavingAfterItsAnswerIsCompared: a client that closes its
// connection once it has the whole answer did not go away: its exchange
// is still mirrored and compared.
func TestClientLeavingAfterItsAnswerIsCompared(t *testing.T) {
	r := newRig(t, okHandler, newCapturing("ok"), Options{Workers: 1, Queue: 8})
	primary := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "2")
		_, _ = io.WriteString(w, "ok")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, "/items", nil).WithContext(ctx)
	r.policy(nil).ServeMirrored(leavingClient{httptest.NewRecorder(), cancel}, req, shadowDecision, primary)
	r.wait()
	if ctx.Err() == nil {
		t.Fatal("the answer was never flushed: the test did not exercise a leaving client")
	}
	wantCounts(t, r.d, 1, nil, nil)
}

// exchange is one client exchange through a front server.
type exchange struct {
	t      *testing.T
	url    string
	client *http.Client
	// started is signalled by primaries that block.
	started chan struct{}
	// proceed is closed by the client to let a primary go on.
	proceed chan struct{}
}

// hashBody is a primary that answers the request's ContentLength and the
// sha256 of every byte of its body.
func hashBody(*exchange) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = fmt.Fprintf(w, "%d %s", r.ContentLength, sum(b))
	}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func post(t *testing.T, c *http.Client, url string, body io.Reader) string {
	t.Helper()
	resp, err := c.Post(url, "application/octet-stream", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
