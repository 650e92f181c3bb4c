package report

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/upstream/errkind"
)

// Side is what one upstream answered, as stored.
type Side struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	// Body is an excerpt of the body, redacted, at most Options.MaxExcerpt
	// bytes.
	Body string `json:"body"`
	// Truncated says Body is not the whole body.
	Truncated bool          `json:"truncated"`
	Duration  time.Duration `json:"duration_ns"`
	// Error is the kind of upstream failure, if any: one of errkind.All
	// ("timeout", "refused", "reset", "dns", "tls" or "other").
	Error string `json:"error,omitempty"`
}

// Upstream failure kinds found in Side.Error, defined once in errkind
// (the upstream package classifies; the report counts).
const (
	ErrorTimeout = errkind.Timeout
	ErrorRefused = errkind.Refused
	ErrorReset   = errkind.Reset
	ErrorOther   = errkind.Other
)

// Record is one shadow comparison: the request, both answers and the diff.
type Record struct {
	// ID is assigned by the store; whatever the caller sets is ignored.
	ID uint64 `json:"id"`
	// Time is when the request arrived; the store sets it to the time of
	// storing when it is zero.
	Time   time.Time `json:"time"`
	Route  string    `json:"route"`
	Method string    `json:"method"`
	// Path is the request path, without the query string.
	Path      string `json:"path"`
	RequestID string `json:"request_id"`
	// TraceID is the request's OpenTelemetry trace id (32 hex digits) when
	// tracing was on and the request sampled; the copy's span is in it.
	TraceID string `json:"trace_id,omitempty"`
	// Primary says who answered the user: "legacy" or "service".
	Primary string      `json:"primary"`
	Legacy  Side        `json:"legacy"`
	Service Side        `json:"service"`
	Result  diff.Result `json:"result"`
}

// Summary is the short form of a stored record, for listings.
type Summary struct {
	ID            uint64       `json:"id"`
	Time          time.Time    `json:"time"`
	Route         string       `json:"route"`
	Method        string       `json:"method"`
	Path          string       `json:"path"`
	Verdict       diff.Verdict `json:"verdict"`
	Differences   int          `json:"differences"`
	LegacyStatus  int          `json:"legacy_status"`
	ServiceStatus int          `json:"service_status"`
}

// summarize returns the Summary of rec.
func summarize(rec *Record) Summary {
	return Summary{
		ID: rec.ID, Time: rec.Time, Route: rec.Route, Method: rec.Method, Path: rec.Path,
		Verdict:       rec.Result.Verdict,
		Differences:   len(rec.Result.Differences),
		LegacyStatus:  rec.Legacy.Status,
		ServiceStatus: rec.Service.Status,
	}
}

// clone returns a copy of rec that shares no mutable memory with it, so
// callers cannot change what the store holds (and vice versa).
func (rec Record) clone() Record {
	rec.Legacy.Header = rec.Legacy.Header.Clone()
	rec.Service.Header = rec.Service.Header.Clone()
	rec.Result.Differences = slices.Clone(rec.Result.Differences)
	return rec
}

// Size accounting. A stored record is counted as every byte it keeps:
// each of its strings (the store gives each record its own copies, see
// own) with an allowance for the allocator's rounding, a fixed cost per
// header name, header value and difference for the map and slice slots
// around them, and recordOverhead for the row, the Record struct and its
// entries in the two memdb indexes. The constants are rounded up from
// what TestEstimateCoversHeap measures, so that the count is not below
// the heap a record holds.
const (
	recordOverhead  = 2048 // the row, the Record, two index leaves and tree nodes
	headerOverhead  = 64   // one header name: its map slot and []string
	valueOverhead   = 16   // one header value's slot in its []string
	diffOverhead    = 80   // one diff.Difference in the Differences array
	excerptOverhead = 48   // one diff.Excerpt and its pointer
)

// estimateSize is the memory held by a stored record, as counted against
// Options.MaxBytes.
func estimateSize(rec *Record) int64 {
	n := recordOverhead + strSize(rec.Route) + strSize(rec.Method) + strSize(rec.Path) +
		strSize(rec.RequestID) + strSize(rec.TraceID) + strSize(rec.Primary)
	n += sideSize(&rec.Legacy) + sideSize(&rec.Service)
	n += strSize(string(rec.Result.Verdict)) + strSize(string(rec.Result.BodyKind)) + strSize(rec.Result.Error)
	for i := range rec.Result.Differences {
		d := &rec.Result.Differences[i]
		n += diffOverhead + strSize(d.Path) + strSize(string(d.Kind)) + strSize(d.Legacy) + strSize(d.Service)
		if d.Excerpt != nil {
			n += excerptOverhead + strSize(d.Excerpt.Legacy) + strSize(d.Excerpt.Service)
		}
	}
	return int64(n)
}

// sideSize is the memory held by one stored answer, its struct aside.
func sideSize(s *Side) int {
	n := strSize(s.Body) + strSize(s.Error)
	for k, vs := range s.Header {
		n += headerOverhead + strSize(k)
		for _, v := range vs {
			n += valueOverhead + strSize(v)
		}
	}
	return n
}

