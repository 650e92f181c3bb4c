package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/admin"
)

// reportsRouteFile is the route file of fixtures with Reports. %s are the
// monolith's and the orders service's URLs. order-list is shadowed and
// its service answers differently (with noise learning on, so the
// per-call timestamp is learned as noise); order-details is shadowed and
// answers the same on both sides.
const reportsRouteFile = `listen: "127.0.0.1:0"
admin:
  listen: "127.0.0.1:0"
log:
  level: info
  format: json
  access: false
legacy:
  url: %s
services:
  orders:
    url: %s
    timeout: 5s
routes:
  - name: order-list
    match:
      path: /api/orders
      methods: [GET]
    service: orders
    stage: shadow
    diff:
      noise:
        enabled: true
  - name: order-details
    match:
      path: "/api/orders/{id:[0-9]+}"
      methods: [GET]
    service: orders
    stage: shadow
  - name: legacy-reports
    match:
      prefix: /reports/
    stage: legacy
`

// scriptLegacy and scriptService are the differing values of /note: markup
// that every rendering must escape.
const (
	scriptLegacy  = `<script>alert("legacy")</script>`
	scriptService = `<script>alert("service")</script>`
)

// reportsBackend starts an upstream for the Reports fixture. On
// /api/orders the monolith and the service differ: a renamed field
// (customer_name / customerName), an array in another order (/tags), a
// per-call timestamp (/generated_at) and a value holding markup (/note).
// On /api/orders/{id} both answer the same.
func reportsBackend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	var calls atomic.Int64
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var body map[string]any
		switch {
		case r.URL.Path == "/api/orders":
			stamp := base.Add(time.Duration(calls.Add(1)) * time.Second).Format(time.RFC3339)
			body = map[string]any{"generated_at": stamp, "total": 3}
			if name == "monolith" {
				body["customer_name"] = "Ada"
				body["tags"] = []string{"new", "paid", "shipped"}
				body["note"] = scriptLegacy
			} else {
				body["customerName"] = "Ada"
				body["tags"] = []string{"shipped", "paid", "new"}
				body["note"] = scriptService
			}
		case strings.HasPrefix(r.URL.Path, "/api/orders/"):
			body = map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/api/orders/"), "status": "shipped"}
		default:
			body = map[string]any{"side": name, "path": r.URL.Path}
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// reportsTraffic sends requests one at a time through the data plane and
// waits for each comparison to be stored before the next, so result ids
// are deterministic: 1, 3, 5 are order-list (different), 2 and 4
// order-details (equal). The legacy route is not mirrored.
func (f *fixture) reportsTraffic() {
	f.t.Helper()
	stored := 0
	for _, path := range []string{"/api/orders", "/api/orders/7", "/api/orders", "/api/orders/8",
		"/api/orders", "/reports/2024/annual"} {
		resp, err := f.client.Get(f.data.URL + path)
		if err != nil {
			f.t.Fatalf("GET %s through the proxy: %v", path, err)
		}
		var got map[string]any
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			f.t.Fatalf("GET %s through the proxy: status %d, err %v", path, resp.StatusCode, err)
		}
		if path == "/api/orders" && got["customer_name"] != "Ada" {
			f.t.Fatalf("GET %s: the monolith must serve a shadowed route, got %v", path, got)
		}
		if strings.HasPrefix(path, "/api/") {
			stored++
			f.waitStored(stored)
		}
	}
}

