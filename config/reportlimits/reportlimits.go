// Package reportlimits holds the default bounds of the diff report store,
// written once: config shows them as the defaults of the reports.* keys
// and report falls back to them for Options left at zero. It is a leaf
// (it imports nothing), so config need not import report for four numbers.
package reportlimits

// Defaults of the reports.* keys (report.Options).
const (
	// MaxResults bounds the stored results.
	MaxResults = 10000
	// MaxBytes bounds the memory the stored results hold.
	MaxBytes = 64 << 20
	// QueueSize is how many offered records may wait for the writer.
	QueueSize = 1024
	// MaxExcerpt bounds each stored body excerpt, in bytes.
	MaxExcerpt = 4096
)
