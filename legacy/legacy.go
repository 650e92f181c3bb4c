// Package legacy is the monolith's side of strangler: the default upstream
// that serves every request no route claims, and an inventory of the
// endpoints it was asked for, which tells a team what is left to migrate.
package legacy

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultMaxEndpoints bounds the inventory.
const DefaultMaxEndpoints = 1000

// Handler wraps next (the monolith's proxy) so that every request it
// serves is counted in inv.
func Handler(next http.Handler, inv *Inventory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv.Observe(r.Method, r.URL.EscapedPath())
		next.ServeHTTP(w, r)
	})
}

// Endpoint is one observed method and path shape.
type Endpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"` // id-like segments replaced by {id}
	Count  uint64 `json:"count"`
}

type endpointKey struct{ method, path string }

// Inventory counts unmatched requests by method and path shape. It is
// bounded: once full, new shapes are only counted as overflow.
type Inventory struct {
	max      int
	mu       sync.RWMutex
	counts   map[endpointKey]*atomic.Uint64
	overflow atomic.Uint64
}

// NewInventory returns an Inventory holding at most max shapes.
func NewInventory(max int) *Inventory {
	if max <= 0 {
		max = DefaultMaxEndpoints
	}
	return &Inventory{max: max, counts: make(map[endpointKey]*atomic.Uint64)}
}

// Observe counts one request.
func (inv *Inventory) Observe(method, path string) {
	if inv == nil {
		return
	}
	k := endpointKey{method: method, path: Shape(path)}
	inv.mu.RLock()
	c := inv.counts[k] // nearly always there: unmatched requests share a read lock
	full := len(inv.counts) >= inv.max
	inv.mu.RUnlock()
	if c == nil && !full { // shapes are never removed: once full, always full
		c = inv.add(k)
	}
	if c == nil {
		inv.overflow.Add(1)
		return
	}
	c.Add(1)
}

// add inserts k if there is room and returns its counter (nil when full).
func (inv *Inventory) add(k endpointKey) *atomic.Uint64 {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if c, ok := inv.counts[k]; ok {
		return c
	}
	if len(inv.counts) >= inv.max {
		return nil
	}
	c := new(atomic.Uint64)
	inv.counts[endpointKey{method: strings.Clone(k.method), path: strings.Clone(k.path)}] = c
	return c
}

// Snapshot returns the endpoints, most requested first, and the count of
// requests whose shape did not fit.
func (inv *Inventory) Snapshot() ([]Endpoint, uint64) {
	inv.mu.RLock()
	out := make([]Endpoint, 0, len(inv.counts))
	for k, c := range inv.counts {
		out = append(out, Endpoint{Method: k.method, Path: k.path, Count: c.Load()})
	}
	inv.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, inv.overflow.Load()
}

// Shape replaces id-like path segments (numbers, UUIDs, long hex strings)
// with {id}, so /api/orders/17 and /api/orders/18 count as one endpoint.
// A path with no such segment is returned as is, without allocating.
func Shape(path string) string {
	found := false
	for seg := range strings.SplitSeq(path, "/") {
		if isID(seg) {
			found = true
			break
		}
	}
	if !found {
		return path
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if isID(seg) {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// isID reports whether a segment looks like an identifier: all digits, a
// UUID, or 16+ hex digits.
func isID(seg string) bool {
	if seg == "" {
		return false
	}
	digits, hex := true, true
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		isDigit := c >= '0' && c <= '9'
		isHex := isDigit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
		digits = digits && isDigit
		hex = hex && (isHex || (c == '-' && len(seg) == 36))
	}
	return digits || (hex && len(seg) >= 16)
}
