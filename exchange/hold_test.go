package exchange

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

var failing503 = map[int]bool{502: true, 503: true, 504: true}

// A held answer whose status does not fail passes through with its
// headers and body.
func TestHoldPassesNonFailing(t *testing.T) {
	tests := []struct {
		name    string
		status  int // 0: the handler only writes a body
		body    string
		failing map[int]bool
	}{
		{"200 with body", 200, "hello", failing503},
		{"implicit 200", 0, "implicit", failing503},
		{"201", 201, "made", failing503},
		{"204 no body", 204, "", failing503},
		{"404", 404, "not here", failing503},
		{"500 not configured", 500, "boom", failing503},
		{"500 configured, 501 passes", 501, "nope", map[int]bool{500: true, 502: true, 503: true, 504: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			x := New(rec)
			x.Hold(tc.failing, nil)
			hw := x.Writer()
			hw.Header().Set("X-Service", "orders")
			if tc.status != 0 {
				hw.WriteHeader(tc.status)
			}
			if tc.body != "" {
				if n, err := io.WriteString(hw, tc.body); n != len(tc.body) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			status, failed := x.Release()
			want := tc.status
			if want == 0 {
				want = 200
			}
			if failed || status != want {
				t.Fatalf("failed %v status %d, want passed %d", failed, status, want)
			}
			if rec.Code != want || rec.Body.String() != tc.body || rec.Header().Get("X-Service") != "orders" {
				t.Fatalf("client got %d %q header %q, want %d %q orders", rec.Code, rec.Body, rec.Header().Get("X-Service"), want, tc.body)
			}
		})
	}
}

// A held answer with neither status nor body (the handler only set
// headers) is committed as 200 with those headers when the hold ends.
// Once committed, headers (trailers) go straight to the client's map.
func TestHoldCommitsEmptyResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	x := New(rec)
	x.Hold(failing503, nil)
	hw := x.Writer()
	hw.Header().Set("X-Only", "header")
	if rec.Header().Get("X-Only") != "" {
		t.Fatal("header reached the client before the status was known")
	}
	if status, failed := x.Release(); status != 200 || failed {
		t.Fatalf("Release = %d, %v; want 200 passed", status, failed)
	}
	if rec.Code != 200 || rec.Header().Get("X-Only") != "header" {
		t.Fatalf("got %d %v", rec.Code, rec.Header())
	}
	hw.Header().Set("X-Late", "yes")
	if rec.Header().Get("X-Late") != "yes" {
		t.Fatal("header set after the hold did not reach the client's header map")
	}

	// Committed while still held: the header map is the client's at once.
	rec = httptest.NewRecorder()
	x = New(rec)
	x.Hold(failing503, nil)
	x.Writer().WriteHeader(http.StatusOK)
	x.Writer().Header().Set("X-Trailer-Ish", "yes")
	if rec.Header().Get("X-Trailer-Ish") != "yes" {
		t.Fatal("header set after the commit did not reach the client's header map")
	}
}

