package diff

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// errRenderFull stops html.Render once enough is written.
var errRenderFull = errors.New("render limit reached")

// limitWriter keeps the first limit bytes written to it, then fails.
// It has WriteByte and WriteString, so html.Render writes to it
// directly, without a buffer of its own.
type limitWriter struct {
	b     strings.Builder
	limit int
}

// Write keeps what fits and reports errRenderFull once past the limit.
func (w *limitWriter) Write(p []byte) (int, error) {
	room := max(w.limit-w.b.Len(), 0)
	if len(p) > room {
		w.b.Write(p[:room])
		return room, errRenderFull
	}
	return w.b.Write(p)
}

// WriteString is Write for a string.
func (w *limitWriter) WriteString(s string) (int, error) {
	room := max(w.limit-w.b.Len(), 0)
	if len(s) > room {
		w.b.WriteString(s[:room])
		return room, errRenderFull
	}
	return w.b.WriteString(s)
}

// WriteByte is Write for one byte.
func (w *limitWriter) WriteByte(c byte) error {
	if w.b.Len() >= w.limit {
		return errRenderFull
	}
	return w.b.WriteByte(c)
}

// renderHTML is the outer HTML of n, re-rendered, cut to limit bytes on a
// rune boundary and marked with "…" when cut.
func renderHTML(n *html.Node, limit int) string {
	if n == nil {
		return ""
	}
	w := limitWriter{limit: limit + 1}
	if err := html.Render(&w, n); err != nil && !errors.Is(err, errRenderFull) {
		return ""
	}
	return cutTo(w.b.String(), limit)
}

// shortHTML is n's outer HTML cut to MaxValueLen, for Legacy or Service.
func shortHTML(n *html.Node) string { return renderHTML(n, MaxValueLen) }

// cutTo shortens s to at most n bytes on a rune boundary, marking the cut
// with "…".
func cutTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
