package plan

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/stage"
)

// Weights score an endpoint family for "what to carve next". Each term is
// between 0 and 1; the score is the weighted mean. A larger weight makes
// its term count more; a negative one turns it into a penalty.
type Weights struct {
	// Traffic: the family's share of requests, relative to the busiest
	// unrouted family.
	Traffic float64 `json:"traffic" yaml:"traffic"`
	// ReadOnly: the share of the family's requests that are GET, HEAD or
	// OPTIONS (shadowing compares reads without side effects).
	ReadOnly float64 `json:"read_only" yaml:"read_only"`
	// SelfContained: the share of the family's requests that its top
	// three shapes carry (a family of few endpoints moves as one piece).
	SelfContained float64 `json:"self_contained" yaml:"self_contained"`
	// Errors: the monolith's 5xx rate on the family, full at 5% (moving a
	// failing part helps most).
	Errors float64 `json:"errors" yaml:"errors"`
	// Latency: the family's p99 on the monolith, relative to the slowest
	// unrouted family.
	Latency float64 `json:"latency" yaml:"latency"`
}

// DefaultWeights rank read-only, high-traffic, self-contained families
// first, with the monolith's pain (errors, latency) as a tie-breaker.
var DefaultWeights = WeightsOf(config.DefaultPlannerWeights)

// WeightsOf are the weights a route file's planner.weights set; all
// zero means the defaults.
func WeightsOf(w config.PlannerWeights) Weights {
	if w == (config.PlannerWeights{}) {
		w = config.DefaultPlannerWeights
	}
	return Weights{Traffic: w.Traffic, ReadOnly: w.ReadOnly, SelfContained: w.SelfContained, Errors: w.Errors, Latency: w.Latency}
}

// errorsFull is the monolith error rate at which the Errors term is 1.
const errorsFull = 0.05

// topShapes is how many shapes count as "few" for SelfContained.
const topShapes = 3

// Family is a group of unrouted shapes sharing a path prefix of one to
// three literal segments.
type Family struct {
	Prefix            string        `json:"prefix"`
	Requests          uint64        `json:"requests"`
	Share             float64       `json:"share"`
	ReadShare         float64       `json:"read_share"`
	Methods           []string      `json:"methods"`
	MonolithErrorRate float64       `json:"monolith_error_rate"`
	P50               time.Duration `json:"p50_ns"`
	P99               time.Duration `json:"p99_ns"`
	SelfContained     float64       `json:"self_contained"`
	Shapes            []string      `json:"shapes"` // "METHOD shape", most requested first

	reads, legacy, legacy5xx uint64
	lat                      hist
	exact                    bool // only the bare prefix was requested
	bare                     bool // the bare prefix was requested
}

// Suggestion is one family to carve, with its reasons and a route block.
type Suggestion struct {
	Rank   int     `json:"rank"`
	Score  float64 `json:"score"`
	Family Family  `json:"family"`
	// Terms are the family's 0..1 scores per weight, before weighting.
	Terms   Weights  `json:"terms"`
	Reasons []string `json:"reasons"`
	// Route is the suggested route; RouteYAML is it as a list item to
	// paste under routes:, ServiceYAML a services: entry to fill in.
	Route       config.Route `json:"route"`
	RouteYAML   string       `json:"route_yaml"`
	ServiceYAML string       `json:"service_yaml"`
}

// Families groups the snapshot's unrouted endpoints into families, most
// requested first.
func Families(snap Snapshot) []Family {
	byPrefix := map[string]*Family{}
	leads := map[string]string{} // shape -> lead
	collections := map[string]bool{}
	for i := range snap.Endpoints {
		ep := &snap.Endpoints[i]
		if !candidate(ep) {
			continue
		}
		lead, deeper := literalLead(ep.Shape)
		leads[ep.Shape] = lead
		if deeper {
			collections[lead] = true
		}
	}
	for i := range snap.Endpoints {
		ep := &snap.Endpoints[i]
		if !candidate(ep) {
			continue
		}
		prefix := familyOf(leads[ep.Shape], collections)
		f := byPrefix[prefix]
		if f == nil {
			f = &Family{Prefix: prefix, exact: true}
			byPrefix[prefix] = f
		}
		f.add(ep, snap.Requests)
	}
	out := make([]Family, 0, len(byPrefix))
	for _, f := range byPrefix {
		f.finish()
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Requests != out[j].Requests {
			return out[i].Requests > out[j].Requests
		}
		return out[i].Prefix < out[j].Prefix
	})
	selfContained(out, snap)
	return out
}

