//go:build !race

package report

// raceEnabled is set when the race detector runs, which makes the
// writer's JSON redaction many times slower: the heap tests offer fewer
// records.
const raceEnabled = false
