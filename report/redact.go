package report

import (
	"encoding/hex"
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

// alwaysRedacted are the headers every Redactor hides, besides those with
// a secret-like name (see secretName).
var alwaysRedacted = []string{
	"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
	"X-Api-Key", "X-Auth-Token", "Api-Key", "X-Access-Token", "X-Csrf-Token", "X-Xsrf-Token",
	"X-Amz-Security-Token",
}

// defaultRedactor applies to a record offered without a Redactor.
var defaultRedactor = NewRedactor(nil, nil)

// maxJSONDepth bounds the nesting the JSON redactor follows; a body nested
// deeper is cut there (and marked truncated).
const maxJSONDepth = 512

// Redactor says which values the store hides before keeping a record. It
// always hides, whatever it is configured with:
//
//   - the values of the headers in alwaysRedacted and of every header with
//     a secret-like name (see secretName);
//   - in bodies of every kind, in difference values and excerpts, the
//     values given to secret-like names: JSON and JSON Lines object
//     members, form fields, HTML input/meta/textarea values of secret-like
//     name or id (and password inputs) and secret-like attributes, XML
//     elements and attributes, and "name=value" or "name: value" in text;
//   - everywhere (bodies, header values, difference paths, values and
//     excerpts, the result's error), the e-mail addresses, Luhn-valid card
//     numbers, JWTs and Bearer/Basic credentials the scrubber recognises;
//   - both values of a difference whose path names a secret-like field.
//
// It is configured with more headers, JSON Pointers and CSS selectors to
// hide (see RedactorConfig).
//
// Bodies are redacted by kind (from their Content-Type, else their first
// bytes). A JSON body (or JSON Lines) is re-encoded when something is
// hidden; whatever follows the point where it stops parsing (a cut made
// by the capture cap, or malformed JSON) is dropped and the body marked
// truncated. HTML and XML are redacted token by token, and a tag cut at
// the end of an excerpt is dropped. Other bodies (text, binary) are
// scrubbed as text. A body cut at the capture cap loses its last word
// first (see dropCutWord).
//
// A Redactor is immutable and safe for concurrent use.
type Redactor struct {
	headers   map[string]bool // canonical header names
	paths     []string        // JSON Pointer patterns, "*" matching one segment
	selectors []selector      // CSS selectors for HTML
}

// RedactorConfig configures what a Redactor hides besides what every
// Redactor hides.
type RedactorConfig struct {
	// Headers are more header names (any case) whose values are hidden.
	Headers []string
	// Paths are JSON Pointers, in JSON, JSON Lines and form bodies and in
	// differences, whose values are hidden; a "*" segment matches any one
	// segment ("/items/*/card"), and a pattern covers the node and
	// everything below it.
	Paths []string
	// Selectors are CSS selectors, for HTML bodies and differences, each
	// with an optional suffix: "@attr" hides that attribute of the
	// matched elements ("input[name=account]@value"), "::text" their text;
	// without a suffix the text and attribute values (but id, class, name
	// and type) of the matched elements and of everything inside them are
	// hidden.
	Selectors []string
}

// NewRedactor returns a Redactor hiding, besides what every Redactor
// hides, the headers (any case) and, in JSON bodies, the values at
// jsonPaths (see RedactorConfig.Paths).
func NewRedactor(headers []string, jsonPaths []string) *Redactor {
	r, _ := NewRedactorConfig(RedactorConfig{Headers: headers, Paths: jsonPaths}) // no selectors, no error
	return r
}

// NewRedactorConfig returns a Redactor configured by cfg. It fails when a
// selector does not compile; the error names it.
func NewRedactorConfig(cfg RedactorConfig) (*Redactor, error) {
	r := &Redactor{headers: map[string]bool{}, paths: slices.Clone(cfg.Paths)}
	for _, h := range slices.Concat(alwaysRedacted, cfg.Headers) {
		r.headers[http.CanonicalHeaderKey(h)] = true
	}
	for _, s := range cfg.Selectors {
		sel, err := parseSelector(s)
		if err != nil {
			return nil, err
		}
		r.selectors = append(r.selectors, sel)
	}
	return r, nil
}

// orDefault returns r, or the default Redactor when r is nil.
func (r *Redactor) orDefault() *Redactor {
	if r == nil {
		return defaultRedactor
	}
	return r
}

// apply returns rec with secrets hidden and bodies cut to maxExcerpt
// bytes. It does not modify rec's maps or slices, nor what they point to.
func (r *Redactor) apply(rec Record, maxExcerpt int) Record {
	rec.Path = scrub(rec.Path)
	rec.Legacy = r.side(rec.Legacy, rec.Result.BodyKind, maxExcerpt)
	rec.Service = r.side(rec.Service, rec.Result.BodyKind, maxExcerpt)
	rec.Result.Differences = r.differences(rec.Result.Differences, rec.Result.BodyKind, rec.Legacy.Body, rec.Service.Body)
	rec.Result.Error = scrubText(rec.Result.Error)
	return rec
}

// side redacts one answer; compared is the kind its body was compared
// as, used when its own Content-Type does not say.
func (r *Redactor) side(s Side, compared diff.BodyKind, maxExcerpt int) Side {
	kind := sideKind(s, compared)
	s.Header = r.header(s.Header)
	in := s.Body
	if s.Truncated && kind != diff.BodyJSON && kind != diff.BodyJSONLines { // JSON drops a cut token itself
		in = dropCutWord(in)
	}
	body, complete := r.body(in, kind, maxExcerpt)
	body, cut := excerpt(body, maxExcerpt)
	s.Body = body
	s.Truncated = s.Truncated || !complete || cut
	return s
}

// header returns a copy of h with the values of redacted headers hidden
// and the others scrubbed.
func (r *Redactor) header(h http.Header) http.Header {
	out := h.Clone()
	for k, vs := range out {
		hidden := r.hidesHeader(k)
		for i := range vs {
			if hidden {
				vs[i] = Redacted
			} else {
				vs[i] = scrubText(vs[i])
			}
		}
	}
	return out
}

// hidesHeader reports whether the values of header name are hidden.
func (r *Redactor) hidesHeader(name string) bool {
	return r.headers[http.CanonicalHeaderKey(name)] || secretName(name)
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

// body redacts a body of the given kind; complete is false when part of
// it was dropped. A JSON body is re-encoded only until the output passes
// limit bytes (0: no limit): the rest would be cut from the excerpt
// anyway.
func (r *Redactor) body(b string, kind diff.BodyKind, limit int) (out string, complete bool) {
	switch kind {
	case diff.BodyJSON, diff.BodyJSONLines:
		if looksJSON(b) {
			return r.jsonLimited(b, "", limit)
		}
		return scrubText(b), true
	case diff.BodyHTML:
		return r.html(b)
	case diff.BodyXML:
		return redactXML(b)
	case diff.BodyForm:
		return r.form(b), true
	}
	return scrubText(b), true // text, and any text inside a binary body
}

// jsonValue hides the secrets inside s, a JSON document found at the JSON
// Pointer base. s is returned unchanged when it is not a JSON object or
// array, or holds nothing to hide and parses completely.
func (r *Redactor) jsonValue(s, base string) (out string, complete bool) {
	return r.jsonLimited(s, base, 0)
}

// jsonLimited is jsonValue stopping once the output is over limit bytes
// (0: no limit), with complete false.
func (r *Redactor) jsonLimited(s, base string, limit int) (out string, complete bool) {
	if !looksJSON(s) {
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

// differences returns a copy of ds with secret values hidden; kind is
// the kind the bodies were compared as. For HTML, the secret fields of
// bodies (and of the differences' excerpts) are looked up, so that a
// difference at one ("input[name=pw]@value" of a password input) is
// hidden although its locator does not say it is secret.
func (r *Redactor) differences(ds []diff.Difference, kind diff.BodyKind, bodies ...string) []diff.Difference {
	out := slices.Clone(ds)
	var fields map[string]bool
	if kind == diff.BodyHTML {
		fields = htmlSecretFields(ds, bodies)
	}
	for i := range out {
		r.difference(&out[i], kind, fields)
	}
	return out
}

// difference hides both values of d if its path is secret, and the
// secrets inside its values and excerpt otherwise. fields are the names
// and ids of the secret HTML fields.
func (r *Redactor) difference(d *diff.Difference, kind diff.BodyKind, fields map[string]bool) {
	if d.Excerpt != nil {
		// A copy of the caller's Excerpt, sharing none of its memory: the
		// store keeps it as it is.
		d.Excerpt = &diff.Excerpt{Legacy: strings.Clone(d.Excerpt.Legacy), Service: strings.Clone(d.Excerpt.Service)}
	}
	if r.hidesDifference(d.Path, kind, fields) {
		d.Legacy, d.Service = hide(d.Legacy), hide(d.Service)
		if d.Excerpt != nil {
			d.Excerpt.Legacy, d.Excerpt.Service = hide(d.Excerpt.Legacy), hide(d.Excerpt.Service)
		}
		d.Path = scrub(d.Path)
		return
	}
	base := ""
	if strings.HasPrefix(d.Path, "/") {
		base = d.Path
	}
	d.Legacy, d.Service = r.value(d.Legacy, base, kind), r.value(d.Service, base, kind)
	if d.Excerpt != nil {
		d.Excerpt.Legacy, d.Excerpt.Service = r.snippet(d.Excerpt.Legacy, kind), r.snippet(d.Excerpt.Service, kind)
	}
	d.Path = scrub(d.Path)
}

// hidesDifference reports whether both values of a difference at path
// are hidden: a redacted header, a path covered by a configured JSON
// Pointer or selector, a path naming a secret-like field, or an HTML
// locator of one of the secret fields.
func (r *Redactor) hidesDifference(path string, kind diff.BodyKind, fields map[string]bool) bool {
	switch {
	case path == "status" || path == "body" || strings.HasPrefix(path, "line:"):
		return false
	case strings.HasPrefix(path, "header:"):
		return r.hidesHeader(strings.TrimPrefix(path, "header:"))
	case path == "" || path[0] == '/':
		return r.hidesPath(path) || secretPath(path)
	}
	return secretLocator(path, fields) || r.selectorHides(path)
}

// value redacts a difference value: a binary body's digest is kept, JSON (found at the JSON Pointer base)
// by the JSON redactor, a JSON string by scrubbing its text, markup by
// the HTML or XML redactor, and anything else as text.
func (r *Redactor) value(v, base string, kind diff.BodyKind) string {
	switch {
	case isDigest(v):
		return v
	case looksJSON(v):
		out, _ := r.jsonValue(v, base)
		return out
	case strings.HasPrefix(v, `"`):
		return scrubJSONString(v)
	}
	return r.snippet(v, kind)
}

// isDigest reports whether v is a binary body's digest as package diff
// writes it ("sha256:<64 hex digits>"), which a run of its digits must
// not make look like a card number.
func isDigest(v string) bool {
	h, ok := strings.CutPrefix(v, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// snippet redacts a piece of a body of the given kind: an excerpt, or a
// difference value that is not JSON.
func (r *Redactor) snippet(s string, kind diff.BodyKind) string {
	var out string
	switch {
	case kind == diff.BodyXML && strings.Contains(s, "<"):
		out, _ = redactXML(s)
	case strings.Contains(s, "<"):
		out, _ = r.html(s)
	default:
		return scrubText(s)
	}
	return out
}

// scrubJSONString scrubs the text of a JSON-encoded string, re-encoding
// it when something was hidden. A string that does not decode (cut by
// the diff) is scrubbed as text.
func scrubJSONString(v string) string {
	var s string
	if json.Unmarshal([]byte(v), &s) != nil {
		return scrubText(v)
	}
	if out := scrubText(s); out != s {
		return string(appendJSONString(nil, out))
	}
	return v
}

// secretPath reports whether a JSON Pointer (JSON, JSON Lines, forms) or
// an XML element path ("/user/password/text()", "/user/@token",
// "/order/item[2]") has a segment naming a secret-like field: the value
// at the path is then inside a hidden value.
func secretPath(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		seg, _, _ = strings.Cut(seg, "[")
		seg = strings.TrimPrefix(seg, "@")
		if secretName(pointerUnescaper.Replace(seg)) {
			return true
		}
	}
	return false
}

// pointerUnescaper undoes pointerEscaper.
var pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")

// hide returns Redacted for a present value, "" (absent) for an absent one.
func hide(v string) string {
	if v == "" {
		return ""
	}
	return Redacted
}

// dropCutWord drops the end of a body cut at the capture cap from its
// last white space or delimiter on, so that a secret cut in two (an
// e-mail address, a card number, a token) does not leave its first part:
// the word at the cut, and a run of digits, spaces and dashes before it.
func dropCutWord(s string) string {
	i := strings.LastIndexAny(s, " \t\r\n\"'<>&,;=:")
	if i < 0 {
		return ""
	}
	s = s[:i+1]
	return strings.TrimRight(s, "0123456789 -")
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
	return w.member(path, false)
}

// member re-encodes the value at JSON Pointer path, hiding it when the
// path is configured or secret is set (its key is secret-like).
func (w *jsonRedactor) member(path string, secret bool) error {
	if w.limit > 0 && len(w.out) > w.limit {
		return errFull
	}
	if secret || w.r.hidesPath(path) {
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
		w.out = w.appendString(w.out, key)
		w.out = append(w.out, ':')
		if err := w.member(path+"/"+pointerEscaper.Replace(key), secretName(key)); err != nil {
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
		w.out = w.appendString(w.out, v)
	case json.Number:
		w.out = w.appendNumber(w.out, v)
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

// appendString appends s, scrubbed, as a JSON string.
func (w *jsonRedactor) appendString(dst []byte, s string) []byte {
	if out := scrubText(s); out != s {
		w.changed = true
		s = out
	}
	return appendJSONString(dst, s)
}

// appendNumber appends n, or the string RedactedCard when n is written
// like a card number.
func (w *jsonRedactor) appendNumber(dst []byte, n json.Number) []byte {
	if scrubCards(string(n)) != string(n) {
		w.changed = true
		return strconv.AppendQuote(dst, RedactedCard)
	}
	return append(dst, n...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return append(dst, b...)
}
