package plan

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	inv := New(Options{})
	for i := range 50 {
		inv.Observe(Sample{Method: "GET", Path: "/api/items/" + strings.Repeat("1", 1+i%3), Status: 200,
			Latency: time.Millisecond, Bytes: 10})
		inv.Observe(Sample{Method: "GET", Path: "/api/cart", Status: 200, Latency: time.Millisecond, Bytes: 10})
	}
	srv := httptest.NewServer(Handler(inv, func() BuildOptions { return BuildOptions{Top: 5} }))
	defer srv.Close()
	tests := []struct {
		name, query, method string
		status              int
		ctype, body         string
	}{
		{"json", "", "GET", 200, "application/json", `"source":"live"`},
		{"markdown", "?format=md", "GET", 200, "text/markdown; charset=utf-8", "## What to carve next"},
		{"top", "?top=1", "GET", 200, "application/json", `"rank":1,`},
		{"bad top", "?top=x", "GET", 400, "", "top: want"},
		{"bad format", "?format=xml", "GET", 400, "", "format: want"},
		{"post", "", "POST", 405, "", "method not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.query, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Fatalf("status %d, want %d; body lacks %q:\n%.300s", res.StatusCode, tt.status, tt.body, body)
			}
			if tt.ctype != "" && res.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("content type %q", res.Header.Get("Content-Type"))
			}
		})
	}
	res, err := http.Get(srv.URL + "?top=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p Plan
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if len(p.Suggestions) != 1 || p.Requests != 100 || p.MemoryBound == 0 {
		t.Errorf("plan: %d suggestions, %d requests, bound %d", len(p.Suggestions), p.Requests, p.MemoryBound)
	}
}
