package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/stranglerfig/strangler/config"
)

// Kinds of route hygiene findings.
const (
	FindingUnreachable = "unreachable" // an earlier route claims everything this one would
	FindingIdle        = "idle"        // matched nothing in the window
	FindingErrors      = "monolith_errors"
)

// Finding is one route hygiene problem.
type Finding struct {
	Kind   string `json:"kind"`
	Route  string `json:"route"`
	Detail string `json:"detail"`
	// By names the earlier route (unreachable) ; Shape the endpoint
	// (monolith_errors).
	By    string `json:"by,omitempty"`
	Shape string `json:"shape,omitempty"`
}

// Unreachable reports routes that can never match because an earlier
// route claims every request they would: its path prefix covers theirs,
// its methods, host and headers are no narrower. Only pairs are checked:
// a route covered by several earlier routes together is not reported.
func Unreachable(cfg *config.Config) []Finding {
	var out []Finding
	for j := range cfg.Routes {
		for i := 0; i < j; i++ {
			a, b := &cfg.Routes[i], &cfg.Routes[j]
			if covers(a, b) {
				out = append(out, Finding{Kind: FindingUnreachable, Route: b.Name, By: a.Name,
					Detail: fmt.Sprintf("route %q (%s) comes first and claims every request %q (%s) would match",
						a.Name, describeMatch(a.Match), b.Name, describeMatch(b.Match))})
				break
			}
		}
	}
	return out
}

// covers reports whether route a matches every request route b matches.
func covers(a, b *config.Route) bool {
	am, bm := &a.Match, &b.Match
	if am.Host != "" && am.Host != bm.Host || !am.CaseInsensitive && bm.CaseInsensitive {
		return false
	}
	if !methodsCover(am.Methods, bm.Methods) || !headersCover(am.Headers, bm.Headers) {
		return false
	}
	if am.Path != "" { // a template covers only the same template
		return am.Path == bm.Path
	}
	if strings.Contains(am.Prefix, "{") {
		return am.Prefix == bm.Prefix
	}
	start := literalStart(bm)
	if am.CaseInsensitive {
		return strings.HasPrefix(strings.ToLower(start), strings.ToLower(am.Prefix))
	}
	return strings.HasPrefix(start, am.Prefix)
}

// literalStart is the text every path matched by m starts with.
func literalStart(m *config.Match) string {
	t := m.Prefix
	if m.Path != "" {
		t = m.Path
	}
	if i := strings.IndexByte(t, '{'); i >= 0 {
		return t[:i]
	}
	return t
}

func methodsCover(a, b []string) bool {
	if len(a) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	for _, m := range b {
		if !containsFold(a, m) {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// headersCover: every header a requires, b requires too, with the same
// value (or a accepts any value).
func headersCover(a, b map[string]string) bool {
	for k, v := range a {
		bv, ok := b[k]
		if !ok || v != "" && v != bv {
			return false
		}
	}
	return true
}

func describeMatch(m config.Match) string {
	s := "path " + m.Path
	if m.Prefix != "" {
		s = "prefix " + m.Prefix
	}
	if len(m.Methods) > 0 {
		s += " " + strings.Join(m.Methods, ",")
	}
	return s
}

// Idle reports the routes of cfg that matched nothing in the window:
// hits counts requests per route name over that window (from metrics, or
// RouteHits of the inventory).
func Idle(cfg *config.Config, hits map[string]uint64, window time.Duration) []Finding {
	var out []Finding
	for _, r := range cfg.Routes {
		if hits[r.Name] == 0 {
			out = append(out, Finding{Kind: FindingIdle, Route: r.Name,
				Detail: fmt.Sprintf("no request matched %s in the last %s: a typo, or a dead endpoint", describeMatch(r.Match), window)})
		}
	}
	return out
}

// RouteHits counts, per route, the requests of shapes that route claimed
// and that were last seen at or after since.
func RouteHits(snap Snapshot, since time.Time) map[string]uint64 {
	out := map[string]uint64{}
	for _, ep := range snap.Endpoints {
		if ep.Route != "" && !ep.LastSeen.Before(since) {
			out[ep.Route] += ep.Requests
		}
	}
	return out
}

// MonolithErrors reports endpoints a route claims on which the monolith
// answered 5xx at minRate or more, over at least minRequests of its
// answers: the route will compare against a failing side.
func MonolithErrors(snap Snapshot, minRate float64, minRequests uint64) []Finding {
	var out []Finding
	for _, ep := range snap.Endpoints {
		if ep.Route == "" || ep.MonolithRequests < minRequests || ep.MonolithErrorRate < minRate {
			continue
		}
		out = append(out, Finding{Kind: FindingErrors, Route: ep.Route, Shape: ep.Method + " " + ep.Shape,
			Detail: fmt.Sprintf("the monolith answered %.1f%% of %d requests to %s %s with 5xx",
				100*ep.MonolithErrorRate, ep.MonolithRequests, ep.Method, ep.Shape)})
	}
	return out
}
