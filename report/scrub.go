package report

import (
	"encoding/base64"
	"regexp"
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
// them ("new_password", "X-CSRF-Token", "clientSecret", "api.key").
var secretWords = []string{
	"password", "passwd", "passphrase", "pwd", "secret", "token", "apikey",
	"accesskey", "privatekey", "csrf", "xsrf", "authorization",
}

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
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// secretNamePattern matches a secret-like name in text: a word holding
// one of secretWords, its parts possibly separated by '_', '-' or '.'.
const secretNamePattern = `[A-Za-z0-9_.\-]*(?:password|passwd|passphrase|pwd|secret|token|api[_.\-]?key|access[_.\-]?key|private[_.\-]?key|csrf|xsrf|authorization)[A-Za-z0-9_.\-]*`

// The scrubber's patterns. All are RE2 (linear in the input).
var (
	// emailRe matches an address, its '@' possibly URL-encoded (%40).
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// jwtRe matches a JWT: three base64url parts, the first a JSON object
	// ("eyJ"); the signature may be empty (alg "none").
	jwtRe = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`)
	// bearerRe matches "Bearer <token>", the token 8 characters or more.
	bearerRe = regexp.MustCompile(`(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/\-]{8,}=*`)
	// basicRe matches "Basic <base64>"; basicCredential checks the base64.
	basicRe = regexp.MustCompile(`(?i)\b(basic)(\s+)([A-Za-z0-9+/]{4,}={0,2})`)
	// assignRe matches a secret-like name given a value in text:
	// password=x, "token": "x", api_key: 'x'. The value is a quoted
	// string (to its closing quote or the end of the line) or a run of
	// characters up to white space or one of & , ; " ' < >.
	assignRe = regexp.MustCompile(`(?i)(["']?` + secretNamePattern + `["']?\s*[:=]\s*)("(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|[^\s&,;"'<>]+)`)
)

// scrub replaces in s what the patterns recognise: e-mail addresses,
// card numbers, JWTs and Bearer/Basic credentials. It does not look at
// names (see scrubText).
func scrub(s string) string {
	if strings.Contains(s, "eyJ") {
		s = jwtRe.ReplaceAllString(s, RedactedJWT)
	}
	lower := strings.ToLower(s)
	if strings.Contains(lower, "bearer") {
		s = bearerRe.ReplaceAllString(s, "${1}${2}"+Redacted)
	}
	if strings.Contains(lower, "basic") {
		s = basicRe.ReplaceAllStringFunc(s, scrubBasic)
	}
	if strings.Contains(s, "@") || strings.Contains(s, "%40") {
		s = emailRe.ReplaceAllString(s, RedactedEmail)
	}
	return scrubCards(s)
}

// scrubText is scrub for free text (text bodies, snippets, excerpts,
// error texts): it also hides the values given to secret-like names
// ("password=x", "token: x", `"api_key":"x"`).
func scrubText(s string) string {
	if hasSecretWord(s) {
		s = assignRe.ReplaceAllString(s, "${1}"+Redacted)
	}
	return scrub(s)
}

// hasSecretWord is a quick test that s may hold a secret-like name.
func hasSecretWord(s string) bool {
	l := strings.ToLower(s)
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "csrf", "xsrf", "authorization"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// scrubBasic replaces the credential of a "Basic <base64>" match when it
// decodes to "user:password".
func scrubBasic(m string) string {
	sub := basicRe.FindStringSubmatch(m)
	if !basicCredential(sub[3]) {
		return m
	}
	return sub[1] + sub[2] + Redacted
}

// basicCredential reports whether b is standard base64 of a text holding
// a ':', as an HTTP Basic credential is.
func basicCredential(b string) bool {
	dec, err := base64.StdEncoding.DecodeString(b)
	return err == nil && strings.Contains(string(dec), ":")
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
	var hidden []span
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		groups := digitGroups(s, i)
		hidden = appendCards(hidden, s, groups)
		i = groups[len(groups)-1].end
	}
	if len(hidden) == 0 {
		return s
	}
	return replaceSpans(s, hidden, RedactedCard)
}

// digitGroups returns the groups of digits starting at i: runs of digits
// separated by exactly one space or dash.
func digitGroups(s string, i int) []span {
	var groups []span
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