// strSize is the memory held by a string copy: nothing when empty, else
// its bytes plus up to an eighth for the allocator's size classes, which
// are at most 12.5 % apart, and 8 bytes for the smallest ones.
func strSize(s string) int {
	if s == "" {
		return 0
	}
	return len(s) + len(s)/8 + 8
}

// own returns rec with every string, header map and slice copied into
// memory of its own: nothing it keeps may share, and so pin, the
// caller's memory, such as a captured body of which a value, a header or
// an error text is a slice. What it keeps is then exactly what
// estimateSize counts.
func own(rec Record) Record {
	rec.Route, rec.Method, rec.Path = strings.Clone(rec.Route), strings.Clone(rec.Method), strings.Clone(rec.Path)
	rec.RequestID, rec.Primary = strings.Clone(rec.RequestID), strings.Clone(rec.Primary)
	rec.TraceID = strings.Clone(rec.TraceID)
	rec.Legacy, rec.Service = ownSide(rec.Legacy), ownSide(rec.Service)
	rec.Result = ownResult(rec.Result)
	return rec
}

// ownSide copies the strings and the header of one answer.
func ownSide(s Side) Side {
	s.Body, s.Error = strings.Clone(s.Body), strings.Clone(s.Error)
	if s.Header == nil {
		return s
	}
	h := make(http.Header, len(s.Header))
	for k, vs := range s.Header {
		c := make([]string, len(vs))
		for i, v := range vs {
			c[i] = strings.Clone(v)
		}
		h[strings.Clone(k)] = c
	}
	s.Header = h
	return s
}

// ownResult copies the strings and the differences of a diff result.
func ownResult(r diff.Result) diff.Result {
	r.Verdict, r.BodyKind = intern(r.Verdict, verdicts), intern(r.BodyKind, bodyKinds)
	r.Error = strings.Clone(r.Error)
	if r.Differences == nil {
		return r
	}
	ds := make([]diff.Difference, len(r.Differences))
	for i, d := range r.Differences {
		d.Path, d.Kind = strings.Clone(d.Path), intern(d.Kind, kinds)
		d.Legacy, d.Service = strings.Clone(d.Legacy), strings.Clone(d.Service)
		if d.Excerpt != nil {
			d.Excerpt = &diff.Excerpt{Legacy: strings.Clone(d.Excerpt.Legacy), Service: strings.Clone(d.Excerpt.Service)}
		}
		ds[i] = d
	}
	r.Differences = ds
	return r
}

// The known values of diff's enumerations, kept as the constants
// themselves rather than as copies.
var (
	verdicts  = set(diff.VerdictEqual, diff.VerdictDifferent, diff.VerdictNoiseOnly, diff.VerdictError)
	bodyKinds = set(diff.BodyEmpty, diff.BodyJSON, diff.BodyJSONLines, diff.BodyHTML, diff.BodyXML,
		diff.BodyForm, diff.BodyText, diff.BodyBinary)
	kinds = set(diff.KindChanged, diff.KindMissing, diff.KindExtra, diff.KindType, diff.KindOrder,
		diff.KindStatus, diff.KindHeader, diff.KindBody)
)

// set maps each of vs to itself.
func set[T ~string](vs ...T) map[T]T {
	m := make(map[T]T, len(vs))
	for _, v := range vs {
		m[v] = v
	}
	return m
}

// intern returns the constant equal to v when known has one, else a
// copy of v.
func intern[T ~string](v T, known map[T]T) T {
	if c, ok := known[v]; ok {
		return c
	}
	return T(strings.Clone(string(v)))
}

// resultRow is a row of the results table.
type resultRow struct {
	ID    uint64
	Route string
	Size  int64
	Rec   Record
}

// routeRow is a row of the routes table: the cumulative aggregate of one
// route. Rows are never changed once inserted; updates insert a copy.
type routeRow struct {
	Route      string
	Records    uint64
	Compared   uint64
	Equal      uint64
	Different  uint64
	NoiseOnly  uint64
	DiffErrors uint64
	LegacyErr  ErrorCounts
	ServiceErr ErrorCounts
	LegacyLat  histogram
	ServiceLat histogram
	Paths      int // distinct path rows, "(other)" excluded
	FirstSeen  time.Time
	LastSeen   time.Time
}

// totalsRow is the one row of the totals table. Ids are given in order
// and results evicted in order, so the stored results are those with ids
// in [Oldest, NextID).
type totalsRow struct {
	Oldest  uint64 // id of the oldest stored result
	NextID  uint64 // id of the next result; ids are never reused once committed
	Bytes   int64  // the stored results' size, as counted against MaxBytes
	Evicted uint64 // results removed to stay within the bounds
}

// count is the number of stored results.
func (t *totalsRow) count() int { return int(t.NextID - t.Oldest) }

// pathRow is a row of the paths table: how often one generalized path
// differed on one route, with the latest example.
type pathRow struct {
	Route   string
	Path    string
	Kind    diff.Kind
	Count   uint64
	Noise   bool
	Example Example
}
