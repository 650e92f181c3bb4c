package plan

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/latency"
	"github.com/stranglerfig/strangler/plan/plantest"
)

// generated reads a generated log of mono into an inventory.
func generated(t *testing.T, mono *plantest.Monolith, lines int) *Inventory {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		_, err := mono.WriteLog(pw, lines, 3)
		pw.CloseWithError(err)
	}()
	inv, _, err := ReadLog(pr, FormatAuto, nil)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

const legacyYAML = "legacy:\n  url: http://127.0.0.1:9\nservices:\n"

// TestSuggestionsValidateAndClaim: every suggested block, pasted into a
// minimal route file, passes validation and, applied, claims the traffic
// of its family and no other family's.
func TestSuggestionsValidateAndClaim(t *testing.T) {
	mono := plantest.New(220, 5)
	inv := generated(t, mono, 300_000)
	sugs := Suggest(inv.Snapshot(), DefaultWeights, -1)
	byFamily := map[string]*Suggestion{}
	for i := range sugs {
		byFamily[sugs[i].Family.Prefix] = &sugs[i]
	}
	for _, fam := range mono.Families {
		if byFamily[fam] == nil {
			t.Errorf("generated family %s has no suggestion", fam)
		}
	}
	if len(sugs) != len(mono.Families) {
		t.Errorf("%d suggestions for %d families", len(sugs), len(mono.Families))
	}
	r := rand.New(rand.NewPCG(1, 2))
	var all strings.Builder
	var services strings.Builder
	for _, s := range sugs {
		services.WriteString(s.ServiceYAML)
		all.WriteString(s.RouteYAML)
		cfg, err := config.Parse([]byte(legacyYAML+s.ServiceYAML+"routes:\n"+s.RouteYAML), s.Route.Name, config.Source{})
		if err != nil {
			t.Fatalf("suggestion %s does not validate: %v\n%s%s", s.Family.Prefix, err, s.ServiceYAML, s.RouteYAML)
		}
		table, err := TableOf(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range mono.Endpoints {
			e := &mono.Endpoints[i]
			req, _ := http.NewRequest(e.Method, "http://h"+e.Path(r), nil)
			claimed := table.Match(req) != nil
			if mine := e.Family == s.Family.Prefix; claimed != mine {
				t.Errorf("route %s (%+v) claims %s %s: %v, want %v", s.Route.Name, s.Route.Match, e.Method, req.URL.Path, claimed, mine)
			}
		}
	}
	if _, err := config.Parse([]byte(legacyYAML+services.String()+"routes:\n"+all.String()), "all", config.Source{}); err != nil {
		t.Errorf("all suggestions together do not validate: %v", err)
	}
}

func ep(method, shape string, n uint64, legacy5xx uint64, p99 time.Duration) Endpoint {
	e := Endpoint{Method: method, Shape: shape, Requests: n, Write: IsWrite(method)}
	e.acc.legacy, e.acc.legacy5xx = n, legacy5xx
	e.acc.lat[latency.HalfBucket(p99)] = uint32(n)
	e.finish(10000)
	return e
}

func TestRanking(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		eps     []Endpoint
		weights Weights
		first   string
	}{
		{"reads before writes", []Endpoint{
			ep("POST", "/a/orders", 1000, 0, ms), ep("PUT", "/a/orders/{id}", 1000, 0, ms),
			ep("GET", "/a/catalog", 1000, 0, ms), ep("GET", "/a/catalog/{id}", 1000, 0, ms),
		}, DefaultWeights, "/a/catalog"},
		{"traffic first", []Endpoint{
			ep("GET", "/small", 100, 0, ms), ep("GET", "/big/{id}", 5000, 0, ms),
		}, DefaultWeights, "/big"},
		{"self-contained before scattered", []Endpoint{
			ep("GET", "/s/a", 200, 0, ms), ep("GET", "/s/b", 200, 0, ms), ep("GET", "/s/c", 200, 0, ms),
			ep("GET", "/s/d", 200, 0, ms), ep("GET", "/s/e", 200, 0, ms), ep("GET", "/s/{id}", 10, 0, ms),
			ep("GET", "/t/{id}", 1000, 0, ms),
		}, DefaultWeights, "/t"},
		{"errors weight", []Endpoint{
			ep("GET", "/ok/{id}", 1000, 0, ms), ep("GET", "/bad/{id}", 900, 200, ms),
		}, Weights{Errors: 1}, "/bad"},
		{"latency weight", []Endpoint{
			ep("GET", "/fast/{id}", 1000, 0, ms), ep("GET", "/slow/{id}", 900, 0, 900*ms),
		}, Weights{Latency: 1}, "/slow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := Snapshot{Requests: 10000, Endpoints: tt.eps}
			sortEndpoints(snap.Endpoints)
			got := Suggest(snap, tt.weights, 0)
			if len(got) == 0 || got[0].Family.Prefix != tt.first {
				t.Fatalf("first suggestion %+v, want %s", got, tt.first)
			}
			if got[0].Rank != 1 || len(got[0].Reasons) == 0 || got[0].RouteYAML == "" {
				t.Errorf("suggestion incomplete: %+v", got[0])
			}
		})
	}
}

