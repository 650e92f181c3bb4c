package legacy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
)

func TestShape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"root", "/", "/"},
		{"no ids", "/api/orders/list", "/api/orders/list"},
		{"number", "/api/orders/17", "/api/orders/{id}"},
		{"zero", "/api/orders/0", "/api/orders/{id}"},
		{"several numbers", "/users/42/orders/1001", "/users/{id}/orders/{id}"},
		{"number first", "/17", "/{id}"},
		{"uuid", "/api/users/123e4567-e89b-12d3-a456-426614174000", "/api/users/{id}"},
		{"uuid upper case", "/u/123E4567-E89B-12D3-A456-426614174000/x", "/u/{id}/x"},
		{"long hex", "/blobs/deadbeefdeadbeef", "/blobs/{id}"},
		{"sha1", "/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/commits/{id}"},
		{"hex one short", "/blobs/deadbeefdeadbee", "/blobs/deadbeefdeadbee"},
		{"short hex word", "/api/cafe/add", "/api/cafe/add"},
		{"short words", "/api/v2/orders", "/api/v2/orders"},
		{"alnum not hex", "/api/order17", "/api/order17"},
		{"long non-hex word", "/api/internationalization", "/api/internationalization"},
		{"dash not uuid length", "/a/dead-beef-dead-beef", "/a/dead-beef-dead-beef"},
		{"trailing slash", "/api/orders/17/", "/api/orders/{id}/"},
		{"trailing slash no id", "/api/orders/", "/api/orders/"},
		{"double slash", "/api//17", "/api//{id}"},
		{"no leading slash", "17/items", "{id}/items"},
		{"escaped segment", "/a%2Fb/17", "/a%2Fb/{id}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Shape(tt.in); got != tt.want {
				t.Errorf("Shape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestShapeAllocs(t *testing.T) {
	tests := []struct {
		name string
		path string
		max  float64
	}{
		{"no ids", "/api/orders/list", 0},
		{"root", "/", 0},
		{"long path no ids", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sink string
			allocs := testing.AllocsPerRun(100, func() { sink = Shape(tt.path) })
			if allocs > tt.max {
				t.Errorf("Shape(%q) allocates %v times per run, want <= %v", tt.path, allocs, tt.max)
			}
			if sink != tt.path {
				t.Errorf("Shape(%q) = %q", tt.path, sink)
			}
		})
	}
}

type obs struct{ method, path string }

func TestInventory(t *testing.T) {
	tests := []struct {
		name         string
		max          int
		observe      []obs
		want         []Endpoint
		wantOverflow uint64
	}{
		{
			name:    "empty",
			max:     3,
			observe: nil,
			want:    []Endpoint{},
		},
		{
			name: "ids collapse into one shape",
			max:  3,
			observe: []obs{
				{"GET", "/api/orders/1"}, {"GET", "/api/orders/2"}, {"GET", "/api/orders/3"},
			},
			want: []Endpoint{{Method: "GET", Path: "/api/orders/{id}", Count: 3}},
		},
		{
			name: "methods are separate endpoints",
			max:  3,
			observe: []obs{
				{"GET", "/api/orders/1"}, {"POST", "/api/orders/1"}, {"GET", "/api/orders/9"},
			},
			want: []Endpoint{
				{Method: "GET", Path: "/api/orders/{id}", Count: 2},
				{Method: "POST", Path: "/api/orders/{id}", Count: 1},
			},
		},
		{
			name: "most requested first, ties by path then method",
			max:  10,
			observe: []obs{
				{"GET", "/z"},
				{"GET", "/b"}, {"GET", "/b"},
				{"POST", "/a"}, {"GET", "/a"},
				{"GET", "/c/1"}, {"GET", "/c/2"}, {"GET", "/c/3"},
			},
			want: []Endpoint{
				{Method: "GET", Path: "/c/{id}", Count: 3},
				{Method: "GET", Path: "/b", Count: 2},
				{Method: "GET", Path: "/a", Count: 1},
				{Method: "POST", Path: "/a", Count: 1},
				{Method: "GET", Path: "/z", Count: 1},
			},
		},
		{
			name: "bounded: fourth shape is overflow, known shapes still counted",
			max:  3,
			observe: []obs{
				{"GET", "/one"}, {"GET", "/two"}, {"GET", "/three"},
				{"GET", "/four"}, {"GET", "/four"}, {"DELETE", "/one"},
				{"GET", "/one"}, {"GET", "/two/5"}, {"GET", "/three"},
			},
			want: []Endpoint{
				{Method: "GET", Path: "/one", Count: 2},
				{Method: "GET", Path: "/three", Count: 2},
				{Method: "GET", Path: "/two", Count: 1},
			},
			wantOverflow: 4,
		},
		{
			name:         "default bound for non-positive max",
			max:          0,
			observe:      []obs{{"GET", "/x"}},
			want:         []Endpoint{{Method: "GET", Path: "/x", Count: 1}},
			wantOverflow: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := NewInventory(tt.max)
			for _, o := range tt.observe {
				inv.Observe(o.method, o.path)
			}
			got, overflow := inv.Snapshot()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Snapshot() endpoints = %+v, want %+v", got, tt.want)
			}
			if overflow != tt.wantOverflow {
				t.Errorf("Snapshot() overflow = %d, want %d", overflow, tt.wantOverflow)
			}
		})
	}
}

