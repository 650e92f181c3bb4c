package report

import (
	"fmt"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/stranglerfig/strangler/diff"
)

// The store keeps everything it knows in memdb: the results, the
// per-route and per-path aggregates and the totals (tableTotals: ids,
// bytes, evictions). A batch of records is written in one write
// transaction by a txnWriter, which reads what it updates from the
// snapshot committed before the transaction and lives no longer than the
// transaction: an aborted transaction leaves nothing outside memdb to
// rebuild, and the next one starts again from what memdb holds.
//
// A txnWriter holds the transaction's own pending writes: the route and
// path rows it has updated (written to the transaction by commit, once
// per row however many records of the batch touched it), the results it
// inserted and the running totals. It never reads back from the write
// transaction, because memdb makes that costly: a read of an index the
// transaction has modified clones the index and throws away its cache of
// writable nodes (memdb's readableIndex calls iradix.Txn.Clone), so that
// every later write to the index allocates its path and its node cache
// again. Read back from the transaction, the route and path rows made
// BenchmarkInsert allocate about 215 times per record, against about 150
// for the Go-side mirror of memdb this replaces and about 115 for this.
// The price is a fixed cost per transaction (the snapshot, the two maps,
// the totals row: about 60 allocations and 3 KB), which shows in
// BenchmarkInsertTxn (one record per transaction) and fades as batches
// grow with the load.
type txnWriter struct {
	opts    Options
	txn     *memdb.Txn           // the write transaction
	base    *memdb.Txn           // read snapshot of what was committed before txn
	firstID uint64               // the first id given in txn: results below it are in base
	tot     totalsRow            // the totals with txn's inserts so far
	added   []*resultRow         // the results txn inserted, ids first, first+1, …
	routes  map[string]*routeRow // route rows txn updated, by route
	paths   map[pathKey]*pathRow // path rows txn updated, by route and path
}

// pathKey identifies a row of the paths table.
type pathKey struct{ route, path string }

// begin opens a write transaction and its txnWriter. Run's goroutine is
// the only writer, so base is the state txn starts from.
func (s *Store) begin() *txnWriter {
	txn := s.db.Txn(true)
	base := s.db.Txn(false)
	tot := readTotals(base)
	return &txnWriter{opts: s.opts, txn: txn, base: base, firstID: tot.NextID, tot: tot,
		routes: map[string]*routeRow{}, paths: map[pathKey]*pathRow{}}
}

// commit writes the updated aggregate rows and the totals to the
// transaction and commits it.
func (w *txnWriter) commit() error {
	for _, row := range w.routes {
		if err := w.txn.Insert(tableRoutes, row); err != nil {
			return fmt.Errorf("report: updating the row of route %q: %w", row.Route, err)
		}
	}
	for _, row := range w.paths {
		if err := w.txn.Insert(tablePaths, row); err != nil {
			return fmt.Errorf("report: updating path %q of route %q: %w", row.Path, row.Route, err)
		}
	}
	tot := w.tot
	if err := w.txn.Insert(tableTotals, &tot); err != nil {
		return fmt.Errorf("report: writing the totals %+v: %w", tot, err)
	}
	w.txn.Commit()
	return nil
}

// readTotals returns the totals row of txn, or those of an empty store.
func readTotals(txn *memdb.Txn) totalsRow {
	obj, err := txn.First(tableTotals, indexID)
	if err != nil || obj == nil {
		return totalsRow{Oldest: 1, NextID: 1}
	}
	return *obj.(*totalsRow)
}

// writeBatch stores first and whatever else is queued (up to maxBatch
// records) in one write transaction, then releases the flush markers
// among them. A failed insert aborts the transaction; its records are
// counted as dropped.
func (s *Store) writeBatch(first item) {
	batch := s.collect(first)
	if err := s.write(batch); err != nil {
		s.dropped.Add(countRecords(batch))
	}
	finish(batch)
}

