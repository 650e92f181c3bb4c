package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// differingSides starts a monolith and a service whose JSON answers
// differ: a renamed field, an array in another order and a per-call
// timestamp.
func differingSides(t *testing.T) (mono, svc *httptest.Server) {
	t.Helper()
	serve := func(body func() map[string]any) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body())
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	mono = serve(func() map[string]any {
		return map[string]any{"customer_name": "Ada", "items": []int{1, 2, 3}, "at": time.Now().UTC().Format(time.RFC3339Nano)}
	})
	svc = serve(func() map[string]any {
		return map[string]any{"customerName": "Ada", "items": []int{3, 2, 1}, "at": time.Now().UTC().Format(time.RFC3339Nano)}
	})
	return mono, svc
}

// shadowConfig is a route file with one route in shadow.
func shadowConfig(mono, svc string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
log: {level: warn}
legacy: {url: %s}
services:
  orders: {url: %s}
routes:
  - name: orders
    match: {prefix: /api/orders}
    service: orders
    stage: shadow
`, mono, svc)
}

// cliStdout runs a strangler verb against adminURL and returns its
// standard output alone (for JSON).
func cliStdout(t *testing.T, adminURL string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary, append(args, "--admin", adminURL)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("strangler %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

// cliFails runs a strangler verb that must fail and returns its output.
func cliFails(t *testing.T, adminURL string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, append(args, "--admin", adminURL)...).CombinedOutput()
	var ee *exec.ExitError
	if err == nil {
		t.Fatalf("strangler %s succeeded; want a failure\n%s", strings.Join(args, " "), out)
	} else if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("strangler %s: %v; want exit status 1\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestReportVerbs drives report, diffs and diff of the real binary
// against an in-process proxy that shadows a route whose service answers
// differently.
func TestReportVerbs(t *testing.T) {
	mono, svc := differingSides(t)
	data, adminURL := startInProcess(t, writeFile(t, shadowConfig(mono.URL, svc.URL)))
	const sent = 4
	for i := range sent {
		resp, err := http.Get(data + "/api/orders/" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "customer_name") {
			t.Fatalf("GET through the proxy: %d %s; want the monolith's answer", resp.StatusCode, body)
		}
	}
	waitCompared(t, adminURL, "", "orders", sent)

	// The kinds as the Markdown report shows them.
	wantKinds := map[string]string{"/customerName": "extra", `/customer\_name`: "missing", "/items": "order", "/at": "changed"}

	t.Run("report md", func(t *testing.T) {
		out := cli(t, adminURL, "report")
		for _, want := range []string{"# Shadow comparison report", "## Route orders", "| Stage | shadow |",
			"| Compared | 4 |", "| Match rate | 0.0% |"} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
		for path, kind := range wantKinds {
			if !strings.Contains(out, "| "+path+" | "+kind+" | 4 |") {
				t.Errorf("report lacks the row of %s (%s, 4 times):\n%s", path, kind, out)
			}
		}
	})

	t.Run("report json", func(t *testing.T) {
		var rep struct {
			Routes []struct {
				Route     string `json:"route"`
				Stage     string `json:"stage"`
				Compared  uint64 `json:"compared"`
				Different uint64 `json:"different"`
				TopPaths  []struct {
					Path  string `json:"path"`
					Kind  string `json:"kind"`
					Count uint64 `json:"count"`
				} `json:"top_paths"`
				Shadow struct {
					Sent uint64 `json:"sent"`
				} `json:"shadow"`
			} `json:"routes"`
		}
		out := cliStdout(t, adminURL, "report", "--format", "json")
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("report --format json is not JSON (%v):\n%s", err, out)
		}
		if len(rep.Routes) != 1 {
			t.Fatalf("report has %d routes, want 1:\n%s", len(rep.Routes), out)
		}
		r := rep.Routes[0]
		if r.Route != "orders" || r.Stage != "shadow" || r.Compared != sent || r.Different != sent || r.Shadow.Sent != sent {
			t.Errorf("route report %+v; want orders in shadow, %d compared, all different, %d sent", r, sent, sent)
		}
		got := map[string]string{}
		for _, p := range r.TopPaths {
			got[p.Path] = fmt.Sprintf("%s %d", p.Kind, p.Count)
		}
		for path, kind := range wantKinds {
			path = strings.ReplaceAll(path, `\`, "")
			if want := fmt.Sprintf("%s %d", kind, sent); got[path] != want {
				t.Errorf("top path %s: %q, want %q (all: %v)", path, got[path], want, got)
			}
		}
	})

	t.Run("report html", func(t *testing.T) {
		out := cli(t, adminURL, "report", "--format", "html")
		if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "<code>/customerName</code>") {
			t.Errorf("report --format html:\n%s", out)
		}
	})

	var id uint64
	t.Run("diffs", func(t *testing.T) {
		var list struct {
			Diffs []struct {
				ID          uint64 `json:"id"`
				Route       string `json:"route"`
				Path        string `json:"path"`
				Verdict     string `json:"verdict"`
				Differences int    `json:"differences"`
			} `json:"diffs"`
		}
		out := cliStdout(t, adminURL, "diffs", "orders", "-o", "json")
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatalf("diffs -o json is not JSON (%v):\n%s", err, out)
		}
		if len(list.Diffs) != sent {
			t.Fatalf("diffs lists %d results, want %d:\n%s", len(list.Diffs), sent, out)
		}
		for i, d := range list.Diffs {
			if d.Route != "orders" || d.Verdict != "different" || d.Differences != 4 {
				t.Errorf("result %+v; want orders, different, 4 differences", d)
			}
			if i > 0 && d.ID >= list.Diffs[i-1].ID {
				t.Errorf("results not newest first: %d after %d", d.ID, list.Diffs[i-1].ID)
			}
		}
		id = list.Diffs[0].ID

		table := cli(t, adminURL, "diffs", "orders", "--limit", "2")
		lines := strings.Split(strings.TrimSpace(table), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") {
			t.Fatalf("diffs --limit 2: want a header and 2 rows:\n%s", table)
		}
		for _, l := range lines[1:] {
			if f := strings.Fields(l); len(f) != 8 || f[2] != "GET" || !strings.HasPrefix(f[3], "/api/orders/") ||
				f[4] != "different" || f[5] != "4" {
				t.Errorf("diffs row %q; want a GET of /api/orders/N, different, 4 differences", l)
			}
		}
		if !strings.HasPrefix(lines[1], strconv.FormatUint(id, 10)+" ") {
			t.Errorf("first row %q; want the newest result %d", lines[1], id)
		}
	})
	if id == 0 {
		t.Fatal("no result id to show")
	}

	t.Run("diff", func(t *testing.T) {
		out := cli(t, adminURL, "diff", strconv.FormatUint(id, 10))
		if !strings.Contains(out, fmt.Sprintf("result   %d (orders) GET /api/orders/", id)) ||
			!strings.Contains(out, "verdict  different") || !strings.Contains(out, "served by legacy") {
			t.Errorf("diff %d header:\n%s", id, out)
		}
		kinds := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 2 && strings.HasPrefix(f[0], "/") {
				kinds[f[0]] = f[1]
			}
		}
		for path, kind := range wantKinds {
			path = strings.ReplaceAll(path, `\`, "")
			if kinds[path] != kind {
				t.Errorf("diff %d shows %s as %q, want %q:\n%s", id, path, kinds[path], kind, out)
			}
		}
		if !strings.Contains(out, `"Ada"`) || !strings.Contains(out, "[1,2,3]") || !strings.Contains(out, "[3,2,1]") {
			t.Errorf("diff %d lacks the values on each side:\n%s", id, out)
		}

		var rec struct {
			ID     uint64 `json:"id"`
			Result struct {
				Differences []struct {
					Path string `json:"path"`
				} `json:"differences"`
			} `json:"result"`
		}
		js := cliStdout(t, adminURL, "diff", strconv.FormatUint(id, 10), "-o", "json")
		if err := json.Unmarshal(js, &rec); err != nil || rec.ID != id || len(rec.Result.Differences) != 4 {
			t.Errorf("diff -o json: %v, %+v:\n%s", err, rec, js)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"report", "--format", "pdf"}, `--format "pdf": want table, md, json or html`},
			{[]string{"report", "-o", "json"}, "unknown shorthand flag: 'o'"}, // --format chooses
			{[]string{"diff", "999999"}, "no stored result 999999 (evicted or never stored) (field id, HTTP 404)"},
			{[]string{"diff", "abc"}, "id must be a positive integer (field id, HTTP 400)"},
			{[]string{"diffs", "nope"}, `unknown route "nope" (field route, HTTP 404)`},
			{[]string{"diffs", "orders", "--limit", "0"}, "limit must be between 1 and 1000 (field limit, HTTP 400)"},
		} {
			if out := cliFails(t, adminURL, tc.args...); !strings.Contains(out, tc.want) {
				t.Errorf("strangler %s: output %q lacks %q", strings.Join(tc.args, " "), out, tc.want)
			}
		}
	})
}