func TestFamilyGrouping(t *testing.T) {
	snap := Snapshot{Requests: 100, Endpoints: []Endpoint{
		ep("GET", "/api/users/{id}", 40, 0, time.Millisecond),
		ep("GET", "/api/users/me", 20, 0, time.Millisecond),
		ep("GET", "/api/users/{id}/orders", 10, 0, time.Millisecond),
		ep("GET", "/api/v1/status", 10, 0, time.Millisecond),
		ep("GET", "/api/v1/health", 10, 0, time.Millisecond),
		ep("GET", "/", 5, 0, time.Millisecond),
		ep("GET", "/files/a%20b", 5, 0, time.Millisecond),
	}}
	want := []string{"/api/users", "/api/v1/health", "/api/v1/status", "/"}
	var got []string
	for _, f := range Families(snap) {
		got = append(got, f.Prefix)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("families %v, want %v", got, want)
	}
}

// TestSuggestedMatch: the route of a family claims each of its shapes'
// example paths, whatever the family's form.
func TestSuggestedMatch(t *testing.T) {
	tests := []struct {
		name   string
		shapes []string
		claims []string // paths the route must claim besides the shapes'
		spares []string // paths it must not claim
	}{
		{"exact", []string{"/health"}, nil, []string{"/healthz", "/health/x"}},
		{"root", []string{"/"}, nil, []string{"/x"}},
		{"below only", []string{"/api/items/{id}", "/api/items/{id}/lines"}, nil, []string{"/api/items", "/api/itemsx/1"}},
		{"bare and below", []string{"/api/cart", "/api/cart/{uuid}"}, []string{"/api/cart/"}, []string{"/api/carts"}},
		{"trailing slash", []string{"/docs/"}, []string{"/docs"}, []string{"/docsx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := Snapshot{Requests: 100}
			for _, s := range tt.shapes {
				snap.Endpoints = append(snap.Endpoints, ep("GET", s, 10, 0, time.Millisecond))
			}
			sugs := Suggest(snap, DefaultWeights, 0)
			if len(sugs) != 1 {
				t.Fatalf("%d suggestions, want 1: %+v", len(sugs), sugs)
			}
			cfg, err := config.Parse([]byte(legacyYAML+sugs[0].ServiceYAML+"routes:\n"+sugs[0].RouteYAML), "t", config.Source{})
			if err != nil {
				t.Fatalf("%v\n%s", err, sugs[0].RouteYAML)
			}
			table, err := TableOf(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var claims []string
			for _, s := range tt.shapes {
				claims = append(claims, ExamplePath(s))
			}
			for _, p := range append(claims, tt.claims...) {
				if req, _ := http.NewRequest("GET", "http://h"+p, nil); table.Match(req) == nil {
					t.Errorf("%+v does not claim %s", sugs[0].Route.Match, p)
				}
			}
			for _, p := range tt.spares {
				if req, _ := http.NewRequest("GET", "http://h"+p, nil); table.Match(req) != nil {
					t.Errorf("%+v claims %s", sugs[0].Route.Match, p)
				}
			}
		})
	}
	lead := Snapshot{Requests: 10, Endpoints: []Endpoint{ep("GET", "/{id}/profile", 10, 0, time.Millisecond)}}
	if got := Suggest(lead, DefaultWeights, 0); len(got) != 0 {
		t.Errorf("a shape starting with a placeholder was suggested: %+v", got)
	}
}

func TestMarkClaimedAndHygiene(t *testing.T) {
	cfg, err := config.Parse([]byte(legacyYAML+"  users:\n    url: http://127.0.0.1:9\nroutes:\n"+
		"  - {name: users, match: {prefix: /api/users/}, service: users, stage: shadow}\n"+
		"  - {name: dead, match: {path: /nowhere}, service: users, stage: shadow}\n"), "t", config.Source{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	inv := New(Options{})
	for i := range 100 {
		st := 200
		if i%4 == 0 {
			st = 500
		}
		inv.Observe(Sample{Method: "GET", Path: "/api/users/1", Status: st, Latency: -1, Bytes: -1, Time: now})
		inv.Observe(Sample{Method: "GET", Path: "/api/orders", Status: 200, Latency: -1, Bytes: -1, Time: now})
	}
	snap := inv.Snapshot()
	if err := MarkClaimed(&snap, cfg); err != nil {
		t.Fatal(err)
	}
	p := BuildSnapshot(snap, BuildOptions{Config: cfg, Window: time.Hour, Source: "test"})
	kinds := map[string]string{}
	for _, f := range p.Hygiene {
		kinds[f.Kind] += f.Route
	}
	if kinds[FindingIdle] != "dead" || kinds[FindingErrors] != "users" || kinds[FindingUnreachable] != "" {
		t.Errorf("hygiene %+v", p.Hygiene)
	}
	if len(p.Suggestions) != 1 || p.Suggestions[0].Family.Prefix != "/api/orders" {
		t.Errorf("suggestions %+v: want only /api/orders", p.Suggestions)
	}
	if p.Progress.RoutedEndpoints != 1 || p.Progress.ByStage["shadow"] != 1 {
		t.Errorf("progress %+v", p.Progress)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## What to carve next", "  - name: api-orders", "**idle** `dead`", "/api/users/{id}"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if _, err := json.Marshal(p); err != nil {
		t.Errorf("plan does not marshal: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	r := func(name, path, prefix string, methods ...string) config.Route {
		return config.Route{Name: name, Match: config.Match{Path: path, Prefix: prefix, Methods: methods}}
	}
	ci := func(rt config.Route) config.Route { rt.Match.CaseInsensitive = true; return rt }
	host := func(rt config.Route) config.Route { rt.Match.Host = "a.example"; return rt }
	tests := []struct {
		name   string
		routes []config.Route
		want   string // "route<by" findings, space separated
	}{
		{"prefix before narrower prefix", []config.Route{r("api", "", "/api/"), r("orders", "", "/api/orders")}, "orders<api"},
		{"prefix before path template", []config.Route{r("api", "", "/api/"), r("order", "/api/orders/{id}", "")}, "order<api"},
		{"narrower first is fine", []config.Route{r("orders", "", "/api/orders"), r("api", "", "/api/")}, ""},
		{"disjoint methods", []config.Route{r("api", "", "/api/", "POST"), r("orders", "", "/api/orders", "GET")}, ""},
		{"covering methods", []config.Route{r("api", "", "/api/", "GET", "POST"), r("orders", "", "/api/orders", "GET")}, "orders<api"},
		{"all methods not covered by some", []config.Route{r("api", "", "/api/", "GET"), r("orders", "", "/api/orders")}, ""},
		{"same template", []config.Route{r("a", "/x/{id}", ""), r("b", "/x/{id}", "")}, "b<a"},
		{"path does not cover prefix", []config.Route{r("a", "/x", ""), r("b", "", "/x")}, ""},
		{"case-insensitive covers", []config.Route{ci(r("a", "", "/API/")), r("b", "/api/x", "")}, "b<a"},
		{"case-sensitive does not cover insensitive", []config.Route{r("a", "", "/api/"), ci(r("b", "/api/x", ""))}, ""},
		{"host narrows", []config.Route{host(r("a", "", "/api/")), r("b", "", "/api/x")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range Unreachable(&config.Config{Routes: tt.routes}) {
				got = append(got, f.Route+"<"+f.By)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %v, want %q", got, tt.want)
			}
		})
	}
}