// write stores the records of batch in one write transaction, committed
// only when every insert succeeded, and aborted otherwise.
func (s *Store) write(batch []item) error {
	w := s.begin()
	defer w.txn.Abort() // a no-op once committed
	for i := range batch {
		if batch[i].flush != nil {
			continue
		}
		if err := w.insert(batch[i].rec, batch[i].red); err != nil {
			return err
		}
	}
	return w.commit()
}

// collect returns first plus what is queued, up to maxBatch items. It
// reuses the writer's batch buffer.
func (s *Store) collect(first item) []item {
	batch := append(s.batch[:0], first)
	for len(batch) < maxBatch {
		select {
		case it := <-s.queue:
			batch = append(batch, it)
		default:
			s.batch = batch
			return batch
		}
	}
	s.batch = batch
	return batch
}

// countRecords returns how many items of batch are records.
func countRecords(batch []item) uint64 {
	var n uint64
	for _, it := range batch {
		if it.flush == nil {
			n++
		}
	}
	return n
}

// finish closes the flush markers of batch and clears it, so the reused
// buffer pins no records.
func finish(batch []item) {
	for _, it := range batch {
		if it.flush != nil {
			close(it.flush)
		}
	}
	clear(batch)
}

// insert redacts rec with red (nil: the default redaction), copies what
// it keeps (see own) and stores it, updates the aggregates and evicts the
// oldest results while the store is over a bound, all in the transaction.
func (w *txnWriter) insert(rec Record, red *Redactor) error {
	rec = own(red.orDefault().apply(rec, w.opts.MaxExcerpt))
	rec.ID = w.tot.NextID
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	row := &resultRow{ID: rec.ID, Route: rec.Route, Size: estimateSize(&rec), Rec: rec}
	if err := w.txn.Insert(tableResults, row); err != nil {
		return fmt.Errorf("report: inserting result %d of route %q: %w", row.ID, row.Route, err)
	}
	w.added = append(w.added, row)
	w.tot.NextID++
	w.tot.Bytes += row.Size
	if err := w.aggregate(&row.Rec); err != nil {
		return err
	}
	return w.evict()
}

// aggregate adds rec to its route's row and to its paths' rows.
func (w *txnWriter) aggregate(rec *Record) error {
	route, err := w.route(rec.Route)
	if err != nil {
		return err
	}
	route.add(rec)
	seen := map[string]bool{} // count each path once per result
	for i := range rec.Result.Differences {
		d := &rec.Result.Differences[i]
		key := diff.Generalize(d.Path) // other paths ("status", "header:…") stay as they are
		if seen[key] {
			continue
		}
		seen[key] = true
		if err := w.addPath(route, rec.ID, key, d); err != nil {
			return err
		}
	}
	return nil
}

// route returns the row of route as txn updates it: the one txn already
// updated, else a copy of the stored one (stored rows are never changed),
// else a new one.
func (w *txnWriter) route(name string) (*routeRow, error) {
	if row := w.routes[name]; row != nil {
		return row, nil
	}
	row := &routeRow{Route: name}
	old, err := first[routeRow](w.base, tableRoutes, name)
	if err != nil {
		return nil, err
	}
	if old != nil {
		*row = *old
	}
	w.routes[name] = row
	return row, nil
}

// path returns the row of (route, path) as txn updates it, or nil when
// there is none yet (see route).
func (w *txnWriter) path(route, path string) (*pathRow, error) {
	key := pathKey{route, path}
	if row := w.paths[key]; row != nil {
		return row, nil
	}
	old, err := first[pathRow](w.base, tablePaths, route, path)
	if err != nil || old == nil {
		return nil, err
	}
	row := *old
	w.paths[key] = &row
	return &row, nil
}

// first returns the row of table whose id index is args, or nil.
func first[T any](txn *memdb.Txn, table string, args ...any) (*T, error) {
	obj, err := txn.First(table, indexID, args...)
	if err != nil {
		return nil, fmt.Errorf("report: reading %s %v: %w", table, args, err)
	}
	if obj == nil {
		return nil, nil
	}
	return obj.(*T), nil
}

