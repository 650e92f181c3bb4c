package report

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/internal/testutil"
)

func TestRoundTrip(t *testing.T) {
	s := startStore(t, Options{})
	in := record("orders", diff.VerdictDifferent,
		diff.Difference{Path: "/total", Kind: diff.KindChanged, Legacy: "10", Service: "11"})
	in.ID = 99 // ignored
	in.RequestID = "req-1"
	in.Primary = "legacy"
	offerAll(t, s, in)

	got, ok := s.Get(1)
	if !ok {
		t.Fatal("Get(1): not found")
	}
	want := in
	want.ID = 1
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get(1) =\n%+v\nwant\n%+v", got, want)
	}
	if st := s.Stats(); st.Stored != 1 || st.Bytes <= 0 || st.Evicted != 0 || st.Dropped != 0 {
		t.Errorf("Stats = %+v", st)
	}
	// What Get returns is a copy: changing it changes nothing stored.
	got.Legacy.Header.Set("Content-Type", "text/plain")
	got.Result.Differences[0].Legacy = "changed"
	again, _ := s.Get(1)
	if !reflect.DeepEqual(again, want) {
		t.Errorf("stored record changed through Get's result: %+v", again)
	}
}

func TestTimeDefaultsToNow(t *testing.T) {
	s := startStore(t, Options{})
	before := time.Now()
	rec := record("a", diff.VerdictEqual)
	rec.Time = time.Time{}
	offerAll(t, s, rec)
	got, _ := s.Get(1)
	if got.Time.Before(before) || got.Time.After(time.Now()) {
		t.Errorf("Time = %v, want about now", got.Time)
	}
}

func TestGet(t *testing.T) {
	s := startStore(t, Options{MaxResults: 2})
	offerAll(t, s, record("a", diff.VerdictEqual), record("b", diff.VerdictEqual), record("c", diff.VerdictEqual))
	tests := []struct {
		id        uint64
		wantRoute string
		wantOK    bool
	}{
		{0, "", false},
		{1, "", false}, // evicted
		{2, "b", true},
		{3, "c", true},
		{4, "", false},
	}
	for _, tt := range tests {
		got, ok := s.Get(tt.id)
		if ok != tt.wantOK || got.Route != tt.wantRoute {
			t.Errorf("Get(%d) = %q, %v; want %q, %v", tt.id, got.Route, ok, tt.wantRoute, tt.wantOK)
		}
	}
}

