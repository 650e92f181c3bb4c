package exchange

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/routing"
)

// edgeProbe is an Edge that counts what it heard.
type edgeProbe struct {
	cut                bool
	streamed, hijacked int
}

func (e *edgeProbe) BodyCutOff() bool { return e.cut }
func (e *edgeProbe) Streaming()       { e.streamed++ }
func (e *edgeProbe) Hijacked()        { e.hijacked++ }

// watchProbe is a Watcher that keeps the statuses it heard.
type watchProbe struct{ heard []int }

func (p *watchProbe) Streaming(status int) { p.heard = append(p.heard, status) }

// client is a ResponseWriter that answers as net/http does: 1xx answers
// go out as they come, the first final status is the answer's, a body
// without one is a 200.
type client struct {
	h             http.Header
	informational []int
	code          int
	body          bytes.Buffer
}

func (c *client) Header() http.Header { return c.h }

func (c *client) WriteHeader(code int) {
	switch {
	case code < 200:
		c.informational = append(c.informational, code)
	case c.code == 0:
		c.code = code
	}
}

func (c *client) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.body.Write(b)
}

// TestWriterStatusAndBytes: the exchange records the status and the body
// bytes the client got, as net/http answers them.
func TestWriterStatusAndBytes(t *testing.T) {
	tests := []struct {
		name       string
		write      func(w *Writer)
		wantStatus int // Exchange.Status
		answered   bool
		wantBytes  int64
		wantCode   int // the client's final status; 0: none
		wantBody   string
	}{
		{"nothing written", func(*Writer) {}, 200, false, 0, 0, ""},
		{"body only", func(w *Writer) { _, _ = io.WriteString(w, "hello") }, 200, true, 5, 200, "hello"},
		{"status then body", func(w *Writer) {
			w.WriteHeader(404)
			_, _ = io.WriteString(w, "gone")
		}, 404, true, 4, 404, "gone"},
		{"first final status wins", func(w *Writer) {
			w.WriteHeader(201)
			w.WriteHeader(500)
		}, 201, true, 0, 201, ""},
		{"informational then final", func(w *Writer) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(202)
			_, _ = io.WriteString(w, "ok")
		}, 202, true, 2, 202, "ok"},
		{"informational alone", func(w *Writer) { w.WriteHeader(http.StatusEarlyHints) }, 103, true, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &client{h: http.Header{}}
			x := New(c)
			tc.write(x.Writer())
			if x.Status() != tc.wantStatus || x.Answered() != tc.answered || x.Bytes() != tc.wantBytes {
				t.Errorf("exchange: status %d answered %v bytes %d; want %d %v %d",
					x.Status(), x.Answered(), x.Bytes(), tc.wantStatus, tc.answered, tc.wantBytes)
			}
			if c.code != tc.wantCode || c.body.String() != tc.wantBody {
				t.Errorf("client got %d %q; want %d %q", c.code, c.body.String(), tc.wantCode, tc.wantBody)
			}
		})
	}
}

