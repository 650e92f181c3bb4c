package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call performs a real HTTP request against srv.
func call(t *testing.T, srv *httptest.Server, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

// object decodes a JSON object body into a generic map.
func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// hasKeys fails unless m has exactly the given keys.
func hasKeys(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	if len(got) != len(keys) {
		t.Errorf("keys = %v, want %v", got, keys)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("missing key %q in %v", k, m)
		}
	}
}

var (
	monolithOrderKeys = []string{"id", "user_id", "status", "items", "total", "currency", "created_at", "request_id", "served_at"}
	serviceOrderKeys  = []string{"id", "user_id", "state", "items", "total", "total_cents", "currency", "created_at", "request_id", "served_at"}
)

type endpointCase struct {
	name, method, path, body string
	status                   int
	ctype                    string
	check                    func(t *testing.T, r response)
}

func runEndpoints(t *testing.T, h http.Handler, servedBy string, cases []endpointCase) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.status, r.body)
			}
			if got := r.header.Get("X-Served-By"); got != servedBy {
				t.Errorf("X-Served-By = %q, want %q", got, servedBy)
			}
			if tc.ctype != "" && !strings.HasPrefix(r.header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type = %q, want %q", r.header.Get("Content-Type"), tc.ctype)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func errorIs(msg string) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		m := r.object(t)
		hasKeys(t, m, "error")
		if m["error"] != msg {
			t.Errorf("error = %q, want %q", m["error"], msg)
		}
	}
}

func TestMonolithEndpoints(t *testing.T) {
	const js = "application/json"
	runEndpoints(t, NewMonolith(), "monolith", []endpointCase{
		{"index", "GET", "/", "", 200, "text/html", func(t *testing.T, r response) {
			for _, want := range []string{"Bookshop (legacy monolith)", `href="/api/products/1"`, `href="/api/products/6"`} {
				if !strings.Contains(string(r.body), want) {
					t.Errorf("page lacks %q", want)
				}
			}
		}},
		{"healthz", "GET", "/healthz", "", 200, "text/plain", func(t *testing.T, r response) {
			if string(r.body) != "ok" {
				t.Errorf("body = %q", r.body)
			}
		}},
		{"products", "GET", "/api/products", "", 200, js, func(t *testing.T, r response) {
			m := r.object(t)
			hasKeys(t, m, "products", "count", "generated_at")
			if n := len(m["products"].([]any)); n != 6 || m["count"] != float64(n) {
				t.Errorf("products = %d, count = %v", n, m["count"])
			}
			if _, err := time.Parse(time.RFC3339Nano, m["generated_at"].(string)); err != nil {
				t.Error(err)
			}
		}},
		{"product", "GET", "/api/products/1", "", 200, js, func(t *testing.T, r response) {
			var p productView
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			want := productView{1, "Working Effectively with Legacy Code", "Michael Feathers", 12.5, "EUR", []string{"legacy", "refactoring"}, 3}
			if !reflect.DeepEqual(p, want) {
				t.Errorf("product = %+v, want %+v", p, want)
			}
			hasKeys(t, r.object(t), "id", "title", "author", "price", "currency", "tags", "stock")
		}},
		{"user", "GET", "/api/users/2", "", 200, js, func(t *testing.T, r response) {
			m := r.object(t)
			hasKeys(t, m, "id", "name", "email", "member_since")
			if m["name"] != "Grace Hopper" {
				t.Errorf("name = %v", m["name"])
			}
		}},
		{"orders", "GET", "/api/orders", "", 200, js, func(t *testing.T, r response) {
			var l struct{ Orders []map[string]any }
			_ = json.Unmarshal(r.body, &l)
			if len(l.Orders) != 5 {
				t.Fatalf("orders = %d, want 5", len(l.Orders))
			}
			hasKeys(t, l.Orders[0], monolithOrderKeys[:7]...)
		}},
		{"orders by user", "GET", "/api/orders?user=2", "", 200, js, func(t *testing.T, r response) {
			var l struct{ Orders []struct{ ID, UserID int } }
			_ = json.Unmarshal(r.body, &l)
			if len(l.Orders) != 2 || l.Orders[0].ID != 1002 || l.Orders[1].ID != 1005 {
				t.Errorf("orders = %+v", l.Orders)
			}
		}},
		{"orders unknown user", "GET", "/api/orders?user=99", "", 200, js, func(t *testing.T, r response) {
			if strings.TrimSpace(string(r.body)) != `{"orders":[]}` {
				t.Errorf("body = %s", r.body)
			}
		}},
		{"order", "GET", "/api/orders/1001", "", 200, js, func(t *testing.T, r response) {
			m := r.object(t)
			hasKeys(t, m, monolithOrderKeys...)
			if m["status"] != "shipped" || m["total"] != 25.0 || m["currency"] != "EUR" {
				t.Errorf("order = %v", m)
			}
		}},
		{"bad user filter", "GET", "/api/orders?user=x", "", 400, js, errorIs(`invalid user filter "x"`)},
		{"bad order id", "GET", "/api/orders/abc", "", 400, js, errorIs(`invalid order id "abc"`)},
		{"unknown product", "GET", "/api/products/99", "", 404, js, errorIs("product not found")},
		{"unknown user", "GET", "/api/users/99", "", 404, js, errorIs("user not found")},
		{"unknown order", "GET", "/api/orders/1", "", 404, js, errorIs("order not found")},
		{"unknown route", "GET", "/nope", "", 404, "", nil},
		{"wrong method", "DELETE", "/api/orders/1001", "", 405, "", nil},
	})
}