func TestRecent(t *testing.T) {
	s := startStore(t, Options{})
	for _, route := range []string{"a", "b", "a", "b", "a", "ab", ""} {
		offerAll(t, s, record(route, diff.VerdictEqual))
	}
	tests := []struct {
		route string
		limit int
		want  []uint64
	}{
		{"", 0, []uint64{7, 6, 5, 4, 3, 2, 1}},
		{"", 3, []uint64{7, 6, 5}},
		{"a", 0, []uint64{5, 3, 1}}, // not "ab"'s 6
		{"a", 2, []uint64{5, 3}},
		{"b", 10, []uint64{4, 2}},
		{"ab", -1, []uint64{6}},
		{"zz", 0, []uint64{}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%d", tt.route, tt.limit), func(t *testing.T) {
			got := []uint64{}
			for _, sum := range s.Recent(tt.route, tt.limit) {
				if tt.route != "" && sum.Route != tt.route {
					t.Errorf("summary %d has route %q", sum.ID, sum.Route)
				}
				got = append(got, sum.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	s := startStore(t, Options{})
	rec := record("a", diff.VerdictDifferent, diff.Difference{Path: "status", Kind: diff.KindStatus, Legacy: "200", Service: "500"})
	rec.Service.Status = 500
	offerAll(t, s, rec)
	want := Summary{ID: 1, Time: rec.Time, Route: "a", Method: "GET", Path: "/api/a",
		Verdict: diff.VerdictDifferent, Differences: 1, LegacyStatus: 200, ServiceStatus: 500}
	if got := s.Recent("a", 1); len(got) != 1 || got[0] != want {
		t.Errorf("Recent = %+v, want [%+v]", got, want)
	}
}

func TestBounds(t *testing.T) {
	const n = 100_000
	const maxResults, maxBytes = 1000, 1 << 20
	s := startStore(t, Options{MaxResults: maxResults, MaxBytes: maxBytes})
	for i := range n {
		// Every other record is big enough that bytes, not count, binds.
		rec := record(fmt.Sprintf("r%d", i%3), diff.VerdictDifferent,
			diff.Difference{Path: fmt.Sprintf("/items/%d/price", i%50), Kind: diff.KindChanged, Legacy: "1", Service: "2"})
		rec.Legacy.Body = strings.Repeat("x", (i%2)*1500)
		for !s.Offer(rec, nil) {
			flush(t, s)
		}
	}
	flush(t, s)

	st := s.Stats()
	if st.Stored > maxResults || st.Bytes > maxBytes || st.Stored == 0 {
		t.Errorf("Stats = %+v, want within %d results and %d bytes", st, maxResults, maxBytes)
	}
	if want := uint64(n) - uint64(st.Stored); st.Evicted != want {
		t.Errorf("Evicted = %d, want %d", st.Evicted, want)
	}
	if got := s.Recent("", 0); len(got) != st.Stored || got[0].ID != n {
		t.Errorf("Recent holds %d (newest %d), want %d (newest %d)", len(got), got[0].ID, st.Stored, n)
	}
	rep := s.Report(nil)
	if rep.Overall.Compared != n || rep.Overall.Different != n {
		t.Errorf("aggregates not cumulative: %+v", rep.Overall)
	}
	if got := rep.Routes[0].TopPaths; len(got) != 1 || got[0].Path != "/items/*/price" {
		t.Errorf("TopPaths = %+v", got)
	}
}

func TestQueueFull(t *testing.T) {
	s, err := New(Options{QueueSize: 1}) // no writer
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan bool, 3)
	go func() {
		for range 3 {
			results <- s.Offer(record("a", diff.VerdictEqual), nil)
		}
		close(results)
	}()
	var got []bool
	timeout := time.After(5 * time.Second)
	for len(got) < 3 {
		select {
		case ok := <-results:
			got = append(got, ok)
		case <-timeout:
			t.Fatal("Offer blocked")
		}
	}
	if !reflect.DeepEqual(got, []bool{true, false, false}) {
		t.Errorf("Offer results = %v, want [true false false]", got)
	}
	if st := s.Stats(); st.Dropped != 2 || st.Stored != 0 {
		t.Errorf("Stats = %+v, want 2 dropped", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush without writer = %v, want deadline exceeded", err)
	}
}

func TestRunStops(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		s.Offer(record("a", diff.VerdictEqual), nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run still drains what was queued
	returned := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(returned)
	}()
	testutil.WaitClosed(t, "Run to return after cancel", returned)
	if st := s.Stats(); st.Stored != 10 {
		t.Errorf("Stored = %d, want the 10 queued records", st.Stored)
	}
	if s.Offer(record("a", diff.VerdictEqual), nil) {
		t.Error("Offer after Run returned = true")
	}
	if err := s.Flush(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Flush after Run returned = %v, want ErrStopped", err)
	}
	s.Run(context.Background()) // a second Run returns at once
}

func TestConcurrentReaders(t *testing.T) {
	s := startStore(t, Options{MaxResults: 50})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				s.Recent("a", 10)
				s.Report([]string{"a"})
				s.Get(1)
				s.Stats()
			}
		})
	}
	for i := range 2000 {
		for !s.Offer(record("a", diff.VerdictDifferent, diff.Difference{Path: fmt.Sprintf("/k%d", i%7), Kind: diff.KindChanged}), nil) {
			flush(t, s) // the queue is full: wait for the writer to drain it
		}
	}
	flush(t, s)
	cancel()
	wg.Wait()
	if got := s.Report(nil).Routes[0].Records; got != 2000 {
		t.Errorf("Records = %d, want 2000", got)
	}
}

