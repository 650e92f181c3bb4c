package report

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableResults = "results" // one row per stored comparison (resultRow)
	tableRoutes  = "routes"  // one aggregate row per route (routeRow)
	tablePaths   = "paths"   // one aggregate row per (route, generalized path) (pathRow)
	tableTotals  = "totals"  // one row: ids given, bytes held, results evicted (totalsRow)
)

// Index names. memdb requires every table to have a unique index named "id".
const (
	indexID    = "id"
	indexRoute = "route"
)

// schema is the whole database: one function per table.
func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableResults: resultsTable(),
		tableRoutes:  routesTable(),
		tablePaths:   pathsTable(),
		tableTotals:  totalsTable(),
	}}
}

// resultsTable holds the stored records.
func resultsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableResults,
		Indexes: map[string]*memdb.IndexSchema{
			// id: Get by id; ids grow, and UintFieldIndex encodes them
			// big-endian, so this index in order is oldest first (eviction
			// walks it forward) and in reverse newest first (Recent("")).
			indexID: {
				Name:    indexID,
				Unique:  true,
				Indexer: &memdb.UintFieldIndex{Field: "ID"},
			},
			// route: compound (route, id) so that one route's results are
			// contiguous and sorted by id: ReverseLowerBound(route, MaxUint64)
			// yields that route's newest first without touching the others.
			indexRoute: {
				Name:   indexRoute,
				Unique: true,
				Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					stringIndex(func(r *resultRow) string { return r.Route }),
					&memdb.UintFieldIndex{Field: "ID"},
				}},
			},
		},
	}
}

// routesTable holds one cumulative aggregate row per route.
func routesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableRoutes,
		Indexes: map[string]*memdb.IndexSchema{
			// id: the route name; read-modify-write on every insert and a
			// full scan, in name order, for Report.
			indexID: {
				Name:    indexID,
				Unique:  true,
				Indexer: stringIndex(func(r *routeRow) string { return r.Route }),
			},
		},
	}
}

// pathsTable holds one cumulative row per route and generalized differing
// path.
func pathsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tablePaths,
		Indexes: map[string]*memdb.IndexSchema{
			// id: compound (route, path): exact lookup to bump a counter on
			// every difference, and a prefix scan with (route, "") for all
			// paths of one route when building its TopPaths.
			indexID: {
				Name:   indexID,
				Unique: true,
				Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
					stringIndex(func(r *pathRow) string { return r.Route }),
					stringIndex(func(r *pathRow) string { return r.Path }),
				}},
			},
		},
	}
}

// totalsTable holds the one row of the store's totals, rewritten by every
// write transaction.
func totalsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableTotals,
		Indexes: map[string]*memdb.IndexSchema{
			// id: the same empty key for the one row.
			indexID: {
				Name:    indexID,
				Unique:  true,
				Indexer: stringIndex(func(*totalsRow) string { return "" }),
			},
		},
	}
}

// strIndex indexes a string field like memdb.StringFieldIndex (value plus
// a NUL terminator, so that "a" is not a prefix of "ab" inside a compound
// key) but also indexes the empty string, which StringFieldIndex refuses:
// a route may be unnamed and the JSON Pointer of a whole body is "".
type strIndex[T any] struct {
	get func(*T) string
}

// stringIndex returns a strIndex reading one field of a *T row.
func stringIndex[T any](get func(*T) string) *strIndex[T] {
	return &strIndex[T]{get: get}
}

// FromObject implements memdb.SingleIndexer.
func (x *strIndex[T]) FromObject(obj any) (bool, []byte, error) {
	row, ok := obj.(*T)
	if !ok {
		return false, nil, fmt.Errorf("report: index on %T got %T", row, obj)
	}
	return true, append([]byte(x.get(row)), 0), nil
}

// FromArgs implements memdb.Indexer: one string argument, exact match.
func (x *strIndex[T]) FromArgs(args ...any) ([]byte, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	return append([]byte(s), 0), nil
}

// PrefixFromArgs implements memdb.PrefixIndexer: no terminator.
func (x *strIndex[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	s, err := oneString(args)
	return []byte(s), err
}

func oneString(args []any) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("report: want 1 index argument, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return "", fmt.Errorf("report: want a string index argument, got %T", args[0])
	}
	return s, nil
}
