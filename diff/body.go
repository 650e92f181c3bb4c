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
	kind := classify(lb, l.Header)
	if bytes.Equal(lb, sb) {
		return bodies{kind: kind}
	}
	if kind == BodyEmpty {
		kind = classify(sb, s.Header)
	}
	if diffs, ok := compareAs(kind, lb, sb, r); ok {
		return bodies{kind: kind, diffs: diffs}
	}
	if utf8.Valid(lb) && utf8.Valid(sb) {
		return bodies{kind: BodyText, diffs: compareLines(lb, sb, r)}
	}
	return bodies{kind: BodyBinary, diffs: compareBinary(lb, sb)}
}

// compareAs compares two bodies as kind; ok is false when one of them
// does not parse as that kind (the caller then compares them as text).
func compareAs(kind BodyKind, lb, sb []byte, r *Rules) (diffs []Difference, ok bool) {
	switch kind {
	case BodyJSON:
		return compareJSONBodies(lb, sb, r)
	case BodyJSONLines:
		return compareJSONLines(lb, sb, r)
	case BodyHTML:
		return compareHTML(lb, sb, r)
	case BodyXML:
		return compareXML(lb, sb, r)
	case BodyForm:
		return compareForm(lb, sb, r)
	}
	return nil, false
}

// compareJSONBodies parses and compares two JSON bodies, marker echoes
// left out.
func compareJSONBodies(lb, sb []byte, r *Rules) ([]Difference, bool) {
	lv, ok := parseJSON(lb)
	if !ok {
		return nil, false
	}
	sv, ok := parseJSON(sb)
	if !ok {
		return nil, false
	}
	if r.mayEcho(lb) {
		lv = r.stripMarkers(lv)
	}
	if r.mayEcho(sb) {
		sv = r.stripMarkers(sv)
	}
	return compareJSON(lv, sv, r), true
}

// decodeFailed is the outcome when one side's body could not be decoded;
// a body over the decode cap counts as truncated.
func decodeFailed(side string, err error) bodies {
	if errors.Is(err, errOverCap) {
		return bodies{err: side + " body: " + err.Error() + "; " + errNotCompared, truncated: true}
	}
	return bodies{err: side + " body: " + err.Error()}
}

// classify says how a body is compared: by its declared Content-Type,
// else by its first bytes (an object or array is JSON, several lines of
// them JSON Lines, a doctype or <html> HTML, an XML declaration XML),
// else as text when it is UTF-8, else as binary.
func classify(b []byte, h http.Header) BodyKind {
	if len(b) == 0 {
		return BodyEmpty
	}
	if k, ok := DeclaredKind(mediaType(h)); ok {
		return k
	}
	head := bytes.TrimLeft(b[:min(len(b), 512)], " \t\r\n\ufeff")
	switch {
	case len(head) > 0 && (head[0] == '{' || head[0] == '['):
		if json.Valid(b) {
			return BodyJSON
		}
		if looksJSONLines(b) {
			return BodyJSONLines
		}
	case hasPrefixFold(head, "<!doctype html") || hasPrefixFold(head, "<html"):
		return BodyHTML
	case bytes.HasPrefix(head, []byte("<?xml")):
		return BodyXML
	}
	if utf8.Valid(b) {
		return BodyText
	}
	return BodyBinary
}

// DeclaredKind maps a lower-case media type without parameters
// ("text/html") to the body kind Compare compares it as, when the type
// declares one; text/plain and other types are classified by their bytes.
func DeclaredKind(mt string) (BodyKind, bool) {
	switch {
	case mt == "application/x-ndjson" || mt == "application/jsonl" || mt == "application/x-jsonlines" ||
		mt == "application/jsonlines" || mt == "application/ndjson":
		return BodyJSONLines, true
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return BodyJSON, true
	case mt == "text/html" || mt == "application/xhtml+xml":
		return BodyHTML, true
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return BodyXML, true
	case mt == "application/x-www-form-urlencoded":
		return BodyForm, true
	}
	return "", false
}

// mediaType is the lower-case media type of the Content-Type header,
// without parameters.
func mediaType(h http.Header) string {
	mt, _, _ := strings.Cut(firstHeader(h, "Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// hasPrefixFold reports whether b starts with the lower-case ASCII
// prefix in any case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && asciiEqualFold(b[:len(prefix)], prefix)
}

// looksJSONLines reports whether b holds at least two lines and every
// non-blank line is one JSON value.
func looksJSONLines(b []byte) bool {
	n := 0
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return false
		}
		n++
	}
	return n >= 2
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
