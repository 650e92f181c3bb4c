package shadow

import (
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/diff"
)

// mirrorSlack is what the live heap may hold beyond the report store's
// counted bytes after the mirrored exchanges: the store's queue buffer
// and aggregates, and what the connections opened after the warm-up
// buffer.
const mirrorSlack = 8 << 20

// textHandler answers every request with body as text.
func textHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, body)
	}
}

// heapAfterGC is the heap in use after two full collections.
func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestMirroredBodiesNotPinned mirrors requests whose answers are 1 MiB
// on both sides through the real shadow path (httptest monolith and
// service, the dispatcher, diff, the report store) and checks that the
// heap after GC grows by no more than the store counts plus mirrorSlack:
// stored results keep excerpts, not the captured bodies.
// $STRANGLER_HEAP_COMPARISONS sets the number of exchanges (default 300,
// 100 with -short).
func TestMirroredBodiesNotPinned(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 100
	}
	if v := os.Getenv("STRANGLER_HEAP_COMPARISONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("STRANGLER_HEAP_COMPARISONS=%q: want a positive integer", v)
		}
	}
	body := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	legacy, service := textHandler(body), textHandler(body[:len(body)-1]+"!")
	r := newRig(t, legacy, service, Options{Workers: 2, Queue: 16})
	p := r.policy(func(c *PolicyConfig) { c.MaxResponse = 2 << 20 })
	front := r.front(p, shadowDecision, legacy)
	get := func(i int) {
		resp, err := r.client.Get(front.URL + "/orders/" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(got) != len(body) {
			t.Fatalf("request %d: %d bytes, %v", i, len(got), err)
		}
		r.wait() // one copy at a time: none is dropped for memory
	}
	get(-1) // warm-up: connections and pools
	base := heapAfterGC()
	for i := range n {
		get(i)
	}
	held := heapAfterGC() - base
	st := r.store.Stats()
	t.Logf("%d mirrored exchanges of 1 MiB answers: %d stored, counted %.1f MiB, heap after GC %.1f MiB over the start",
		n, st.Stored, float64(st.Bytes)/(1<<20), float64(held)/(1<<20))
	if st.Stored != n+1 {
		t.Fatalf("stored %d results, want %d", st.Stored, n+1)
	}
	if held > st.Bytes+mirrorSlack {
		t.Errorf("heap after GC grew %.1f MiB; want at most the counted %.1f MiB + 8 MiB",
			float64(held)/(1<<20), float64(st.Bytes)/(1<<20))
	}
	rec, ok := r.store.Get(uint64(n + 1))
	if !ok || rec.Result.Verdict != diff.VerdictDifferent || len(rec.Legacy.Body) > 4096 || !rec.Legacy.Truncated {
		t.Errorf("last result: verdict %s, legacy excerpt %d bytes, truncated %v; want different, 4096, true",
			rec.Result.Verdict, len(rec.Legacy.Body), rec.Legacy.Truncated)
	}
}
