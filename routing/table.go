// Package routing holds strangler's route table and the http.Handler that
// dispatches each request to the monolith or to a route's service.
//
// A Table is immutable once built; a Router serves from the current Table
// through one atomic pointer, so a reload swaps tables without a lock and
// every request finishes on the table it started with.
//
// Match order: routes are tried in the order given (the config file's
// order) and the first whose path (template or prefix), methods, host and
// headers all match wins. A request no route matches, or whose path matches
// but whose method does not, goes to the monolith. Paths are matched in
// their canonical escaped form (see CanonicalPath), exactly as they are
// forwarded.
package routing

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/stranglerfig/strangler/stage"
)

// Spec describes one route to Build.
type Spec struct {
	Name    string
	Path    string // gorilla/mux path template; exclusive with Prefix
	Prefix  string // gorilla/mux path prefix
	Host    string // optional gorilla/mux host template
	Methods []string
	Headers map[string]string // "" value: header present with any value
	Stage   stage.Stage
	Percent float64 // canary share, 0..100
	Sticky  string  // header:NAME, cookie:NAME or ip (default)
	// ServiceName names the service; Service serves its side. Both may be
	// empty for a route in stage legacy.
	ServiceName string
	Service     http.Handler
	// Legacy serves the monolith side of this route; nil uses the table's.
	Legacy http.Handler
	// Mirror, if set, serves requests that get a shadow copy. In stage
	// Shadow every request is handed to it (the copy goes to the service);
	// MirrorCanary adds canary requests (the copy goes to the side that did
	// not serve) and MirrorMigrated adds migrated ones (the copy goes to
	// the monolith).
	Mirror         Mirror
	MirrorCanary   bool
	MirrorMigrated bool
	// Allow lists the ambiguous request properties this route accepts
	// (see Allow); any other is refused with 400.
	Allow Allow
	// CaseInsensitive matches the path (template and request) in lower
	// case, for backends that ignore case (IIS).
	CaseInsensitive bool
	// MaxBody bounds the request body; 0 leaves the server's limit.
	MaxBody int64
}

// Mirror serves a request whose copy goes to the other side. It must call
// primary to answer the client, and must not delay or fail that answer for
// the sake of the copy.
type Mirror interface {
	ServeMirrored(w http.ResponseWriter, r *http.Request, d Decision, primary http.Handler)
}

// Options tunes a Table.
type Options struct {
	// ClientIP returns the client address used for "ip" stickiness and as
	// the fallback key. Nil uses RemoteIP.
	ClientIP func(*http.Request) string
	// Admit, if set, is called for each request once it is routed (rt is
	// nil for the monolith) and its path accepted, before it is served or
	// mirrored. It returns false when it answered the request itself.
	Admit func(w http.ResponseWriter, r *http.Request, rt *Route) bool
}

// Route is one compiled route of a Table.
type Route struct {
	name        string
	serviceName string
	stage       stage.Stage
	percent     float64
	threshold   uint32
	sticky      sticky
	service     http.Handler
	legacy      http.Handler
	matcher     *mux.Route
	mirror      Mirror
	mirrorOn    [stage.Count]bool // by stage: does this stage mirror?
	allow       Allow
	lower       bool // case-insensitive: matched on the lower-cased path
	maxBody     int64
}

// MaxBody returns the route's request body limit (0: the server's).
func (r *Route) MaxBody() int64 { return r.maxBody }

// Allows reports whether the route accepts every property in held.
func (r *Route) Allows(held Allow) bool { return r.allow&held == held }

// Name returns the route's name.
func (r *Route) Name() string { return r.name }

// ServiceName returns the name of the route's service, or "".
func (r *Route) ServiceName() string { return r.serviceName }

// Stage returns the route's stage.
func (r *Route) Stage() stage.Stage { return r.stage }

// Percent returns the route's canary percent.
func (r *Route) Percent() float64 { return r.percent }

// Table is an immutable, compiled route table.
type Table struct {
	routes   []*Route
	byName   map[string]*Route
	index    *node
	legacy   http.Handler
	clientIP func(*http.Request) string
	admit    func(http.ResponseWriter, *http.Request, *Route) bool
	anyLower bool // some route matches case-insensitively
}

