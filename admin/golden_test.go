package admin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenDir holds one JSON file per admin answer.
const goldenDir = "testdata/golden"

// volatileTimes are keys whose string values are wall-clock times.
var volatileTimes = map[string]bool{"at": true, "time": true,
	"generated_at": true, "first_seen": true, "last_seen": true}

// volatileFloats are keys whose numbers are measured latencies and
// durations.
var volatileFloats = map[string]bool{"p50_ms": true, "p99_ms": true, "duration_ns": true}

// volatileStrings are keys whose string values, or lists of strings (the
// headers of a stored result), differ between runs, with their
// placeholder.
var volatileStrings = map[string]string{"request_id": "<request-id>",
	"Date": "<date>", "X-Request-Id": "<request-id>"}

// loopbackURL matches the URLs of httptest servers.
var loopbackURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)

// normalize replaces the values that differ between runs: times,
// latencies and durations, request ids, the temp dir and the httptest
// servers' URLs.
func normalize(v any, tmp string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			switch _, isString := e.(string); {
			case volatileTimes[k] && isString:
				out[k] = "<time>"
			case volatileFloats[k]:
				out[k] = 0.0
			case volatileStrings[k] != "":
				out[k] = placeholder(e, volatileStrings[k])
			default:
				out[k] = normalize(e, tmp)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e, tmp)
		}
		return out
	case string:
		if tmp != "" {
			v = strings.ReplaceAll(v, tmp, "<tmp>")
		}
		return loopbackURL.ReplaceAllString(v, "<url>")
	}
	return v
}

// placeholder replaces a non-empty string, or each string of a list,
// with ph.
func placeholder(v any, ph string) any {
	switch v := v.(type) {
	case string:
		if v != "" {
			return ph
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = placeholder(e, ph)
		}
		return out
	}
	return v
}

// checkGolden compares got, normalized, with testdata/golden/name.json,
// or rewrites that file under -update.
func checkGolden(t *testing.T, name string, got any, tmp string) {
	t.Helper()
	got = normalize(got, tmp)
	path := filepath.Join(goldenDir, name+".json")
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keep "<time>" readable
		enc.SetIndent("", "  ")
		if err := enc.Encode(got); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("no golden file %s: run go test ./admin -run %s -update", path, t.Name())
	}
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("golden file %s is not JSON: %v", path, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s differs from the golden file %s (-want +got):\n%s\nrun with -update if the change is intended",
			t.Name(), path, diff)
	}
}

// goldenStep is one admin request in the golden sequence.
type goldenStep struct {
	desc   string
	method string
	path   string
	body   string
	before func(*fixture) // runs before the request
	status int
	golden string
	// field, if set, is the field the error response must name.
	field string
}

