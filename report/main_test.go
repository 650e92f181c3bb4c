package report

import (
	"context"
	"net/http"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/internal/testutil"
)

// TestMain fails the package if a writer goroutine outlives its test.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m)
}

// startStore returns a Store whose writer runs until the test ends.
func startStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// flush waits for the writer, failing the test after 10 s.
func flush(t testing.TB, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// offerAll offers every record with the default redaction, flushing
// whenever the queue is full.
func offerAll(t testing.TB, s *Store, recs ...Record) {
	t.Helper()
	offerWith(t, s, nil, recs...)
}

// offerWith offers every record with red, flushing whenever the queue is
// full.
func offerWith(t testing.TB, s *Store, red *Redactor, recs ...Record) {
	t.Helper()
	for _, r := range recs {
		for !s.Offer(r, red) {
			flush(t, s)
		}
	}
	flush(t, s)
}

// record returns a compared record of route with verdict v.
func record(route string, v diff.Verdict, diffs ...diff.Difference) Record {
	return Record{
		Time:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Route:  route,
		Method: http.MethodGet,
		Path:   "/api/" + route,
		Legacy: Side{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: `{"ok":true}`, Duration: 10 * time.Millisecond},
		Service: Side{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: `{"ok":true}`, Duration: 12 * time.Millisecond},
		Result: diff.Result{Verdict: v, BodyKind: diff.BodyJSON, Differences: diffs},
	}
}

func TestSchema(t *testing.T) {
	if err := schema().Validate(); err != nil {
		t.Fatal(err)
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		t.Fatal(err)
	}
	// The empty string is a valid key: an unnamed route, the root pointer.
	txn := db.Txn(true)
	rows := []struct {
		table string
		obj   any
	}{
		{tableResults, &resultRow{ID: 1, Route: ""}},
		{tableRoutes, &routeRow{Route: ""}},
		{tablePaths, &pathRow{Route: "", Path: ""}},
		{tableTotals, &totalsRow{}},
	}
	for _, r := range rows {
		if err := txn.Insert(r.table, r.obj); err != nil {
			t.Errorf("insert %s: %v", r.table, err)
		}
	}
	txn.Commit()
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    Options
		wantErr bool
	}{
		{"defaults", Options{}, Options{10000, 64 << 20, 1024, 4096, 200}, false},
		{"kept", Options{1, 2, 3, 4, 5}, Options{1, 2, 3, 4, 5}, false},
		{"negative results", Options{MaxResults: -1}, Options{}, true},
		{"negative bytes", Options{MaxBytes: -1}, Options{}, true},
		{"negative paths", Options{MaxPaths: -1}, Options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && s.opts != tt.want {
				t.Errorf("opts = %+v, want %+v", s.opts, tt.want)
			}
		})
	}
}
