package report

import (
	"net/http"
	"slices"
	"time"

	"github.com/stranglerfig/strangler/diff"
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
	// Error is the kind of upstream failure, if any: "timeout",
	// "refused", "reset" or "other".
	Error string `json:"error,omitempty"`
}

// Upstream failure kinds found in Side.Error.
const (
	ErrorTimeout = "timeout"
	ErrorRefused = "refused"
	ErrorReset   = "reset"
	ErrorOther   = "other"
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
	// Primary says who answered the user: "legacy" or "service".
	Primary string      `json:"primary"`
	Legacy  Side        `json:"legacy"`
	Service Side        `json:"service"`
	Result  diff.Result `json:"result"`
	// Redactor is applied by the store before storing; nil applies the
	// default header redaction only. It is not kept.
	Redactor *Redactor `json:"-"`
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
	rec.Redactor = nil
	return rec
}

// Size estimate constants: a rough per-allocation overhead so that many
// small records are not counted as free.
const (
	recordOverhead = 512 // the row, the Record struct and its index entries
	entryOverhead  = 32  // one header value or one difference
)

// estimateSize is the approximate memory held by a stored record.
func estimateSize(rec *Record) int64 {
	n := recordOverhead + len(rec.Route) + len(rec.Method) + len(rec.Path) +
		len(rec.RequestID) + len(rec.Primary) + len(rec.Result.Error)
	n += sideSize(&rec.Legacy) + sideSize(&rec.Service)
	for i := range rec.Result.Differences {
		d := &rec.Result.Differences[i]
		n += entryOverhead + len(d.Path) + len(d.Kind) + len(d.Legacy) + len(d.Service)
	}
	return int64(n)
}

func sideSize(s *Side) int {
	n := len(s.Body) + len(s.Error)
	for k, vs := range s.Header {
		n += entryOverhead + len(k)
		for _, v := range vs {
			n += entryOverhead + len(v)
		}
	}
	return n
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
