package report

import (
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/stranglerfig/strangler/diff"
)

// writer is the state owned by the writer goroutine (Run). It mirrors
// what the committed database holds so that a write transaction never
// has to read: in memdb, a read inside a write transaction clones the
// modified index and throws away its cache of writable nodes, which makes
// every later write in the transaction copy its path again.
type writer struct {
	opts   Options
	nextID uint64
	bytes  int64                // estimated size of the stored results
	fifo   []*resultRow         // stored results, oldest first, from head
	head   int                  // first live entry of fifo
	routes map[string]*routeRow // the stored row of each route
	paths  map[pathKey]*pathRow // the stored row of each (route, path)
	batch  []item               // reused queue buffer
}

// pathKey identifies a row of the paths table.
type pathKey struct{ route, path string }

// newWriter returns the state of an empty store.
func newWriter(opts Options) writer {
	return writer{opts: opts, nextID: 1, routes: map[string]*routeRow{}, paths: map[pathKey]*pathRow{}}
}

// count is the number of stored results.
func (w *writer) count() int { return len(w.fifo) - w.head }

// reload rebuilds the mirror from the committed database, after an
// aborted transaction. nextID is kept: ids are never reused.
func (w *writer) reload(txn *memdb.Txn) {
	fresh := newWriter(w.opts)
	fresh.nextID, fresh.batch = w.nextID, w.batch
	each(txn, tableResults, func(r *resultRow) {
		fresh.fifo = append(fresh.fifo, r)
		fresh.bytes += r.Size
	})
	each(txn, tableRoutes, func(r *routeRow) { fresh.routes[r.Route] = r })
	each(txn, tablePaths, func(r *pathRow) { fresh.paths[pathKey{r.Route, r.Path}] = r })
	*w = fresh
}

// each calls fn for every row of table, in id order.
func each[T any](txn *memdb.Txn, table string, fn func(*T)) {
	it, err := txn.Get(table, indexID)
	if err != nil {
		return
	}
	for obj := it.Next(); obj != nil; obj = it.Next() {
		fn(obj.(*T))
	}
}

// writeBatch stores first and whatever else is queued (up to maxBatch
// records) in one write transaction, then releases the flush markers
// among them. A failed insert aborts the transaction; its records are
// counted as dropped.
func (s *Store) writeBatch(first item) {
	batch := s.collect(first)
	txn := s.db.Txn(true)
	if evicted, err := s.insertAll(txn, batch); err != nil {
		txn.Abort()
		s.w.reload(s.db.Txn(false))
		s.dropped.Add(countRecords(batch))
	} else {
		txn.Commit()
		s.evicted.Add(evicted)
	}
	s.stored.Store(int64(s.w.count()))
	s.bytes.Store(s.w.bytes)
	finish(batch)
}

// collect returns first plus what is queued, up to maxBatch items. It
// reuses the writer's batch buffer.
func (s *Store) collect(first item) []item {
	batch := append(s.w.batch[:0], first)
	for len(batch) < maxBatch {
		select {
		case it := <-s.queue:
			batch = append(batch, it)
		default:
			s.w.batch = batch
			return batch
		}
	}
	s.w.batch = batch
	return batch
}

// insertAll inserts the records of batch into txn and returns how many
// results were evicted. It stops at the first error.
func (s *Store) insertAll(txn *memdb.Txn, batch []item) (uint64, error) {
	var evicted uint64
	for i := range batch {
		if batch[i].flush != nil {
			continue
		}
		n, err := s.w.insert(txn, batch[i].rec)
		if err != nil {
			return evicted, err
		}
		evicted += n
	}
	return evicted, nil
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

// insert redacts rec, copies what it keeps (see own) and stores it, updates the aggregates and evicts the
// oldest results while the store is over a bound, all in txn. It returns
// the number of results evicted.
func (w *writer) insert(txn *memdb.Txn, rec Record) (uint64, error) {
	rec = own(rec.Redactor.orDefault().apply(rec, w.opts.MaxExcerpt))
	rec.ID = w.nextID
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	row := &resultRow{ID: rec.ID, Route: rec.Route, Size: estimateSize(&rec), Rec: rec}
	if err := txn.Insert(tableResults, row); err != nil {
		return 0, err
	}
	w.nextID++
	w.fifo = append(w.fifo, row)
	w.bytes += row.Size
	if err := w.aggregate(txn, &row.Rec); err != nil {
		return 0, err
	}
	return w.evict(txn)
}

// aggregate adds rec to its route's row and to its paths' rows.
func (w *writer) aggregate(txn *memdb.Txn, rec *Record) error {
	route := &routeRow{Route: rec.Route}
	if old := w.routes[rec.Route]; old != nil {
		*route = *old // stored rows are never changed: update a copy
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
		if err := w.addPath(txn, route, rec.ID, key, d); err != nil {
			return err
		}
	}
	w.routes[rec.Route] = route
	return txn.Insert(tableRoutes, route)
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
func (w *writer) addPath(txn *memdb.Txn, route *routeRow, id uint64, general string, d *diff.Difference) error {
	key := pathKey{route.Route, general}
	old := w.paths[key]
	if old == nil && key.path != OtherPath && route.Paths >= w.opts.MaxPaths {
		key.path = OtherPath
		old = w.paths[key]
	}
	row := &pathRow{Route: key.route, Path: key.path}
	switch {
	case old != nil:
		*row = *old
	case key.path != OtherPath:
		route.Paths++
	}
	row.Count++
	row.Kind, row.Noise = d.Kind, d.Noise
	row.Example = Example{Legacy: d.Legacy, Service: d.Service, ResultID: id, Excerpt: d.Excerpt}
	w.paths[key] = row
	return txn.Insert(tablePaths, row)
}

// over reports whether the store is over a bound.
func (w *writer) over() bool {
	return w.count() > w.opts.MaxResults || w.bytes > w.opts.MaxBytes
}

// evict deletes the oldest results while the store is over a bound and
// returns how many it deleted.
func (w *writer) evict(txn *memdb.Txn) (uint64, error) {
	var n uint64
	for w.over() && w.count() > 0 {
		row := w.fifo[w.head]
		if err := txn.Delete(tableResults, row); err != nil {
			return n, err
		}
		w.fifo[w.head] = nil
		w.head++
		w.bytes -= row.Size
		n++
	}
	w.compact()
	return n, nil
}

// compact drops the evicted entries from the front of fifo once they are
// half of it, so it does not grow without bound.
func (w *writer) compact() {
	if w.head < 64 || w.head*2 < len(w.fifo) {
		return
	}
	n := copy(w.fifo, w.fifo[w.head:])
	clear(w.fifo[n:])
	w.fifo, w.head = w.fifo[:n], 0
}
