//go:build unix

package diff

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerCompare is the CPU time of one Compare of a page pair of about
// size bytes, the best of five rounds of n.
func cpuPerCompare(t *testing.T, size, n int) time.Duration {
	l, s := page(shopPage(size, false)), page(shopPage(size, true))
	best := time.Duration(1 << 62)
	for range 5 {
		start := cpuTime(t)
		for range n {
			Compare(l, s, nil)
		}
		best = min(best, (cpuTime(t)-start)/time.Duration(n))
	}
	return best
}

// allocsPerCompare is the allocations of one Compare of a page pair of
// about size bytes.
func allocsPerCompare(size int) float64 {
	l, s := page(shopPage(size, false)), page(shopPage(size, true))
	return testing.AllocsPerRun(3, func() { Compare(l, s, nil) })
}

// TestCompareHTMLLinear checks that comparing a 500 KB page pair costs
// at most 12 times a 50 KB one in allocations and allocated bytes, which
// do not depend on the machine's load. The time ratio is a benchmark
// figure (BenchmarkCompareHTML50KB and 500KB, make bench); it is logged
// here, never asserted.
func TestCompareHTMLLinear(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("cost measure: not in -short or under the race detector")
	}
	allocs := allocsPerCompare(500<<10) / allocsPerCompare(50<<10)
	bytes := float64(bytesPerCompare(500<<10)) / float64(bytesPerCompare(50<<10))
	small, big := cpuPerCompare(t, 50<<10, 10), cpuPerCompare(t, 500<<10, 1)
	t.Logf("allocations %.1fx, bytes %.1fx; CPU per compare (informational): 50KB %v, 500KB %v (%.1fx)",
		allocs, bytes, small, big, float64(big)/float64(small))
	if allocs > 12 || bytes > 12 {
		t.Errorf("cost grows %.1fx in allocations, %.1fx in bytes for 10x the size", allocs, bytes)
	}
}

// bytesPerCompare is the bytes allocated by one Compare of a page pair
// of about size bytes.
func bytesPerCompare(size int) uint64 {
	l, s := page(shopPage(size, false)), page(shopPage(size, true))
	return allocatedBy(func() { Compare(l, s, nil) })
}

// lists is a page of n lists of m items, texts prefixed by p.
func lists(n, m int, p string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("<ul>")
		for j := range m {
			fmt.Fprintf(&b, "<li>%s%d.%d</li>", p, i, j)
		}
		b.WriteString("</ul>")
	}
	return doc(b.String())
}

// TestCompareHTMLWorstCases bounds the CPU time of pages whose lists
// differ everywhere (the sequence diffs' worst case) and checks that a
// long list missing one item still yields one difference.
func TestCompareHTMLWorstCases(t *testing.T) {
	long := lists(1, 20000, "x")
	tests := []struct {
		desc, legacy, service string
		diffs                 int
	}{
		{"300 lists of 300 items all differ", lists(300, 300, "a"), lists(300, 300, "b"), 90000},
		{"one list of 20000 items all differ", lists(1, 20000, "a"), lists(1, 20000, "b"), 20000},
		{"one item missing of 20000", long, strings.Replace(long, "<li>x0.777</li>", "", 1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			start := cpuTime(t)
			got := Compare(page(tt.legacy), page(tt.service), nil)
			used := cpuTime(t) - start
			if n := len(got.Differences) + got.Omitted; n != tt.diffs || got.BodyKind != BodyHTML {
				t.Errorf("got %s, %d differences, want %d", got.BodyKind, n, tt.diffs)
			}
			t.Logf("%d KB: %v CPU", len(tt.legacy)>>10, used)
			if used > 5*time.Second && !raceEnabled {
				t.Errorf("took %v CPU: quadratic?", used)
			}
		})
	}
}