// TestWriterEdge: the edge's hooks. A body cut off before the answer
// started swallows it until Unswallow; Connection: close and the kept
// header are on the final answer; the edge hears of the first flush.
func TestWriterEdge(t *testing.T) {
	t.Run("cut-off body swallows the answer", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e := &edgeProbe{cut: true}
		x := new(Exchange)
		x.Reset(rec, e)
		w := x.Writer()
		w.WriteHeader(502)
		if n, err := io.WriteString(w, "upstream's view of a broken body"); n != 32 || err != nil {
			t.Fatalf("a swallowed Write = %d, %v; want it to look successful", n, err)
		}
		w.Flush()
		if !x.Swallowed() || x.Answered() || rec.Flushed || rec.Body.Len() != 0 || e.streamed != 0 {
			t.Fatalf("swallowed %v answered %v, client flushed %v body %q, edge streamed %d",
				x.Swallowed(), x.Answered(), rec.Flushed, rec.Body, e.streamed)
		}
		e.cut = false
		x.Unswallow()
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, "too large")
		if rec.Code != 413 || rec.Body.String() != "too large" || x.Status() != 413 {
			t.Fatalf("after Unswallow the client got %d %q (exchange %d)", rec.Code, rec.Body, x.Status())
		}
	})
	t.Run("a body cut off after the answer started changes nothing", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e := &edgeProbe{}
		x := new(Exchange)
		x.Reset(rec, e)
		_, _ = io.WriteString(x.Writer(), "a")
		e.cut = true
		_, _ = io.WriteString(x.Writer(), "b")
		if x.Swallowed() || rec.Body.String() != "ab" {
			t.Fatalf("swallowed %v, client got %q", x.Swallowed(), rec.Body)
		}
	})
	t.Run("Connection: close and the kept header after a 1xx", func(t *testing.T) {
		rec := httptest.NewRecorder()
		rec.Header()["X-Request-Id"] = []string{"abc"}
		x := New(rec)
		x.KeepHeader("X-Request-Id")
		x.CloseConnection()
		w := x.Writer()
		w.WriteHeader(http.StatusContinue)
		clear(w.Header()) // what httputil does after relaying a 1xx
		w.WriteHeader(200)
		if got := rec.Header(); got.Get("Connection") != "close" || got.Get("X-Request-Id") != "abc" {
			t.Fatalf("final answer header %v; want Connection: close and the request id", got)
		}
	})
	t.Run("the edge hears of the first flush only", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e := &edgeProbe{}
		x := new(Exchange)
		x.Reset(rec, e)
		_, _ = io.WriteString(x.Writer(), "data: 1\n\n")
		x.Writer().Flush()
		x.Writer().Flush()
		if e.streamed != 1 || !rec.Flushed {
			t.Fatalf("edge heard %d streams, client flushed %v; want 1, true", e.streamed, rec.Flushed)
		}
	})
}

// readerFromWriter is a ResponseWriter with its own ReadFrom, as
// net/http's is.
type readerFromWriter struct {
	*httptest.ResponseRecorder
	readFrom int
}

func (r *readerFromWriter) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom++
	return io.Copy(r.ResponseRecorder, src)
}

// onlyReader hides a reader's WriteTo, so io.Copy must use ReadFrom.
type onlyReader struct{ io.Reader }

// TestWriterReadFrom: ReadFrom hands the source to the underlying
// writer's ReadFrom when no mode needs the bytes, and counts them;
// otherwise the bytes go through Write (captured, swallowed, held).
func TestWriterReadFrom(t *testing.T) {
	const body = "0123456789"
	tests := []struct {
		name         string
		readerFrom   bool
		setup        func(x *Exchange, e *edgeProbe)
		wantPassed   bool // the underlying ReadFrom was used
		wantClient   string
		wantBytes    int64
		wantCaptured string
	}{
		{"passes through", true, func(*Exchange, *edgeProbe) {}, true, body, 10, ""},
		{"no ReadFrom below: through Write", false, func(*Exchange, *edgeProbe) {}, false, body, 10, ""},
		{"capturing: through Write", true, func(x *Exchange, _ *edgeProbe) { x.StartCapture(new(bytes.Buffer), 100) },
			false, body, 10, body},
		{"swallowed: discarded", true, func(_ *Exchange, e *edgeProbe) { e.cut = true }, false, "", 0, ""},
		{"held and failed: discarded", true, func(x *Exchange, _ *edgeProbe) {
			x.Hold(map[int]bool{503: true}, nil)
			x.Writer().WriteHeader(503)
		}, false, "", 0, ""},
		{"held and passed: through", true, func(x *Exchange, _ *edgeProbe) {
			x.Hold(map[int]bool{503: true}, nil)
		}, true, body, 10, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			under := &readerFromWriter{ResponseRecorder: rec}
			var rw http.ResponseWriter = rec
			if tc.readerFrom {
				rw = under
			}
			e := &edgeProbe{}
			x := new(Exchange)
			x.Reset(rw, e)
			tc.setup(x, e)
			n, err := io.Copy(x.Writer(), onlyReader{strings.NewReader(body)})
			if err != nil || n != int64(len(body)) {
				t.Fatalf("io.Copy = %d, %v; want %d, nil", n, err, len(body))
			}
			if (under.readFrom == 1) != tc.wantPassed {
				t.Errorf("underlying ReadFrom called %d times; want passed %v", under.readFrom, tc.wantPassed)
			}
			if rec.Body.String() != tc.wantClient || x.Bytes() != tc.wantBytes {
				t.Errorf("client got %q, exchange counted %d; want %q, %d", rec.Body, x.Bytes(), tc.wantClient, tc.wantBytes)
			}
			if c := x.EndCapture(); c.Body != nil && c.Body.String() != tc.wantCaptured {
				t.Errorf("captured %q; want %q", c.Body, tc.wantCaptured)
			}
		})
	}
}

