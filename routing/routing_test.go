package routing

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stranglerfig/strangler/stage"
)

// named is a handler that identifies itself in a response header.
type named string

func (n named) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Side", string(n))
}

func mustBuild(t testing.TB, specs []Spec) *Table {
	t.Helper()
	tab, err := Build(specs, named("monolith"), Options{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return tab
}

func TestMatchOrderAndRules(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "order-get", Path: "/api/orders/{id:[0-9]+}", Methods: []string{"GET"}, Stage: stage.Migrated, Service: named("orders"), ServiceName: "orders"},
		{Name: "orders-all", Prefix: "/api/orders", Stage: stage.Legacy},
		{Name: "admin-host", Prefix: "/", Host: "admin.example.com", Stage: stage.Migrated, Service: named("admin")},
		{Name: "beta", Path: "/api/products", Headers: map[string]string{"X-Beta": "1"}, Stage: stage.Migrated, Service: named("beta")},
		{Name: "catalog", Prefix: "/api/products/", Stage: stage.Migrated, Service: named("catalog")},
	})
	tests := []struct {
		desc, method, target, host string
		header                     http.Header
		wantRoute, wantSide        string
	}{
		{desc: "template with method", method: "GET", target: "/api/orders/42", wantRoute: "order-get", wantSide: "orders"},
		{desc: "template constraint fails, prefix catches", method: "GET", target: "/api/orders/abc", wantRoute: "orders-all", wantSide: "monolith"},
		{desc: "method mismatch falls to next route", method: "POST", target: "/api/orders/42", wantRoute: "orders-all", wantSide: "monolith"},
		{desc: "prefix is a plain string prefix", method: "GET", target: "/api/ordersummary", wantRoute: "orders-all", wantSide: "monolith"},
		{desc: "host match", method: "GET", target: "/anything", host: "admin.example.com", wantRoute: "admin-host", wantSide: "admin"},
		{desc: "host match ignores port", method: "GET", target: "/x", host: "admin.example.com:8080", wantRoute: "admin-host", wantSide: "admin"},
		{desc: "header match", method: "GET", target: "/api/products", header: http.Header{"X-Beta": {"1"}}, wantRoute: "beta", wantSide: "beta"},
		{desc: "header value mismatch", method: "GET", target: "/api/products", header: http.Header{"X-Beta": {"2"}}, wantRoute: "", wantSide: "monolith"},
		{desc: "prefix with trailing slash", method: "GET", target: "/api/products/7", wantRoute: "catalog", wantSide: "catalog"},
		{desc: "unmatched goes to monolith", method: "GET", target: "/api/users/1", wantRoute: "", wantSide: "monolith"},
		{desc: "root goes to monolith", method: "GET", target: "/", wantRoute: "", wantSide: "monolith"},
		{desc: "escaped slash is not a separator", method: "GET", target: "/api/orders/4%2F2", wantRoute: "orders-all", wantSide: "monolith"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.host != "" {
				r.Host = tc.host
			}
			for k, v := range tc.header {
				r.Header[k] = v
			}
			d, h, _ := tab.Decide(r)
			if d.Route != tc.wantRoute {
				t.Errorf("route = %q; want %q", d.Route, tc.wantRoute)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Header().Get("X-Side"); got != tc.wantSide {
				t.Errorf("served by %q; want %q", got, tc.wantSide)
			}
		})
	}
}