// candidate reports whether ep may join a family: unrouted, with a
// method and a path a route template can hold, not starting with a
// variable segment (no route could claim /{id}/... without claiming
// every other one-segment path too).
func candidate(ep *Endpoint) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(ep.Shape, "/"), "/")
	return ep.Route == "" && methodRe.MatchString(ep.Method) && onlyPlaceholderBraces(ep.Shape) &&
		placeholderKind(first) == kindLiteral
}

// onlyPlaceholderBraces reports whether every brace in shape belongs to a
// whole-segment placeholder and no escape is there.
func onlyPlaceholderBraces(shape string) bool {
	for _, seg := range strings.Split(shape, "/") {
		if placeholderKind(seg) == kindLiteral && strings.ContainsAny(seg, "%{}") {
			return false
		}
	}
	return true
}

var methodRe = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// maxFamilySegments is the longest family prefix, in segments.
const maxFamilySegments = 3

// literalLead returns the literal segments of shape before its first
// placeholder (at most three), and whether a placeholder follows them
// directly (the lead is a collection: /api/users of /api/users/{id}).
func literalLead(shape string) (string, bool) {
	segs := strings.Split(strings.TrimPrefix(shape, "/"), "/")
	n := 0
	for n < len(segs) && n < maxFamilySegments && placeholderKind(segs[n]) == kindLiteral && segs[n] != "" {
		n++
	}
	deeper := n < len(segs) && placeholderKind(segs[n]) != kindLiteral
	if n == 0 {
		return "/", deeper
	}
	return "/" + strings.Join(segs[:n], "/"), deeper
}

// familyOf returns the longest collection that is a proper prefix of lead
// (/api/users/me joins /api/users), or lead itself.
func familyOf(lead string, collections map[string]bool) string {
	for p := lead; ; {
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			return lead
		}
		p = p[:i]
		if collections[p] {
			return p
		}
	}
}

func (f *Family) add(ep *Endpoint, total uint64) {
	f.Requests += ep.Requests
	f.Share = ratio(f.Requests, total)
	if !ep.Write {
		f.reads += ep.Requests
	}
	if !containsString(f.Methods, ep.Method) {
		f.Methods = append(f.Methods, ep.Method)
	}
	f.legacy += ep.acc.legacy
	f.legacy5xx += ep.acc.legacy5xx
	f.lat.merge(&ep.acc.lat)
	f.Shapes = append(f.Shapes, ep.Method+" "+ep.Shape)
	switch {
	case ep.Shape == f.Prefix:
		f.bare = true
	case strings.TrimSuffix(ep.Shape, "/") == f.Prefix: // /api/users/
		f.bare, f.exact = true, false
	default:
		f.exact = false
	}
}

