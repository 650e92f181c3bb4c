package report

import (
	"encoding/base64"
	"slices"
	"strings"
)

// Typed replacements written by the pattern scrubber, so that a reader
// sees what was there.
const (
	RedactedEmail = "[redacted:email]"
	RedactedCard  = "[redacted:card]"
	RedactedJWT   = "[redacted:jwt]"
)

// secretWords are the words that make a field, attribute, element or
// header name secret-like: a name is secret-like when, lower-cased and
// with its separators ('_', '-', '.', ' ') removed, it contains one of
// them ("new_password", "X-CSRF-Token", "clientSecret", "api.key"), or
// is one of exactSecretNames.
var secretWords = []string{
	"password", "passwd", "passphrase", "pwd", "secret", "token", "apikey",
	"accesskey", "privatekey", "csrf", "xsrf", "authorization",
}

// exactSecretNames are short names that are secret-like only as a whole
// name (separators removed, any case): as parts of longer names they
// mean other things ("passenger", "pinned").
var exactSecretNames = []string{"pass", "pw", "pin", "otp", "cvv", "cvc", "ssn"}

// nameSeparators are removed from a name before secretWords are looked
// for in it.
var nameSeparators = strings.NewReplacer("_", "", "-", "", ".", "", " ", "")

// secretName reports whether a field, attribute, element or header name
// is secret-like (see secretWords).
func secretName(name string) bool {
	if name == "" {
		return false
	}
	n := strings.ToLower(nameSeparators.Replace(name))
	if slices.Contains(exactSecretNames, n) {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// scrub replaces in s what the patterns recognise: JWTs, Bearer and
// Basic credentials, e-mail addresses and card numbers. It does not look
// at names (see scrubText). Each pattern is found by a scan that looks
// at each byte a bounded number of times.
func scrub(s string) string {
	if s == "" {
		return s
	}
	s = replaceAll(s, RedactedJWT, "eyJ", jwtAt)
	lower := asciiLower(s)
	if strings.Contains(lower, "bearer") {
		s, lower = replaceAfterWord(s, lower, "bearer", bearerEnd)
	}
	if strings.Contains(lower, "basic") {
		s, _ = replaceAfterWord(s, lower, "basic", basicEnd)
	}
	if strings.Contains(s, "@") || strings.Contains(s, "%40") {
		s = scrubEmails(s)
	}
	return scrubCards(s)
}

// scrubText is scrub for free text (text bodies, snippets, excerpts,
// header values, error texts): it also hides the values given to
// secret-like names ("password=x", "token: x", `"api_key":"x"`).
func scrubText(s string) string {
	if s != "" && hasSecretWord(s) {
		s = scrubAssignments(s)
	}
	return scrub(s)
}

// secretAnchors are the parts of secretWords a quick search looks for.
var secretAnchors = []string{"pass", "pw", "secret", "token", "key", "csrf", "xsrf", "authorization", "pin", "otp", "cvv", "cvc", "ssn"}

// hasSecretWord is a quick test that s may hold a secret-like name.
func hasSecretWord(s string) bool {
	l := asciiLower(s)
	for _, w := range secretAnchors {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// asciiLower lower-cases the ASCII letters of s, keeping its length (and
// so its byte offsets).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// maxNameLen bounds how far back from a ':' or '=' a name is looked for.
const maxNameLen = 128

// scrubAssignments hides the value after each secret-like name followed,
// past an optional closing quote and white space, by ':' or '='. The
// value is a quoted string (to its closing quote or the end of the line)
// or a run of bytes up to white space or one of & , ; " ' < >.
func scrubAssignments(s string) string {
	var hidden []span
	for i := 0; i < len(s); i++ {
		if (s[i] != ':' && s[i] != '=') || !secretName(nameBefore(s, i)) {
			continue
		}
		v := valueAfter(s, i+1)
		if v.end > v.start {
			hidden = addSpan(hidden, v)
			i = v.end - 1
		}
	}
	if len(hidden) == 0 {
		return s
	}
	return replaceSpans(s, hidden, Redacted)
}

// nameBefore is the name ending before the ':' or '=' at i, past white
// space and a closing quote, at most maxNameLen bytes long.
func nameBefore(s string, i int) string {
	j := i
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
		j--
	}
	k := j
	for k > 0 && j-k < maxNameLen && isNameByte(s[k-1]) {
		k--
	}
	return s[k:j]
}

// valueAfter is the span of the value starting at i, past white space.
func valueAfter(s string, i int) span {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == len(s) {
		return span{i, i}
	}
	j := i + 1
	switch q := s[i]; q {
	case '"', '\'':
		for j < len(s) && s[j] != q && s[j] != '\n' {
			if q == '"' && s[j] == '\\' {
				j++
			}
			j++
		}
		return span{i, min(j+1, len(s))}
	}
	j = plainValueEnd(s, i)
	if slices.Contains(authSchemes, asciiLower(s[i:j])) {
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k > j {
			j = max(j, plainValueEnd(s, k))
		}
	}
	return span{i, j}
}

// authSchemes are the words that start an Authorization value: the
// credential after one belongs to the value too.
var authSchemes = []string{"bearer", "basic", "token", "digest", "negotiate", "ntlm", "apikey", "aws4-hmac-sha256"}

// plainValueEnd is the end of an unquoted value starting at i: up to
// white space or one of & , ; " ' < >.
func plainValueEnd(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\r\n&,;\"'<>", s[i]) < 0 {
		i++
	}
	return i
}

// isNameByte reports whether c may be part of a field name in text.
func isNameByte(c byte) bool {
	return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z' || c == '_' || c == '-' || c == '.'
}

// isB64URL reports whether c is a base64url character.
func isB64URL(c byte) bool {
	return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z' || c == '_' || c == '-'
}

// replaceAll replaces with with every match found by at at an
// occurrence of lit. at returns the end of the match starting at i, or,
// with ok false, where to look for lit next.
func replaceAll(s, with, lit string, at func(s string, i int) (end int, ok bool)) string {
	var hidden []span
	for i := 0; ; {
		k := strings.Index(s[i:], lit)
		if k < 0 {
			break
		}
		i += k
		e, ok := at(s, i)
		if ok {
			hidden = addSpan(hidden, span{i, e})
		}
		i = max(e, i+len(lit))
	}
	if len(hidden) == 0 {
		return s
	}
	return replaceSpans(s, hidden, with)
}

// jwtAt is the end of a JWT starting at i ("eyJ…"): three base64url
// parts separated by dots, the first two not empty, the signature
// possibly empty (alg "none"). Without one (ok false), end is the end of
// the first part: no JWT starts before it.
func jwtAt(s string, i int) (end int, ok bool) {
	j := b64urlRun(s, i+3)
	if j == i+3 || j >= len(s) || s[j] != '.' {
		return j, false
	}
	k := b64urlRun(s, j+1)
	if k == j+1 || k >= len(s) || s[k] != '.' {
		return j, false
	}
	return b64urlRun(s, k+1), true
}

// b64urlRun is the end of the run of base64url characters from i.
func b64urlRun(s string, i int) int {
	for i < len(s) && isB64URL(s[i]) {
		i++
	}
	return i
}

// replaceAfterWord replaces, after each occurrence of word (any case, at
// the start of a word) and white space, the credential that ends at
// end(s, i) (i its start; -1: none) with Redacted. lower is
// asciiLower(s); both are returned replaced.
func replaceAfterWord(s, lower, word string, end func(s string, i int) int) (string, string) {
	var hidden []span
	for i := 0; ; {
		k := strings.Index(lower[i:], word)
		if k < 0 {
			break
		}
		i += k + len(word)
		if start := i - len(word); start > 0 && isNameByte(s[start-1]) {
			continue
		}
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if e := end(s, j); j > i && e > j {
			hidden = addSpan(hidden, span{j, e})
			i = e
		}
	}
	if len(hidden) == 0 {
		return s, lower
	}
	return replaceSpans(s, hidden, Redacted), replaceSpans(lower, hidden, Redacted)
}

// minBearerLen is the shortest token hidden after "Bearer", so that
// prose ("bearer tokens") is left alone.
const minBearerLen = 8

// bearerEnd is the end of a bearer token (RFC 6750 b64token) at i, at
// least minBearerLen long, or -1.
func bearerEnd(s string, i int) int {
	j := i
	for j < len(s) && (isB64URL(s[j]) || strings.IndexByte("._~+/", s[j]) >= 0) {
		j++
	}
	if j-i < minBearerLen {
		return -1
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	return j
}

// basicEnd is the end of a Basic credential at i: standard base64 that
// decodes to "user:password"; or -1.
func basicEnd(s string, i int) int {
	j := i
	for j < len(s) && (isDigit(s[j]) || 'a' <= s[j]|0x20 && s[j]|0x20 <= 'z' || s[j] == '+' || s[j] == '/') {
		j++
	}
	for n := 0; n < 2 && j < len(s) && s[j] == '='; n++ {
		j++
	}
	if j-i < 4 || !basicCredential(s[i:j]) {
		return -1
	}
	return j
}

// basicCredential reports whether b is standard base64 of a text holding
// a ':', as an HTTP Basic credential is.
func basicCredential(b string) bool {
	dec, err := base64.StdEncoding.DecodeString(b)
	return err == nil && strings.Contains(string(dec), ":")
}

// scrubEmails replaces e-mail addresses, their '@' possibly URL-encoded
// as %40: a local part of letters, digits and . _ % + -, then a domain
// of at least two dot-separated labels of letters, digits and -, the
// last beginning with two letters or more.
func scrubEmails(s string) string {
	var hidden []span
	last := 0
	for i := 0; i < len(s); i++ {
		at := 0
		switch {
		case s[i] == '@':
			at = 1
		case s[i] == '%' && strings.HasPrefix(s[i:], "%40"):
			at = 3
		default:
			continue
		}
		start := i
		for start > max(last, i-maxLocalLen) && isLocalByte(s[start-1]) {
			start--
		}
		if e := domainEnd(s, i+at); start < i && e > 0 {
			hidden = addSpan(hidden, span{start, e})
			last, i = e, e-1
		}
	}
	if len(hidden) == 0 {
		return s
	}
	return replaceSpans(s, hidden, RedactedEmail)
}

// maxLocalLen bounds how far back from an '@' a local part is looked
// for (RFC 5321 allows 64 bytes), which keeps the scan linear.
const maxLocalLen = 256

// isLocalByte reports whether c may be part of an e-mail local part.
func isLocalByte(c byte) bool {
	return isNameByte(c) || c == '%' || c == '+'
}

// domainEnd is the end of the longest domain starting at i, or -1.
func domainEnd(s string, i int) int {
	end := -1
	for label := 0; i < len(s); label++ {
		j := i
		for j < len(s) && (isDigit(s[j]) || 'a' <= s[j]|0x20 && s[j]|0x20 <= 'z' || s[j] == '-') {
			j++
		}
		if j == i {
			return end
		}
		if label > 0 {
			a := i
			for a < j && 'a' <= s[a]|0x20 && s[a]|0x20 <= 'z' {
				a++
			}
			if a-i >= 2 {
				end = a
			}
		}
		if j >= len(s) || s[j] != '.' {
			return end
		}
		i = j + 1
	}
	return end
}

// Card numbers are 13 to 19 digits, in groups separated by one space or
// dash, that pass the Luhn check.
const (
	minCardDigits = 13
	maxCardDigits = 19
)

// span is a byte range [start, end) of a string.
type span struct{ start, end int }

// scrubCards replaces the card numbers in s with RedactedCard. Digits in
// a run of groups (digits separated by single spaces or dashes) are
// tried window by window: every run of whole groups holding 13 to 19
// digits that passes the Luhn check is hidden, so a card number written
// next to other numbers is found too.
func scrubCards(s string) string {
	var hidden, groups []span
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		groups = digitGroups(groups[:0], s, i)
		hidden = appendCards(hidden, s, groups)
		i = groups[len(groups)-1].end
	}
	if len(hidden) == 0 {
		return s
	}
	return replaceSpans(s, hidden, RedactedCard)
}

// digitGroups appends to groups the groups of digits starting at i:
// runs of digits separated by exactly one space or dash.
func digitGroups(groups []span, s string, i int) []span {
	for {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		groups = append(groups, span{i, j})
		if j+1 >= len(s) || (s[j] != ' ' && s[j] != '-') || !isDigit(s[j+1]) {
			return groups
		}
		i = j + 1
	}
}

// appendCards appends the spans of the windows of whole groups that hold
// a card number, merging overlapping ones.
func appendCards(hidden []span, s string, groups []span) []span {
	for a := range groups {
		n := 0
		for b := a; b < len(groups); b++ {
			if n += groups[b].end - groups[b].start; n > maxCardDigits {
				break
			}
			if n >= minCardDigits && luhn(s[groups[a].start:groups[b].end]) {
				hidden = addSpan(hidden, span{groups[a].start, groups[b].end})
			}
		}
	}
	return hidden
}

// addSpan appends sp to spans (sorted by start), merged with the last
// span when they overlap.
func addSpan(spans []span, sp span) []span {
	if k := len(spans) - 1; k >= 0 && sp.start <= spans[k].end {
		spans[k].end = max(spans[k].end, sp.end)
		return spans
	}
	return append(spans, sp)
}

// replaceSpans replaces each of the sorted, disjoint spans of s with
// with.
func replaceSpans(s string, spans []span, with string) string {
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(with)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// luhn reports whether the digits of s (other bytes skipped) pass the
// Luhn check.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		if !isDigit(s[i]) {
			continue
		}
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