// TestGolden walks every endpoint in order on one fixture, so later steps
// see the state earlier ones made (versions, overrides, the audit trail),
// and compares each answer with its golden file.
func TestGolden(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.traffic()
	steps := []goldenStep{
		{desc: "healthz", method: "GET", path: "/healthz", status: 200, golden: "healthz"},
		{desc: "readyz", method: "GET", path: "/readyz", status: 200, golden: "readyz"},
		{desc: "readyz not ready", method: "GET", path: "/readyz", status: 503, golden: "readyz_not_ready",
			before: func(f *fixture) { f.setReady(errNotReady) }},
		{desc: "list routes", method: "GET", path: "/admin/routes", status: 200, golden: "routes",
			before: func(f *fixture) { f.setReady(nil) }},
		{desc: "get route", method: "GET", path: "/admin/routes/customers", status: 200, golden: "route_get"},
		{desc: "stages", method: "GET", path: "/admin/stages", status: 200, golden: "stages"},
		{desc: "unknown route", method: "GET", path: "/admin/routes/nope", status: 404,
			golden: "error_404_unknown_route"},
		{desc: "unknown endpoint", method: "GET", path: "/admin/nope", status: 404, golden: "error_404_endpoint"},
		{desc: "GET on a mutation", method: "GET", path: "/admin/routes/order-list/stage", status: 405,
			golden: "error_405"},
		{desc: "POST on a read", method: "POST", path: "/admin/routes", status: 405, golden: "error_405_read"},
		{desc: "stage", method: "POST", path: "/admin/routes/order-list/stage", status: 200, golden: "stage",
			body: `{"stage":"canary","percent":5,"reason":"first customers","if_version":0}`},
		{desc: "promote", method: "POST", path: "/admin/routes/order-list/promote", status: 200, golden: "promote",
			body: `{"reason":"error rate flat"}`},
		{desc: "rollback", method: "POST", path: "/admin/routes/order-list/rollback", status: 200,
			golden: "rollback"},
		{desc: "reset", method: "POST", path: "/admin/routes/order-list/reset", status: 200, golden: "reset",
			body: `{"reason":"back to the file"}`},
		{desc: "reset without override", method: "POST", path: "/admin/routes/order-list/reset", status: 409,
			golden: "error_409_no_override"},
		{desc: "stale if_version", method: "POST", path: "/admin/routes/order-list/stage", status: 409,
			golden: "error_409_conflict", body: `{"stage":"legacy","if_version":1}`},
		{desc: "promote past the plan", method: "POST", path: "/admin/routes/customers/promote", status: 409,
			golden: "error_409_no_step"},
		{desc: "bad body", method: "POST", path: "/admin/routes/order-list/stage", status: 400,
			golden: "error_400_bad_body", body: `{"stage": "canary", "percent": "5"}`},
		{desc: "unknown field", method: "POST", path: "/admin/routes/order-list/stage", status: 400,
			golden: "error_400_unknown_field", body: `{"stage":"shadow","pct":5}`},
		{desc: "stage invalid for route", method: "POST", path: "/admin/routes/legacy-reports/stage", status: 400,
			golden: "error_400_stage_needs_service", body: `{"stage":"migrated"}`},
		{desc: "events", method: "GET", path: "/admin/events", status: 200, golden: "events"},
		{desc: "events of a route", method: "GET", path: "/admin/events?route=order-list&limit=2", status: 200,
			golden: "events_route_limit"},
		{desc: "events bad limit", method: "GET", path: "/admin/events?limit=0", status: 400,
			golden: "error_400_limit"},
		{desc: "config", method: "GET", path: "/admin/config", status: 200, golden: "config"},
		{desc: "reload", method: "POST", path: "/admin/reload", status: 200, golden: "reload",
			before: func(f *fixture) {
				f.writeRouteFile(fmt.Sprintf(strings.Replace(routeFile, "stage: shadow", "stage: legacy", 1),
					f.monolith.URL, f.orders.URL))
			}},
		{desc: "routes after reload", method: "GET", path: "/admin/routes/order-list", status: 200,
			golden: "route_after_reload"},
		{desc: "reload invalid file", method: "POST", path: "/admin/reload", status: 422, golden: "reload_invalid",
			before: func(f *fixture) {
				bad := strings.Replace(routeFile, "stage: canary", "stage: blue", 1)
				bad = strings.Replace(bad, "percent: 10", "percent: 150", 1)
				f.writeRouteFile(fmt.Sprintf(bad, f.monolith.URL, f.orders.URL))
			}},
		{desc: "routes after rejected reload", method: "GET", path: "/admin/routes/order-details", status: 200,
			golden: "route_after_rejected_reload"},
		{desc: "events after reloads", method: "GET", path: "/admin/events?limit=3", status: 200,
			golden: "events_after_reload"},
		{desc: "legacy endpoints", method: "GET", path: "/admin/legacy/endpoints", status: 200,
			golden: "legacy_endpoints"},
	}
	runGoldenSteps(t, f, steps)
}

// runGoldenSteps runs steps in order on f, comparing each JSON answer
// with its golden file; a failed successful POST stops the sequence.
func runGoldenSteps(t *testing.T, f *fixture, steps []goldenStep) {
	t.Helper()
	for _, tc := range steps {
		ok := t.Run(tc.desc, func(t *testing.T) {
			if tc.before != nil {
				tc.before(f)
			}
			r := f.do(tc.method, tc.path, tc.body, nil)
			if r.Status != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tc.method, tc.path, r.Status, tc.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if r.Status >= 400 && r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusServiceUnavailable {
				msg, field := r.errorBody(t)
				if msg == "" {
					t.Errorf("error response without a message: %s", r.Body)
				}
				if tc.field != "" && field != tc.field {
					t.Errorf("error names field %q, want %q: %s", field, tc.field, r.Body)
				}
			}
			checkGolden(t, tc.golden, r.JSON(t), f.dir)
		})
		// A failed change makes the later steps meaningless.
		if !ok && tc.method == http.MethodPost && tc.status == http.StatusOK {
			t.Fatalf("step %q failed; later steps depend on it", tc.desc)
		}
	}
}
