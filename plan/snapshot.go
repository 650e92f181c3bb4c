package plan

import (
	"sort"
	"strings"
	"time"
)

// Endpoint is one method and path shape of the inventory.
type Endpoint struct {
	Method string `json:"method"`
	Shape  string `json:"shape"`
	// Requests counted; at most Overcount of them may belong to shapes
	// the sketch replaced (Space-Saving over-estimate).
	Requests  uint64  `json:"requests"`
	Overcount uint64  `json:"overcount,omitempty"`
	Share     float64 `json:"share"` // of all requests
	// ErrorRate is the share of 5xx answers, from either side.
	ErrorRate float64 `json:"error_rate"`
	// MonolithRequests were answered by the monolith; MonolithErrorRate is
	// their 5xx share.
	MonolithRequests  uint64        `json:"monolith_requests"`
	MonolithErrorRate float64       `json:"monolith_error_rate"`
	ServiceRequests   uint64        `json:"service_requests"`
	P50               time.Duration `json:"p50_ns"`
	P99               time.Duration `json:"p99_ns"`
	MeanBytes         float64       `json:"mean_bytes"`
	ContentType       string        `json:"content_type,omitempty"`
	Write             bool          `json:"write"`
	FirstSeen         time.Time     `json:"first_seen"`
	LastSeen          time.Time     `json:"last_seen"`
	Route             string        `json:"route,omitempty"`
	Stage             string        `json:"stage,omitempty"`

	acc accum
}

// accum holds the mergeable sums behind an Endpoint.
type accum struct {
	errors, legacy, legacy5xx, service uint64
	sized, bytes                       uint64
	lat                                hist
	ctVotes                            int64
}

// Snapshot is the inventory at one moment.
type Snapshot struct {
	Taken     time.Time  `json:"taken"`
	Since     time.Time  `json:"since"`
	Requests  uint64     `json:"requests"`
	Capacity  int        `json:"capacity"`
	Endpoints []Endpoint `json:"endpoints"` // most requested first
}

// Snapshot returns every shape, re-generalised with what the inventory
// knows now (a position found variable after some of its values were
// counted folds them into {id}) and merged, most requested first.
func (inv *Inventory) Snapshot() Snapshot {
	byKey := map[string]*Endpoint{}
	var total uint64
	for i := range inv.sets {
		s := &inv.sets[i]
		s.mu.Lock()
		for j := range s.entries {
			if e := &s.entries[j]; e.key != 0 {
				total += e.count
				inv.fold(byKey, e)
			}
		}
		s.mu.Unlock()
	}
	out := make([]Endpoint, 0, len(byKey))
	for _, ep := range byKey {
		ep.finish(total)
		out = append(out, *ep)
	}
	sortEndpoints(out)
	return Snapshot{Taken: time.Now(), Since: inv.started, Requests: total, Capacity: len(inv.sets) * shapeWays, Endpoints: out}
}

// fold merges e into the endpoint of its current shape.
func (inv *Inventory) fold(byKey map[string]*Endpoint, e *entry) {
	shape := inv.reshape(e.shape)
	k := e.method + " " + shape
	ep := byKey[k]
	if ep == nil {
		ep = &Endpoint{Method: e.method, Shape: shape, Write: IsWrite(e.method)}
		byKey[k] = ep
	}
	first, last := time.Unix(0, e.first), time.Unix(0, e.last)
	if ep.FirstSeen.IsZero() || first.Before(ep.FirstSeen) {
		ep.FirstSeen = first
	}
	if last.After(ep.LastSeen) {
		ep.LastSeen, ep.Route, ep.Stage = last, e.route, e.stage
	}
	if e.ctVotes > ep.acc.ctVotes {
		ep.ContentType, ep.acc.ctVotes = e.ctype, e.ctVotes
	}
	ep.Requests += e.count
	ep.Overcount += e.overcount
	a := &ep.acc
	a.errors += e.errors
	a.legacy += e.legacy
	a.legacy5xx += e.legacy5xx
	a.service += e.service
	a.sized += e.sized
	a.bytes += e.bytes
	a.lat.merge(&e.lat)
}

// finish computes the rates of ep.
func (ep *Endpoint) finish(total uint64) {
	a := &ep.acc
	ep.Share = ratio(ep.Requests, total)
	ep.ErrorRate = ratio(a.errors, a.legacy+a.service)
	ep.MonolithRequests, ep.ServiceRequests = a.legacy, a.service
	ep.MonolithErrorRate = ratio(a.legacy5xx, a.legacy)
	ep.P50, ep.P99 = a.lat.quantile(0.5), a.lat.quantile(0.99)
	if a.sized > 0 {
		ep.MeanBytes = float64(a.bytes) / float64(a.sized)
	}
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func sortEndpoints(eps []Endpoint) {
	sort.Slice(eps, func(i, j int) bool {
		a, b := &eps[i], &eps[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		if a.Shape != b.Shape {
			return a.Shape < b.Shape
		}
		return a.Method < b.Method
	})
}

// reshape re-generalises a stored shape with the variable positions known
// now, without counting anything.
func (inv *Inventory) reshape(shape string) string {
	segs := strings.Split(strings.TrimPrefix(shape, "/"), "/")
	h := uint64(fnvOffset)
	changed := false
	for i, seg := range segs {
		k := placeholderKind(seg)
		if k == kindLiteral {
			k = classify(seg) // a shape cut at MaxShapeLen may end mid-segment
		}
		if k == kindLiteral && inv.fan.decide(mix(h), hashString(fnvOffset, seg)) {
			k, segs[i], changed = kindVariable, PlaceholderID, true
		}
		h = hashSegment(h, seg, k)
	}
	if !changed {
		return shape
	}
	return "/" + strings.Join(segs, "/")
}

// Shape returns the shape the inventory gives path now, without counting
// it.
func (inv *Inventory) Shape(path string) string {
	path = trimQuery(path)
	var kinds [MaxSegments]segKind
	n := 0
	for seg := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		if n == MaxSegments {
			break
		}
		kinds[n] = classify(seg)
		n++
	}
	return inv.reshape(buildShape(path, kinds[:n]))
}
