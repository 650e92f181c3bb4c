package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

	"github.com/stranglerfig/strangler/diff"
)

// selector is a configured CSS selector for HTML, with what it hides of
// the elements it matches.
type selector struct {
	raw  string
	sel  cascadia.Matcher
	attr string // "@attr": that attribute only
	text bool   // "::text": the text only
}

// parseSelector compiles a configured selector with its optional
// "@attr" or "::text" suffix.
func parseSelector(s string) (selector, error) {
	out := selector{raw: s}
	base := strings.TrimSpace(s)
	if b, ok := strings.CutSuffix(base, "::text"); ok {
		base, out.text = b, true
	} else if i := topLevelIndex(base, '@'); i >= 0 {
		base, out.attr = base[:i], strings.ToLower(strings.TrimSpace(base[i+1:]))
		if out.attr == "" || strings.ContainsAny(out.attr, " \t>[]") {
			return out, fmt.Errorf("report: redact selector %q: bad attribute after '@'", s)
		}
	}
	sel, err := cascadia.ParseGroup(base)
	if err != nil {
		return out, fmt.Errorf("report: redact selector %q: %w", s, err)
	}
	out.sel = sel
	return out, nil
}

// topLevelIndex is the index of the last c in s outside brackets and
// quotes, or -1.
func topLevelIndex(s string, c byte) int {
	found, depth, quote := -1, 0, byte(0)
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '[' || ch == '(':
			depth++
		case ch == ']' || ch == ')':
			depth--
		case ch == c && depth == 0:
			found = i
		}
	}
	return found
}

// keptAttrs are the attributes a selector without suffix leaves shown:
// they say what the element is, not what it holds.
var keptAttrs = []string{"id", "class", "name", "type"}

// fieldTags are the elements whose value or content is hidden when their
// name, id, property or itemprop is secret-like.
var fieldTags = []string{"input", "meta", "textarea", "select", "option", "button", "param"}

// rawTextTags are the elements whose text the tokenizer does not
// unescape, so that it is written back unescaped.
var rawTextTags = []string{"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}

// voidTags are the elements that have no end tag.
var voidTags = []string{"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr"}

// maxHTMLDepth bounds the open elements the HTML redactor tracks, which
// bounds the work per tag; deeper elements count as children of the
// deepest tracked one, and inherit what it hides.
const maxHTMLDepth = 256

// htmlFrame is an open element.
type htmlFrame struct {
	node     *html.Node
	hideText bool // its text is hidden
	hideAll  bool // its text and attribute values are hidden
}

// htmlRedactor rewrites HTML token by token: unchanged tokens are copied
// as they came, changed ones re-serialised. It keeps a tree of the start
// tags seen so that selectors can match them.
type htmlRedactor struct {
	r     *Redactor
	out   strings.Builder
	root  *html.Node
	stack []htmlFrame
}

// html redacts an HTML body or snippet. A tag cut at the end is dropped
// (complete false), never copied.
func (r *Redactor) html(s string) (out string, complete bool) {
	h := htmlRedactor{r: r, root: &html.Node{Type: html.DocumentNode}}
	z := html.NewTokenizer(strings.NewReader(s))
	consumed := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := string(z.Raw()) // before Token, which lower-cases names in place
		consumed += len(raw)
		h.token(tt, z.Token(), raw)
	}
	return h.out.String(), consumed == len(s)
}

// token writes one token, redacted.
func (h *htmlRedactor) token(tt html.TokenType, tok html.Token, raw string) {
	switch tt {
	case html.StartTagToken, html.SelfClosingTagToken:
		h.start(tok, raw, tt == html.SelfClosingTagToken)
	case html.EndTagToken:
		h.end(tok.Data)
		h.out.WriteString(raw)
	case html.TextToken:
		h.text(tok.Data, raw)
	case html.CommentToken:
		h.out.WriteString(comment(tok.Data, raw, h.top().hideText))
	default:
		h.out.WriteString(raw)
	}
}

// comment returns a comment (data, as written raw) hidden, or scrubbed.
func comment(data, raw string, hidden bool) string {
	out := scrubText(data)
	if hidden && strings.TrimSpace(data) != "" {
		out = Redacted
	}
	if out == data {
		return raw
	}
	return "<!--" + out + "-->"
}

// top is the innermost open element, or a frame of the document.
func (h *htmlRedactor) top() htmlFrame {
	if len(h.stack) == 0 {
		return htmlFrame{node: h.root}
	}
	return h.stack[len(h.stack)-1]
}

