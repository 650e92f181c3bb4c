package plan

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/routing"
	"github.com/stranglerfig/strangler/stage"
)

// Plan is the planner's report: the inventory, what to carve next and the
// route table's hygiene. It is what GET /admin/plan returns and what
// WriteMarkdown renders.
type Plan struct {
	Generated time.Time `json:"generated"`
	Source    string    `json:"source"` // "live" or "access log FILE"
	Since     time.Time `json:"since"`
	Requests  uint64    `json:"requests"`
	// MemoryBound is the inventory's memory bound in bytes; Capacity its
	// number of shape entries.
	MemoryBound int          `json:"memory_bound"`
	Capacity    int          `json:"capacity"`
	Progress    Progress     `json:"progress"`
	Weights     Weights      `json:"weights"`
	Suggestions []Suggestion `json:"suggestions"`
	Hygiene     []Finding    `json:"hygiene"`
	Endpoints   []Endpoint   `json:"endpoints"` // most requested first, at most BuildOptions.Endpoints
	Log         *LogStats    `json:"log,omitempty"`
}

// Progress is how far the migration is, from the inventory.
type Progress struct {
	// RequestShare is the share of requests answered by new services.
	Requests        uint64  `json:"requests"`
	ServiceRequests uint64  `json:"service_requests"`
	RequestShare    float64 `json:"request_share"`
	// EndpointShare is the share of endpoints (method+shape) a new
	// service answered at least once.
	Endpoints        int            `json:"endpoints"`
	ServiceEndpoints int            `json:"service_endpoints"`
	EndpointShare    float64        `json:"endpoint_share"`
	RoutedEndpoints  int            `json:"routed_endpoints"`
	ByStage          map[string]int `json:"by_stage"` // endpoints claimed per route stage
}

// BuildOptions shape a Plan. Zero fields take the defaults.
type BuildOptions struct {
	Source string
	// Weights rank the suggestions (default DefaultWeights).
	Weights *Weights
	// Top is the number of suggestions (default 10; < 0: all).
	Top int
	// Endpoints is the number of endpoints listed (default 50; < 0: all).
	Endpoints int
	// Config, when set, is checked for unreachable routes and, with
	// Window, for idle ones.
	Config *config.Config
	// Window is the idle-route window: routes with no request whose shape
	// was last seen within it are reported (0: not checked).
	Window time.Duration
	// ErrorRate and ErrorMin report claimed endpoints whose monolith 5xx
	// rate is at least ErrorRate over at least ErrorMin answers (defaults
	// 0.05 and 20).
	ErrorRate float64
	ErrorMin  uint64
}

// Build makes the plan of inv's current snapshot.
func Build(inv *Inventory, opts BuildOptions) Plan {
	p := BuildSnapshot(inv.Snapshot(), opts)
	p.MemoryBound = inv.MemoryBound()
	return p
}

// BuildSnapshot makes the plan of snap.
func BuildSnapshot(snap Snapshot, opts BuildOptions) Plan {
	w := DefaultWeights
	if opts.Weights != nil {
		w = *opts.Weights
	}
	top := defaultInt(opts.Top, 10)
	p := Plan{Generated: time.Now(), Source: opts.Source, Since: snap.Since, Requests: snap.Requests,
		Capacity: snap.Capacity, Weights: w, Progress: progressOf(snap), Hygiene: []Finding{}}
	p.Suggestions = Suggest(snap, w, top)
	p.Endpoints = snap.Endpoints
	if n := defaultInt(opts.Endpoints, 50); n > 0 && len(p.Endpoints) > n {
		p.Endpoints = p.Endpoints[:n]
	}
	if opts.Config != nil {
		p.Hygiene = append(p.Hygiene, Unreachable(opts.Config)...)
		if opts.Window > 0 {
			p.Hygiene = append(p.Hygiene, Idle(opts.Config, RouteHits(snap, p.Generated.Add(-opts.Window)), opts.Window)...)
		}
	}
	rate := opts.ErrorRate
	if rate <= 0 {
		rate = 0.05
	}
	p.Hygiene = append(p.Hygiene, MonolithErrors(snap, rate, uint64(defaultInt(int(opts.ErrorMin), 20)))...)
	return p
}

func defaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func progressOf(snap Snapshot) Progress {
	p := Progress{Requests: snap.Requests, Endpoints: len(snap.Endpoints), ByStage: map[string]int{}}
	for _, ep := range snap.Endpoints {
		p.ServiceRequests += ep.ServiceRequests
		if ep.ServiceRequests > 0 {
			p.ServiceEndpoints++
		}
		if ep.Route != "" {
			p.RoutedEndpoints++
			p.ByStage[ep.Stage]++
		}
	}
	p.RequestShare = ratio(p.ServiceRequests, p.Requests)
	p.EndpointShare = ratio(uint64(p.ServiceEndpoints), uint64(p.Endpoints))
	return p
}

// ExamplePath returns a concrete path of shape: each placeholder replaced
// by a value of its kind.
func ExamplePath(shape string) string {
	segs := strings.Split(shape, "/")
	for i, s := range segs {
		switch placeholderKind(s) {
		case kindID:
			segs[i] = "1"
		case kindUUID:
			segs[i] = "00000000-0000-4000-8000-000000000000"
		case kindHash:
			segs[i] = "0123456789abcdef0123456789abcdef"
		case kindDate:
			segs[i] = "2025-01-01"
		case kindEmail:
			segs[i] = "user@example.com"
		}
	}
	return strings.Join(segs, "/")
}

// MarkClaimed sets Route and Stage on the endpoints of snap that a route
// of cfg claims (matched on an example path, without host or headers), for
// a snapshot read offline from a log.
func MarkClaimed(snap *Snapshot, cfg *config.Config) error {
	t, err := TableOf(cfg)
	if err != nil {
		return err
	}
	for i := range snap.Endpoints {
		ep := &snap.Endpoints[i]
		if ep.Route != "" {
			continue
		}
		r, err := http.NewRequest(ep.Method, "http://planner.invalid"+ExamplePath(ep.Shape), nil)
		if err != nil {
			continue // a shape no request can carry
		}
		if rt := t.Match(r); rt != nil {
			ep.Route, ep.Stage = rt.Name(), rt.Stage().String()
		}
	}
	return nil
}

// TableOf compiles cfg's routes into a routing table whose handlers
// answer nothing: for matching only.
func TableOf(cfg *config.Config) (*routing.Table, error) {
	none := http.NotFoundHandler()
	specs := make([]routing.Spec, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		st, err := stage.Parse(r.Stage)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r.Name, err)
		}
		specs = append(specs, routing.Spec{Name: r.Name, Path: r.Match.Path, Prefix: r.Match.Prefix, Host: r.Match.Host,
			Methods: r.Match.Methods, Headers: r.Match.Headers, Stage: st, Percent: r.Percent, Sticky: r.Sticky,
			ServiceName: r.Service, Service: none, CaseInsensitive: r.Match.CaseInsensitive})
	}
	t, err := routing.Build(specs, none, routing.Options{})
	if err != nil {
		return nil, fmt.Errorf("building the route table to match shapes: %w", err)
	}
	return t, nil
}
