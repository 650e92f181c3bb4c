package admin_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadBodies sends refused change requests: each must answer 4xx with
// a message and the field at fault, and leave every route (position,
// override, version) and the audit trail as they were.
func TestBadBodies(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.traffic()
	// Give order-list an override and a version above 0, so a refused
	// change has something to disturb.
	if r := f.do("POST", "/admin/routes/order-list/stage", `{"stage":"canary","percent":5}`, nil); r.Status != 200 {
		t.Fatalf("setting up: status %d: %s", r.Status, r.Body)
	}
	const stage = "/admin/routes/order-list/stage"
	tests := []struct {
		desc   string
		path   string
		body   string
		status int
		field  string
		msg    string // a substring of the message
	}{
		{desc: "unknown stage", path: stage, body: `{"stage":"blue"}`,
			status: 400, field: "stage", msg: "unknown stage"},
		{desc: "empty stage", path: stage, body: `{"stage":""}`,
			status: 400, field: "stage", msg: "required"},
		{desc: "percent 101", path: stage, body: `{"stage":"canary","percent":101}`,
			status: 400, field: "percent", msg: "between 0 and 100"},
		{desc: "negative percent", path: stage, body: `{"stage":"canary","percent":-1}`,
			status: 400, field: "percent", msg: "between 0 and 100"},
		{desc: "percent as a string", path: stage, body: `{"stage":"canary","percent":"50"}`,
			status: 400, field: "percent", msg: "percent must be"},
		{desc: "stage as a number", path: stage, body: `{"stage":3}`,
			status: 400, field: "stage", msg: "stage must be"},
		{desc: "negative if_version", path: stage, body: `{"stage":"legacy","if_version":-1}`,
			status: 400, field: "if_version", msg: "if_version must be"},
		{desc: "unknown route", path: "/admin/routes/nope/stage", body: `{"stage":"shadow"}`,
			status: 404, field: "name", msg: "unknown route"},
		{desc: "unknown route on promote", path: "/admin/routes/nope/promote",
			status: 404, field: "name", msg: "unknown route"},
		{desc: "malformed JSON", path: stage, body: `{"stage":`,
			status: 400, msg: "malformed JSON"},
		{desc: "not an object", path: stage, body: `["shadow"]`,
			status: 400, msg: "the body must be a JSON object, not array"},
		{desc: "a string", path: stage, body: `"shadow"`,
			status: 400, msg: "the body must be a JSON object, not string"},
		{desc: "unknown field", path: stage, body: `{"stage":"shadow","percnt":5}`,
			status: 400, field: "percnt", msg: "unknown field"},
		{desc: "trailing object", path: stage, body: `{"stage":"shadow"} {"stage":"legacy"}`,
			status: 400, msg: "after the JSON object"},
		{desc: "trailing brace", path: stage, body: `{"stage":"shadow"}}`,
			status: 400, msg: "after the JSON object"},
		{desc: "trailing bracket", path: stage, body: `{"stage":"shadow"}]`,
			status: 400, msg: "after the JSON object"},
		{desc: "trailing garbage", path: stage, body: `{"stage":"shadow"}x`,
			status: 400, msg: "after the JSON object"},
		{desc: "empty body", path: stage, body: ``,
			status: 400, msg: "JSON body is required"},
		{desc: "blank body", path: stage, body: " \n\t",
			status: 400, msg: "JSON body is required"},
		{desc: "null body", path: stage, body: `null`,
			status: 400, field: "stage", msg: "required"},
		{desc: "body over 64 KiB", path: stage, body: `{"stage":"shadow","reason":"` + strings.Repeat("x", 64<<10) + `"}`,
			status: 413, msg: "larger than"},
		{desc: "reason over 1000 characters", path: stage, body: `{"stage":"shadow","reason":"` + strings.Repeat("x", 1001) + `"}`,
			status: 400, field: "reason", msg: "at most 1000"},
		{desc: "canary without percent", path: stage, body: `{"stage":"canary"}`,
			status: 400, field: "percent", msg: "required for stage canary"},
		{desc: "stage needs a service", path: "/admin/routes/legacy-reports/stage", body: `{"stage":"shadow"}`,
			status: 400, field: "stage", msg: "required for stage"},
		{desc: "stage given to promote", path: "/admin/routes/order-list/promote", body: `{"stage":"migrated"}`,
			status: 400, field: "stage", msg: "takes no stage"},
		{desc: "percent given to promote", path: "/admin/routes/order-list/promote", body: `{"percent":50}`,
			status: 400, field: "stage", msg: "takes no stage"},
		{desc: "stage given to rollback", path: "/admin/routes/order-list/rollback", body: `{"stage":"legacy"}`,
			status: 400, field: "stage", msg: "takes no stage"},
		{desc: "malformed JSON on reset", path: "/admin/routes/order-list/reset", body: `{`,
			status: 400, msg: "malformed JSON"},
		{desc: "if_version stale", path: stage, body: `{"stage":"legacy","if_version":0}`,
			status: 409, field: "if_version", msg: "at version 1, not 0"},
		{desc: "if_version stale on promote", path: "/admin/routes/order-list/promote", body: `{"if_version":7}`,
			status: 409, field: "if_version", msg: "at version 1, not 7"},
		{desc: "promote past the plan", path: "/admin/routes/customers/promote",
			status: 409, msg: "last step of its plan"},
		{desc: "rollback below legacy", path: "/admin/routes/legacy-reports/rollback",
			status: 409, msg: "already at legacy"},
		{desc: "reset without override", path: "/admin/routes/customers/reset",
			status: 409, msg: "no override"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before := f.snapshot()
			r := f.do(http.MethodPost, tc.path, tc.body, nil)
			if r.Status != tc.status {
				t.Errorf("status %d, want %d; body %s", r.Status, tc.status, r.Body)
			}
			msg, field := r.errorBody(t)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q, want it to mention %q", msg, tc.msg)
			}
			if field != tc.field {
				t.Errorf("field %q, want %q (error %q)", field, tc.field, msg)
			}
			if after := f.snapshot(); after != before {
				t.Errorf("a refused change altered the state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
