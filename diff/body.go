package diff

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// snippetLen bounds a text snippet around the first differing byte.
const snippetLen = 80

// bodies is the outcome of comparing two bodies: their kind and
// differences, or why they could not be compared (err) and whether that
// is because one was cut (truncated).
type bodies struct {
	kind      BodyKind
	diffs     []Difference
	err       string
	truncated bool
}

// compareBodies decodes and compares the bodies.
func compareBodies(l, s Response, r *Rules) bodies {
	if l.Truncated || s.Truncated {
		return bodies{err: errTruncated, truncated: true}
	}
	lb, err := decodeBody(l.Body, l.Header, r.maxDecodedBytes())
	if err != nil {
		return decodeFailed("legacy", err)
	}
	sb, err := decodeBody(s.Body, s.Header, r.maxDecodedBytes())
	if err != nil {
		return decodeFailed("service", err)
	}
	if bytes.Equal(lb, sb) {
		return bodies{kind: sameBodyKind(lb, l.Header, s.Header)}
	}
	if lv, ok := jsonBody(lb, l.Header); ok {
		if sv, ok := jsonBody(sb, s.Header); ok {
			return bodies{kind: BodyJSON, diffs: compareJSON(lv, sv, r)}
		}
	}
	if utf8.Valid(lb) && utf8.Valid(sb) {
		return bodies{kind: BodyText, diffs: compareText(lb, sb)}
	}
	return bodies{kind: BodyBinary, diffs: compareBinary(lb, sb)}
}

// decodeFailed is the outcome when one side's body could not be decoded;
// a body over the decode cap counts as truncated.
func decodeFailed(side string, err error) bodies {
	if errors.Is(err, errOverCap) {
		return bodies{err: side + " body: " + err.Error() + "; " + errNotCompared, truncated: true}
	}
	return bodies{err: side + " body: " + err.Error()}
}

// sameBodyKind is the kind of two identical bodies, found without
// decoding them.
func sameBodyKind(b []byte, lh, sh http.Header) BodyKind {
	switch {
	case len(b) == 0:
		return BodyEmpty
	case isJSONCandidate(b, lh) && isJSONCandidate(b, sh) && json.Valid(b):
		return BodyJSON
	case utf8.Valid(b):
		return BodyText
	default:
		return BodyBinary
	}
}

// jsonBody decodes b if it should be and is JSON.
func jsonBody(b []byte, h http.Header) (any, bool) {
	if !isJSONCandidate(b, h) {
		return nil, false
	}
	return parseJSON(b)
}

// isJSONCandidate reports whether b is declared JSON or looks like an
// object or array.
func isJSONCandidate(b []byte, h http.Header) bool {
	mt, _, _ := strings.Cut(firstHeader(h, "Content-Type"), ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return true
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// compareText reports the first difference of two texts with a snippet
// of each around it.
func compareText(l, s []byte) []Difference {
	i := 0
	for i < len(l) && i < len(s) && l[i] == s[i] {
		i++
	}
	start := max(0, i-snippetLen/2)
	return []Difference{{Path: "body", Kind: KindBody, Legacy: snippet(l, start), Service: snippet(s, start)}}
}

// snippet is at most snippetLen bytes of b from start, on rune
// boundaries.
func snippet(b []byte, start int) string {
	for start < len(b) && !utf8.RuneStart(b[start]) {
		start++
	}
	end := min(len(b), start+snippetLen)
	for end > start && end < len(b) && !utf8.RuneStart(b[end]) {
		end--
	}
	return string(b[start:end])
}

// compareBinary reports differing binary bodies by their SHA-256.
func compareBinary(l, s []byte) []Difference {
	return []Difference{{Path: "body", Kind: KindBody, Legacy: hashOf(l), Service: hashOf(s)}}
}

// hashOf is "sha256:<hex>" of b.
func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// decodeBody undoes the gzip and deflate Content-Encodings of body,
// reading at most limit decoded bytes. An unsupported encoding leaves the
// body as sent.
func decodeBody(body []byte, h http.Header, limit int64) ([]byte, error) {
	encs := contentEncodings(h)
	out := body
	for i := len(encs) - 1; i >= 0 && len(out) > 0; i-- {
		var err error
		switch encs[i] {
		case "", "identity":
			continue
		case "gzip", "x-gzip":
			out, err = gunzip(out, limit)
		case "deflate":
			out, err = inflate(out, limit)
		default:
			return body, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// contentEncodings lists the Content-Encoding tokens, lower-cased, in the
// order applied.
func contentEncodings(h http.Header) []string {
	var encs []string
	for _, v := range headerValues(h, "Content-Encoding") {
		for tok := range strings.SplitSeq(v, ",") {
			encs = append(encs, strings.ToLower(strings.TrimSpace(tok)))
		}
	}
	return encs
}

// errOverCap is wrapped by decodeBody's error when a decoded body passes
// the decode cap: decoding stopped there, and the body is not compared.
var errOverCap = errors.New("decoded body over the decode cap")

// gunzip decodes gzip data.
func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return readCapped(zr, "gzip", limit, gzipSizeHint(b))
}

// gzipSizeHint is the decoded size a gzip stream states in its trailer
// (ISIZE, the size modulo 2^32 of its last member). It is only a hint
// for the first buffer: readCapped never trusts it further.
func gzipSizeHint(b []byte) int64 {
	if len(b) < 18 { // header 10, trailer 8
		return 0
	}
	return int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
}

// inflate decodes deflate data: zlib-wrapped as RFC 9110 says, or raw as
// some servers send it.
func inflate(b []byte, limit int64) ([]byte, error) {
	hint := 4 * int64(len(b))
	if len(b) >= 2 && b[0]&0x0f == 8 && (uint(b[0])<<8|uint(b[1]))%31 == 0 {
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		return readCapped(zr, "deflate", limit, hint)
	}
	return readCapped(flate.NewReader(bytes.NewReader(b)), "deflate", limit, hint)
}

// minDecodeBuffer is the smallest first buffer readCapped allocates.
const minDecodeBuffer = 4 << 10

// readCapped reads r to the end into a buffer that starts at hint bytes
// and doubles, never past limit+1 bytes: a decompression bomb stops
// there, having allocated about twice the cap at most, and the error
// wraps errOverCap.
func readCapped(r io.Reader, name string, limit, hint int64) ([]byte, error) {
	b := make([]byte, 0, min(max(hint, minDecodeBuffer), limit+1))
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(int64(cap(b)), limit+1-int64(len(b)))))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		switch {
		case int64(len(b)) > limit:
			return nil, fmt.Errorf("%s: %w (%d bytes): decoding stopped there", name, errOverCap, limit)
		case errors.Is(err, io.EOF):
			return b, nil
		case err != nil:
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
}

// headerValues is h[name], found case-insensitively when h was built
// with non-canonical keys.
func headerValues(h http.Header, name string) []string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// firstHeader is the first value of a header, or "".
func firstHeader(h http.Header, name string) string {
	if v := headerValues(h, name); len(v) > 0 {
		return v[0]
	}
	return ""
}
