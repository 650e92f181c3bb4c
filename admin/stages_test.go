package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/stranglerfig/strangler/admin"
)

// TestStages: GET /admin/stages lists the four stages in rollout order
// with the exact shape the dashboard reads; other methods are refused.
func TestStages(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	want := admin.StagesJSON{Stages: []admin.StageJSON{
		{Name: "legacy", Title: "Legacy", Description: "the monolith serves everything"},
		{Name: "shadow", Title: "Shadow", Description: "the monolith answers; the service gets a copy to compare"},
		{Name: "canary", Title: "Canary", Description: "a share of users get the service"},
		{Name: "migrated", Title: "Migrated", Description: "the service serves everything"},
	}}
	r := f.do(http.MethodGet, "/admin/stages", "", nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q; want 200 JSON; body %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	var got admin.StagesJSON
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET /admin/stages = %+v, want %+v", got, want)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		if r := f.do(m, "/admin/stages", "", nil); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s /admin/stages: status %d, want 405", m, r.Status)
		}
	}
}
