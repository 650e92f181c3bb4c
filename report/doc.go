// Package report keeps the results of shadow comparisons and what they add
// up to per route, and renders them as JSON, Markdown or HTML.
//
// A Store is a bounded in-memory database (hashicorp/go-memdb; this is the
// only package that imports it). Producers hand it records with Offer,
// which never blocks, each with the Redactor of its route; one writer
// goroutine, Run, redacts each record, stores it, updates the per-route
// aggregates and evicts the oldest results so the store stays within
// Options.MaxResults and Options.MaxBytes. Everything the store holds,
// its totals included, is in the database and changes only by committed
// transactions: a failed write is rolled back whole. Readers (Recent,
// Get, Report, Stats) work on consistent snapshots and never wait for
// the writer.
//
// Aggregates are cumulative: evicting a result does not lower them.
package report
