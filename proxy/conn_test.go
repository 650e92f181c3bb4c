package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/config"
)

// TestContentLengthWithTransferEncoding sends requests raw and checks
// that one with both Content-Length and Transfer-Encoding gets its
// connection closed after the answer (RFC 9112 §6.1), whatever the
// spelling of the header, while the others keep theirs.
func TestContentLengthWithTransferEncoding(t *testing.T) {
	mono := newRecorder(t, "monolith")
	sp := serveProxy(t, baseConfig(mono.URL, mono.URL))
	const head = "POST /legacy HTTP/1.1\r\nHost: x\r\n"
	tests := []struct {
		name, raw  string
		wantClosed bool
	}{
		{"length only", head + "Content-Length: 4\r\n\r\nbody", false},
		{"chunked only", head + "Transfer-Encoding: chunked\r\n\r\n" + chunked("body"), false},
		{"both", head + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("body"), true},
		{"both, TE first", head + "Transfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n" + chunked("body"), true},
		{"both, odd case", head + "cOnTeNt-LeNgTh: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("body"), true},
		{"both, length 0", head + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" + chunked("body"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, closed := rawExchange(t, sp.addr, tt.raw)
			if resp.StatusCode != 200 {
				t.Fatalf("got %d %q; want 200", resp.StatusCode, body)
			}
			if closed != tt.wantClosed {
				t.Errorf("connection closed after the answer: %v; want %v", closed, tt.wantClosed)
			}
		})
	}
}

// TestTrackedConnScan feeds header blocks split at every byte and checks
// that a Content-Length line is noticed across reads, and only then.
func TestTrackedConnScan(t *testing.T) {
	tests := []struct {
		block string
		want  bool
	}{
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n", true},
		{"POST / HTTP/1.1\r\nHost: x\r\nCONTENT-LENGTH:4\r\n\r\n", true},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nX-Content-Length: 4\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nContent-Type: a\r\nContent-Lengthy: 4\r\n\r\n", false},
	}
	for _, tt := range tests {
		for cut := 0; cut <= len(tt.block); cut++ {
			c := &trackedConn{partial: -1}
			c.scan([]byte(tt.block[:cut]))
			c.scan([]byte(tt.block[cut:]))
			if c.sawCL.Load() != tt.want {
				t.Fatalf("%q split at %d: saw Content-Length %v; want %v", tt.block, cut, !tt.want, tt.want)
			}
		}
	}
}

// TestH2CUpgradeNotTunnelled checks that "Upgrade: h2c" is refused with
// nothing sent upstream on a route that does not allow it.
func TestH2CUpgradeNotTunnelled(t *testing.T) {
	mono := newRecorder(t, "monolith")
	sp := serveProxy(t, baseConfig(mono.URL, mono.URL))
	resp, _, _ := rawExchange(t, sp.addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
		"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
	if resp.StatusCode != 400 || mono.count() != 0 {
		t.Errorf("got %d with %d request(s) upstream; want 400 and none", resp.StatusCode, mono.count())
	}
}

// TestDefaultMaxHeaderBytes loads a file without a server section and
// checks the 64 KiB header limit: a header block over it gets 431.
func TestDefaultMaxHeaderBytes(t *testing.T) {
	mono := newRecorder(t, "monolith")
	path := filepath.Join(t.TempDir(), "strangler.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:0\nlegacy:\n  url: "+mono.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.MaxHeaderBytes != 64<<10 {
		t.Fatalf("server.max_header_bytes defaults to %d; want 64 KiB", cfg.Server.MaxHeaderBytes)
	}
	sp := serveProxy(t, cfg)
	tests := []struct {
		size int
		want int
	}{
		{60 << 10, 200},
		{72 << 10, 431}, // net/http allows 4 KiB over the limit
		{1 << 20, 431},
	}
	for _, tt := range tests {
		raw := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", tt.size) + "\r\n\r\n"
		resp, _, _ := rawExchange(t, sp.addr, raw)
		if resp.StatusCode != tt.want {
			t.Errorf("a %d-byte header: got %d; want %d", tt.size, resp.StatusCode, tt.want)
		}
	}
}

// BenchmarkTrackedConnScan measures the Content-Length watch on one read
// of a typical request header block.
func BenchmarkTrackedConnScan(b *testing.B) {
	block := []byte("GET /api/orders/42 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\nCookie: session=0123456789abcdef\r\n" +
		"X-Request-Id: 4f1c2a9e0b7d3c6a\r\n\r\n")
	c := &trackedConn{partial: -1}
	b.SetBytes(int64(len(block)))
	for b.Loop() {
		c.scan(block)
	}
}