// TestWriterCapture: the capture keeps the status and the body up to its
// bound; past it the copy is marked truncated while the client gets every
// byte. A fallback marks it; after EndCapture nothing more is kept.
func TestWriterCapture(t *testing.T) {
	tests := []struct {
		name       string
		max        int64
		write      func(x *Exchange)
		want       Capture // Body compared as a string below
		wantBody   string
		wantClient string
	}{
		{"within the bound", 10, func(x *Exchange) {
			x.Writer().WriteHeader(201)
			_, _ = io.WriteString(x.Writer(), "12345")
			_, _ = io.WriteString(x.Writer(), "67890")
		}, Capture{Status: 201}, "1234567890", "1234567890"},
		{"over the bound", 8, func(x *Exchange) {
			_, _ = io.WriteString(x.Writer(), "12345")
			_, _ = io.WriteString(x.Writer(), "67890")
			_, _ = io.WriteString(x.Writer(), "ab")
		}, Capture{Status: 200, Truncated: true}, "12345", "1234567890ab"},
		{"informational not captured", 8, func(x *Exchange) {
			x.Writer().WriteHeader(http.StatusEarlyHints)
			x.Writer().WriteHeader(204)
		}, Capture{Status: 204}, "", ""},
		{"nothing written", 8, func(*Exchange) {}, Capture{}, "", ""},
		{"fallback noted", 8, func(x *Exchange) {
			x.NoteFallback("status_503")
			_, _ = io.WriteString(x.Writer(), "monolith")
		}, Capture{Status: 200, FellBack: true}, "monolith", "monolith"},
		{"held failing answer not captured", 20, func(x *Exchange) {
			x.Hold(map[int]bool{503: true}, nil)
			x.Writer().WriteHeader(503)
			_, _ = io.WriteString(x.Writer(), "service error")
			x.Release()
			_, _ = io.WriteString(x.Writer(), "fallback")
		}, Capture{Status: 200}, "fallback", "fallback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			x := New(rec)
			buf := new(bytes.Buffer)
			x.StartCapture(buf, tc.max)
			tc.write(x)
			c := x.EndCapture()
			if c.Status != tc.want.Status || c.Truncated != tc.want.Truncated || c.FellBack != tc.want.FellBack ||
				c.Hijacked || c.Body != buf || c.Max != tc.max {
				t.Errorf("capture %+v; want %+v", c, tc.want)
			}
			if buf.String() != tc.wantBody || rec.Body.String() != tc.wantClient {
				t.Errorf("captured %q, client got %q; want %q, %q", buf, rec.Body, tc.wantBody, tc.wantClient)
			}
			_, _ = io.WriteString(x.Writer(), "after")
			if buf.String() != tc.wantBody {
				t.Errorf("a write after EndCapture was captured: %q", buf)
			}
		})
	}
}

