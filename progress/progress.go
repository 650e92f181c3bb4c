// Package progress records how far a strangler-fig migration is, over
// time: every Every (5 minutes) the running proxy cuts a Sample from the
// planner's inventory and the route table — the share of the interval's
// requests served by new services, the share of the endpoints seen in
// the interval that a new service answered, endpoints and routes per
// stage — and keeps a bounded History of them in the state store, so that
// it survives restarts.
//
// Samples are per interval, not cumulative since start: a steering
// committee reading "share of requests served by new services over time"
// wants each point to say what happened then, and the inventory's
// cumulative counts restart from zero with every restart of the proxy.
package progress

import (
	"time"

	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/stage"
)

// Bounds of the history.
const (
	// DefaultEvery is how often the proxy records a sample.
	DefaultEvery = 5 * time.Minute
	// DefaultKeep is how far back the history goes.
	DefaultKeep = 30 * 24 * time.Hour
	// MaxSamples bounds the history whatever the clock does: 30 days of
	// 5-minute samples.
	MaxSamples = int(DefaultKeep / DefaultEvery)
)

// Stages counts endpoints or routes per rollout stage. Unrouted counts
// endpoints no route claims (always 0 for routes).
type Stages struct {
	Unrouted int `json:"unrouted"`
	Legacy   int `json:"legacy"`
	Shadow   int `json:"shadow"`
	Canary   int `json:"canary"`
	Migrated int `json:"migrated"`
}

// Add counts one endpoint or route at the stage named name ("" for
// unrouted; an unknown stage counts as legacy, where the monolith answers).
func (s *Stages) Add(name string) {
	switch name {
	case "":
		s.Unrouted++
	case stage.Shadow.String():
		s.Shadow++
	case stage.Canary.String():
		s.Canary++
	case stage.Migrated.String():
		s.Migrated++
	default:
		s.Legacy++
	}
}

// Total is the sum over all stages.
func (s Stages) Total() int { return s.Unrouted + s.Legacy + s.Shadow + s.Canary + s.Migrated }

// Sample is the migration's progress over one interval, From to Time.
type Sample struct {
	Time time.Time `json:"time"`
	From time.Time `json:"from"`
	// Requests through the proxy in the interval; ServiceRequests of them
	// were answered by a new service.
	Requests        uint64  `json:"requests"`
	ServiceRequests uint64  `json:"service_requests"`
	RequestShare    float64 `json:"request_share"`
	// Endpoints (method and path shape) that got requests in the
	// interval; ServiceEndpoints of them a new service answered at least
	// once.
	Endpoints        int     `json:"endpoints"`
	ServiceEndpoints int     `json:"service_endpoints"`
	EndpointShare    float64 `json:"endpoint_share"`
	// EndpointStages counts the interval's endpoints by the stage of the
	// route that claims them; Routes counts the route table's routes by
	// stage at the end of the interval.
	EndpointStages Stages `json:"endpoints_by_stage"`
	Routes         Stages `json:"routes_by_stage"`
}

// counts are an endpoint's cumulative counts at the last cut.
type counts struct{ requests, service uint64 }

// Meter cuts interval samples from an inventory whose counts are
// cumulative since the proxy started. It is not safe for concurrent use;
// the Sampler serialises it.
type Meter struct {
	inv  *plan.Inventory
	last baseline
}

// baseline is the inventory's cumulative counts at the last cut.
type baseline struct {
	at      time.Time
	total   uint64
	service uint64
	eps     map[string]counts
}

// NewMeter returns a Meter whose first interval starts when inv started.
func NewMeter(inv *plan.Inventory) *Meter {
	return &Meter{inv: inv, last: baseline{at: inv.Snapshot().Since}}
}

// Now returns, from one snapshot, the open interval's sample (from the
// last cut to now, without closing it) and the sample of everything since
// the proxy started.
func (m *Meter) Now(routes Stages) (open, total Sample) {
	snap := m.inv.Snapshot()
	open, _ = measure(snap, routes, m.last)
	total, _ = measure(snap, routes, baseline{at: snap.Since})
	return open, total
}

// Cut closes the open interval and returns its sample.
func (m *Meter) Cut(routes Stages) Sample {
	s, next := measure(m.inv.Snapshot(), routes, m.last)
	m.last = next
	return s
}

// measure compares snap with the counts of the last cut and returns the
// interval's sample and the baseline of the next interval.
func measure(snap plan.Snapshot, routes Stages, last baseline) (Sample, baseline) {
	s := Sample{Time: snap.Taken, From: last.at, Routes: routes}
	next := baseline{at: snap.Taken, total: snap.Requests, eps: make(map[string]counts, len(snap.Endpoints))}
	for _, ep := range snap.Endpoints {
		k := ep.Method + " " + ep.Shape
		c := counts{requests: ep.Requests, service: ep.ServiceRequests}
		next.eps[k] = c
		next.service += c.service
		p := last.eps[k]
		if c.requests <= p.requests {
			continue // no request in the interval
		}
		s.Endpoints++
		if c.service > p.service {
			s.ServiceEndpoints++
		}
		s.EndpointStages.Add(stageOf(ep))
	}
	// The sketch may replace an entry and lose its service count: a delta
	// never goes below zero.
	s.Requests = sub(snap.Requests, last.total)
	s.ServiceRequests = min(sub(next.service, last.service), s.Requests)
	s.RequestShare = ratio(s.ServiceRequests, s.Requests)
	s.EndpointShare = ratio(uint64(s.ServiceEndpoints), uint64(s.Endpoints))
	return s, next
}

// stageOf is the stage of the route claiming ep, "" when none does.
func stageOf(ep plan.Endpoint) string {
	if ep.Route == "" {
		return ""
	}
	return ep.Stage
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