// waitStored waits (at most 10 s) until n comparisons are stored: the
// copy is offered after the client's answer, then compared by a worker
// and stored by the store's writer, all asynchronously.
func (f *fixture) waitStored(n int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if err := f.disp.Wait(ctx); err != nil {
			f.t.Fatalf("waiting for the shadow copies: %v", err)
		}
		if err := f.store.Flush(ctx); err != nil {
			f.t.Fatalf("flushing the report store: %v", err)
		}
		if got := len(f.store.Recent("", 0)); got >= n {
			if got > n {
				f.t.Fatalf("%d results stored, want %d", got, n)
			}
			return
		}
		select {
		case <-ctx.Done():
			f.t.Fatalf("%d results stored after 10s, want %d", len(f.store.Recent("", 0)), n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestReportsGolden compares the diff and report endpoints, and their
// errors, with golden files after known shadow traffic.
func TestReportsGolden(t *testing.T) {
	f := newFixture(t, fixtureOptions{Reports: true})
	f.reportsTraffic()
	steps := []goldenStep{
		{desc: "diffs", method: "GET", path: "/admin/diffs", status: 200, golden: "diffs"},
		{desc: "diffs of a route", method: "GET", path: "/admin/diffs?route=order-list&limit=2", status: 200,
			golden: "diffs_route_limit"},
		{desc: "diff", method: "GET", path: "/admin/diffs/5", status: 200, golden: "diff_get"},
		{desc: "diff equal", method: "GET", path: "/admin/diffs/4", status: 200, golden: "diff_get_equal"},
		{desc: "report", method: "GET", path: "/admin/report", status: 200, golden: "report"},
		{desc: "report json", method: "GET", path: "/admin/report?format=json", status: 200, golden: "report"},
		{desc: "diffs unknown route", method: "GET", path: "/admin/diffs?route=unknown", status: 404,
			golden: "error_404_diffs_unknown_route", field: "route"},
		{desc: "diffs bad limit", method: "GET", path: "/admin/diffs?limit=0", status: 400,
			golden: "error_400_diffs_limit", field: "limit"},
		{desc: "diffs limit too large", method: "GET", path: "/admin/diffs?limit=1001", status: 400,
			golden: "error_400_diffs_limit", field: "limit"},
		{desc: "diff bad id", method: "GET", path: "/admin/diffs/abc", status: 400,
			golden: "error_400_diff_id", field: "id"},
		{desc: "diff id zero", method: "GET", path: "/admin/diffs/0", status: 400,
			golden: "error_400_diff_id", field: "id"},
		{desc: "diff negative id", method: "GET", path: "/admin/diffs/-1", status: 400,
			golden: "error_400_diff_id", field: "id"},
		{desc: "diff unknown id", method: "GET", path: "/admin/diffs/999999", status: 404,
			golden: "error_404_diff_missing", field: "id"},
		{desc: "report bad format", method: "GET", path: "/admin/report?format=pdf", status: 400,
			golden: "error_400_report_format", field: "format"},
	}
	runGoldenSteps(t, f, steps)
}

// TestReportsContent checks what the goldens normalize away or cannot
// show: the listing's order and filter, the record's differences, and
// the report's figures.
func TestReportsContent(t *testing.T) {
	f := newFixture(t, fixtureOptions{Reports: true})
	f.reportsTraffic()

	var list struct {
		Diffs []struct {
			ID          uint64 `json:"id"`
			Route       string `json:"route"`
			Verdict     string `json:"verdict"`
			Differences int    `json:"differences"`
		} `json:"diffs"`
	}
	decode(t, f.do("GET", "/admin/diffs?route=order-list", "", nil), &list)
	if len(list.Diffs) != 3 {
		t.Fatalf("order-list has %d results, want 3: %+v", len(list.Diffs), list.Diffs)
	}
	for i, d := range list.Diffs {
		if want := uint64(5 - 2*i); d.ID != want || d.Route != "order-list" || d.Verdict != "different" {
			t.Errorf("result %d: %+v; want id %d of order-list, different (newest first)", i, d, want)
		}
	}

	var rec struct {
		Route  string `json:"route"`
		Result struct {
			Verdict     string `json:"verdict"`
			Differences []struct {
				Path    string `json:"path"`
				Kind    string `json:"kind"`
				Legacy  string `json:"legacy"`
				Service string `json:"service"`
				Noise   bool   `json:"noise"`
			} `json:"differences"`
		} `json:"result"`
	}
	decode(t, f.do("GET", "/admin/diffs/3", "", nil), &rec)
	kinds := map[string]string{}
	noise := map[string]bool{}
	for _, d := range rec.Result.Differences {
		kinds[d.Path], noise[d.Path] = d.Kind, d.Noise
	}
	for path, kind := range map[string]string{"/customer_name": "missing", "/customerName": "extra",
		"/tags": "order", "/generated_at": "changed", "/note": "changed"} {
		if kinds[path] != kind {
			t.Errorf("difference at %s: kind %q, want %q (all: %v)", path, kinds[path], kind, kinds)
		}
	}
	if !noise["/generated_at"] || noise["/note"] {
		t.Errorf("noise: %v; want only the per-call timestamp /generated_at learned as noise", noise)
	}

	var rep struct {
		Routes []struct {
			Route     string  `json:"route"`
			Stage     string  `json:"stage"`
			Compared  uint64  `json:"compared"`
			Equal     uint64  `json:"equal"`
			Different uint64  `json:"different"`
			MatchRate float64 `json:"match_rate"`
			Shadow    struct {
				Sent uint64 `json:"sent"`
			} `json:"shadow"`
			Noise []struct {
				Path string `json:"path"`
			} `json:"noise"`
		} `json:"routes"`
	}
	decode(t, f.do("GET", "/admin/report", "", nil), &rep)
	got := map[string]string{}
	for _, r := range rep.Routes {
		got[r.Route] = strings.Join([]string{r.Stage, itoa(r.Compared), itoa(r.Equal), itoa(r.Different),
			itoa(r.Shadow.Sent)}, " ")
	}
	want := map[string]string{"order-list": "shadow 3 0 3 3", "order-details": "shadow 2 2 0 2", "legacy-reports": "legacy 0 0 0 0"}
	for route, w := range want {
		if got[route] != w {
			t.Errorf("report of %s: %q (stage compared equal different sent); want %q", route, got[route], w)
		}
	}
}

// TestDiffsOfRemovedRoute: a route taken out of the config keeps its
// stored results, which the report still lists; the listing by route
// still finds them, and a name never seen stays unknown.
func TestDiffsOfRemovedRoute(t *testing.T) {
	f := newFixture(t, fixtureOptions{Reports: true})
	f.reportsTraffic()
	details := `  - name: order-details
    match:
      path: "/api/orders/{id:[0-9]+}"
      methods: [GET]
    service: orders
    stage: shadow
`
	if !strings.Contains(reportsRouteFile, details) {
		t.Fatal("the route file changed: update this test")
	}
	f.writeRouteFile(fmt.Sprintf(strings.Replace(reportsRouteFile, details, "", 1), f.monolith.URL, f.orders.URL))
	if r := f.do("POST", "/admin/reload", "", nil); r.Status != http.StatusOK {
		t.Fatalf("reload: %d %s", r.Status, r.Body)
	}
	if _, ok := f.control.Route("order-details"); ok {
		t.Fatal("order-details still configured after the reload")
	}
	var list struct {
		Diffs []struct {
			ID uint64 `json:"id"`
		} `json:"diffs"`
	}
	decode(t, f.do("GET", "/admin/diffs?route=order-details", "", nil), &list)
	if len(list.Diffs) != 2 || list.Diffs[0].ID != 4 || list.Diffs[1].ID != 2 {
		t.Errorf("results of the removed route: %+v; want ids 4 and 2", list.Diffs)
	}
	var rep struct {
		Routes []struct {
			Route string `json:"route"`
			Equal int    `json:"equal"`
		} `json:"routes"`
	}
	decode(t, f.do("GET", "/admin/report", "", nil), &rep)
	listed := false
	for _, r := range rep.Routes {
		listed = listed || (r.Route == "order-details" && r.Equal == 2)
	}
	if !listed {
		t.Errorf("the report no longer lists order-details: %+v", rep.Routes)
	}
	if r := f.do("GET", "/admin/diffs?route=never-seen", "", nil); r.Status != http.StatusNotFound {
		t.Errorf("a route never configured nor seen: status %d, want 404: %s", r.Status, r.Body)
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// TestReportFormats checks the Markdown and HTML renderings: their types,
// that they name the route and the differing paths, and that the
// differing markup value is escaped.
func TestReportFormats(t *testing.T) {
	f := newFixture(t, fixtureOptions{Reports: true})
	f.reportsTraffic()
	t.Run("markdown", func(t *testing.T) {
		for _, q := range []string{"md", "markdown"} {
			r := f.do("GET", "/admin/report?format="+q, "", nil)
			if r.Status != http.StatusOK {
				t.Fatalf("format %s: status %d: %s", q, r.Status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/markdown") {
				t.Errorf("format %s: Content-Type %q, want text/markdown", q, ct)
			}
			checkNoStore(t, r)
			body := string(r.Body)
			for _, want := range []string{"## Route order-list", "## Route order-details", "/customerName",
				`/customer\_name`, "/tags", "| order |", "| missing |", "| extra |", "&lt;script&gt;"} {
				if !strings.Contains(body, want) {
					t.Errorf("format %s lacks %q:\n%s", q, want, body)
				}
			}
			if strings.Contains(body, "<script") {
				t.Errorf("format %s holds raw markup from a differing value:\n%s", q, body)
			}
		}
	})
	t.Run("html", func(t *testing.T) {
		r := f.do("GET", "/admin/report?format=html", "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type %q, want text/html", ct)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q, want default-src 'none'", csp)
		}
		checkNoStore(t, r)
		body := string(r.Body)
		for _, want := range []string{"<code>order-list</code>", "<code>/customerName</code>", "<code>/tags</code>",
			"&lt;script&gt;alert("} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "<script") {
			t.Errorf("the page holds a raw <script> from a differing value:\n%s", body)
		}
	})
}

// checkNoStore checks the headers every admin answer carries: the report
// must not be cached, nor sniffed into another type.
func checkNoStore(t *testing.T, r response) {
	t.Helper()
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if xc := r.Header.Get("X-Content-Type-Options"); xc != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", xc)
	}
}

// TestReportsNotEnabled: without Reports in Deps the three endpoints
// answer 404 with a clear message, whatever the parameters.
func TestReportsNotEnabled(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, path := range []string{"/admin/diffs", "/admin/diffs?route=order-list&limit=0", "/admin/diffs/1",
		"/admin/diffs/abc", "/admin/report", "/admin/report?format=pdf"} {
		r := f.do("GET", path, "", nil)
		if r.Status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404: %s", path, r.Status, r.Body)
			continue
		}
		if msg, _ := r.errorBody(t); msg != "shadow reports are not enabled" {
			t.Errorf("GET %s: error %q, want %q", path, msg, "shadow reports are not enabled")
		}
	}
}

// TestReportsAuth: the diff and report endpoints need the token when one
// is set; with it they answer.
func TestReportsAuth(t *testing.T) {
	const token = "reports-token-0123456789abcdef"
	f := newFixture(t, fixtureOptions{Reports: true, Token: token, LoginLimit: admin.LoginLimit{Burst: 1000}}) // many refusals from one address
	f.reportsTraffic()
	for _, path := range []string{"/admin/diffs", "/admin/diffs/1", "/admin/diffs/abc", "/admin/report",
		"/admin/report?format=html", "/admin/report?format=md"} {
		for _, auth := range []string{"", "Bearer wrong-token", "Basic " + token} {
			r := f.do("GET", path, "", map[string]string{"Authorization": auth})
			if r.Status != http.StatusUnauthorized {
				t.Errorf("GET %s with Authorization %q: status %d, want 401: %s", path, auth, r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), "order-list") || strings.Contains(string(r.Body), "script") {
				t.Errorf("GET %s without the token leaked report data: %s", path, r.Body)
			}
		}
		if path == "/admin/diffs/abc" {
			continue
		}
		if r := f.do("GET", path, "", nil); r.Status != http.StatusOK {
			t.Errorf("GET %s with the token: status %d: %s", path, r.Status, r.Body)
		}
	}
}