// TestWriterWatchAndAttempt: the guard's watch and the tracer's attempt
// see the service's status as the upstream wrote it, also when the hold
// swallows it; the watcher hears of streams with that status.
func TestWriterWatchAndAttempt(t *testing.T) {
	tests := []struct {
		name        string
		hold        bool
		write       func(w *Writer)
		wantServed  int
		wantFailed  bool
		wantAttempt int
		wantHeard   []int
	}{
		{"status and flush", false, func(w *Writer) {
			w.WriteHeader(200)
			w.Flush()
		}, 200, false, 200, []int{200}},
		{"flush before any status tells nobody", false, func(w *Writer) { w.Flush() }, 0, false, 0, nil},
		{"implicit 200", false, func(w *Writer) { _, _ = io.WriteString(w, "x") }, 200, false, 200, nil},
		{"switching protocols by status", false, func(w *Writer) { w.WriteHeader(101) }, 0, false, 101, nil},
		{"held failing status", true, func(w *Writer) {
			w.WriteHeader(503)
			w.Flush()
		}, 503, true, 503, nil},
		{"held passing status streams", true, func(w *Writer) {
			w.WriteHeader(200)
			w.Flush()
		}, 200, false, 200, []int{200}},
		{"held, nothing written", true, func(*Writer) {}, 200, false, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := New(httptest.NewRecorder())
			p := &watchProbe{}
			x.BeginAttempt()
			if tc.hold {
				x.Hold(map[int]bool{503: true}, p)
			} else {
				x.Watch(p)
			}
			tc.write(x.Writer())
			attempt := x.AttemptStatus()
			served, failed := x.Release()
			if served != tc.wantServed || failed != tc.wantFailed || attempt != tc.wantAttempt {
				t.Errorf("served %d failed %v attempt %d; want %d %v %d", served, failed, attempt,
					tc.wantServed, tc.wantFailed, tc.wantAttempt)
			}
			if len(p.heard) != len(tc.wantHeard) || len(p.heard) > 0 && p.heard[0] != tc.wantHeard[0] {
				t.Errorf("watcher heard %v; want %v", p.heard, tc.wantHeard)
			}
			x.Writer().Flush()
			if len(p.heard) != len(tc.wantHeard) {
				t.Errorf("the watcher heard a flush after Release: %v", p.heard)
			}
		})
	}
}

// TestExempt: an exempt held answer passes whatever its status; the
// mark is cleared when the next answer is watched.
func TestExempt(t *testing.T) {
	rec := httptest.NewRecorder()
	x := New(rec)
	x.Hold(map[int]bool{503: true}, nil)
	x.Exempt("at_capacity")
	x.Writer().WriteHeader(503)
	if _, failed := x.Release(); failed || rec.Code != 503 || x.Exemption() != "at_capacity" {
		t.Fatalf("exempt 503: failed %v, client got %d, exemption %q", failed, rec.Code, x.Exemption())
	}
	x.Watch(nil)
	if x.Exemption() != "" {
		t.Fatalf("exemption %q survived the next watch", x.Exemption())
	}
	x.Exempt("")
	if x.Exemption() == "" {
		t.Fatal("an exemption without a reason was lost")
	}
}

// TestWriterHijack: a hijack passes through to the server's connection;
// the edge, the capture, the watcher and the statuses hear of it. Where
// the writer below cannot hijack, or the answer is held, it fails with
// http.ErrNotSupported and nothing is marked.
func TestWriterHijack(t *testing.T) {
	type result struct {
		err                     error
		status, attempt, served int
		hijacked, captured      bool
		heard                   []int
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := &edgeProbe{}
		x := new(Exchange)
		x.Reset(w, e)
		p := &watchProbe{}
		x.Watch(p)
		x.StartCapture(new(bytes.Buffer), 10)
		x.BeginAttempt()
		c, brw, err := x.Writer().Hijack()
		res := result{err: err, status: x.Status(), attempt: x.AttemptStatus(), hijacked: e.hijacked == 1,
			captured: x.EndCapture().Hijacked, heard: p.heard}
		res.served, _ = x.Release()
		if err == nil {
			_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
			_ = brw.Flush()
			_ = c.Close()
		}
		results <- res
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	var got result
	select {
	case got = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never reported")
	}
	if got.err != nil || resp.StatusCode != 101 {
		t.Fatalf("hijack: %v, client got %d", got.err, resp.StatusCode)
	}
	if got.status != 101 || got.attempt != 101 || got.served != 101 || !got.hijacked || !got.captured ||
		len(got.heard) != 1 || got.heard[0] != 101 {
		t.Errorf("after a hijack: %+v; want every status 101, edge and capture told, watcher heard 101", got)
	}

	for _, tc := range []struct {
		name string
		hold bool
	}{{"writer below cannot hijack", false}, {"held answer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := &edgeProbe{}
			x := new(Exchange)
			x.Reset(httptest.NewRecorder(), e)
			x.StartCapture(new(bytes.Buffer), 10)
			if tc.hold {
				x.Hold(nil, nil)
			}
			if _, _, err := x.Writer().Hijack(); !errors.Is(err, http.ErrNotSupported) {
				t.Fatalf("Hijack error %v; want http.ErrNotSupported", err)
			}
			if x.Answered() || e.hijacked != 0 || x.EndCapture().Hijacked || x.AttemptStatus() != 0 {
				t.Errorf("a failed hijack was recorded: answered %v edge %d", x.Answered(), e.hijacked)
			}
		})
	}
}

