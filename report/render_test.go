package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/diff"
)

const evilRoute = `<script>alert("r")</script>|x`

// sampleReport is a report with every field filled and hostile strings.
func sampleReport() Report {
	return Report{
		GeneratedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Overall:     Overall{Compared: 10, Equal: 8, Different: 1, NoiseOnly: 1, MatchRate: 0.9},
		Routes: []RouteReport{{
			Route: evilRoute, Stage: "shadow", Records: 12, Compared: 10, Equal: 8, Different: 1, NoiseOnly: 1,
			MatchRate:      0.9,
			LegacyErrors:   ErrorCounts{Status5xx: 1},
			ServiceErrors:  ErrorCounts{Timeout: 2, Refused: 1},
			LegacyLatency:  Latency{Samples: 12, P50ms: 10.5, P99ms: 40},
			ServiceLatency: Latency{Samples: 11, P50ms: 12, P99ms: 80.25},
			TopPaths: []PathStat{{Path: "/items/*/price", Kind: diff.KindChanged, Count: 3,
				Example: Example{Legacy: `"<img src=x onerror=alert(1)>"`, Service: "`a|b`\n# h", ResultID: 7}}},
			Noise:     []NoisePath{{Path: "/updated_at", Count: 4}},
			Shadow:    ShadowCounts{Sent: 12, Dropped: map[string]uint64{"queue_full": 2}, Skipped: map[string]uint64{"method": 1}},
			FirstSeen: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC),
			LastSeen:  time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC),
		}, {Route: "empty", TopPaths: []PathStat{}}},
	}
}

func TestWriteJSON(t *testing.T) {
	in := sampleReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, in); err != nil {
		t.Fatal(err)
	}
	var out Report
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", out, in)
	}
	for _, key := range []string{`"match_rate"`, `"p50_ms"`, `"top_paths"`, `"result_id"`, `"status_5xx"`, `"first_seen"`} {
		if !bytes.Contains(b.Bytes(), []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	if bytes.Contains(b.Bytes(), []byte("0001-01-01")) {
		t.Error("zero times are rendered")
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	tests := []struct {
		name string
		want string
	}{
		{"heading escaped", `## Route &lt;script&gt;alert("r")&lt;/script&gt;\|x`},
		{"compared", "| Compared | 10 |"},
		{"match rate", "| Match rate | 90.0% |"},
		{"errors", "| Service errors | 3 (5xx 0, timeout 2, refused 1, other 0) |"},
		{"latency", "| Service latency p50 / p99 | 12.0 ms / 80.2 ms (11 samples) |"},
		{"path row", "| /items/\\*/price | changed | 3 | no | \"&lt;img src=x onerror=alert(1)&gt;\" | \\`a\\|b\\` \\# h | 7 |"},
		{"noise", "| /updated\\_at | 4 |"},
		{"shadow", "Shadow: sent 12; dropped: queue\\_full 2; skipped: method 1."},
		{"empty route", "| Match rate | n/a |"},
		{"overall", "Overall: 10 compared, match rate 90.0%"},
	}
	for _, tt := range tests {
		if !strings.Contains(out, tt.want) {
			t.Errorf("%s: output lacks %q\n%s", tt.name, tt.want, out)
		}
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "<img") {
		t.Error("raw HTML in Markdown")
	}
}

func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "<img", "http://", "https://", "src=", "<link", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(out, "&lt;img src=", ""), bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "<style>", "90.0%", "queue_full 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if err := parseHTML(out); err != nil {
		t.Errorf("HTML does not parse: %v", err)
	}
}

func TestWriteHTMLEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, Report{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No routes.") {
		t.Error("empty report lacks its message")
	}
	if err := parseHTML(b.String()); err != nil {
		t.Errorf("HTML does not parse: %v", err)
	}
}

// parseHTML checks that every element is closed in order, with the
// encoding/xml parser in its lenient HTML mode.
func parseHTML(s string) error {
	d := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(s, "<!DOCTYPE html>")))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var stack []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Name.Local {
				return errors.New("unbalanced </" + tok.Name.Local + ">")
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		return errors.New("unclosed <" + strings.Join(stack, "><") + ">")
	}
	return nil
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	writers := map[string]func(io.Writer, Report) error{
		"json": WriteJSON, "markdown": WriteMarkdown, "html": WriteHTML,
	}
	for name, write := range writers {
		if err := write(failWriter{}, sampleReport()); err == nil {
			t.Errorf("%s: no error from a failing writer", name)
		}
	}
}

func TestReportEscapesStoredRoute(t *testing.T) {
	s := startStore(t, Options{})
	offerAll(t, s, record(evilRoute, diff.VerdictEqual))
	var b bytes.Buffer
	if err := WriteHTML(&b, s.Report(nil)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script") || !strings.Contains(b.String(), "&lt;script&gt;") {
		t.Error("route name not escaped")
	}
}