func TestOrdersEndpoints(t *testing.T) {
	const js = "application/json"
	runEndpoints(t, NewOrders(), "orders", []endpointCase{
		{"healthz", "GET", "/healthz", "", 200, "text/plain", nil},
		{"orders", "GET", "/api/orders", "", 200, js, func(t *testing.T, r response) {
			var l struct{ Orders []map[string]any }
			_ = json.Unmarshal(r.body, &l)
			if len(l.Orders) != 5 {
				t.Fatalf("orders = %d, want 5", len(l.Orders))
			}
			hasKeys(t, l.Orders[0], serviceOrderKeys[:8]...)
		}},
		{"orders by user", "GET", "/api/orders?user=1", "", 200, js, func(t *testing.T, r response) {
			var l struct{ Orders []struct{ ID int } }
			_ = json.Unmarshal(r.body, &l)
			if len(l.Orders) != 2 || l.Orders[0].ID != 1001 || l.Orders[1].ID != 1003 {
				t.Errorf("orders = %+v", l.Orders)
			}
		}},
		{"order", "GET", "/api/orders/1001", "", 200, js, func(t *testing.T, r response) {
			m := r.object(t)
			hasKeys(t, m, serviceOrderKeys...)
			if m["state"] != "shipped" || m["total"] != 25.0 || m["total_cents"] != 2500.0 {
				t.Errorf("order = %v", m)
			}
		}},
		{"unknown order", "GET", "/api/orders/9999", "", 404, js, errorIs("order not found")},
		{"no products", "GET", "/api/products", "", 404, "", nil},
	})
}

// pair starts a monolith and an orders service.
func pair(t *testing.T) (mono, svc *httptest.Server) {
	mono = httptest.NewServer(NewMonolith())
	svc = httptest.NewServer(NewOrders())
	t.Cleanup(mono.Close)
	t.Cleanup(svc.Close)
	return mono, svc
}

