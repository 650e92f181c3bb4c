package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// fuzzRoutes are the routes a fuzzed change may name: each stage, one
// without a service, and one that does not exist.
var fuzzRoutes = []string{"order-details", "order-list", "customers", "legacy-reports", "nope"}

// FuzzAdminRequest posts arbitrary bodies to /admin/routes/{name}/stage:
// the API never panics, never answers 5xx, and the state (positions,
// overrides, versions, audit trail) changes exactly when it answers 200.
func FuzzAdminRequest(f *testing.F) {
	fx := newFixture(f, fixtureOptions{})
	f.Add(uint8(1), `{"stage":"canary","percent":5,"reason":"seed"}`)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		name := fuzzRoutes[int(route)%len(fuzzRoutes)]
		before := fx.snapshot()
		r, err := fx.try(http.MethodPost, "/admin/routes/"+name+"/stage", body, nil)
		if err != nil {
			t.Fatalf("POST: %v", err) // the server dropped the connection: a panic
		}
		after := fx.snapshot()
		switch {
		case r.Status == http.StatusOK:
			if after == before {
				t.Errorf("200 but the state is unchanged; body %q", body)
			}
		case r.Status >= 400 && r.Status < 500:
			if after != before {
				t.Errorf("status %d but the state changed; body %q\nbefore %s\nafter  %s", r.Status, body, before, after)
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == "" {
				t.Errorf("status %d without a JSON error message: %q", r.Status, r.Body)
			}
		default:
			t.Errorf("status %d for body %q: %s", r.Status, body, r.Body)
		}
	})
}
