// Package plan is strangler's migration planner: it learns the monolith's
// surface from traffic (live, or from an access log), ranks what to carve
// next, checks the route table's hygiene and renders the result as JSON or
// Markdown.
package plan

import (
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Sample is one request as the planner sees it.
type Sample struct {
	Method      string
	Path        string // escaped path; a query string is dropped
	Status      int
	Latency     time.Duration // < 0: unknown
	Bytes       int64         // response body bytes; < 0: unknown
	ContentType string
	Route       string // the route that claimed the request, "" for none
	Stage       string // that route's stage
	Service     bool   // the route's service answered (not the monolith)
	Time        time.Time
}

// Options sizes an Inventory. Zero fields take the defaults.
type Options struct {
	// Shapes is the number of method+shape entries kept (default 8192).
	Shapes int
	// Parents is the number of path prefixes whose child values are
	// counted to find variable positions (default 4096).
	Parents int
	// VariableAfter is the number of distinct values after which a path
	// position is taken as variable ({id}) (default 256).
	VariableAfter int
	// KeepShare keeps a value literal at a variable position while it
	// carries at least this share of its parent's requests (default 0.02).
	KeepShare float64
	// KeepMin is the fewest requests such a value needs (default 50).
	KeepMin uint64
}

// Defaults for Options.
const (
	DefaultShapes        = 8192
	DefaultParents       = 4096
	DefaultVariableAfter = 256
	DefaultKeepShare     = 0.02
	DefaultKeepMin       = 50
)

const shapeWays = 16

func (o Options) withDefaults() Options {
	if o.Shapes <= 0 {
		o.Shapes = DefaultShapes
	}
	if o.Parents <= 0 {
		o.Parents = DefaultParents
	}
	if o.VariableAfter <= 0 {
		o.VariableAfter = DefaultVariableAfter
	}
	if o.KeepShare <= 0 {
		o.KeepShare = DefaultKeepShare
	}
	if o.KeepMin == 0 {
		o.KeepMin = DefaultKeepMin
	}
	return o
}

// Inventory is the monolith's surface learned from traffic: per method and
// path shape, requests, errors, latency, size, content type, first and last
// seen, and the route that claims it.
//
// It is bounded whatever the traffic. Shapes live in a set-associative
// Space-Saving sketch: Options.Shapes entries in sets of 16; a new shape
// replaces the least counted entry of its set and inherits its count, so
// frequent shapes stay and counts are over-estimated by at most the
// replaced count (reported as Overcount). Each entry is a fixed
// EntryBytes plus its shape text (at most MaxShapeLen bytes); the prefix
// table that finds variable positions is Options.Parents × ParentBytes.
// Content type, route and stage texts add at most 288 bytes per entry.
// With the defaults that is at most 8192 × (408 + 256 + 288) +
// 4096 × 344 bytes, about 9 MB (MemoryBound), allocated up front except
// for the texts.
//
// Observe is safe for concurrent use and does not allocate for a shape
// already present.
type Inventory struct {
	opts    Options
	sets    []shapeSet
	fan     *fanout
	started time.Time
}

type shapeSet struct {
	mu      sync.Mutex
	entries [shapeWays]entry
}

// EntryBytes is the fixed size of one shape entry, without its texts.
const EntryBytes = int(unsafe.Sizeof(entry{}))

// ParentBytes is the size of one prefix entry of the variable-position
// table.
const ParentBytes = int(unsafe.Sizeof(parentStat{}))

// New returns an empty Inventory sized by opts.
func New(opts Options) *Inventory {
	opts = opts.withDefaults()
	nsets := max(1, opts.Shapes/shapeWays)
	return &Inventory{
		opts:    opts,
		sets:    make([]shapeSet, nsets),
		fan:     newFanout(opts.Parents, opts.VariableAfter, opts.KeepShare, opts.KeepMin),
		started: time.Now(),
	}
}

// MemoryBound returns the most memory the inventory holds, in bytes.
func (inv *Inventory) MemoryBound() int {
	return len(inv.sets)*shapeWays*(EntryBytes+MaxShapeLen+maxTextLen) + len(inv.fan.sets)*fanoutWays*ParentBytes
}

// Observe counts one request. It never blocks for long: one short lock
// per path segment (prefix table) and one for the shape.
func (inv *Inventory) Observe(s Sample) {
	if inv == nil {
		return
	}
	path := trimQuery(s.Path)
	var kinds [MaxSegments]segKind
	n := 0
	h := uint64(fnvOffset)
	rest := strings.TrimPrefix(path, "/")
	for more := true; more && n < MaxSegments; n++ {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		k := classify(seg)
		// Only literal values are counted: a placeholder needs no decision.
		if k == kindLiteral && inv.fan.observe(mix(h), hashString(fnvOffset, seg)) {
			k = kindVariable
		}
		kinds[n] = k
		h = hashSegment(h, seg, k)
	}
	key := mix(hashString(h^'|', s.Method))
	if key == 0 {
		key = 1
	}
	set := &inv.sets[key%uint64(len(inv.sets))]
	now := s.Time
	if now.IsZero() {
		now = time.Now()
	}
	set.mu.Lock()
	e := set.find(key)
	if e.key != key {
		e.reset(key, s.Method, buildShape(path, kinds[:n]))
	}
	e.add(&s, now.UnixNano())
	set.mu.Unlock()
}

// find returns the entry for key, or the least counted entry of the set
// (which the caller replaces).
func (s *shapeSet) find(key uint64) *entry {
	victim := &s.entries[0]
	for i := range s.entries {
		e := &s.entries[i]
		if e.key == key {
			return e
		}
		if e.count < victim.count {
			victim = e
		}
	}
	return victim
}