func TestCreateValidation(t *testing.T) {
	mono, svc := pair(t)
	cases := []struct {
		name, body string
		status     int
		errPrefix  string
	}{
		{"malformed", `{"user_id":1,`, 400, "invalid JSON body"},
		{"not an object", `[1,2]`, 400, "invalid JSON body"},
		{"trailing data", `{"user_id":1,"items":[{"product_id":1,"qty":1}]} {}`, 400, "invalid JSON body"},
		{"unknown field", `{"user_id":1,"items":[{"product_id":1,"qty":1}],"coupon":"x"}`, 400, "invalid JSON body: json: unknown field"},
		{"unknown user", `{"user_id":42,"items":[{"product_id":1,"qty":1}]}`, 400, "unknown user 42"},
		{"no items", `{"user_id":1,"items":[]}`, 400, "items must not be empty"},
		{"unknown product", `{"user_id":1,"items":[{"product_id":77,"qty":1}]}`, 400, "items[0]: unknown product 77"},
		{"zero qty", `{"user_id":1,"items":[{"product_id":1,"qty":0}]}`, 400, "items[0]: qty must be"},
		{"negative qty", `{"user_id":1,"items":[{"product_id":2,"qty":1},{"product_id":1,"qty":-3}]}`, 400, "items[1]: qty must be"},
		{"too large", `{"user_id":1,"pad":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, "request body exceeds 1 MiB"},
	}
	for _, srv := range []*httptest.Server{mono, svc} {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := call(t, srv, "POST", "/api/orders", tc.body)
				if r.status != tc.status {
					t.Fatalf("status = %d, want %d; body %s", r.status, tc.status, r.body)
				}
				if msg, _ := r.object(t)["error"].(string); !strings.HasPrefix(msg, tc.errPrefix) {
					t.Errorf("error = %q, want prefix %q", msg, tc.errPrefix)
				}
			})
		}
		if r := call(t, srv, "GET", "/api/orders", ""); strings.Count(string(r.body), `"id"`) != 5 {
			t.Errorf("rejected POSTs created orders: %s", r.body)
		}
	}
}

func TestCreate(t *testing.T) {
	mono, svc := pair(t)
	body := `{"user_id":3,"items":[{"product_id":1,"qty":1},{"product_id":6,"qty":2}]}`
	for _, srv := range []*httptest.Server{mono, svc} {
		for want := 1006; want <= 1007; want++ {
			r := call(t, srv, "POST", "/api/orders", body)
			if r.status != http.StatusCreated {
				t.Fatalf("status = %d; body %s", r.status, r.body)
			}
			m := r.object(t)
			if m["id"] != float64(want) || m["total"] != 72.48 || m["currency"] != "EUR" || m["user_id"] != 3.0 {
				t.Errorf("created = %v, want id %d total 72.48", m, want)
			}
			if g := call(t, srv, "GET", fmt.Sprintf("/api/orders/%d", want), ""); g.status != 200 {
				t.Errorf("GET created order: status %d", g.status)
			}
		}
	}
}

// fetchOrder GETs one order from srv into a generic map.
func fetchOrder(t *testing.T, srv *httptest.Server, id int) map[string]any {
	t.Helper()
	r := call(t, srv, "GET", fmt.Sprintf("/api/orders/%d", id), "")
	if r.status != 200 {
		t.Fatalf("GET order %d: status %d", id, r.status)
	}
	return r.object(t)
}

func productIDs(m map[string]any) []float64 {
	var ids []float64
	for _, it := range m["items"].([]any) {
		ids = append(ids, it.(map[string]any)["product_id"].(float64))
	}
	return ids
}

func TestDifferences(t *testing.T) {
	mono, svc := pair(t)
	for _, id := range []int{1001, 1002, 1003, 1004, 1005} {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			m, s := fetchOrder(t, mono, id), fetchOrder(t, svc, id)
			if m["status"] == nil || s["status"] != nil || s["state"] != m["status"] {
				t.Errorf("renamed field: status=%v state=%v", m["status"], s["state"])
			}
			if m["total_cents"] != nil || s["total_cents"] != float64(int(m["total"].(float64)*100+0.5)) {
				t.Errorf("extra field: total=%v total_cents=%v", m["total"], s["total_cents"])
			}
			mi, si := productIDs(m), productIDs(s)
			for i := range mi {
				if mi[i] != si[len(si)-1-i] || (i > 0 && mi[i-1] >= mi[i]) {
					t.Errorf("items order: monolith %v, orders %v", mi, si)
					break
				}
			}
			if m["request_id"] == s["request_id"] || m["served_at"] == "" || s["served_at"] == "" {
				t.Errorf("noise: %v/%v", m["request_id"], s["request_id"])
			}
			wantCur := "EUR"
			if id == 1003 {
				wantCur = "USD"
			}
			if m["currency"] != "EUR" || s["currency"] != wantCur {
				t.Errorf("currency: monolith %v, orders %v", m["currency"], s["currency"])
			}
			for _, k := range []string{"id", "user_id", "total", "created_at"} {
				if m[k] != s[k] {
					t.Errorf("%s: monolith %v, orders %v", k, m[k], s[k])
				}
			}
		})
	}
	a, b := fetchOrder(t, mono, 1001), fetchOrder(t, mono, 1001)
	if a["request_id"] == b["request_id"] || a["served_at"] == b["served_at"] {
		t.Errorf("noise not per call: %v %v", a, b)
	}
}

func TestFaults(t *testing.T) {
	f := &Faults{}
	srv := httptest.NewServer(NewOrdersWithFaults(f))
	defer srv.Close()

	t.Run("bug on by default", func(t *testing.T) {
		if c := fetchOrder(t, srv, 1003)["currency"]; c != "USD" {
			t.Errorf("currency = %v, want USD", c)
		}
	})
	t.Run("bug off", func(t *testing.T) {
		f.SetBug(false)
		defer f.SetBug(true)
		if c := fetchOrder(t, srv, 1003)["currency"]; c != "EUR" {
			t.Errorf("currency = %v, want EUR", c)
		}
	})
	t.Run("latency", func(t *testing.T) {
		f.SetLatency(80 * time.Millisecond)
		defer f.SetLatency(0)
		start := time.Now()
		call(t, srv, "GET", "/healthz", "")
		if d := time.Since(start); d < 80*time.Millisecond {
			t.Errorf("took %v, want >= 80ms", d)
		}
	})
	for _, tc := range []struct{ set, want int }{{503, 503}, {418, 418}, {200, 500}, {-1, 500}} {
		t.Run(fmt.Sprintf("failing %d", tc.set), func(t *testing.T) {
			f.SetFailing(tc.set)
			defer f.SetFailing(0)
			for _, p := range []string{"/healthz", "/api/orders/1001"} {
				r := call(t, srv, "GET", p, "")
				if r.status != tc.want || r.header.Get("X-Served-By") != "orders" {
					t.Errorf("%s: status = %d, want %d", p, r.status, tc.want)
				}
				if msg, _ := r.object(t)["error"].(string); !strings.HasPrefix(msg, "injected failure") {
					t.Errorf("error = %q", msg)
				}
			}
		})
	}
	t.Run("healthy again", func(t *testing.T) {
		if r := call(t, srv, "GET", "/healthz", ""); r.status != 200 {
			t.Errorf("status = %d", r.status)
		}
	})
	t.Run("nil faults", func(t *testing.T) {
		s := httptest.NewServer(NewOrdersWithFaults(nil))
		defer s.Close()
		if c := fetchOrder(t, s, 1003)["currency"]; c != "USD" {
			t.Errorf("currency = %v, want USD", c)
		}
	})
}

func TestConcurrentCreates(t *testing.T) {
	mono, svc := pair(t)
	const n = 40
	for _, srv := range []*httptest.Server{mono, svc} {
		ids := make(chan float64, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				id, err := postOrder(srv)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- id
			})
			wg.Go(func() { // concurrent reads alongside the writes
				if res, err := srv.Client().Get(srv.URL + "/api/orders"); err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			})
		}
		wg.Wait()
		close(ids)
		seen := map[float64]bool{}
		for id := range ids {
			if seen[id] || id < 1006 || id >= 1006+n {
				t.Errorf("bad or duplicate id %v", id)
			}
			seen[id] = true
		}
		if len(seen) != n {
			t.Errorf("created %d orders, want %d", len(seen), n)
		}
	}
}

// postOrder creates a one-line order without touching testing.T (it runs in
// goroutines) and returns the new id.
func postOrder(srv *httptest.Server) (float64, error) {
	res, err := srv.Client().Post(srv.URL+"/api/orders", "application/json",
		strings.NewReader(`{"user_id":1,"items":[{"product_id":3,"qty":1}]}`))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var o struct{ ID float64 }
	if err := json.NewDecoder(res.Body).Decode(&o); err != nil || res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("POST: status %d, decode error %v", res.StatusCode, err)
	}
	return o.ID, nil
}

// TestFamilies: the extra monolith families answer as documented.
func TestFamilies(t *testing.T) {
	srv := httptest.NewServer(NewMonolith())
	defer srv.Close()
	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/api/reviews?product=2", "", 200, `"product_id":2`},
		{"GET", "/api/reviews?product=x", "", 400, "product"},
		{"GET", "/api/reviews/21", "", 200, `"id":21`},
		{"GET", "/api/search?q=release", "", 200, "Release It!"},
		{"GET", "/api/shipping/rates?zip=10115", "", 200, `"zip":"10115"`},
		{"GET", "/api/invoices/7", "", 200, `"id":7`},
		{"GET", "/api/invoices/10", "", 500, "invoice renderer failed"},
		{"POST", "/api/cart/items", `{"product_id":1,"qty":2}`, 201, `"qty":2`},
	}
	for _, tt := range tests {
		r := call(t, srv, tt.method, tt.path, tt.body)
		if r.status != tt.status || !strings.Contains(string(r.body), tt.want) {
			t.Errorf("%s %s: %d %s; want %d with %q", tt.method, tt.path, r.status, r.body, tt.status, tt.want)
		}
	}
}

// TestOrderPages: both backends render the order page with the same
// content but the total written differently, and fresh noise each time.
func TestOrderPages(t *testing.T) {
	mono, svc := httptest.NewServer(NewMonolith()), httptest.NewServer(NewOrders())
	defer mono.Close()
	defer svc.Close()
	a, b, c := call(t, mono, "GET", "/orders/1002", ""), call(t, mono, "GET", "/orders/1002", ""), call(t, svc, "GET", "/orders/1002", "")
	for _, r := range []response{a, b, c} {
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("order page: %d %q", r.status, r.header.Get("Content-Type"))
		}
	}
	if string(a.body) == string(b.body) {
		t.Error("two monolith answers are identical: no CSRF token or time to learn as noise")
	}
	total := regexp.MustCompile(`class=.total.>([^<]*)<`)
	mt, st := total.FindSubmatch(a.body), total.FindSubmatch(c.body)
	if mt == nil || st == nil || !strings.HasSuffix(string(mt[1]), " EUR") ||
		"€"+strings.TrimSuffix(string(mt[1]), " EUR") != string(st[1]) {
		t.Errorf("totals: monolith %q, service %q; want 12.34 EUR and €12.34", mt, st)
	}
	if r := call(t, mono, "GET", "/orders/999", ""); r.status != 404 {
		t.Errorf("unknown order page: %d", r.status)
	}
}
