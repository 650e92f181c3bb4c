package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A request whose body the client broke is answered as the client's
// fault, over real sockets on the standard path (the lean path takes no
// body): 400 for a malformed chunked body, 413 past a body limit, 408
// for a body too slow, 499 when the client left half way; never 502, and
// never an upstream error.
func TestClientBodyFaults(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	const chunked = "POST /x HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, tc := range []struct {
		name  string
		send  string // written, then the client waits for the answer or leaves
		leave bool
		limit int64         // http.MaxBytesReader on the body (0: none)
		read  time.Duration // the front's body read deadline (0: none)
		want  int
	}{
		{"malformed chunk size", chunked + "5\r\nhello\r\nzz\r\n", false, 0, 0, http.StatusBadRequest},
		{"chunk without its CRLF", chunked + "5\r\nhelloXX0\r\n\r\n", false, 0, 0, http.StatusBadRequest},
		{"past the body limit", chunked + "400\r\n" + strings.Repeat("a", 1024) + "\r\n0\r\n\r\n", false, 100, 0,
			http.StatusRequestEntityTooLarge},
		{"too slow", "POST /x HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 100\r\n\r\npart", false, 0,
			200 * time.Millisecond, http.StatusRequestTimeout},
		{"abandoned upload", "POST /x HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 100\r\n\r\npart", true, 0, 0,
			StatusClientClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := New(testOptions(t, backend.URL))
			t.Cleanup(u.Close)
			var upstreamErrors atomic.Int64
			p := u.Proxy(Route{Name: "orders", OnError: func(string) { upstreamErrors.Add(1) }}, nil, zerolog.Nop())
			served := make(chan int, 1)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.limit > 0 {
					r.Body = http.MaxBytesReader(w, r.Body, tc.limit)
				}
				if tc.read > 0 {
					_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(tc.read))
				}
				rec := &statusRecorder{ResponseWriter: w}
				p.ServeHTTP(rec, r)
				served <- rec.status
			}))
			t.Cleanup(front.Close)
			conn, err := net.Dial("tcp", front.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(conn, tc.send)
			if tc.leave {
				conn.Close()
			} else if a, err := readAnswer(conn); err != nil || a != tc.want {
				t.Errorf("client got %d (%v), want %d", a, err, tc.want)
			}
			select {
			case status := <-served:
				if status != tc.want {
					t.Errorf("proxy answered %d, want %d", status, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the proxy did not return")
			}
			if n := upstreamErrors.Load(); n != 0 {
				t.Errorf("%d upstream errors counted for the client's fault", n)
			}
		})
	}
}

// readAnswer reads the status of the answer on conn.
func readAnswer(conn net.Conn) (int, error) {
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