// TestSnapshotOrderDeterministic: endpoints with equal counts are ordered
// by path, then method, even when path+method concatenate to the same
// string ("/aX"+"GET" == "/a"+"XGET").
func TestSnapshotOrderDeterministic(t *testing.T) {
	want := []Endpoint{
		{Method: "XGET", Path: "/a", Count: 1},
		{Method: "GET", Path: "/aX", Count: 1},
		{Method: "POST", Path: "/api/orders", Count: 1},
		{Method: "GET", Path: "/api/orders/{id}/", Count: 1},
	}
	for i := range 50 {
		inv := NewInventory(10)
		for _, o := range []obs{{"GET", "/api/orders/1/"}, {"GET", "/aX"}, {"POST", "/api/orders"}, {"XGET", "/a"}} {
			inv.Observe(o.method, o.path)
		}
		if got, _ := inv.Snapshot(); !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: Snapshot() = %+v, want %+v", i, got, want)
		}
	}
}

func TestNewInventoryDefaultMax(t *testing.T) {
	for _, max := range []int{0, -1} {
		if inv := NewInventory(max); inv.max != DefaultMaxEndpoints {
			t.Errorf("NewInventory(%d).max = %d, want %d", max, inv.max, DefaultMaxEndpoints)
		}
	}
}

func TestInventoryNilObserve(t *testing.T) {
	var inv *Inventory
	inv.Observe("GET", "/x") // must not panic
}

func TestHandler(t *testing.T) {
	inv := NewInventory(10)
	var mu sync.Mutex
	var seen []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(Handler(next, inv))
	defer srv.Close()

	requests := []struct {
		method, path string
	}{
		{http.MethodGet, "/api/orders/17"},
		{http.MethodGet, "/api/orders/18?page=2"},
		{http.MethodPost, "/api/orders"},
		{http.MethodGet, "/api/a%2Fb"},
		{http.MethodDelete, "/api/users/123e4567-e89b-12d3-a456-426614174000"},
		{http.MethodGet, "/api/orders/19/"},
	}
	for _, rq := range requests {
		req, err := http.NewRequest(rq.method, srv.URL+rq.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", rq.method, rq.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s %s: status %d, want %d (next handler not called?)", rq.method, rq.path, resp.StatusCode, http.StatusTeapot)
		}
	}
	mu.Lock()
	if len(seen) != len(requests) {
		t.Errorf("next saw %d requests, want %d: %v", len(seen), len(requests), seen)
	}
	mu.Unlock()

	got, overflow := inv.Snapshot()
	want := []Endpoint{
		{Method: "GET", Path: "/api/orders/{id}", Count: 2},
		{Method: "GET", Path: "/api/a%2Fb", Count: 1},
		{Method: "POST", Path: "/api/orders", Count: 1},
		{Method: "GET", Path: "/api/orders/{id}/", Count: 1},
		{Method: "DELETE", Path: "/api/users/{id}", Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Snapshot() = %+v\nwant %+v", got, want)
	}
	if overflow != 0 {
		t.Errorf("overflow = %d, want 0", overflow)
	}
}

func TestInventoryConcurrent(t *testing.T) {
	const (
		workers = 16
		perW    = 500
		max     = 8
	)
	inv := NewInventory(max)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// A reader snapshots while writers observe.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			eps, _ := inv.Snapshot()
			if len(eps) > max {
				t.Errorf("Snapshot has %d endpoints, max %d", len(eps), max)
				return
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perW {
				// 12 shapes across workers: 8 fit, the rest overflow.
				inv.Observe("GET", fmt.Sprintf("/shape%d/%d", (w+i)%12, i))
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-readerDone

	eps, overflow := inv.Snapshot()
	if len(eps) != max {
		t.Errorf("got %d endpoints, want %d", len(eps), max)
	}
	var total uint64
	for _, e := range eps {
		total += e.Count
	}
	if total+overflow != workers*perW {
		t.Errorf("counted %d + overflow %d = %d, want %d", total, overflow, total+overflow, workers*perW)
	}
	if overflow == 0 {
		t.Errorf("overflow = 0, want > 0 with 12 shapes and max %d", max)
	}
}