func (f *Family) finish() {
	sort.Strings(f.Methods)
	f.ReadShare = ratio(f.reads, f.Requests)
	f.MonolithErrorRate = ratio(f.legacy5xx, f.legacy)
	f.P50, f.P99 = f.lat.quantile(0.5), f.lat.quantile(0.99)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Suggest ranks the snapshot's unrouted families and returns the first
// top (all when top <= 0) with reasons and route blocks.
func Suggest(snap Snapshot, w Weights, top int) []Suggestion {
	fams := Families(snap)
	var maxShare float64
	var maxP99 time.Duration
	for _, f := range fams {
		maxShare = math.Max(maxShare, f.Share)
		maxP99 = max(maxP99, f.P99)
	}
	out := make([]Suggestion, 0, len(fams))
	for _, f := range fams {
		t := Weights{
			Traffic:       safeDiv(f.Share, maxShare),
			ReadOnly:      f.ReadShare,
			SelfContained: f.SelfContained,
			Errors:        math.Min(1, f.MonolithErrorRate/errorsFull),
			Latency:       safeDiv(float64(f.P99), float64(maxP99)),
		}
		out = append(out, Suggestion{Score: w.score(t), Family: f, Terms: t})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	names := map[string]bool{}
	for i := range out {
		s := &out[i]
		s.Rank = i + 1
		s.Reasons = reasons(&s.Family)
		s.Route = routeFor(&s.Family, names)
		s.RouteYAML, s.ServiceYAML = routeYAML(s)
	}
	return out
}

// selfContained sets each family's share of requests in its top shapes.
func selfContained(fams []Family, snap Snapshot) {
	req := make(map[string]uint64, len(snap.Endpoints))
	for _, ep := range snap.Endpoints {
		req[ep.Method+" "+ep.Shape] = ep.Requests
	}
	for i := range fams {
		f := &fams[i]
		var top uint64
		for j, s := range f.Shapes {
			if j < topShapes {
				top += req[s]
			}
		}
		f.SelfContained = ratio(top, f.Requests)
	}
}

func (w Weights) score(t Weights) float64 {
	sum := math.Abs(w.Traffic) + math.Abs(w.ReadOnly) + math.Abs(w.SelfContained) + math.Abs(w.Errors) + math.Abs(w.Latency)
	if sum == 0 {
		return 0
	}
	return (w.Traffic*t.Traffic + w.ReadOnly*t.ReadOnly + w.SelfContained*t.SelfContained +
		w.Errors*t.Errors + w.Latency*t.Latency) / sum
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// reasons renders the family's figures as sentences.
func reasons(f *Family) []string {
	out := []string{fmt.Sprintf("%.1f%% of all requests (%d)", 100*f.Share, f.Requests)}
	if f.ReadShare == 1 {
		out = append(out, "read-only ("+strings.Join(f.Methods, ", ")+")")
	} else {
		out = append(out, fmt.Sprintf("%.0f%% reads; writes by %s: shadowing mirrors them only to a sandbox service",
			100*f.ReadShare, strings.Join(writes(f.Methods), ", ")))
	}
	out = append(out, fmt.Sprintf("%d shape(s); the top %d carry %.0f%% of the family's requests",
		len(f.Shapes), min(topShapes, len(f.Shapes)), 100*f.SelfContained))
	out = append(out, fmt.Sprintf("monolith: %.2f%% 5xx, p50 %s, p99 %s",
		100*f.MonolithErrorRate, f.P50.Round(10*time.Microsecond), f.P99.Round(10*time.Microsecond)))
	return out
}

func writes(methods []string) []string {
	var out []string
	for _, m := range methods {
		if IsWrite(m) {
			out = append(out, m)
		}
	}
	return out
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_-]+`)

// routeFor builds the suggested route of f, with a name unique in names.
func routeFor(f *Family, names map[string]bool) config.Route {
	base := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(f.Prefix), "-"), "-_")
	if base == "" {
		base = "root"
	}
	if len(base) > 56 {
		base = base[:56]
	}
	name := base
	for i := 2; names[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	names[name] = true
	r := config.Route{Name: name, Service: name, Stage: stage.Shadow.String(),
		Match: config.Match{Methods: f.Methods}, Plan: config.DefaultPlan}
	switch {
	case f.exact || f.Prefix == "/":
		r.Match.Path = f.Prefix
	case f.bare:
		r.Match.Path = f.Prefix + "{rest:(?:/.*)?}" // the prefix itself and below it
	default:
		r.Match.Prefix = f.Prefix + "/"
	}
	return r
}

type matchYAML struct {
	Path    string   `yaml:"path,omitempty"`
	Prefix  string   `yaml:"prefix,omitempty"`
	Methods []string `yaml:"methods,flow"`
}

type routeBlock struct {
	Name    string    `yaml:"name"`
	Match   matchYAML `yaml:"match"`
	Service string    `yaml:"service"`
	Stage   string    `yaml:"stage"`
	Plan    []string  `yaml:"plan,flow"`
}

// routeYAML renders the suggestion's route as a list item for routes:
// and a services: entry whose URL must be replaced.
func routeYAML(s *Suggestion) (route, service string) {
	r := s.Route
	b := []routeBlock{{Name: r.Name, Match: matchYAML{Path: r.Match.Path, Prefix: r.Match.Prefix, Methods: r.Match.Methods},
		Service: r.Service, Stage: r.Stage, Plan: r.Plan}}
	out, err := yaml.Marshal(b)
	if err != nil { // plain strings and lists always marshal
		panic(fmt.Sprintf("marshalling route %q: %v", r.Name, err))
	}
	route = fmt.Sprintf("# %s: %s\n%s", s.Family.Prefix, strings.Join(s.Reasons[:2], "; "), indent(string(out)))
	service = fmt.Sprintf("# the new service for %s: replace the URL\n  %s:\n    url: http://%s.invalid:8080\n",
		s.Family.Prefix, r.Service, r.Service)
	return route, service
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}