// A failing status is swallowed with its headers and body: nothing reaches
// the client, which can still be answered by someone else through the
// same writer once the hold ends.
func TestHoldSwallowsFailing(t *testing.T) {
	for _, status := range []int{502, 503, 504, 500} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			failing := map[int]bool{500: true, 502: true, 503: true, 504: true}
			rec := httptest.NewRecorder()
			x := New(rec)
			x.Hold(failing, nil)
			hw := x.Writer()
			hw.Header().Set("X-Service", "orders")
			hw.WriteHeader(status)
			hw.WriteHeader(200) // ignored: the status is settled
			n, err := io.WriteString(hw, "service error page")
			if n != len("service error page") || err != nil {
				t.Fatalf("Write of a swallowed body = %d, %v; want it to look successful", n, err)
			}
			hw.Flush()
			committed := hw.hold.committed
			got, failed := x.Release()
			if !failed || got != status || committed {
				t.Fatalf("failed %v status %d committed %v", failed, got, committed)
			}
			if rec.Body.Len() != 0 || rec.Header().Get("X-Service") != "" || rec.Flushed {
				t.Fatalf("the failed answer leaked: body %q header %v flushed %v", rec.Body, rec.Header(), rec.Flushed)
			}
			if x.Answered() || x.Bytes() != 0 {
				t.Fatalf("the exchange counts the swallowed answer: answered %v, %d bytes", x.Answered(), x.Bytes())
			}
			// The header was never written: the fallback's status wins.
			hw.Header().Set("X-Side", "legacy")
			hw.WriteHeader(http.StatusAccepted)
			if rec.Code != http.StatusAccepted || rec.Header().Get("X-Side") != "legacy" || x.Status() != http.StatusAccepted {
				t.Fatalf("a status reached the client before the fallback: %d (exchange %d)", rec.Code, x.Status())
			}
		})
	}
}

// Flushes pass through once the held answer is committed, so streams
// are not held back; before that a flush sends nothing.
func TestHoldStreams(t *testing.T) {
	rec := httptest.NewRecorder()
	x := New(rec)
	x.Hold(failing503, nil)
	hw := x.Writer()
	hw.Flush()
	if rec.Flushed {
		t.Fatal("flush before the status reached the client")
	}
	hw.WriteHeader(200)
	hw.Flush()
	if !rec.Flushed {
		t.Fatal("flush after commit did not pass through")
	}

	// Over a real connection: the client reads the first event while the
	// handler is still blocked before the second.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := New(w)
		x.Hold(failing503, nil)
		hw := x.Writer()
		hw.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(hw, "data: one\n\n")
		hw.Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(hw, "data: two\n\n")
	}))
	defer srv.Close()
	defer close(release)
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "data: one\n" {
			t.Fatalf("first streamed line %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first event was held back until the handler finished")
	}
}

// Informational answers (1xx) are not forwarded while held: the client
// sees only the final answer.
func TestHoldDrops1xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := New(w)
		x.Hold(failing503, nil)
		hw := x.Writer()
		hw.Header().Set("Link", "</style.css>; rel=preload")
		hw.WriteHeader(http.StatusEarlyHints)
		hw.WriteHeader(http.StatusProcessing)
		_, _ = io.WriteString(hw, "final")
	}))
	defer srv.Close()
	var informational []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		informational = append(informational, code)
		return nil
	}}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if len(informational) != 0 {
		t.Fatalf("client saw informational responses %v", informational)
	}
	if resp.StatusCode != 200 || string(body) != "final" || !strings.Contains(resp.Header.Get("Link"), "preload") {
		t.Fatalf("final response %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// A committed held answer's header joins what the client's header map
// already had (the request id): values of a name set on both are kept,
// the client's first.
func TestHoldMergesHeader(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header()["X-Request-Id"] = []string{"edge"}
	x := New(rec)
	x.Hold(failing503, nil)
	x.Writer().Header()["X-Request-Id"] = []string{"service"}
	x.Writer().Header().Set("Content-Type", "text/plain")
	x.Writer().WriteHeader(http.StatusOK)
	x.Release()
	h := rec.Header() // the live map: what the next hold must not touch
	if got := strings.Join(h.Values("X-Request-Id"), ","); got != "edge,service" || h.Get("Content-Type") != "text/plain" {
		t.Fatalf("client header %v; want X-Request-Id edge,service and the service's Content-Type", h)
	}
	// The next hold on the same (pooled) exchange starts empty and does
	// not touch the values passed on.
	x.Reset(httptest.NewRecorder(), nil)
	x.Hold(failing503, nil)
	if n := len(x.Writer().Header()); n != 0 {
		t.Fatalf("a new hold starts with %d header names", n)
	}
	if h.Get("Content-Type") != "text/plain" {
		t.Fatal("emptying the held map changed a header passed on")
	}
}