// ErrInvalidSpec marks a Spec that Build cannot compile into a table it
// could serve from. config.Validate refuses every route file that would
// give one and says why, field by field, so Build does not repeat those
// checks or their messages: it only refuses, without panicking, what it
// cannot index, compile or call.
var ErrInvalidSpec = errors.New("invalid route spec")

// Build compiles specs into a Table. legacy serves unmatched requests.
// Specs are trusted to come from a validated config; an error wraps
// ErrInvalidSpec.
func Build(specs []Spec, legacy http.Handler, opts Options) (*Table, error) {
	if legacy == nil {
		return nil, fmt.Errorf("building route table: %w: no legacy handler", ErrInvalidSpec)
	}
	t := &Table{legacy: legacy, byName: make(map[string]*Route, len(specs)), clientIP: opts.ClientIP,
		admit: opts.Admit}
	if t.clientIP == nil {
		t.clientIP = RemoteIP
	}
	mr := mux.NewRouter().UseEncodedPath()
	var errs []error
	for i, s := range specs {
		r, err := t.compile(mr, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("building route table: spec %d (%q): %w", i, s.Name, err))
			continue
		}
		t.routes = append(t.routes, r)
		t.byName[r.name] = r
		t.anyLower = t.anyLower || r.lower
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t.index = buildIndex(specs)
	return t, nil
}

// compile turns one spec into a Route: its name indexes the table, its
// handlers must exist for the sides its stage serves, and its sticky key
// and matcher must compile.
func (t *Table) compile(mr *mux.Router, s Spec) (*Route, error) {
	if _, taken := t.byName[s.Name]; s.Name == "" || taken {
		return nil, fmt.Errorf("%w: the table is indexed by name, and this one is empty or taken", ErrInvalidSpec)
	}
	if s.Stage != stage.Legacy && s.Service == nil {
		return nil, fmt.Errorf("%w: stage %s serves from the service, which has no handler", ErrInvalidSpec, s.Stage)
	}
	st, err := parseSticky(s.Sticky)
	if err != nil {
		return nil, fmt.Errorf("%w: sticky key does not compile: %w", ErrInvalidSpec, err)
	}
	m, err := matcher(mr, s)
	if err != nil {
		return nil, fmt.Errorf("%w: matcher does not compile: %w", ErrInvalidSpec, err)
	}
	r := &Route{
		name: s.Name, serviceName: s.ServiceName, stage: s.Stage,
		percent: s.Percent, threshold: Threshold(s.Percent), sticky: st,
		service: s.Service, legacy: s.Legacy, matcher: m, mirror: s.Mirror,
		allow: s.Allow, lower: s.CaseInsensitive, maxBody: s.MaxBody,
	}
	if s.Mirror != nil && s.Service != nil {
		r.mirrorOn = [stage.Count]bool{stage.Shadow: true, stage.Canary: s.MirrorCanary, stage.Migrated: s.MirrorMigrated}
	}
	if r.legacy == nil {
		r.legacy = t.legacy
	}
	return r, nil
}

// matcher compiles the spec's gorilla/mux route: exactly one of a path
// template or a prefix, and the optional host, methods and headers.
func matcher(mr *mux.Router, s Spec) (*mux.Route, error) {
	m := mr.NewRoute()
	if s.CaseInsensitive {
		s.Path, s.Prefix = lowerTemplate(s.Path), lowerTemplate(s.Prefix)
	}
	switch {
	case (s.Path == "") == (s.Prefix == ""):
		return nil, errors.New("needs exactly one of a path template or a prefix")
	case s.Path != "":
		m = m.Path(s.Path)
	default:
		m = m.PathPrefix(s.Prefix)
	}
	if s.Host != "" {
		m = m.Host(s.Host)
	}
	if len(s.Methods) > 0 {
		// mux upper-cases the slice it is given in place: hand it a copy,
		// so building a table never writes to the config it came from.
		m = m.Methods(slices.Clone(s.Methods)...)
	}
	for k, v := range s.Headers {
		m = m.Headers(k, v)
	}
	return m, m.GetError()
}

// Routes returns the table's routes in match order.
func (t *Table) Routes() []*Route { return t.routes }