// wrapper is another stage's writer around the exchange's.
type wrapper struct{ http.ResponseWriter }

func (w wrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestFromAndEnsure: From finds the exchange through wrapping writers;
// Ensure makes one only where there is none.
func TestFromAndEnsure(t *testing.T) {
	x := New(httptest.NewRecorder())
	for _, tc := range []struct {
		name string
		w    http.ResponseWriter
		want *Exchange
	}{
		{"the writer itself", x.Writer(), x},
		{"through wrappers", wrapper{wrapper{x.Writer()}}, x},
		{"a plain writer", httptest.NewRecorder(), nil},
		{"a wrapper of a plain writer", wrapper{httptest.NewRecorder()}, nil},
		{"nil", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := From(tc.w); got != tc.want {
				t.Fatalf("From = %p; want %p", got, tc.want)
			}
			if tc.w == nil {
				return
			}
			got, w := Ensure(tc.w)
			switch {
			case tc.want != nil && (got != tc.want || w != tc.w):
				t.Errorf("Ensure made a new exchange where there was one")
			case tc.want == nil && (got == nil || From(w) != got || got.Writer().Unwrap() != tc.w):
				t.Errorf("Ensure did not wrap a writer without an exchange")
			}
		})
	}
}

// discard is a minimal ResponseWriter that can flush.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

// TestNoAllocations: reaching the exchange and a reused exchange's whole
// life through a request allocate nothing.
func TestNoAllocations(t *testing.T) {
	under := &discard{h: http.Header{}}
	x := new(Exchange)
	e := &edgeProbe{}
	var via http.ResponseWriter = wrapper{x.Writer()}
	body := []byte("body")
	buf := bytes.NewBuffer(make([]byte, 0, 64))
	failing := map[int]bool{503: true}
	p := &watchProbe{heard: make([]int, 0, 1000)}
	vals := []string{"y"}
	allocs := testing.AllocsPerRun(100, func() {
		x.Reset(under, e)
		if From(via) != x {
			t.Fatal("From lost the exchange")
		}
		x.Decision = routing.Decision{Route: "r", Side: routing.SideService}
		x.StartCapture(buf, 64)
		x.Hold(failing, p)
		x.BeginAttempt()
		w := x.Writer()
		w.Header()["X"] = vals // the service's header, held
		w.WriteHeader(503)
		_, _ = w.Write(body)
		x.Release()
		x.NoteFallback("status_503")
		w.WriteHeader(200)
		_, _ = w.Write(body)
		w.Flush()
		x.EndCapture()
		buf.Reset()
		p.heard = p.heard[:0]
	})
	if allocs != 0 {
		t.Fatalf("%.0f allocations per request; want none", allocs)
	}
}

// flushErrorWriter only has FlushError, as some writers do.
type flushErrorWriter struct {
	*httptest.ResponseRecorder
	flushed bool
}

func (f *flushErrorWriter) FlushError() error { f.flushed = true; return nil }

// TestWriterFlushPassesThrough: a flush reaches the writer below, also
// one that only has FlushError behind another wrapper.
func TestWriterFlushPassesThrough(t *testing.T) {
	for _, tc := range []struct {
		name  string
		under func() (http.ResponseWriter, func() bool) // the writer below and whether it flushed
	}{
		{"http.Flusher", func() (http.ResponseWriter, func() bool) {
			rec := httptest.NewRecorder()
			return rec, func() bool { return rec.Flushed }
		}},
		{"FlushError behind a wrapper", func() (http.ResponseWriter, func() bool) {
			f := &flushErrorWriter{ResponseRecorder: httptest.NewRecorder()}
			return wrapper{f}, func() bool { return f.flushed }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			under, flushed := tc.under()
			x := New(under)
			if err := http.NewResponseController(x.Writer()).Flush(); err != nil || !flushed() {
				t.Fatalf("Flush through the exchange: %v, flushed %v", err, flushed())
			}
		})
	}
}