// start writes a start tag with its secret attribute values hidden, and
// opens the element.
func (h *htmlRedactor) start(tok html.Token, raw string, selfClosing bool) {
	parent := h.top()
	node := &html.Node{Type: html.ElementNode, Data: tok.Data, DataAtom: tok.DataAtom, Attr: slices.Clone(tok.Attr)}
	parent.node.AppendChild(node)
	frame := htmlFrame{node: node, hideText: parent.hideText, hideAll: parent.hideAll}
	hideAttrs := h.matchSelectors(&frame)
	secretField := isSecretField(tok)
	if secretField && tok.Data == "textarea" {
		frame.hideText = true
	}
	changed := false
	for i, a := range tok.Attr {
		v := a.Val
		switch {
		case frame.hideAll && !slices.Contains(keptAttrs, a.Key), secretName(a.Key), slices.Contains(hideAttrs, a.Key),
			secretField && (a.Key == "value" || a.Key == "content"):
			v = hide(v)
		default:
			v = scrubText(v)
		}
		if v != a.Val {
			tok.Attr[i].Val, changed = v, true
		}
	}
	if changed {
		raw = tok.String()
	}
	h.out.WriteString(raw)
	if !selfClosing && !slices.Contains(voidTags, tok.Data) && len(h.stack) < maxHTMLDepth {
		h.stack = append(h.stack, frame)
	}
}

// matchSelectors applies the selectors matching frame's element to it,
// and returns the attributes they hide.
func (h *htmlRedactor) matchSelectors(frame *htmlFrame) []string {
	var attrs []string
	for _, s := range h.r.selectors {
		if !s.sel.Match(frame.node) {
			continue
		}
		switch {
		case s.attr != "":
			attrs = append(attrs, s.attr)
		case s.text:
			frame.hideText = true
		default:
			frame.hideText, frame.hideAll = true, true
		}
	}
	return attrs
}

// isSecretField reports whether tok is a form field or meta element with
// a secret-like name, id, property or itemprop, or a password input.
func isSecretField(tok html.Token) bool {
	if !slices.Contains(fieldTags, tok.Data) {
		return false
	}
	for _, a := range tok.Attr {
		switch a.Key {
		case "name", "id", "property", "itemprop", "http-equiv":
			if secretName(a.Val) {
				return true
			}
		case "type":
			if tok.Data == "input" && strings.EqualFold(strings.TrimSpace(a.Val), "password") {
				return true
			}
		}
	}
	return false
}

// end closes the innermost open element named name, and those it
// encloses; an end tag without a start is ignored.
func (h *htmlRedactor) end(name string) {
	for i := len(h.stack) - 1; i >= 0; i-- {
		if h.stack[i].node.Data == name {
			h.stack = h.stack[:i]
			return
		}
	}
}

// text writes a text token: hidden inside a hidden element, else
// scrubbed.
func (h *htmlRedactor) text(data, raw string) {
	top := h.top()
	if top.hideText {
		if strings.TrimSpace(data) != "" {
			raw = Redacted
		}
		h.out.WriteString(raw)
		return
	}
	out := scrubText(data)
	switch {
	case out == data:
	case slices.Contains(rawTextTags, top.node.Data):
		raw = out
	default:
		raw = html.EscapeString(out)
	}
	h.out.WriteString(raw)
}

// secretLocator reports whether an HTML difference locator
// ("form#login input[name=password]@value") points at a secret: a
// secret-like attribute, or a last element that is a password input, has
// a secret-like id or name, or a name or id among fields (those of the
// secret fields found in the bodies).
func secretLocator(loc string, fields map[string]bool) bool {
	c := parseLocator(loc)
	if secretName(c.attr) {
		return true
	}
	if len(c.chain) == 0 {
		return false
	}
	last := c.chain[len(c.chain)-1]
	for _, a := range last.Attr {
		switch a.Key {
		case "id", "name", "property", "itemprop":
			if secretName(a.Val) || fields[a.Val] {
				return true
			}
		case "type":
			if strings.EqualFold(a.Val, "password") {
				return true
			}
		}
	}
	return false
}

// htmlSecretFields returns the names and ids of the secret fields (see
// isSecretField) in bodies and in the excerpts of ds.
func htmlSecretFields(ds []diff.Difference, bodies []string) map[string]bool {
	fields := map[string]bool{}
	for _, b := range bodies {
		addSecretFields(fields, b)
	}
	for _, d := range ds {
		if d.Excerpt != nil {
			addSecretFields(fields, d.Excerpt.Legacy)
			addSecretFields(fields, d.Excerpt.Service)
		}
	}
	return fields
}

// addSecretFields adds to fields the name and id of each secret field
// in the HTML s.
func addSecretFields(fields map[string]bool, s string) {
	if !strings.Contains(s, "<") {
		return
	}
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !isSecretField(tok) {
				continue
			}
			for _, a := range tok.Attr {
				if a.Key == "name" || a.Key == "id" {
					fields[a.Val] = true
				}
			}
		}
	}
}

