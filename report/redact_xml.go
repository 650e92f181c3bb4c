package report

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// xmlRedactor rewrites XML token by token: unchanged tokens are copied
// as they came, changed ones re-serialised. Inside an element with a
// secret-like name, text and attribute values are hidden.
type xmlRedactor struct {
	out    strings.Builder
	secret []bool // per open element: it or an ancestor is secret-like
}

// redactXML redacts an XML body or snippet: the text and attributes of
// elements with a secret-like name, and attributes with a secret-like
// name, are hidden; other text and attribute values are scrubbed. It
// stops where the XML stops parsing (a tag cut at the end of an excerpt)
// and drops the rest (complete false).
func redactXML(s string) (out string, complete bool) {
	var w xmlRedactor
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = false
	prev := int64(0)
	for {
		tok, err := d.RawToken()
		if err != nil {
			return w.out.String(), errors.Is(err, io.EOF) && prev == int64(len(s))
		}
		off := d.InputOffset()
		w.token(tok, s[prev:off])
		prev = off
	}
}

// inSecret reports whether the innermost open element is secret.
func (w *xmlRedactor) inSecret() bool {
	return len(w.secret) > 0 && w.secret[len(w.secret)-1]
}

// token writes one token, redacted.
func (w *xmlRedactor) token(tok xml.Token, raw string) {
	switch t := tok.(type) {
	case xml.StartElement:
		w.start(t, raw)
	case xml.EndElement:
		if len(w.secret) > 0 {
			w.secret = w.secret[:len(w.secret)-1]
		}
		w.out.WriteString(raw)
	case xml.CharData:
		w.text(string(t), raw)
	case xml.Comment:
		w.out.WriteString(comment(string(t), raw, w.inSecret()))
	default:
		w.out.WriteString(raw)
	}
}

// start writes a start tag, hiding the attributes of a secret element
// and secret-like attributes, and opens the element.
func (w *xmlRedactor) start(t xml.StartElement, raw string) {
	secret := w.inSecret() || secretName(t.Name.Local)
	changed := false
	for i, a := range t.Attr {
		v := a.Value
		if secret || secretName(a.Name.Local) {
			v = hide(v)
		} else {
			v = scrubText(v)
		}
		if v != a.Value {
			t.Attr[i].Value, changed = v, true
		}
	}
	if changed {
		raw = startTag(t, strings.HasSuffix(raw, "/>"))
	}
	w.out.WriteString(raw)
	if !strings.HasSuffix(raw, "/>") {
		w.secret = append(w.secret, secret)
	}
}

// startTag serialises a start tag, self-closing when empty is set.
func startTag(t xml.StartElement, empty bool) string {
	var b strings.Builder
	b.WriteString("<" + xmlName(t.Name))
	for _, a := range t.Attr {
		b.WriteString(" " + xmlName(a.Name) + `="`)
		_ = xml.EscapeText(&b, []byte(a.Value)) // a Builder does not fail
		b.WriteString(`"`)
	}
	if empty {
		b.WriteString("/")
	}
	b.WriteString(">")
	return b.String()
}

// xmlName is a raw name, with its prefix.
func xmlName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// text writes character data (or CDATA): hidden inside a secret element,
// else scrubbed.
func (w *xmlRedactor) text(data, raw string) {
	var out string
	switch {
	case w.inSecret() && strings.TrimSpace(data) != "":
		out = Redacted
	case w.inSecret():
		out = data
	default:
		out = scrubText(data)
	}
	if out != data {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(out)) // a Builder does not fail
		raw = b.String()
	}
	w.out.WriteString(raw)
}
