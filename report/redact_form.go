package report

import (
	"mime"
	"net/url"
	"strings"

	"github.com/stranglerfig/strangler/diff"
)

// sideKind says how a stored body is redacted: by its declared
// Content-Type, else by the kind the bodies were compared as, else by its
// first bytes.
func sideKind(s Side, compared diff.BodyKind) diff.BodyKind {
	if k, ok := declaredKind(s.Header.Get("Content-Type")); ok {
		return k
	}
	switch compared {
	case diff.BodyJSON, diff.BodyJSONLines, diff.BodyHTML, diff.BodyXML, diff.BodyForm:
		return compared
	}
	return sniffKind(s.Body)
}

// declaredKind maps a Content-Type to the body kind it declares.
func declaredKind(contentType string) (diff.BodyKind, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	if k, ok := diff.DeclaredKind(mt); ok {
		return k, true
	}
	if strings.HasPrefix(mt, "text/") {
		return diff.BodyText, true
	}
	return "", false
}

// sniffKind guesses the kind of an undeclared body from its first bytes.
func sniffKind(b string) diff.BodyKind {
	head := strings.TrimLeft(b, " \t\r\n\ufeff")
	switch {
	case looksJSON(head):
		return diff.BodyJSON
	case strings.HasPrefix(head, "<?xml"):
		return diff.BodyXML
	case strings.HasPrefix(head, "<"):
		return diff.BodyHTML
	}
	return diff.BodyText
}

// form redacts a form body (a=1&password=x): the values of fields with a
// secret-like name or a configured path ("/name") are hidden, the others
// scrubbed once decoded (and escaped again, the markers' brackets and
// colon left readable).
func (r *Redactor) form(b string) string {
	var out strings.Builder
	for i, pair := range strings.Split(b, "&") {
		if i > 0 {
			out.WriteByte('&')
		}
		out.WriteString(r.formPair(pair))
	}
	return out.String()
}

// formPair redacts one name=value pair of a form.
func (r *Redactor) formPair(pair string) string {
	k, v, hasValue := strings.Cut(pair, "=")
	name, err := url.QueryUnescape(k)
	if err != nil {
		name = k
	}
	key := scrub(k)
	switch {
	case !hasValue:
		return scrubText(pair)
	case secretName(name) || r.hidesPath("/"+pointerEscaper.Replace(name)):
		return key + "=" + Redacted
	}
	val, err := url.QueryUnescape(v)
	if err != nil {
		return key + "=" + scrub(v)
	}
	if out := scrubText(val); out != val {
		return key + "=" + formEscape(out)
	}
	return key + "=" + v
}

// formUnbracket shows the brackets and colons of the replacement markers
// as typed in an escaped form value, so that "[redacted:email]" reads as
// such.
var formUnbracket = strings.NewReplacer("%5B", "[", "%5D", "]", "%3A", ":")

// formEscape escapes a scrubbed form value, its markers left readable.
func formEscape(v string) string {
	return formUnbracket.Replace(url.QueryEscape(v))
}
