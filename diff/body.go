package diff

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// snippetLen bounds a text snippet around the first differing byte.
const snippetLen = 80

// compareBodies decodes and compares the bodies. errMsg is set when they
// could not be compared.
func compareBodies(l, s Response, r *Rules) (kind BodyKind, diffs []Difference, errMsg string) {
	if l.Truncated || s.Truncated {
		return "", nil, errTruncated
	}
	lb, err := decodeBody(l.Body, l.Header, r.maxDecodedBytes())
	if err != nil {
		return "", nil, "legacy body: " + err.Error()
	}
	sb, err := decodeBody(s.Body, s.Header, r.maxDecodedBytes())
	if err != nil {
		return "", nil, "service body: " + err.Error()
	}
	if bytes.Equal(lb, sb) {
		return sameBodyKind(lb, l.Header, s.Header), nil, ""
	}
	if lv, ok := jsonBody(lb, l.Header); ok {
		if sv, ok := jsonBody(sb, s.Header); ok {
			return BodyJSON, compareJSON(lv, sv, r), ""
		}
	}
	if utf8.Valid(lb) && utf8.Valid(sb) {
		return BodyText, compareText(lb, sb), ""
	}
	return BodyBinary, compareBinary(lb, sb), ""
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

// gunzip decodes gzip data.
func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return readCapped(zr, "gzip", limit)
}

// inflate decodes deflate data: zlib-wrapped as RFC 9110 says, or raw as
// some servers send it.
func inflate(b []byte, limit int64) ([]byte, error) {
	if len(b) >= 2 && b[0]&0x0f == 8 && (uint(b[0])<<8|uint(b[1]))%31 == 0 {
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		return readCapped(zr, "deflate", limit)
	}
	return readCapped(flate.NewReader(bytes.NewReader(b)), "deflate", limit)
}

// readCapped reads r to the end, failing past limit bytes: a
// decompression bomb stops at the cap.
func readCapped(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("decoded body over %d bytes", limit)
	}
	return b, nil
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
