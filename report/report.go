package report

import (
	"cmp"
	"math"
	"slices"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/stranglerfig/strangler/diff"
)

// topPaths is how many differing paths a RouteReport lists.
const topPaths = 20

// Report is the aggregate view of the store.
type Report struct {
	GeneratedAt time.Time     `json:"generated_at"`
	Routes      []RouteReport `json:"routes"`
	Overall     Overall       `json:"overall"`
}

// Overall sums the comparisons of all routes.
type Overall struct {
	Compared  uint64  `json:"compared"`
	Equal     uint64  `json:"equal"`
	Different uint64  `json:"different"`
	NoiseOnly uint64  `json:"noise_only"`
	MatchRate float64 `json:"match_rate"`
}

// RouteReport is the cumulative aggregate of one route. Stage, Shadow and
// Noise are left zero by the store for the caller to fill.
type RouteReport struct {
	Route string `json:"route"`
	// Stage is the route's rollout stage (filled by the caller).
	Stage string `json:"stage,omitempty"`
	// Records counts every record stored for the route, compared or not.
	Records uint64 `json:"records"`
	// Compared counts records with a verdict where neither side failed.
	Compared   uint64 `json:"compared"`
	Equal      uint64 `json:"equal"`
	Different  uint64 `json:"different"`
	NoiseOnly  uint64 `json:"noise_only"`
	DiffErrors uint64 `json:"diff_errors"`
	// MatchRate is (Equal+NoiseOnly)/Compared, 0 when nothing was compared.
	MatchRate      float64     `json:"match_rate"`
	LegacyErrors   ErrorCounts `json:"legacy_errors"`
	ServiceErrors  ErrorCounts `json:"service_errors"`
	LegacyLatency  Latency     `json:"legacy_latency"`
	ServiceLatency Latency     `json:"service_latency"`
	// TopPaths are the most frequent differing paths, generalized, by
	// count (at most 20).
	TopPaths []PathStat `json:"top_paths"`
	// Noise lists the learned noisy paths (filled by the caller).
	Noise []NoisePath `json:"noise,omitempty"`
	// Shadow counts shadow traffic (filled by the caller).
	Shadow    ShadowCounts `json:"shadow"`
	FirstSeen time.Time    `json:"first_seen,omitzero"`
	LastSeen  time.Time    `json:"last_seen,omitzero"`
}

// ErrorCounts counts one side's failures: answers with status >= 500 and
// upstream errors by kind (errkind: "reset", "dns" and "tls" count as
// Other).
type ErrorCounts struct {
	Status5xx uint64 `json:"status_5xx"`
	Timeout   uint64 `json:"timeout"`
	Refused   uint64 `json:"refused"`
	Other     uint64 `json:"other"`
}

// Total is the sum of all counts.
func (e ErrorCounts) Total() uint64 {
	return e.Status5xx + e.Timeout + e.Refused + e.Other
}

// PathStat is how many results differed at one generalized path of a
// route (a result with several differences under one path counts once).
type PathStat struct {
	Path    string    `json:"path"`
	Kind    diff.Kind `json:"kind"`
	Count   uint64    `json:"count"`
	Noise   bool      `json:"noise"`
	Example Example   `json:"example"`
}

// Example is the latest difference seen at a path (redacted), and the id
// of its result (which may have been evicted since).
type Example struct {
	Legacy   string `json:"legacy"`
	Service  string `json:"service"`
	ResultID uint64 `json:"result_id"`
	// Excerpt is the source around the difference on each side, for
	// page, XML and text bodies (see diff.Excerpt).
	Excerpt *diff.Excerpt `json:"excerpt,omitempty"`
}

// ShadowCounts counts shadow requests: sent, and dropped or skipped by
// reason (filled by the caller).
type ShadowCounts struct {
	Sent    uint64            `json:"sent"`
	Dropped map[string]uint64 `json:"dropped,omitempty"`
	Skipped map[string]uint64 `json:"skipped,omitempty"`
}

// NoisePath is a learned noisy path and how often it was seen.
type NoisePath struct {
	Path  string `json:"path"`
	Count uint64 `json:"count"`
}