func TestStages(t *testing.T) {
	for _, tc := range []struct {
		stage   stage.Stage
		percent float64
		want    Side
	}{
		{stage.Legacy, 100, SideLegacy},
		{stage.Shadow, 100, SideLegacy},
		{stage.Canary, 0, SideLegacy},
		{stage.Canary, 100, SideService},
		{stage.Migrated, 0, SideService},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.stage, tc.percent), func(t *testing.T) {
			tab := mustBuild(t, []Spec{{Name: "r", Prefix: "/", Stage: tc.stage, Percent: tc.percent, Service: named("svc")}})
			for i := range 200 {
				r := httptest.NewRequest("GET", "/x", nil)
				r.RemoteAddr = "10.0.0." + strconv.Itoa(i) + ":1234"
				if d, _, _ := tab.Decide(r); d.Side != tc.want {
					t.Fatalf("key %d: side %s; want %s", i, d.Side, tc.want)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	svc := named("svc")
	for _, tc := range []struct {
		desc  string
		specs []Spec
	}{
		{"no name", []Spec{{Prefix: "/"}}},
		{"duplicate", []Spec{{Name: "a", Prefix: "/"}, {Name: "a", Prefix: "/b"}}},
		{"bad template", []Spec{{Name: "a", Path: "/x/{id"}}},
		{"no path", []Spec{{Name: "a"}}},
		{"both path and prefix", []Spec{{Name: "a", Path: "/a", Prefix: "/a"}}},
		{"canary without service", []Spec{{Name: "a", Prefix: "/", Stage: stage.Canary}}},
		{"bad sticky", []Spec{{Name: "a", Prefix: "/", Stage: stage.Canary, Service: svc, Sticky: "query:x"}}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := Build(tc.specs, named("m"), Options{})
			if err == nil {
				t.Fatal("Build succeeded; want an error")
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("Build error %v does not wrap ErrInvalidSpec", err)
			}
		})
	}
	if _, err := Build(nil, nil, Options{}); err == nil {
		t.Error("Build without legacy handler succeeded")
	}
}

func TestStickyKeys(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
		setup      func(*http.Request)
	}{
		{"header:X-User-ID", "u1", func(r *http.Request) { r.Header.Set("X-User-Id", "u1") }},
		{"header:X-User-ID", "192.0.2.1", func(*http.Request) {}},
		{"cookie:uid", "c9", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "uid", Value: "c9"}) }},
		{"cookie:uid", "192.0.2.1", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "other", Value: "c9"}) }},
		{"ip", "192.0.2.1", func(r *http.Request) { r.Header.Set("X-User-Id", "u1") }},
	} {
		t.Run(tc.spec+"="+tc.want, func(t *testing.T) {
			s, err := parseSticky(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "192.0.2.1:5555"
			tc.setup(r)
			if got := s.key(r, RemoteIP); got != tc.want {
				t.Errorf("key = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestRouterSwap(t *testing.T) {
	a := mustBuild(t, []Spec{{Name: "r", Prefix: "/", Stage: stage.Legacy}})
	b := mustBuild(t, []Spec{{Name: "r", Prefix: "/", Stage: stage.Migrated, Service: named("svc")}})
	rt := NewRouter(a)
	serve := func() string {
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return w.Header().Get("X-Side")
	}
	if got := serve(); got != "monolith" {
		t.Fatalf("before swap: %q", got)
	}
	if old := rt.Swap(b); old != a {
		t.Error("Swap did not return the previous table")
	}
	if got := serve(); got != "svc" {
		t.Fatalf("after swap: %q", got)
	}
}

func TestLiteralSegments(t *testing.T) {
	for _, tc := range []struct {
		path   string
		prefix bool
		want   string
	}{
		{"/api/orders/{id}", false, "[api orders]"},
		{"/api/orders", false, "[api orders]"},
		{"/api/orders", true, "[api]"},
		{"/api/orders/", true, "[api orders]"},
		{"/", true, "[]"},
		{"/{tenant}/x", false, "[]"},
		{"/files/{name}.txt", false, "[files]"},
	} {
		if got := fmt.Sprint(literalSegments(tc.path, tc.prefix)); got != tc.want {
			t.Errorf("literalSegments(%q, %v) = %s; want %s", tc.path, tc.prefix, got, tc.want)
		}
	}
}

// mirrorProbe records that the Router handed it a request.
type mirrorProbe struct{ got *Decision }

func (m mirrorProbe) ServeMirrored(w http.ResponseWriter, r *http.Request, d Decision, primary http.Handler) {
	*m.got = d
	primary.ServeHTTP(w, r)
}

func TestMirrorDecision(t *testing.T) {
	for _, tc := range []struct {
		desc             string
		stage            stage.Stage
		percent          float64
		canary, migrated bool
		wantMirror       bool
		wantSide, wantTo Side
	}{
		{"legacy never mirrors", stage.Legacy, 0, true, true, false, SideLegacy, 0},
		{"shadow mirrors to the service", stage.Shadow, 0, false, false, true, SideLegacy, SideService},
		{"canary without flag", stage.Canary, 100, false, false, false, SideService, 0},
		{"canary mirrors to the side that did not serve", stage.Canary, 100, true, false, true, SideService, SideLegacy},
		{"canary 0 mirrors to the service", stage.Canary, 0, true, false, true, SideLegacy, SideService},
		{"migrated without flag", stage.Migrated, 0, false, false, false, SideService, 0},
		{"migrated reverse shadow", stage.Migrated, 0, false, true, true, SideService, SideLegacy},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var got Decision
			tab := mustBuild(t, []Spec{{Name: "r", Prefix: "/", Stage: tc.stage, Percent: tc.percent,
				Service: named("svc"), Mirror: mirrorProbe{&got}, MirrorCanary: tc.canary, MirrorMigrated: tc.migrated}})
			d, _, m := tab.Decide(httptest.NewRequest("GET", "/x", nil))
			if (m != nil) != tc.wantMirror {
				t.Fatalf("mirror handler %v; want mirroring %v", m != nil, tc.wantMirror)
			}
			if d.Side != tc.wantSide || (tc.wantMirror && d.Other() != tc.wantTo) {
				t.Errorf("side %s, mirror to %s; want %s, %s", d.Side, d.Other(), tc.wantSide, tc.wantTo)
			}
			NewRouter(tab).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
			if tc.wantMirror && got.Route != "r" {
				t.Error("the Router did not hand the request to the Mirror")
			}
		})
	}
}

// TestRouterServeStoresDecision: Serve hands back how it routed the
// request before it serves or refuses it; a path it cannot canonicalize
// is refused before it is routed.
func TestRouterServeStoresDecision(t *testing.T) {
	refuseAll := func(w http.ResponseWriter, _ *http.Request, _ *Route) bool {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return false
	}
	for _, tc := range []struct {
		desc       string
		target     string
		admit      func(http.ResponseWriter, *http.Request, *Route) bool
		wantRoute  string
		wantSide   Side
		wantStatus int
		wantServed string // X-Side of the answer, "" when refused
	}{
		{"routed to the service", "/api/orders/42", nil, "orders", SideService, 200, "orders"},
		{"unmatched goes to the monolith", "/other", nil, "", SideLegacy, 200, "monolith"},
		{"ambiguous path refused after routing", "/api/orders/4;2", nil, "orders", SideService, 400, ""},
		{"dot-segment refused before routing", "/api/orders/../x", nil, "", SideLegacy, 400, ""},
		{"admit refuses after routing", "/api/orders/42", refuseAll, "orders", SideService, 413, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tab, err := Build([]Spec{{Name: "orders", Prefix: "/api/orders/", Stage: stage.Migrated,
				Service: named("orders"), ServiceName: "orders"}}, named("monolith"), Options{Admit: tc.admit})
			if err != nil {
				t.Fatal(err)
			}
			d := Decision{Route: "stale", Side: SideService}
			if tc.wantRoute == "" && tc.wantStatus == 400 {
				d = Decision{} // refused before routing: nothing is stored
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			NewRouter(tab).Serve(w, r, &d)
			if d.Route != tc.wantRoute || d.Side != tc.wantSide {
				t.Errorf("decision %q on %s; want %q on %s", d.Route, d.Side, tc.wantRoute, tc.wantSide)
			}
			if w.Code != tc.wantStatus || w.Header().Get("X-Side") != tc.wantServed {
				t.Errorf("answer %d from %q; want %d from %q", w.Code, w.Header().Get("X-Side"), tc.wantStatus, tc.wantServed)
			}
		})
	}
}

// TestBuildLeavesSpecsAlone: building a table never writes to the specs
// it is given (mux upper-cases a method list in place; the config the
// specs come from is read by other goroutines).
func TestBuildLeavesSpecsAlone(t *testing.T) {
	methods := []string{"get", "Post"}
	specs := []Spec{{Name: "orders", Prefix: "/orders/", Methods: methods}}
	if _, err := Build(specs, named("monolith"), Options{}); err != nil {
		t.Fatal(err)
	}
	if methods[0] != "get" || methods[1] != "Post" {
		t.Errorf("Build changed the spec's methods to %q", methods)
	}
}
