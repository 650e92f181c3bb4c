package diff

import (
	"net/http"
	"testing"
)

// compareAllocBudget bounds the allocations of one Compare of the ~4 KB
// order pair (5 differences). Allocation counts are deterministic, so this
// guards against gross regressions without timing anything; raise it only
// with a reason in the commit. Measured when set: 1,944 (BenchmarkCompare
// reports 1,949: it also builds its two inputs on every iteration).
const compareAllocBudget = 2300

func TestCompareAllocBudget(t *testing.T) {
	l, s := orderPair(t, 4<<10)
	h := http.Header{"Content-Type": {"application/json"}}
	legacy, service := Response{Status: 200, Header: h, Body: l}, Response{Status: 200, Header: h, Body: s}
	rules, err := NewRules(RulesConfig{IgnorePaths: []string{"/items/*/updated_at"}})
	if err != nil {
		t.Fatal(err)
	}
	got := testing.AllocsPerRun(20, func() { Compare(legacy, service, rules) })
	t.Logf("Compare(4 KB pair): %.0f allocs (budget %d)", got, compareAllocBudget)
	if got > compareAllocBudget {
		t.Errorf("Compare allocates %.0f times per call; the budget is %d", got, compareAllocBudget)
	}
}
