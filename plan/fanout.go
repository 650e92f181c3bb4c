package plan

import (
	"math"
	"sync"
)

// fanout learns, for each parent prefix of a shape, how many distinct
// values the next path segment takes, so that a position with many values
// (user names, slugs) becomes {id} while its few frequent values
// (/api/users/me) stay themselves.
//
// It is a fixed table: fanoutSets sets of fanoutWays parents each. A
// parent missing from its set replaces the one seen least, so prefixes
// that carry traffic stay and one-off prefixes come and go. Each parent
// holds a linear-counting bitmap (distinct children) and a Space-Saving
// summary of its topChildren most frequent children.
type fanout struct {
	sets []fanoutSet
	// zerosBelow: the position is variable once fewer bitmap bits than
	// this are still zero (linear counting estimate above the threshold).
	zerosBelow int
	keepShare  float64
	keepMin    uint64
}

const (
	fanoutWays  = 8
	bitmapWords = 16 // 1024 bits
	bitmapBits  = bitmapWords * 64
	topChildren = 8
)

type fanoutSet struct {
	mu   sync.Mutex
	ways [fanoutWays]parentStat
}

type childCount struct {
	hash       uint64
	count, err uint64
}

type parentStat struct {
	hash   uint64 // 0: empty
	total  uint64
	zeros  int
	bitmap [bitmapWords]uint64
	top    [topChildren]childCount
}

// newFanout sizes the table for about parents prefixes; variableAfter is
// the number of distinct values that makes a position variable; a value
// stays literal there while its share of the parent's traffic is at least
// keepShare (and it was seen keepMin times).
func newFanout(parents, variableAfter int, keepShare float64, keepMin uint64) *fanout {
	nsets := max(1, parents/fanoutWays)
	// Linear counting: n = -m ln(z/m), so n > N when z < m e^(-N/m).
	z := int(float64(bitmapBits) * math.Exp(-float64(variableAfter)/bitmapBits))
	return &fanout{sets: make([]fanoutSet, nsets), zerosBelow: z, keepShare: keepShare, keepMin: keepMin}
}

// observe counts child under parent and reports whether the child should
// be generalised to {id}.
func (f *fanout) observe(parent, child uint64) bool {
	s := &f.sets[parent%uint64(len(f.sets))]
	s.mu.Lock()
	p := s.find(parent, true)
	p.add(child)
	v := f.variable(p, child)
	s.mu.Unlock()
	return v
}

// decide reports, without counting, whether child is generalised under
// parent.
func (f *fanout) decide(parent, child uint64) bool {
	s := &f.sets[parent%uint64(len(f.sets))]
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.find(parent, false)
	return p != nil && f.variable(p, child)
}

// find returns parent's stat; with create it makes room by replacing the
// least seen parent of the set.
func (s *fanoutSet) find(parent uint64, create bool) *parentStat {
	if parent == 0 {
		parent = 1
	}
	victim := &s.ways[0]
	for i := range s.ways {
		w := &s.ways[i]
		if w.hash == parent {
			return w
		}
		if w.total < victim.total {
			victim = w
		}
	}
	if !create {
		return nil
	}
	*victim = parentStat{hash: parent, zeros: bitmapBits}
	return victim
}

func (p *parentStat) add(child uint64) {
	p.total++
	b := mix(child) % bitmapBits
	if w, m := b/64, uint64(1)<<(b%64); p.bitmap[w]&m == 0 {
		p.bitmap[w] |= m
		p.zeros--
	}
	minI := 0
	for i := range p.top {
		c := &p.top[i]
		if c.hash == child && c.count > 0 {
			c.count++
			return
		}
		if c.count < p.top[minI].count {
			minI = i
		}
	}
	c := &p.top[minI]
	*c = childCount{hash: child, count: c.count + 1, err: c.count}
}

// variable reports whether child is generalised: the position has many
// distinct values and child is not one of its frequent ones.
func (f *fanout) variable(p *parentStat, child uint64) bool {
	if p.zeros >= f.zerosBelow {
		return false
	}
	for i := range p.top {
		c := &p.top[i]
		if c.hash == child && c.count > 0 {
			sure := c.count - c.err
			return sure < f.keepMin || float64(sure) < f.keepShare*float64(p.total)
		}
	}
	return true
}