// add counts rec into r.
func (r *routeRow) add(rec *Record) {
	r.Records++
	if r.FirstSeen.IsZero() || rec.Time.Before(r.FirstSeen) {
		r.FirstSeen = rec.Time
	}
	if rec.Time.After(r.LastSeen) {
		r.LastSeen = rec.Time
	}
	r.LegacyErr.add(&rec.Legacy)
	r.ServiceErr.add(&rec.Service)
	r.LegacyLat.add(rec.Legacy.Duration)
	r.ServiceLat.add(rec.Service.Duration)
	if compared(rec) {
		r.addVerdict(rec.Result.Verdict)
	}
}

// compared reports whether rec is a comparison: both sides answered and
// the diff ran.
func compared(rec *Record) bool {
	return rec.Result.Verdict != "" && rec.Legacy.Error == "" && rec.Service.Error == ""
}

// addVerdict counts one comparison; an unknown verdict counts as an error.
func (r *routeRow) addVerdict(v diff.Verdict) {
	r.Compared++
	switch v {
	case diff.VerdictEqual:
		r.Equal++
	case diff.VerdictDifferent:
		r.Different++
	case diff.VerdictNoiseOnly:
		r.NoiseOnly++
	default:
		r.DiffErrors++
	}
}

// add counts one side's failure, if any.
func (e *ErrorCounts) add(s *Side) {
	switch {
	case s.Error == ErrorTimeout:
		e.Timeout++
	case s.Error == ErrorRefused:
		e.Refused++
	case s.Error != "":
		e.Other++
	case s.Status >= 500:
		e.Status5xx++
	}
}

// addPath counts difference d of result id under its generalized path
// (general), or under OtherPath once route tracks MaxPaths paths.
func (w *txnWriter) addPath(route *routeRow, id uint64, general string, d *diff.Difference) error {
	path := general
	row, err := w.path(route.Route, path)
	if err == nil && row == nil && path != OtherPath && route.Paths >= w.opts.MaxPaths {
		path = OtherPath
		row, err = w.path(route.Route, path)
	}
	if err != nil {
		return err
	}
	if row == nil {
		row = &pathRow{Route: route.Route, Path: path}
		w.paths[pathKey{route.Route, path}] = row
		if path != OtherPath {
			route.Paths++
		}
	}
	row.Count++
	row.Kind, row.Noise = d.Kind, d.Noise
	row.Example = Example{Legacy: d.Legacy, Service: d.Service, ResultID: id, Excerpt: d.Excerpt}
	return nil
}

// over reports whether the store is over a bound.
func (w *txnWriter) over() bool {
	n := w.tot.count()
	return n > 0 && (n > w.opts.MaxResults || w.tot.Bytes > w.opts.MaxBytes)
}

// evict deletes the oldest results while the store is over a bound.
func (w *txnWriter) evict() error {
	for w.over() {
		row, err := w.oldest()
		if err != nil {
			return err
		}
		if err := w.txn.Delete(tableResults, row); err != nil {
			return fmt.Errorf("report: evicting result %d: %w", row.ID, err)
		}
		w.tot.Oldest++
		w.tot.Bytes -= row.Size
		w.tot.Evicted++
	}
	return nil
}

// oldest returns the oldest stored result, whose id is tot.Oldest (ids
// are given in order and evicted in order, so the stored ones are
// [Oldest, NextID)): from base when it was stored before the
// transaction, else from the results the transaction added.
func (w *txnWriter) oldest() (*resultRow, error) {
	id := w.tot.Oldest
	if id >= w.firstID {
		return w.added[id-w.firstID], nil
	}
	row, err := first[resultRow](w.base, tableResults, id)
	if err == nil && row == nil {
		err = fmt.Errorf("report: result %d is counted but not stored", id)
	}
	return row, err
}
