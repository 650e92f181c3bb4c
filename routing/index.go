package routing

import "strings"

// node is a trie over literal path segments. Each route is registered at
// the node of its literal leading segments; a node's candidates are its own
// routes plus every ancestor's, in match (file) order. A lookup walks the
// request path as far as the trie goes and tries only that node's
// candidates, so its cost follows the routes that share the path's
// literal start, not the size of the table.
type node struct {
	children   map[string]*node
	own        []int
	candidates []int // own + ancestors', ascending
}

func buildIndex(specs []Spec) *node {
	root := &node{}
	for i, s := range specs {
		path, prefix := s.Path, s.Prefix
		if s.CaseInsensitive {
			path, prefix = lowerTemplate(path), lowerTemplate(prefix)
		}
		segs := literalSegments(path, false)
		if path == "" {
			segs = literalSegments(prefix, true)
		}
		n := root
		for _, seg := range segs {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			c, ok := n.children[seg]
			if !ok {
				c = &node{}
				n.children[seg] = c
			}
			n = c
		}
		n.own = append(n.own, i)
	}
	root.fill(nil)
	return root
}

// fill computes candidates as the ordered merge of inherited and own.
func (n *node) fill(inherited []int) {
	merged := make([]int, 0, len(inherited)+len(n.own))
	a, b := inherited, n.own
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	n.candidates = merged
	for _, c := range n.children {
		c.fill(merged)
	}
}

// candidatesFor returns the routes that may match an escaped request path.
func (n *node) candidatesFor(path string) []int {
	rest := strings.TrimPrefix(path, "/")
	for n.children != nil {
		seg, tail, more := strings.Cut(rest, "/")
		c, ok := n.children[seg]
		if !ok {
			break
		}
		n = c
		if !more {
			break
		}
		rest = tail
	}
	return n.candidates
}
