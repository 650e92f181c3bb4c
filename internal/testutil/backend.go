package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// Backend is a test upstream that says who it is: every answer carries
// X-Side (its name) and X-Seen-Path (the request URI it received), and a
// JSON body {"side":name,"path":path}. It counts the requests it served.
type Backend struct {
	*httptest.Server
	Name string
	hits atomic.Int64
}

// NewBackend starts a Backend named name, closed when the test ends.
func NewBackend(t testing.TB, name string) *Backend {
	t.Helper()
	b := &Backend{Name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

// Hits is how many requests the backend has served.
func (b *Backend) Hits() int64 { return b.hits.Load() }

func (b *Backend) serve(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("X-Side", b.Name)
	w.Header().Set("X-Seen-Path", r.URL.RequestURI())
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"side":`+strconv.Quote(b.Name)+`,"path":`+strconv.Quote(r.URL.Path)+`}`)
}
