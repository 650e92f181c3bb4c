package diff

import (
	"errors"
	"fmt"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// htmlSelector is a compiled IgnoreSelectors entry: a cascadia selector
// group and what of the matched elements is ignored.
type htmlSelector struct {
	sel  cascadia.SelectorGroup
	attr string // "@attr": only this attribute (lower case)
	text bool   // "::text": only the element's own text
}

// textSuffix selects an element's own text in an IgnoreSelectors entry.
const textSuffix = "::text"

// compileSelectors compiles IgnoreSelectors entries: CSS selectors
// (cascadia syntax, comma groups allowed) with an optional "@attr" or
// "::text" suffix. Errors name the bad entry.
func compileSelectors(sels []string) ([]htmlSelector, error) {
	if len(sels) == 0 {
		return nil, nil
	}
	out := make([]htmlSelector, 0, len(sels))
	for _, s := range sels {
		hs, err := parseSelector(s)
		if err != nil {
			return nil, fmt.Errorf("diff: ignore selector %q: %w", s, err)
		}
		out = append(out, hs)
	}
	return out, nil
}

// CheckSelector reports whether s is a valid RulesConfig.IgnoreSelectors
// entry: a CSS selector with an optional "@attr" or "::text" suffix. The
// error names s and says what is wrong.
func CheckSelector(s string) error {
	_, err := compileSelectors([]string{s})
	return err
}

// parseSelector splits off the suffix and compiles the selector.
func parseSelector(s string) (htmlSelector, error) {
	var hs htmlSelector
	base := strings.TrimSpace(s)
	if b, ok := strings.CutSuffix(base, textSuffix); ok {
		hs.text, base = true, b
	} else if i := strings.LastIndexByte(base, '@'); i >= 0 && validAttrName(base[i+1:]) {
		hs.attr, base = strings.ToLower(base[i+1:]), base[:i]
	}
	base = strings.TrimSpace(base)
	if base == "" {
		return hs, errors.New("empty selector")
	}
	sel, err := cascadia.ParseGroup(base)
	if err != nil {
		return hs, fmt.Errorf("css selector %q: %w", base, err)
	}
	hs.sel = sel
	return hs, nil
}

// validAttrName reports whether s is a plausible HTML attribute name:
// non-empty, without spaces, quotes, brackets, '>', '/' or '='.
func validAttrName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n\f\"'<>/=[]()")
}

// mark says what of one element the ignore selectors cover.
type mark struct {
	whole bool     // the element and its subtree
	text  bool     // its own text
	attrs []string // these attributes
}

// markSelected runs the ignore selectors over a document; nil when there
// are none or nothing matched.
func (r *Rules) markSelected(doc *html.Node) map[*html.Node]*mark {
	if len(r.selectors) == 0 {
		return nil
	}
	marks := map[*html.Node]*mark{}
	for _, hs := range r.selectors {
		for _, n := range cascadia.QueryAll(doc, hs.sel) {
			m := marks[n]
			if m == nil {
				m = &mark{}
				marks[n] = m
			}
			switch {
			case hs.text:
				m.text = true
			case hs.attr != "":
				m.attrs = append(m.attrs, hs.attr)
			default:
				m.whole = true
			}
		}
	}
	return marks
}
