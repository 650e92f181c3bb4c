package etcdstate

import "github.com/stranglerfig/strangler/metrics"

// EncodeFiguresForTest is encodeFigures, the value a replica publishes,
// for measuring its size in package etcdstate_test.
func EncodeFiguresForTest(snaps map[string]metrics.Snapshot) ([]byte, error) {
	return encodeFigures(snaps)
}
