//go:build race

package diff

// raceEnabled is set when the race detector runs, which slows
// comparisons several times over: the time bound of
// TestCompareDeepNesting (a guard against quadratic work) then says
// nothing.
const raceEnabled = true
