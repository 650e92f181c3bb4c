// Package diff compares two captured HTTP responses, the monolith's and
// the service's, and says where they differ: status, headers and, for
// bodies it understands, every differing place by a stable path: JSON
// (and JSON Lines, and forms) by JSON Pointer, HTML by a CSS-like locator,
// XML by an element path, text by line. Other bodies are compared whole.
//
// It is pure: no I/O, no goroutines, no globals that change. Compare never
// panics; a failure inside becomes Result.Error.
//
// # Numbers
//
// JSON numbers are decoded exactly (never through float64) and compared as
// exact rationals: two numbers are equal iff they denote the same value,
// however written. So 1, 1.0, 1e0 and 10e-1 are all equal, and -0 equals 0,
// but 9007199254740993 differs from 9007199254740992 (both are the same
// float64). A Tolerance widens equality; it is applied to numbers whose
// decimal exponent lies within ±1000, larger ones are compared exactly.
//
// # Arrays
//
// Arrays are compared index by index; extra elements on either side are
// reported by index. An array holding the same elements in another order is
// reported once, as KindOrder at the array's pointer. Arrays listed in
// RulesConfig.Unordered are multisets: elements equal on both sides are
// matched away and the leftovers are compared in order (reported at the
// legacy element's index; an unpaired service element at its own index).
// Element matching (multisets and order detection) is exact, without
// Tolerance, and order detection stops 64 levels down (deeper arrays are
// compared index by index only), which keeps pathological nesting linear.
//
// # Bodies
//
// gzip and deflate (zlib or raw) Content-Encodings are decoded, up to the
// decode cap (RulesConfig.MaxDecoded), and the Content-Encoding header
// itself is not compared; other encodings (br, zstd) are compared as sent.
// Decoding stops at the cap: a decompression bomb costs at most about
// twice the cap in allocations, however much it would expand. A body
// marked Truncated, or one whose decoding passed the cap, is not
// compared: status and headers are, and the Result is an error with
// Result.Truncated set ("body truncated at capture cap; body not
// compared", "service body: gzip: decoded body over the decode cap
// (8388608 bytes): decoding stopped there; body not compared"), because
// a partial body can prove nothing either way.
package diff

import (
	"net/http"
	"time"

	shadowmark "github.com/stranglerfig/strangler/shadow/mark"
)

// Response is one captured response.
type Response struct {
	Status int
	Header http.Header
	// Body holds at most the capture cap; Truncated says more was sent.
	Body      []byte
	Truncated bool
	// Duration is how long the upstream took (informational).
	Duration time.Duration
}

// Kind classifies a difference.
type Kind string

// Kinds of difference.
const (
	KindChanged Kind = "changed" // same place, same type, other value
	KindMissing Kind = "missing" // the service lacks what the monolith has
	KindExtra   Kind = "extra"   // the service has what the monolith lacks
	KindType    Kind = "type"    // same place, other JSON type
	KindOrder   Kind = "order"   // an array with the same elements in another order
	KindStatus  Kind = "status"  // status codes differ
	KindHeader  Kind = "header"  // a compared header differs
	KindBody    Kind = "body"    // bodies differ as a whole (binary, or unparsable)
)

// Difference is one place where the two responses differ.
type Difference struct {
	// Path says where: "status", "header:Name", or a place in the body
	// whose syntax depends on BodyKind: a JSON Pointer for JSON, JSON
	// Lines ("/3/field") and forms ("/field/0"); a CSS-like locator for
	// HTML ("main > ul.items > li:nth-of-type(3)::text",
	// "form#checkout input[name=csrf]@value"); an element path for XML
	// ("/order/item[2]/@qty"); "line:N" for text; "body" for a body
	// compared whole. Cut to MaxPathLen bytes.
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
	// Legacy and Service are the values at Path, JSON-encoded (or a text
	// snippet), cut to MaxValueLen bytes; empty when absent on that side.
	Legacy  string `json:"legacy"`
	Service string `json:"service"`
	// Noise is set when Path is a learned noisy path (see Rules.Noise):
	// the difference is shown but does not count as a mismatch.
	Noise bool `json:"noise,omitempty"`
	// Excerpt, when set, is the source around the difference on each
	// side (the enclosing element, or the lines around a line), for a
	// person to see it in context. Nil for JSON, whose values say enough.
	Excerpt *Excerpt `json:"excerpt,omitempty"`
}

