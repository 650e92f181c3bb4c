package report

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stranglerfig/strangler/diff"
)

// Redacted replaces every value the store must not keep.
const Redacted = "[redacted]"

// alwaysRedacted are the headers every Redactor hides.
var alwaysRedacted = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// defaultRedactor applies when a Record has no Redactor.
var defaultRedactor = NewRedactor(nil, nil)

// maxJSONDepth bounds the nesting the JSON redactor follows; a body nested
// deeper is cut there (and marked truncated).
const maxJSONDepth = 512

// Redactor says which values the store hides before keeping a record: the
// values of some headers and, in JSON bodies and in differences, the
// values at some JSON Pointers.
//
// Bodies that are not JSON (text, HTML, binary) are only cut to
// Options.MaxExcerpt: secrets in them cannot be recognized, so they are
// kept as sent, and so are the snippets of "body" differences. A JSON body (one starting with '{' or '[') is re-encoded
// when there are JSON paths to hide; whatever follows the point where it
// stops parsing (a cut made by the capture cap, or malformed JSON) is
// dropped and the body marked truncated.
//
// A Redactor is immutable and safe for concurrent use.
type Redactor struct {
	headers map[string]bool // canonical header names
	paths   []string        // JSON Pointer patterns, "*" matching one segment
}

// NewRedactor returns a Redactor hiding the Authorization,
// Proxy-Authorization, Cookie and Set-Cookie headers plus headers (any
// case), and in JSON bodies the values at jsonPaths: JSON Pointers where a
// "*" segment matches any one segment ("/items/*/card"); a pattern covers
// the node and everything below it.
func NewRedactor(headers []string, jsonPaths []string) *Redactor {
	r := &Redactor{headers: map[string]bool{}, paths: slices.Clone(jsonPaths)}
	for _, h := range slices.Concat(alwaysRedacted, headers) {
		r.headers[http.CanonicalHeaderKey(h)] = true
	}
	return r
}

// orDefault returns r, or the default Redactor when r is nil.
func (r *Redactor) orDefault() *Redactor {
	if r == nil {
		return defaultRedactor
	}
	return r
}

// apply returns rec with secrets hidden and bodies cut to maxExcerpt
// bytes. It does not modify rec's maps or slices.
func (r *Redactor) apply(rec Record, maxExcerpt int) Record {
	rec.Legacy = r.side(rec.Legacy, maxExcerpt)
	rec.Service = r.side(rec.Service, maxExcerpt)
	rec.Result.Differences = r.differences(rec.Result.Differences)
	rec.Redactor = nil
	return rec
}

// side redacts one answer.
func (r *Redactor) side(s Side, maxExcerpt int) Side {
	s.Header = r.header(s.Header)
	body, complete := r.body(s.Body, maxExcerpt)
	body, cut := excerpt(body, maxExcerpt)
	s.Body = body
	s.Truncated = s.Truncated || !complete || cut
	return s
}

// header returns a copy of h with the values of redacted headers hidden.
func (r *Redactor) header(h http.Header) http.Header {
	out := h.Clone()
	for k, vs := range out {
		if r.hidesHeader(k) {
			for i := range vs {
				vs[i] = Redacted
			}
		}
	}
	return out
}

// hidesHeader reports whether the values of header name are hidden.
func (r *Redactor) hidesHeader(name string) bool {
	return r.headers[http.CanonicalHeaderKey(name)]
}

// hidesPath reports whether a JSON path pattern covers the JSON Pointer p.
func (r *Redactor) hidesPath(p string) bool {
	for _, pat := range r.paths {
		if diff.Match(pat, p) {
			return true
		}
	}
	return false
}

// body redacts a body; complete is false when part of it was dropped.
// A JSON body is re-encoded only until the output passes limit bytes
// (0: no limit): the rest would be cut from the excerpt anyway.
func (r *Redactor) body(b string, limit int) (out string, complete bool) {
	return r.jsonLimited(b, "", limit)
}

// jsonValue hides the values at redacted paths inside s, a JSON document
// found at the JSON Pointer base. s is returned unchanged when it is not
// a JSON object or array, or holds nothing to hide and parses completely.
func (r *Redactor) jsonValue(s, base string) (out string, complete bool) {
	return r.jsonLimited(s, base, 0)
}

// jsonLimited is jsonValue stopping once the output is over limit bytes
// (0: no limit), with complete false.
func (r *Redactor) jsonLimited(s, base string, limit int) (out string, complete bool) {
	if len(r.paths) == 0 || !looksJSON(s) {
		return s, true
	}
	w := jsonRedactor{r: r, dec: json.NewDecoder(strings.NewReader(s)), limit: limit}
	w.dec.UseNumber()
	err := w.stream(base)
	if err == nil && !w.changed {
		return s, true
	}
	return string(w.out), err == nil
}

// differences returns a copy of ds with secret values hidden.
func (r *Redactor) differences(ds []diff.Difference) []diff.Difference {
	out := slices.Clone(ds)
	for i := range out {
		r.difference(&out[i])
	}
	return out
}

