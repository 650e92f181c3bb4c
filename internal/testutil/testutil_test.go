package testutil

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	var n atomic.Int32
	tests := []struct {
		name  string
		limit time.Duration
		cond  func() bool
		want  bool
	}{
		{"holds at once", time.Second, func() bool { return true }, true},
		{"holds after a few polls", time.Second, func() bool { return n.Add(1) >= 3 }, true},
		{"never holds", 20 * time.Millisecond, func() bool { return false }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := poll(tc.limit, tc.cond); got != tc.want {
				t.Fatalf("poll = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackendSaysWhoItIs(t *testing.T) {
	b := NewBackend(t, "orders")
	for range 2 {
		resp, err := http.Get(b.URL + "/orders/7?x=1")
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Side, Path string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if body.Side != "orders" || body.Path != "/orders/7" || resp.Header.Get("X-Side") != "orders" ||
			resp.Header.Get("X-Seen-Path") != "/orders/7?x=1" {
			t.Fatalf("answer = %+v, headers %v", body, resp.Header)
		}
	}
	if b.Hits() != 2 {
		t.Fatalf("hits = %d, want 2", b.Hits())
	}
}