func BenchmarkInsert(b *testing.B) {
	s := startStore(b, Options{})
	rec := record("orders", diff.VerdictDifferent,
		diff.Difference{Path: "/items/3/price", Kind: diff.KindChanged, Legacy: "10", Service: "11"},
		diff.Difference{Path: "header:Cache-Control", Kind: diff.KindHeader, Legacy: "no-cache", Service: "max-age=60"})
	rec.Legacy.Header.Set("Authorization", "Bearer x")
	red := NewRedactor([]string{"X-Api-Key"}, []string{"/user/token"})
	b.ReportAllocs()
	for b.Loop() {
		for !s.Offer(rec, red) {
			flush(b, s)
		}
	}
	flush(b, s)
}

// BenchmarkInsertTxn measures the writer's insert alone, one record per
// write transaction.
func BenchmarkInsertTxn(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	rec := record("orders", diff.VerdictDifferent,
		diff.Difference{Path: "/items/3/price", Kind: diff.KindChanged, Legacy: "10", Service: "11"})
	b.ReportAllocs()
	for b.Loop() {
		w := s.begin()
		if err := w.insert(rec, nil); err != nil {
			b.Fatal(err)
		}
		if err := w.commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// errBrokenIndex is the failure a brokenIndex injects.
var errBrokenIndex = errors.New("broken index")

// brokenIndex wraps an index of the schema and fails to index the rows
// for which broken says so, as a faulty indexer would: memdb then fails
// the insert (or delete) in progress.
type brokenIndex struct {
	memdb.Indexer
	broken func(obj any) bool
}

// FromObject implements memdb.SingleIndexer.
func (b brokenIndex) FromObject(obj any) (bool, []byte, error) {
	if b.broken(obj) {
		return false, nil, errBrokenIndex
	}
	return b.Indexer.(memdb.SingleIndexer).FromObject(obj)
}

// PrefixFromArgs implements memdb.PrefixIndexer.
func (b brokenIndex) PrefixFromArgs(args ...any) ([]byte, error) {
	return b.Indexer.(memdb.PrefixIndexer).PrefixFromArgs(args...)
}

// newBrokenStore returns a Store, without a writer, whose database
// fails to index the rows of table for which broken says so.
func newBrokenStore(t *testing.T, opts Options, table, index string, broken func(any) bool) *Store {
	t.Helper()
	s := newIdleStore(t, opts)
	sch := schema()
	ix := sch.Tables[table].Indexes[index]
	ix.Indexer = brokenIndex{Indexer: ix.Indexer, broken: broken}
	db, err := memdb.NewMemDB(sch)
	if err != nil {
		t.Fatal(err)
	}
	s.db = db
	return s
}

// newIdleStore returns a Store without a writer: the test writes its
// batches with writeQueued.
func newIdleStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeQueued offers recs and writes them as one batch, as Run would.
func writeQueued(t *testing.T, s *Store, recs ...Record) {
	t.Helper()
	for _, rec := range recs {
		if !s.Offer(rec, nil) {
			t.Fatalf("queue full at record %q", rec.Path)
		}
	}
	s.writeBatch(<-s.queue)
	if n := len(s.queue); n != 0 {
		t.Fatalf("%d records left in the queue", n)
	}
}

// sameContents fails unless got and want hold the same results and
// aggregates, and the same totals but for the drops.
func sameContents(t *testing.T, step string, got, want *Store) {
	t.Helper()
	gs, ws := got.Stats(), want.Stats()
	gs.Dropped, ws.Dropped = 0, 0
	if gs != ws {
		t.Errorf("%s: Stats = %+v, want %+v", step, gs, ws)
	}
	if g, w := got.Recent("", 0), want.Recent("", 0); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: Recent =\n%+v\nwant\n%+v", step, g, w)
	}
	for id := range uint64(20) {
		g, gok := got.Get(id)
		w, wok := want.Get(id)
		if gok != wok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s: Get(%d) = %+v, %v; want %+v, %v", step, id, g, gok, w, wok)
		}
	}
	gr, wr := got.Report(nil), want.Report(nil)
	gr.GeneratedAt, wr.GeneratedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(gr, wr) {
		t.Errorf("%s: Report =\n%+v\nwant\n%+v", step, gr, wr)
	}
}