// Recent returns up to limit stored results, newest first, of route (all
// routes when route is ""). A limit <= 0 returns all.
func (s *Store) Recent(route string, limit int) []Summary {
	txn := s.db.Txn(false)
	it, err := recentIter(txn, route)
	if err != nil {
		return nil
	}
	out := []Summary{}
	for obj := it.Next(); obj != nil && (limit <= 0 || len(out) < limit); obj = it.Next() {
		row := obj.(*resultRow)
		if route != "" && row.Route != route {
			break // past the route's rows in the (route, id) index
		}
		out = append(out, summarize(&row.Rec))
	}
	return out
}

// recentIter iterates newest first over all results or over one route's.
func recentIter(txn *memdb.Txn, route string) (memdb.ResultIterator, error) {
	if route == "" {
		return txn.GetReverse(tableResults, indexID)
	}
	return txn.ReverseLowerBound(tableResults, indexRoute, route, uint64(math.MaxUint64))
}

// Get returns the stored result id, if it is still stored.
func (s *Store) Get(id uint64) (Record, bool) {
	obj, err := s.db.Txn(false).First(tableResults, indexID, id)
	if err != nil || obj == nil {
		return Record{}, false
	}
	return obj.(*resultRow).Rec.clone(), true
}

// Report returns the aggregates of every route: first those named in
// routes (in that order, even with no data), then any others seen, by
// name.
func (s *Store) Report(routes []string) Report {
	txn := s.db.Txn(false)
	rows := routeRows(txn)
	rep := Report{GeneratedAt: time.Now(), Routes: []RouteReport{}}
	for _, name := range reportOrder(routes, rows) {
		rr := routeReport(txn, name, rows[name])
		rep.Routes = append(rep.Routes, rr)
		rep.Overall.add(&rr)
	}
	rep.Overall.MatchRate = matchRate(rep.Overall.Equal+rep.Overall.NoiseOnly, rep.Overall.Compared)
	return rep
}

// routeRows returns the aggregate rows by route.
func routeRows(txn *memdb.Txn) map[string]*routeRow {
	rows := map[string]*routeRow{}
	each(txn, tableRoutes, func(row *routeRow) { rows[row.Route] = row })
	return rows
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

// reportOrder lists named first, without repeats, then the other routes
// of rows by name.
func reportOrder(named []string, rows map[string]*routeRow) []string {
	var order []string
	seen := map[string]bool{}
	for _, name := range named {
		if !seen[name] {
			seen[name] = true
			order = append(order, name)
		}
	}
	var others []string
	for name := range rows {
		if !seen[name] {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	return append(order, others...)
}

// routeReport builds the report of one route; row is nil without data.
func routeReport(txn *memdb.Txn, name string, row *routeRow) RouteReport {
	if row == nil {
		row = &routeRow{Route: name}
	}
	return RouteReport{
		Route: name, Records: row.Records, Compared: row.Compared,
		Equal: row.Equal, Different: row.Different, NoiseOnly: row.NoiseOnly,
		DiffErrors:     row.DiffErrors,
		MatchRate:      matchRate(row.Equal+row.NoiseOnly, row.Compared),
		LegacyErrors:   row.LegacyErr,
		ServiceErrors:  row.ServiceErr,
		LegacyLatency:  row.LegacyLat.latency(),
		ServiceLatency: row.ServiceLat.latency(),
		TopPaths:       topPathStats(txn, name),
		FirstSeen:      row.FirstSeen,
		LastSeen:       row.LastSeen,
	}
}

// topPathStats returns the most frequent differing paths of route.
func topPathStats(txn *memdb.Txn, route string) []PathStat {
	out := []PathStat{}
	// (route, "") as a prefix: the route exactly, then any path.
	it, err := txn.Get(tablePaths, indexID+"_prefix", route, "")
	if err != nil {
		return out
	}
	for obj := it.Next(); obj != nil; obj = it.Next() {
		p := obj.(*pathRow)
		out = append(out, PathStat{Path: p.Path, Kind: p.Kind, Count: p.Count, Noise: p.Noise, Example: p.Example})
	}
	slices.SortStableFunc(out, func(a, b PathStat) int { return cmp.Compare(b.Count, a.Count) })
	return out[:min(len(out), topPaths)]
}

// matchRate is matched/compared, 0 when nothing was compared.
func matchRate(matched, compared uint64) float64 {
	if compared == 0 {
		return 0
	}
	return float64(matched) / float64(compared)
}

// add sums one route into o (MatchRate is computed at the end).
func (o *Overall) add(r *RouteReport) {
	o.Compared += r.Compared
	o.Equal += r.Equal
	o.Different += r.Different
	o.NoiseOnly += r.NoiseOnly
}