// difference hides the values of d if its path is secret, and the secret
// parts of JSON values found above a secret path.
func (r *Redactor) difference(d *diff.Difference) {
	switch {
	case strings.HasPrefix(d.Path, "header:"):
		if r.hidesHeader(strings.TrimPrefix(d.Path, "header:")) {
			d.Legacy, d.Service = hide(d.Legacy), hide(d.Service)
		}
	case d.Path == "" || d.Path[0] == '/':
		if r.hidesPath(d.Path) {
			d.Legacy, d.Service = hide(d.Legacy), hide(d.Service)
			return
		}
		d.Legacy, _ = r.jsonValue(d.Legacy, d.Path)
		d.Service, _ = r.jsonValue(d.Service, d.Path)
	}
}

// hide returns Redacted for a present value, "" (absent) for an absent one.
func hide(v string) string {
	if v == "" {
		return ""
	}
	return Redacted
}

// looksJSON reports whether s starts, after white space, like a JSON
// object or array.
func looksJSON(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	return s != "" && (s[0] == '{' || s[0] == '[')
}

// excerpt cuts s to at most n bytes, on a UTF-8 boundary. A cut excerpt
// is a copy: a slice of s would keep all of s (a whole captured body)
// reachable for as long as the excerpt is stored.
func excerpt(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n]), true
}

// errTooDeep stops the JSON redactor at maxJSONDepth.
var errTooDeep = errors.New("report: JSON nested too deep")

// errFull stops the JSON redactor once its output is over its limit.
var errFull = errors.New("report: redacted excerpt full")

// pointerEscaper escapes an object key as a JSON Pointer segment.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// jsonRedactor re-encodes a JSON stream token by token, writing Redacted
// in place of every value at a redacted path. Working on tokens, it
// redacts the parsable prefix of a cut document too.
type jsonRedactor struct {
	r       *Redactor
	dec     *json.Decoder
	out     []byte
	limit   int // stop once out is longer; 0: no limit
	depth   int
	changed bool
}

// stream re-encodes every top-level value, one per line.
func (w *jsonRedactor) stream(base string) error {
	for first := true; ; first = false {
		if !first {
			if !w.dec.More() {
				_, err := w.dec.Token()
				return ignoreEOF(err)
			}
			w.out = append(w.out, '\n')
		}
		if err := w.value(base); err != nil {
			return err
		}
	}
}

// ignoreEOF maps the clean end of the stream to nil.
func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// value re-encodes the value at JSON Pointer path.
func (w *jsonRedactor) value(path string) error {
	if w.limit > 0 && len(w.out) > w.limit {
		return errFull
	}
	if w.r.hidesPath(path) {
		w.changed = true
		w.out = strconv.AppendQuote(w.out, Redacted)
		return w.skip()
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return w.object(path)
	case json.Delim('['):
		return w.array(path)
	}
	return w.scalar(tok)
}

// object re-encodes the members of an object whose '{' was read.
func (w *jsonRedactor) object(path string) error {
	if err := w.enter('{'); err != nil {
		return err
	}
	for i := 0; w.dec.More(); i++ {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if i > 0 {
			w.out = append(w.out, ',')
		}
		w.out = appendJSONString(w.out, key)
		w.out = append(w.out, ':')
		if err := w.value(path + "/" + pointerEscaper.Replace(key)); err != nil {
			return err
		}
	}
	return w.leave('}')
}

// array re-encodes the elements of an array whose '[' was read.
func (w *jsonRedactor) array(path string) error {
	if err := w.enter('['); err != nil {
		return err
	}
	for i := 0; w.dec.More(); i++ {
		if i > 0 {
			w.out = append(w.out, ',')
		}
		if err := w.value(path + "/" + strconv.Itoa(i)); err != nil {
			return err
		}
	}
	return w.leave(']')
}

// enter writes an opening delimiter and bounds the depth.
func (w *jsonRedactor) enter(open byte) error {
	if w.depth++; w.depth > maxJSONDepth {
		return errTooDeep
	}
	w.out = append(w.out, open)
	return nil
}

// leave reads and writes the closing delimiter.
func (w *jsonRedactor) leave(end byte) error {
	if _, err := w.dec.Token(); err != nil {
		return err
	}
	w.depth--
	w.out = append(w.out, end)
	return nil
}

// scalar writes a string, number, boolean or null token.
func (w *jsonRedactor) scalar(tok json.Token) error {
	switch v := tok.(type) {
	case string:
		w.out = appendJSONString(w.out, v)
	case json.Number:
		w.out = append(w.out, v...)
	case bool:
		w.out = strconv.AppendBool(w.out, v)
	case nil:
		w.out = append(w.out, "null"...)
	}
	return nil
}

// skip reads one whole value without writing it.
func (w *jsonRedactor) skip() error {
	for depth := 0; ; {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return append(dst, b...)
}
