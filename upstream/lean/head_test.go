package lean

import (
	"errors"
	"strings"
	"testing"
)

func TestHeadWriter(t *testing.T) {
	tests := []struct {
		name    string
		build   func(w *headWriter)
		want    string // the head, when valid
		invalid bool
	}{
		{"request line and headers", func(w *headWriter) {
			w.requestLine("GET", "/a%20b", "x=1", "backend:80")
			w.Keep("Accept", []string{"a", "b"})
			w.Set("X-Forwarded-Proto", "http")
			w.ForwardedFor([]string{"1.1.1.1", "2.2.2.2"}, "3.3.3.3")
		}, "GET /a%20b?x=1 HTTP/1.1\r\nHost: backend:80\r\nAccept: a\r\nAccept: b\r\n" +
			"X-Forwarded-Proto: http\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3\r\n\r\n", false},
		{"empty path is /", func(w *headWriter) { w.requestLine("OPTIONS", "", "", "h") },
			"OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"invalid Host sent empty, as http.Transport does", func(w *headWriter) {
			w.requestLine("GET", "/", "", "h\r\nX-Injected: 1")
		}, "GET / HTTP/1.1\r\nHost: \r\n\r\n", false},
		{"dropped header not written", func(w *headWriter) {
			w.requestLine("GET", "/", "", "h")
			w.Drop("Connection")
		}, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"method not a token", func(w *headWriter) { w.requestLine("GET /x", "/", "", "h") }, "", true},
		{"empty method", func(w *headWriter) { w.requestLine("", "/", "", "h") }, "", true},
		{"DEL in the path", func(w *headWriter) { w.requestLine("GET", "/a\x7f", "", "h") }, "", true},
		{"CR in a set value", func(w *headWriter) {
			w.requestLine("GET", "/", "", "h")
			w.Set("X-Forwarded-Host", "a\rb")
		}, "", true},
		{"LF in a forwarded chain", func(w *headWriter) {
			w.requestLine("GET", "/", "", "h")
			w.ForwardedFor([]string{"1.1.1.1\nX-Injected: 1"}, "3.3.3.3")
		}, "", true},
		{"non-token name", func(w *headWriter) {
			w.requestLine("GET", "/", "", "h")
			w.Keep("X(y)", []string{"v"})
		}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := heads.Get().(*headWriter)
			defer w.release()
			tt.build(w)
			err := w.end()
			if tt.invalid {
				if !errors.Is(err, ErrInvalidRequest) {
					t.Fatalf("end() = %v, want ErrInvalidRequest", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("end() = %v", err)
			}
			if got := string(w.buf); got != tt.want {
				t.Errorf("head\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// A head that grew past maxKeptHead is not kept for the next request.
func TestHeadWriterDropsLargeBuffer(t *testing.T) {
	w := &headWriter{}
	w.requestLine("GET", "/", "", "h")
	w.Set("X-Big", strings.Repeat("x", 2*maxKeptHead))
	w.reset()
	if cap(w.buf) != 0 {
		t.Errorf("kept a %d-byte buffer, want it dropped", cap(w.buf))
	}
}
