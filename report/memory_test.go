package report

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/diff"
)

// storeSlack is what the live heap may hold beyond the store's counted
// bytes once the store has settled: the queue's buffer (QueueSize items
// of a few hundred bytes), the writer's batch buffer,
// memdb's tree roots and the per-route and per-path aggregates, which
// are bounded by MaxPaths rather than MaxBytes.
const storeSlack = 4 << 20

// heapComparisons is how many comparisons TestStoredResultsHeapBound
// offers at the default bounds (its other cases offer a fraction):
// $STRANGLER_HEAP_COMPARISONS when set (the figure is 20000), else
// 6000 (enough to fill the default 64 MiB and evict), or 1500 with -short
// or under the race detector.
func heapComparisons(t *testing.T) int {
	t.Helper()
	if v := os.Getenv("STRANGLER_HEAP_COMPARISONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("STRANGLER_HEAP_COMPARISONS=%q: want a positive integer", v)
		}
		return n
	}
	if testing.Short() || raceEnabled {
		return 1500
	}
	return 6000
}

// liveHeap is the heap in use after two full collections (the second
// frees what finalizers of the first released).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// mebibyteJSON is a JSON document of 1 MiB: an array of small objects,
// each with a token the JSON redactor hides.
func mebibyteJSON() string {
	var b strings.Builder
	b.WriteString(`{"user":{"token":"t0"},"items":[`)
	for i := 0; b.Len() < 1<<20-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"card":"c%d","name":"item %d"}`, i, i, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// bigRecord is one comparison of two distinct 1 MiB bodies, as the shadow
// worker hands it over, where every other string of the record is a
// slice of those bodies: whatever the store keeps of them must not pin
// the bodies.
func bigRecord(body string, i int) Record {
	legacy, service := strings.Clone(body), strings.Clone(body) // two fresh 1 MiB allocations
	return Record{
		Route: "orders", Method: http.MethodGet, Path: "/orders/" + strconv.Itoa(i),
		RequestID: service[8:24], Primary: "legacy",
		Legacy: Side{Status: 200, Body: legacy,
			Header: http.Header{"Content-Type": {"application/json"}, "X-Trace": {legacy[100:160]}}},
		Service: Side{Status: 502, Body: service, Error: service[300:340],
			Header: http.Header{"Content-Type": {"application/json"}, "X-Trace": {service[200:260]}}},
		Result: diff.Result{Verdict: diff.VerdictError, BodyKind: diff.BodyJSON, Error: legacy[400:480],
			Differences: []diff.Difference{
				{Path: "status", Kind: diff.KindStatus, Legacy: "200", Service: "502"},
				{Path: legacy[1000:1010], Kind: diff.KindChanged, Legacy: legacy[1010:1100], Service: service[1010:1200]},
				{Path: "header:X-Trace", Kind: diff.KindHeader, Legacy: legacy[100:160], Service: service[200:260]},
			}},
	}
}

// TestStoredResultsHeapBound stores many comparisons of 1 MiB bodies and
// checks that, after GC, the heap the store holds is its counted bytes
// (at most MaxBytes) plus storeSlack: stored records keep copies of
// excerpts and values, never slices of the captured bodies, and the
// count covers every byte they keep.
func TestStoredResultsHeapBound(t *testing.T) {
	n := heapComparisons(t)
	body := mebibyteJSON()
	jsonRed := NewRedactor(nil, []string{"/user/token", "/items/*/card"})
	tests := []struct {
		name string
		opts Options
		red  *Redactor
		n    int // comparisons offered
	}{
		{"defaults (64MiB), header redaction", Options{}, nil, n},
		{"4MiB, header redaction", Options{MaxBytes: 4 << 20}, nil, n / 4},
		{"4MiB, JSON redaction", Options{MaxBytes: 4 << 20}, jsonRed, n / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			base := liveHeap()
			s := startStore(t, tt.opts)
			for i := range n {
				offerWaiting(t, s, bigRecord(body, i), tt.red)
			}
			flushWaiting(t, s)
			held := int64(liveHeap()) - int64(base)
			st := s.Stats()
			t.Logf("%d comparisons of 1 MiB bodies: %d stored, %d evicted, counted %.1f MiB, heap after GC %.1f MiB over the start",
				n, st.Stored, st.Evicted, mib(st.Bytes), mib(held))
			if st.Bytes > s.opts.MaxBytes {
				t.Errorf("counted bytes %d over MaxBytes %d", st.Bytes, s.opts.MaxBytes)
			}
			if held > st.Bytes+storeSlack {
				t.Errorf("heap after GC grew %.1f MiB; want at most the counted %.1f MiB + %.0f MiB",
					mib(held), mib(st.Bytes), mib(storeSlack))
			}
			runtime.KeepAlive(s)
		})
	}
}

// offerWaiting offers rec with red, waiting for the queue to drain when
// it is full.
func offerWaiting(t *testing.T, s *Store, rec Record, red *Redactor) {
	t.Helper()
	for !s.Offer(rec, red) {
		flushWaiting(t, s)
	}
}

// flushWaiting waits for the writer like flush, but up to 2 minutes:
// race runs on a loaded machine redact slowly.
func flushWaiting(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("waiting for the store's writer: %v", err)
	}
}

// mib converts bytes to MiB.
func mib(n int64) float64 { return float64(n) / (1 << 20) }

// TestEstimateCoversHeap stores records of several shapes, none evicted,
// and checks that the heap they hold after GC is within what the store
// counts for them (plus storeSlack): the size constants of estimateSize
// are not below the real cost of a record.
func TestEstimateCoversHeap(t *testing.T) {
	// n records, and a slack of 1 MiB for the store's fixed costs (the
	// queue buffer alone is about 340 KiB): an undercount of 256 bytes
	// per record would show.
	const n, slack = 8000, 1 << 20
	tests := []struct {
		name string
		rec  func(i int) Record
	}{
		{"small", func(i int) Record { return record(fmt.Sprintf("r%d", i%4), diff.VerdictEqual) }},
		{"many headers and differences", func(i int) Record {
			rec := record("orders", diff.VerdictDifferent)
			for h := range 20 {
				rec.Legacy.Header.Add(fmt.Sprintf("X-H%d", h), strconv.Itoa(i))
				rec.Service.Header.Add(fmt.Sprintf("X-H%d", h), "v")
			}
			for d := range 50 {
				rec.Result.Differences = append(rec.Result.Differences, diff.Difference{
					Path: fmt.Sprintf("/items/%d/price", d), Kind: diff.KindChanged, Legacy: strconv.Itoa(i), Service: "2"})
			}
			return rec
		}},
		{"full excerpts", func(i int) Record {
			rec := record("orders", diff.VerdictEqual)
			rec.Legacy.Body, rec.Service.Body = strings.Repeat("a", 5000), strings.Repeat("b", 5000)
			return rec
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := liveHeap()
			s := startStore(t, Options{MaxResults: n, MaxBytes: 1 << 40})
			for i := range n {
				offerWaiting(t, s, tt.rec(i), nil)
			}
			flushWaiting(t, s)
			held := int64(liveHeap()) - int64(base)
			st := s.Stats()
			t.Logf("%d records: counted %d B each, heap after GC %d B each", st.Stored, st.Bytes/int64(st.Stored), held/int64(st.Stored))
			if st.Stored != n {
				t.Fatalf("stored %d, want %d", st.Stored, n)
			}
			if held > st.Bytes+slack {
				t.Errorf("heap after GC grew %.2f MiB; want at most the counted %.2f MiB + 1 MiB", mib(held), mib(st.Bytes))
			}
			runtime.KeepAlive(s)
		})
	}
}

// bomb compresses n zero bytes with the named Content-Encoding.
func bomb(t *testing.T, enc string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser = gzip.NewWriter(&buf)
	if enc == "deflate" {
		w = zlib.NewWriter(&buf)
	}
	zeros := make([]byte, 64<<10)
	for written := 0; written < n; written += len(zeros) {
		if _, err := w.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// serve starts a test server answering every request with body, as JSON
// in the named Content-Encoding ("" for none).
func serve(t *testing.T, enc string, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if enc != "" {
			w.Header().Set("Content-Encoding", enc)
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// captureCap is the shadow capture cap (diff.max_body's default).
const captureCap = 1 << 20

// fetch gets url as the shadow worker does: without transparent
// decompression, the body read up to the capture cap.
func fetch(t *testing.T, client *http.Client, url string) diff.Response {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, captureCap+1))
	if err != nil {
		t.Fatal(err)
	}
	r := diff.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if len(body) > captureCap {
		r.Body, r.Truncated = body[:captureCap], true
	}
	return r
}

// TestGzipBombHeapBound has a candidate answer 200 times with a 10 MB
// compression bomb, compares each answer with the monolith's through
// real HTTP servers and stores the results: decoding stops at the decode
// cap, each result says the body was cut, and the heap after GC stays
// within the store's counted bytes plus storeSlack.
func TestGzipBombHeapBound(t *testing.T) {
	repeats := 200
	if raceEnabled { // decoding under the race detector is slow
		repeats = 20
	}
	tests := []struct{ enc string }{{"gzip"}, {"deflate"}}
	for _, tt := range tests {
		t.Run(tt.enc, func(t *testing.T) {
			legacyURL := serve(t, "", []byte(mebibyteJSON()))
			serviceURL := serve(t, tt.enc, bomb(t, tt.enc, 10<<20))
			tr := &http.Transport{DisableCompression: true}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}

			base := liveHeap()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s := startStore(t, Options{MaxBytes: 4 << 20})
			for range repeats {
				legacy, service := fetch(t, client, legacyURL), fetch(t, client, serviceURL)
				res := diff.Compare(legacy, service, nil)
				if !res.Truncated || !strings.Contains(res.Error, "decode cap") {
					t.Fatalf("result %s %q truncated %v; want the decode cap noted", res.Verdict, res.Error, res.Truncated)
				}
				rec := Record{Route: "bomb", Method: http.MethodGet, Path: "/bomb", Result: res,
					Legacy:  Side{Status: legacy.Status, Header: legacy.Header, Body: string(legacy.Body)},
					Service: Side{Status: service.Status, Header: service.Header, Body: string(service.Body)}}
				offerWaiting(t, s, rec, nil)
			}
			flushWaiting(t, s)
			runtime.ReadMemStats(&after)
			held := int64(liveHeap()) - int64(base)
			st := s.Stats()
			per := int64(after.TotalAlloc-before.TotalAlloc) / int64(repeats)
			t.Logf("%d bombs: %.1f MiB allocated per comparison, %d stored, counted %.1f MiB, heap after GC %.1f MiB over the start",
				repeats, mib(per), st.Stored, mib(st.Bytes), mib(held))
			if held > st.Bytes+storeSlack {
				t.Errorf("heap after GC grew %.1f MiB; want at most the counted %.1f MiB + %.0f MiB",
					mib(held), mib(st.Bytes), mib(storeSlack))
			}
			// Decoding allocates at most about twice the cap; the rest is
			// the two fetches and the record. (Before the decoder stopped
			// growing at the cap: 23.6 MiB.) The race detector makes
			// sync.Pool drop items, so decoders are allocated anew.
			if !raceEnabled && per > 5*diff.DefaultMaxDecoded/2 {
				t.Errorf("%.1f MiB allocated per comparison; want at most 2.5 decode caps (%.0f MiB)",
					mib(per), mib(5*diff.DefaultMaxDecoded/2))
			}
			if got, ok := s.Get(uint64(repeats)); !ok || !got.Result.Truncated || !strings.Contains(got.Result.Error, "decoding stopped") {
				t.Errorf("stored result %d: truncated %v, error %q; want the truncation noted", repeats, got.Result.Truncated, got.Result.Error)
			}
		})
	}
}
