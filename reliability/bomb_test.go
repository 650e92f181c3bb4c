package reliability

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// TestGzipBombInflates checks the bomb is a gzip stream that inflates to
// what it claims (read up to 32 MiB of it).
func TestGzipBombInflates(t *testing.T) {
	bomb, inflated, err := gzipBomb(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	if inflated < 500*int64(len(bomb)) {
		t.Errorf("%d bytes inflate to %d: want a ratio over 500", len(bomb), inflated)
	}
	zr, err := gzip.NewReader(bytes.NewReader(bomb))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, 32<<20))
	if err != nil || n != min(inflated, 32<<20) {
		t.Errorf("read %d bytes (%v), want %d", n, err, min(inflated, 32<<20))
	}
}