// locator is a parsed HTML difference locator: a chain of elements, the
// last the one differing, and what of it differs.
type locator struct {
	chain []*html.Node // outermost first, each the parent of the next
	attr  string       // "@attr" suffix
	text  bool         // "::text" suffix
}

// parseLocator parses a locator into a chain of element nodes carrying
// the tag, id, classes and attributes the locator names, each with as
// many same-tag siblings before it as ":nth-of-type(n)" says, so that CSS
// selectors can be matched against it.
func parseLocator(loc string) locator {
	var c locator
	loc = strings.TrimSpace(loc)
	if b, ok := strings.CutSuffix(loc, "::text"); ok {
		loc, c.text = b, true
	} else if i := topLevelIndex(loc, '@'); i >= 0 {
		loc, c.attr = loc[:i], strings.ToLower(loc[i+1:])
	}
	parent := &html.Node{Type: html.DocumentNode}
	for _, part := range splitCompounds(loc) {
		node, nth := parseCompound(part)
		for range min(nth-1, 64) {
			parent.AppendChild(&html.Node{Type: html.ElementNode, Data: node.Data})
		}
		parent.AppendChild(node)
		c.chain = append(c.chain, node)
		parent = node
	}
	return c
}

// splitCompounds splits a locator at its top-level combinators (white
// space, '>', '+', '~').
func splitCompounds(loc string) []string {
	var parts []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i <= len(loc); i++ {
		var ch byte
		if i < len(loc) {
			ch = loc[i]
		}
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
			continue
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '[' || ch == '(':
			depth++
		case ch == ']' || ch == ')':
			depth--
		case depth <= 0 && (i == len(loc) || strings.IndexByte(" >+~\t", ch) >= 0):
			if i > start {
				parts = append(parts, loc[start:i])
			}
			start = i + 1
		}
	}
	return parts
}

// parseCompound parses one compound of a locator ("input#pw.big[name=x]",
// "li:nth-of-type(3)") into an element node, and the n of its
// :nth-of-type (1 when absent).
func parseCompound(s string) (*html.Node, int) {
	node := &html.Node{Type: html.ElementNode}
	nth := 1
	i := identEnd(s, 0)
	node.Data = strings.ToLower(s[:i])
	for i < len(s) {
		switch s[i] {
		case '#', '.':
			j := identEnd(s, i+1)
			key := "id"
			if s[i] == '.' {
				key = "class"
			}
			node.Attr = addAttr(node.Attr, key, s[i+1:j])
			i = j
		case '[':
			j := closing(s, i, ']')
			k, v, _ := strings.Cut(s[i+1:j], "=")
			node.Attr = addAttr(node.Attr, strings.ToLower(strings.TrimSpace(k)), strings.Trim(strings.TrimSpace(v), `"'`))
			i = min(j+1, len(s))
		case ':':
			j := closing(s, i, ')')
			if n, ok := strings.CutPrefix(s[i:j], ":nth-of-type("); ok {
				if v, err := strconv.Atoi(strings.TrimSpace(n)); err == nil && v > 0 {
					nth = v
				}
			}
			i = min(j+1, len(s))
		default:
			i++
		}
	}
	return node, nth
}

// identEnd is the end of the identifier starting at i.
func identEnd(s string, i int) int {
	for i < len(s) && strings.IndexByte("#.[:", s[i]) < 0 {
		i++
	}
	return i
}

// closing is the index of the first end after i, or len(s).
func closing(s string, i int, end byte) int {
	if j := strings.IndexByte(s[i:], end); j >= 0 {
		return i + j
	}
	return len(s)
}

// addAttr adds an attribute, appending a class to the classes.
func addAttr(attrs []html.Attribute, key, val string) []html.Attribute {
	for i := range attrs {
		if attrs[i].Key == key && key == "class" {
			attrs[i].Val += " " + val
			return attrs
		}
	}
	return append(attrs, html.Attribute{Key: key, Val: val})
}

// selectorHides reports whether a configured selector covers the HTML
// difference locator loc: it matches the differing element or one
// enclosing it (a selector with a suffix: the differing element, and
// the same attribute or the text, or the whole element).
func (r *Redactor) selectorHides(loc string) bool {
	if len(r.selectors) == 0 {
		return false
	}
	c := parseLocator(loc)
	for _, s := range r.selectors {
		if s.covers(c) {
			return true
		}
	}
	return false
}

// covers reports whether s covers the locator c.
func (s selector) covers(c locator) bool {
	for i, n := range c.chain {
		if !s.sel.Match(n) {
			continue
		}
		whole := c.attr == "" && !c.text
		switch {
		case s.attr == "" && !s.text:
			return true
		case i == len(c.chain)-1 && (whole || s.attr == c.attr && c.attr != "" || s.text && c.text):
			return true
		}
	}
	return false
}