// TestAbortedBatchLeavesNothing writes the same batches to two stores,
// one of which also gets a batch that fails part way (a broken index in
// its database) after inserting, aggregating and evicting some of its
// records: the failed batch's records are counted as dropped, and
// nothing else of it is seen, then or after more batches (no id is used
// up, no total moved, no aggregate row changed).
func TestAbortedBatchLeavesNothing(t *testing.T) {
	opts := Options{MaxResults: 4, MaxPaths: 3, QueueSize: 16}
	rec := func(i int) Record {
		return record(fmt.Sprintf("r%d", i%2), diff.VerdictDifferent,
			diff.Difference{Path: fmt.Sprintf("/a%d", i), Kind: diff.KindChanged}, diff.Difference{Path: "status", Kind: diff.KindStatus})
	}
	boomRoute := record("boom", diff.VerdictEqual)
	boomPath := record("r9", diff.VerdictDifferent, diff.Difference{Path: "/boom", Kind: diff.KindChanged}) // a route with room for a path row
	tests := []struct {
		name         string
		table, index string
		broken       func(any) bool
		bad          Record
	}{
		{"result insert fails", tableResults, indexRoute,
			func(obj any) bool { return obj.(*resultRow).Route == "boom" }, boomRoute},
		{"path row fails at commit", tablePaths, indexID,
			func(obj any) bool { return obj.(*pathRow).Path == "/boom" }, boomPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := newIdleStore(t, opts)
			got := newBrokenStore(t, opts, tt.table, tt.index, tt.broken)
			first := []Record{rec(0), rec(1), rec(2), rec(3), rec(4), rec(5), rec(6)}
			writeQueued(t, want, first...)
			writeQueued(t, got, first...)
			sameContents(t, "before", got, want)

			writeQueued(t, got, rec(7), rec(8), tt.bad, rec(9))
			if st := got.Stats(); st.Dropped != 4 {
				t.Errorf("Dropped = %d, want the failed batch's 4 records", st.Dropped)
			}
			sameContents(t, "after the failed batch", got, want)

			more := []Record{rec(7), rec(8), rec(9)}
			writeQueued(t, want, more...)
			writeQueued(t, got, more...)
			sameContents(t, "after one more batch", got, want)
			if st := got.Stats(); st.Stored != 4 || st.Evicted != 6 {
				t.Errorf("Stats = %+v, want 4 stored and 6 evicted", st)
			}
		})
	}
}

// TestEvictWithinBatch evicts results stored by the same transaction,
// down to none at all: ids go on from where they were, never reused.
func TestEvictWithinBatch(t *testing.T) {
	tests := []struct {
		name        string
		opts        Options
		batches     []int // records per batch
		wantIDs     []uint64
		wantEvicted uint64
	}{
		{"count bound, one batch", Options{MaxResults: 2}, []int{5}, []uint64{5, 4}, 3},
		{"count bound, two batches", Options{MaxResults: 3}, []int{2, 4}, []uint64{6, 5, 4}, 3},
		{"byte bound below one result", Options{MaxBytes: 100}, []int{3, 2}, []uint64{}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newIdleStore(t, tt.opts)
			for _, n := range tt.batches {
				recs := make([]Record, n)
				for i := range recs {
					recs[i] = record("a", diff.VerdictDifferent, diff.Difference{Path: "/x", Kind: diff.KindChanged})
				}
				writeQueued(t, s, recs...)
			}
			got := []uint64{}
			for _, sum := range s.Recent("", 0) {
				got = append(got, sum.ID)
			}
			if !reflect.DeepEqual(got, tt.wantIDs) {
				t.Errorf("stored ids = %v, want %v", got, tt.wantIDs)
			}
			st := s.Stats()
			if st.Stored != len(tt.wantIDs) || st.Evicted != tt.wantEvicted || (st.Stored == 0) != (st.Bytes == 0) {
				t.Errorf("Stats = %+v, want %d stored, %d evicted", st, len(tt.wantIDs), tt.wantEvicted)
			}
			total := uint64(0)
			for _, n := range tt.batches {
				total += uint64(n)
			}
			rr := s.Report(nil).Routes[0]
			if rr.Records != total {
				t.Errorf("route a counts %d records, want all %d", rr.Records, total)
			}
			if len(rr.TopPaths) != 1 || rr.TopPaths[0].Example.ResultID != total {
				t.Errorf("TopPaths = %+v, want /x's latest example from result %d", rr.TopPaths, total)
			}
		})
	}
}
