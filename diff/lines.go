package diff

import "unicode/utf8"

// PLACEHOLDER (issue 14): replaced by the line-by-line comparison.

// snippetLen bounds a text snippet around the first differing byte.
const snippetLen = 80

// compareLines reports the first difference of two texts with a snippet
// of each around it.
func compareLines(l, s []byte, _ *Rules) []Difference {
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
