package diff

import (
	"fmt"
	"math"
	"math/big"
	"net/textproto"
	"strings"
)

// RulesConfig is how a route configures comparison.
type RulesConfig struct {
	// IgnorePaths are JSON Pointers into the body that are not compared.
	// A "*" segment matches any key or array index, and a pattern covers
	// its node and everything below it ("/items/*/updated_at", "/meta").
	// They apply to JSON, JSON Lines and form bodies, and to XML element
	// paths ("/order/item/@qty" covers every item's qty; "/order/item[2]"
	// only the second item).
	IgnorePaths []string
	// IgnoreSelectors are CSS selectors (cascadia syntax) of HTML
	// elements not compared, with an optional "@attr" suffix for one
	// attribute or "::text" for the element's own text
	// ("form#checkout input[name=csrf]@value", "footer", "time::text").
	IgnoreSelectors []string
	// IgnoreLines are 1-based line numbers of text bodies not compared.
	IgnoreLines []int
	// TextOnly compares HTML pages by their visible text alone, ignoring
	// markup (for routes whose templates are rewritten on purpose): one
	// line per block element, whitespace collapsed, differences at
	// "line:N" of that text.
	TextOnly bool
	// Markers are header names, besides DefaultMarkers, that only the
	// copy's request carries; where a body echoes them ("Name: value"
	// lines, JSON keys, form fields) or a response header repeats them,
	// they are left out of comparison.
	Markers []string
	// IgnoreHeaders are header names not compared, in addition to
	// DefaultIgnoredHeaders (case-insensitive).
	IgnoreHeaders []string
	// Unordered are JSON Pointers (with "*") of arrays compared as
	// multisets: element order is ignored.
	Unordered []string
	// Tolerance lets numbers differ a little.
	Tolerance Tolerance
	// MaxDecoded caps a gzip- or deflate-decoded body; 0 means
	// DefaultMaxDecoded.
	MaxDecoded int64
	// Noise, if set, marks differences at learned noisy paths as Noise.
	Noise NoiseSet
}

// Rules is a compiled RulesConfig. It is read-only and safe to share
// between goroutines. A nil *Rules means the defaults.
type Rules struct {
	ignore     []pattern
	selectors  []htmlSelector
	lines      map[int]bool
	textOnly   bool
	markers    []string // lower-case marker header names
	unordered  []pattern
	headers    []string // extra ignored header names, canonical
	tol        tolerance
	maxDecoded int64
	noise      NoiseSet
}

// tolerance is a compiled Tolerance; nil fields are zero.
type tolerance struct {
	abs, rel *big.Rat
}

// NewRules compiles c. Errors name the bad entry.
func NewRules(c RulesConfig) (*Rules, error) {
	if c.MaxDecoded < 0 {
		return nil, fmt.Errorf("diff: max decoded %d is negative", c.MaxDecoded)
	}
	r := &Rules{maxDecoded: c.MaxDecoded, noise: c.Noise, textOnly: c.TextOnly,
		markers: compileMarkers(c.Markers)}
	var err error
	if r.ignore, err = compilePatterns("ignore path", c.IgnorePaths); err != nil {
		return nil, err
	}
	if r.selectors, err = compileSelectors(c.IgnoreSelectors); err != nil {
		return nil, err
	}
	if r.lines, err = compileLines(c.IgnoreLines); err != nil {
		return nil, err
	}
	if r.unordered, err = compilePatterns("unordered path", c.Unordered); err != nil {
		return nil, err
	}
	if r.headers, err = compileHeaders(c.IgnoreHeaders); err != nil {
		return nil, err
	}
	if r.tol, err = compileTolerance(c.Tolerance); err != nil {
		return nil, err
	}
	return r, nil
}

// compilePatterns parses JSON Pointer patterns; what names them in errors.
func compilePatterns(what string, ptrs []string) ([]pattern, error) {
	out := make([]pattern, 0, len(ptrs))
	for _, p := range ptrs {
		pat, err := parsePattern(p)
		if err != nil {
			return nil, fmt.Errorf("diff: %s %q: %w", what, p, err)
		}
		out = append(out, pat)
	}
	return out, nil
}

// compileLines checks 1-based line numbers.
func compileLines(lines []int) (map[int]bool, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	out := make(map[int]bool, len(lines))
	for _, n := range lines {
		if n < 1 {
			return nil, fmt.Errorf("diff: ignore line %d: lines are numbered from 1", n)
		}
		out[n] = true
	}
	return out, nil
}

// compileHeaders canonicalizes header names.
func compileHeaders(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for i, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, fmt.Errorf("diff: ignore header #%d is empty", i+1)
		}
		out = append(out, textproto.CanonicalMIMEHeaderKey(n))
	}
	return out, nil
}

// compileTolerance checks t and turns it into exact rationals.
func compileTolerance(t Tolerance) (tolerance, error) {
	abs, err := toleranceRat("abs", t.Abs)
	if err != nil {
		return tolerance{}, err
	}
	rel, err := toleranceRat("rel", t.Rel)
	return tolerance{abs: abs, rel: rel}, err
}

// toleranceRat converts one tolerance bound; zero becomes nil.
func toleranceRat(name string, f float64) (*big.Rat, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return nil, fmt.Errorf("diff: tolerance %s %v must be a finite number >= 0", name, f)
	}
	if f == 0 {
		return nil, nil
	}
	return new(big.Rat).SetFloat64(f), nil
}

// headerIgnored reports whether the header name is not compared.
// Content-Encoding never is: bodies are compared decoded.
func (r *Rules) headerIgnored(name string) bool {
	if strings.EqualFold(name, "Content-Encoding") {
		return true
	}
	for _, h := range DefaultIgnoredHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	for _, h := range r.headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return r.isMarker(name)
}

// maxDecodedBytes is the effective decode cap.
func (r *Rules) maxDecodedBytes() int64 {
	if r.maxDecoded > 0 {
		return r.maxDecoded
	}
	return DefaultMaxDecoded
}
