//go:build unix

package diff

import (
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
// size bytes, the best of three rounds of n.
func cpuPerCompare(t *testing.T, size, n int) time.Duration {
	l, s := page(shopPage(size, false)), page(shopPage(size, true))
	best := time.Duration(1 << 62)
	for range 3 {
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
// at most 12 times a 50 KB one, in allocations and in CPU time (not wall
// time, which a loaded machine inflates at random).
func TestCompareHTMLLinear(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("cost measure: not in -short or under the race detector")
	}
	small, big := cpuPerCompare(t, 50<<10, 40), cpuPerCompare(t, 500<<10, 4)
	ratio, allocs := float64(big)/float64(small), allocsPerCompare(500<<10)/allocsPerCompare(50<<10)
	t.Logf("CPU per compare: 50KB %v, 500KB %v (%.1fx); allocations %.1fx", small, big, ratio, allocs)
	if ratio > 12 || allocs > 12 {
		t.Errorf("cost grows %.1fx in time, %.1fx in allocations for 10x the size", ratio, allocs)
	}
}