// Excerpt is a few lines of each side's source around a difference, each
// cut to MaxExcerptLen bytes. It is text to show escaped, never markup to
// render.
type Excerpt struct {
	Legacy  string `json:"legacy"`
	Service string `json:"service"`
}

// MaxExcerptLen bounds Excerpt.Legacy and Excerpt.Service.
const MaxExcerptLen = 512

// MaxValueLen bounds Difference.Legacy and Difference.Service.
const MaxValueLen = 256

// MaxPathLen bounds Difference.Path: a longer path (a huge JSON key or
// header name) is cut, marked with "…", so that no difference, stored
// result or learned noise path holds a large part of a body.
const MaxPathLen = 1024

// BodyKind says how the bodies were compared.
type BodyKind string

// Body kinds.
const (
	BodyEmpty     BodyKind = "empty"
	BodyJSON      BodyKind = "json"
	BodyJSONLines BodyKind = "jsonl" // one JSON value per line
	BodyHTML      BodyKind = "html"
	BodyXML       BodyKind = "xml"
	BodyForm      BodyKind = "form" // application/x-www-form-urlencoded
	BodyText      BodyKind = "text" // compared line by line
	BodyBinary    BodyKind = "binary"
)

// Verdict sums up a comparison.
type Verdict string

// Verdicts.
const (
	VerdictEqual     Verdict = "equal"      // no difference
	VerdictDifferent Verdict = "different"  // at least one difference that is not noise
	VerdictNoiseOnly Verdict = "noise-only" // every difference is learned noise
	VerdictError     Verdict = "error"      // the comparison itself failed (see Error)
)

// Matched reports whether the verdict counts as a match for match rates:
// equal, or different only by learned noise.
func (v Verdict) Matched() bool { return v == VerdictEqual || v == VerdictNoiseOnly }

// Result is the outcome of Compare.
type Result struct {
	Verdict     Verdict      `json:"verdict"`
	BodyKind    BodyKind     `json:"body_kind"`
	Differences []Difference `json:"differences"`
	// Error says why the comparison failed (undecodable gzip, a body over
	// the decode cap, a recovered panic).
	Error string `json:"error,omitempty"`
	// Omitted counts the differences left out of Differences beyond
	// MaxDifferences (the Verdict accounts for them all).
	Omitted int `json:"omitted,omitempty"`
	// Truncated says a body was cut, at the capture cap or at the decode
	// cap (a decompression bomb stops there), so the bodies were not
	// compared; Error says which and where.
	Truncated bool `json:"truncated,omitempty"`
}

// MaxDifferences bounds Result.Differences; the rest are counted in
// Result.Omitted.
const MaxDifferences = 1000

// Tolerance lets numbers differ a little: a and b are equal when
// |a-b| <= Abs or |a-b| <= Rel * max(|a|, |b|). The zero value is exact.
type Tolerance struct {
	Abs float64
	Rel float64
}

// NoiseSet reports whether a difference at a path is learned noise.
// Paths are passed as found ("/items/3/updated_at"); use
// Generalize to store them. Implementations must be safe for concurrent
// use.
type NoiseSet interface {
	IsNoise(path string) bool
}

// DefaultIgnoredHeaders are never compared: they differ between any two
// servers or any two responses.
var DefaultIgnoredHeaders = []string{
	"Date", "Server", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
	"Age", "Expires", "Last-Modified", "Etag", "X-Request-Id", "X-Correlation-Id",
	"X-Served-By", "Via", "Set-Cookie", "Vary", "Alt-Svc", "Report-To", "Nel",
	"Strict-Transport-Security", "X-Runtime", "X-Response-Time", "Traceparent", "Tracestate",
}

// DefaultMarkers are the headers strangler adds to the copy it sends, so
// only one side's request carries them. Where a body or a response
// header echoes them, they are left out of comparison (see
// RulesConfig.Markers). They are named once, in package shadow/mark (a
// leaf of the standard library only, so diff stays pure).
var DefaultMarkers = []string{shadowmark.Header, shadowmark.SignatureHeader}

// DefaultMaxDecoded bounds a decompressed (gzip, deflate) body.
const DefaultMaxDecoded = 8 << 20