// Route returns the route named name, or nil.
func (t *Table) Route(name string) *Route { return t.byName[name] }

// Match returns the first route that claims r, or nil for the monolith.
// Case-insensitive routes are indexed and matched on the lower-cased
// path; the others on the path as it is.
func (t *Table) Match(r *http.Request) *Route {
	path := r.URL.EscapedPath()
	exact := t.index.candidatesFor(path)
	if !t.anyLower {
		return t.matchIn(r, exact, nil, nil)
	}
	low := lowerPath(path)
	if low == path {
		return t.matchIn(r, exact, nil, r)
	}
	lr := *r
	u := *r.URL
	if dec, err := url.PathUnescape(low); err == nil {
		u.Path, u.RawPath = dec, low
	}
	lr.URL = &u
	return t.matchIn(r, exact, t.index.candidatesFor(low), &lr)
}

// matchIn tries the candidates of both lists in file order: a
// case-insensitive route against lowered, the others against r.
func (t *Table) matchIn(r *http.Request, a, b []int, lowered *http.Request) *Route {
	var rm mux.RouteMatch
	for len(a) > 0 || len(b) > 0 {
		var i int
		switch {
		case len(b) == 0 || len(a) > 0 && a[0] < b[0]:
			i, a = a[0], a[1:]
		case len(a) == 0 || b[0] < a[0]:
			i, b = b[0], b[1:]
		default: // the same route in both
			i, a, b = a[0], a[1:], b[1:]
		}
		rt, req := t.routes[i], r
		if rt.lower {
			if lowered == nil {
				continue // no lowered request: no case-insensitive route in the table
			}
			req = lowered
		}
		if rt.matcher.Match(req, &rm) {
			return rt
		}
		rm.MatchErr = nil
	}
	return nil
}

// Decision says who serves a request and why.
type Decision struct {
	Route   string // "" when no route matched
	Stage   stage.Stage
	Side    Side
	Service string // the route's service name, if any
}

// Other is the side that did not serve: where a mirrored copy goes.
func (d Decision) Other() Side {
	if d.Side == SideService {
		return SideLegacy
	}
	return SideService
}

// Decide matches r and picks the side that serves it, returning the
// handler to call and, when the request is mirrored, the route's Mirror.
func (t *Table) Decide(r *http.Request) (Decision, http.Handler, Mirror) {
	return t.decide(r, t.Match(r))
}

// decide picks the side of rt (nil: the monolith) for r.
func (t *Table) decide(r *http.Request, rt *Route) (Decision, http.Handler, Mirror) {
	if rt == nil {
		return Decision{}, t.legacy, nil
	}
	d := Decision{Route: rt.name, Stage: rt.stage, Service: rt.serviceName}
	h := rt.legacy
	if rt.serves(r, t.clientIP) {
		d.Side, h = SideService, rt.service
	}
	if !rt.mirrorOn[rt.stage] {
		return d, h, nil
	}
	return d, h, rt.mirror
}

// serves reports whether the route's service serves r.
func (rt *Route) serves(r *http.Request, clientIP func(*http.Request) string) bool {
	switch rt.stage {
	case stage.Migrated:
		return true
	case stage.Canary:
		switch rt.threshold {
		case 0:
			return false
		case Buckets:
			return true
		}
		return Bucket(rt.name, rt.sticky.key(r, clientIP)) < rt.threshold
	}
	return false
}

// lowerTemplate lower-cases the literal parts of a path template, leaving
// the {name:pattern} variables as they are.
func lowerTemplate(tpl string) string {
	b := []byte(tpl)
	depth := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%' && depth == 0:
			i += 2 // escapes stay upper-case, as in canonical paths
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// literalSegments returns the leading path segments of a template that are
// plain text, so the route can only match paths that start with them. For
// a prefix the last segment may be partial ("/api/ord" matches
// "/api/orders"), so only segments followed by a slash count.
func literalSegments(path string, prefix bool) []string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if prefix || strings.HasSuffix(path, "/") {
		parts = parts[:len(parts)-1]
	}
	var out []string
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, "{}") {
			break
		}
		out = append(out, p)
	}
	return out
}
