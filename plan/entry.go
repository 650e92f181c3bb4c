package plan

import (
	"strings"
	"time"

	"github.com/stranglerfig/strangler/internal/latency"
)

// maxTextLen bounds the content type, route and stage texts kept per entry.
const maxTextLen = 3 * 96

// hist is an endpoint's latency histogram in latency's half layout (two
// buckets per doubling, about ±19%): the estimator of the report and the
// route figures, at a resolution the inventory can keep per endpoint.
type hist [latency.HalfBuckets]uint32

// quantile returns the q-quantile (0..1) of h, 0 when it is empty.
func (h *hist) quantile(q float64) time.Duration { return latency.HalfQuantile(q, h[:]) }

func (h *hist) merge(o *hist) {
	for i := range h {
		h[i] += o[i]
	}
}

// entry is one method+shape of the sketch.
type entry struct {
	key       uint64 // 0: empty
	method    string
	shape     string
	count     uint64 // Space-Saving count: includes overcount
	overcount uint64 // inherited from the replaced entry
	errors    uint64 // 5xx of any side
	legacy    uint64 // answered by the monolith
	legacy5xx uint64
	service   uint64
	sized     uint64 // requests with a known size
	bytes     uint64
	timed     uint64
	first     int64 // unix ns
	last      int64
	ctype     string // Boyer-Moore majority vote
	ctVotes   int64
	route     string
	stage     string
	lat       hist
}

// reset makes e the entry of a new shape, inheriting the replaced count.
func (e *entry) reset(key uint64, method, shape string) {
	inherited := e.count
	*e = entry{key: key, method: internMethod(method), shape: shape, count: inherited, overcount: inherited}
}

// add counts s in e.
func (e *entry) add(s *Sample, now int64) {
	e.count++
	if s.Status >= 500 && s.Status <= 599 {
		e.errors++
	}
	if s.Service {
		e.service++
	} else {
		e.legacy++
		if s.Status >= 500 && s.Status <= 599 {
			e.legacy5xx++
		}
	}
	if s.Bytes >= 0 {
		e.sized++
		e.bytes += uint64(s.Bytes)
	}
	if s.Latency >= 0 {
		e.timed++
		if c := &e.lat[latency.HalfBucket(s.Latency)]; *c < ^uint32(0) {
			*c++
		}
	}
	if e.first == 0 || now < e.first {
		e.first = now
	}
	if now > e.last {
		e.last = now
	}
	e.vote(s.ContentType)
	if e.route != s.Route {
		e.route = clip(s.Route)
	}
	if e.stage != s.Stage {
		e.stage = clip(s.Stage)
	}
}

// vote keeps the majority content type (Boyer-Moore), ignoring parameters.
func (e *entry) vote(ct string) {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return
	}
	switch {
	case ct == e.ctype:
		e.ctVotes++
	case e.ctVotes == 0:
		e.ctype, e.ctVotes = clip(ct), 1
	default:
		e.ctVotes--
	}
}

// clip copies s (so a log line's buffer is not retained), at most 96 bytes.
func clip(s string) string {
	if len(s) > 96 {
		s = s[:96]
	}
	return strings.Clone(s)
}

// internMethod returns a constant for the common methods and a bounded
// copy of any other.
func internMethod(m string) string {
	for _, k := range knownMethods {
		if m == k {
			return k
		}
	}
	if len(m) > 16 {
		m = m[:16]
	}
	return strings.Clone(m)
}

var knownMethods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// safeMethods do not change state on the monolith.
var safeMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true}

// IsWrite reports whether method may change state (anything but GET, HEAD
// and OPTIONS).
func IsWrite(method string) bool { return !safeMethods[method] }
