package plan

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/plan/plantest"
)

func TestParseLines(t *testing.T) {
	tests := []struct {
		name, format, line string
		want               Sample
		ok                 bool
	}{
		{"combined", FormatCombined,
			`1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] "GET /api/orders/7?x=1 HTTP/1.1" 200 2326 "-" "curl/8" 0.125`,
			Sample{Method: "GET", Path: "/api/orders/7", Status: 200, Bytes: 2326, Latency: 125 * time.Millisecond}, true},
		{"common", FormatCommon,
			`1.2.3.4 - frank [10/Oct/2025:13:55:36 -0700] "POST /login HTTP/1.0" 302 -`,
			Sample{Method: "POST", Path: "/login", Status: 302, Bytes: -1, Latency: -1}, true},
		{"apache %D", FormatCombined,
			`1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" 1500`,
			Sample{Method: "GET", Path: "/", Status: 200, Bytes: 5, Latency: 1500 * time.Microsecond}, true},
		{"nginx rt=", FormatCombined,
			`1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] "GET http://h.example/a/b HTTP/1.1" 404 0 "-" "ua" rt=0.002`,
			Sample{Method: "GET", Path: "/a/b", Status: 404, Bytes: 0, Latency: 2 * time.Millisecond}, true},
		{"garbage", FormatCombined, `hello world`, Sample{}, false},
		{"json nginx", FormatJSON,
			`{"time_iso8601":"2025-10-10T13:55:36+00:00","request_method":"GET","request_uri":"/x/1?q","status":"503","body_bytes_sent":"10","request_time":"0.250"}`,
			Sample{Method: "GET", Path: "/x/1", Status: 503, Bytes: 10, Latency: 250 * time.Millisecond}, true},
		{"json strangler", FormatJSON,
			`{"level":"info","route":"orders","stage":"shadow","served_by":"legacy","method":"get","path":"/o","status":200,"duration_ms":1.5,"bytes":3,"time":"2025-10-10T13:55:36Z"}`,
			Sample{Method: "GET", Path: "/o", Status: 200, Bytes: 3, Latency: 1500 * time.Microsecond, Route: "orders", Stage: "shadow"}, true},
		{"json request line", FormatJSON, `{"request":"DELETE /a/2 HTTP/1.1","status_code":204,"duration":"3ms","timestamp":1760104536}`,
			Sample{Method: "DELETE", Path: "/a/2", Status: 204, Bytes: -1, Latency: 3 * time.Millisecond}, true},
		{"json no status", FormatJSON, `{"method":"GET","path":"/"}`, Sample{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse, err := parserFor(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := parse([]byte(tt.line), &timeCache{})
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got.Time.IsZero() {
				t.Errorf("no time read")
			}
			got.Time = time.Time{}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadLogDetectsFormat(t *testing.T) {
	tests := []struct{ name, log, format string }{
		{"json", `{"method":"GET","path":"/a","status":200}` + "\n" + `{"method":"GET","path":"/a/1","status":200}` + "\n", FormatJSON},
		{"combined", `1.1.1.1 - - [10/Oct/2025:13:55:36 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"` + "\nnot a log line\n", FormatCombined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			inv, st, err := ReadLog(strings.NewReader(tt.log), FormatAuto, func(int64) { calls++ })
			if err != nil {
				t.Fatal(err)
			}
			if st.Format != tt.format || calls == 0 || st.Lines != 2 || st.Parsed+st.Skipped != 2 {
				t.Errorf("stats %+v, progress calls %d", st, calls)
			}
			if inv.Snapshot().Requests != uint64(st.Parsed) {
				t.Errorf("inventory counted %d, parsed %d", inv.Snapshot().Requests, st.Parsed)
			}
		})
	}
	if _, _, err := ReadLog(strings.NewReader(""), "xml", nil); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestGeneratedLog streams a generated log of a realistic monolith
// through ReadLog and compares the learned shapes with the generator's
// truth.
func TestGeneratedLog(t *testing.T) {
	const lines = 1_000_000
	mono := plantest.New(240, 7)
	pr, pw := io.Pipe()
	truthc := make(chan map[string]int, 1)
	go func() {
		got, err := mono.WriteLog(pw, lines, 11)
		pw.CloseWithError(err)
		truthc <- got
	}()
	start := time.Now()
	inv, st, err := ReadLog(pr, FormatAuto, nil)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	truth := <-truthc
	if st.Parsed != int64(lines) {
		t.Fatalf("parsed %d of %d lines (first bad: %q)", st.Parsed, lines, st.FirstBad)
	}
	found := map[string]uint64{}
	for _, ep := range inv.Snapshot().Endpoints {
		found[ep.Method+" "+ep.Shape] = ep.Requests
	}
	hit := 0
	for k := range found {
		if truth[k] > 0 {
			hit++
		}
	}
	precision, recall := float64(hit)/float64(len(found)), float64(hit)/float64(len(truth))
	t.Logf("%d lines in %v (%.0f lines/s), %d families, %d true shapes, %d found: precision %.4f recall %.4f, heap %d MB",
		lines, took.Round(time.Millisecond), float64(lines)/took.Seconds(), len(mono.Families), len(truth), len(found),
		precision, recall, heapBytes()>>20)
	runtime.KeepAlive(inv)
	if precision < 0.95 || recall < 0.95 {
		for k, n := range found {
			if truth[k] == 0 {
				t.Logf("false shape %s (%d)", k, n)
			}
		}
		for k, n := range truth {
			if found[k] == 0 {
				t.Logf("missed shape %s (%d)", k, n)
			}
		}
		t.Errorf("precision %.3f, recall %.3f: want both >= 0.95", precision, recall)
	}
}

func heapBytes() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func ExampleReadLog() {
	log := `1.1.1.1 - - [10/Oct/2025:13:55:36 +0000] "GET /api/orders/17 HTTP/1.1" 200 512 "-" "-" 0.010
1.1.1.1 - - [10/Oct/2025:13:55:37 +0000] "GET /api/orders/18 HTTP/1.1" 200 498 "-" "-" 0.012
`
	inv, _, _ := ReadLog(strings.NewReader(log), FormatAuto, nil)
	for _, ep := range inv.Snapshot().Endpoints {
		fmt.Println(ep.Method, ep.Shape, ep.Requests)
	}
	// Output: GET /api/orders/{id} 2
}
