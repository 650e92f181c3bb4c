package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// An answer of known length that the upstream writes slowly reaches the
// client as it arrives, header included, on both paths: the backend
// holds the rest of its answer until the client has what was sent so far
// (or gives up after a few seconds, and the client's read fails first).
func TestSlowKnownLengthAnswerFlushed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first string // written and flushed before the pause
	}{
		{"first byte, then a pause", "h"},
		{"header alone, then a pause", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan struct{}, 1)
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "5")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, tc.first)
				w.(http.Flusher).Flush()
				select {
				case <-got:
				case <-time.After(5 * time.Second):
				}
				for _, c := range "hello"[len(tc.first):] {
					_, _ = w.Write([]byte{byte(c)})
					w.(http.Flusher).Flush()
					time.Sleep(10 * time.Millisecond)
				}
			}))
			t.Cleanup(backend.Close)
			bothClients(t, backend.URL, func(t *testing.T, opts Options) {
				front := newFront(t, New(opts), Route{}, nil, zerolog.Nop())
				conn, err := net.Dial("tcp", front.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				_, _ = io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: shop.example\r\n\r\n")
				// Well before the backend gives up waiting.
				_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("header held back while the upstream paused: %v", err)
				}
				defer resp.Body.Close()
				if tc.first != "" {
					b := make([]byte, len(tc.first))
					if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != tc.first {
						t.Fatalf("first byte held back while the upstream paused: %q, %v", b, err)
					}
				}
				got <- struct{}{}
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				rest, err := io.ReadAll(resp.Body)
				if err != nil || tc.first+string(rest) != "hello" || resp.ContentLength != 5 {
					t.Fatalf("answer %q (length %d), %v; want hello with Content-Length 5",
						tc.first+string(rest), resp.ContentLength, err)
				}
			})
		})
	}
}
