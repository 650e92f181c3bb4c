package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stranglerfig/strangler/plan"
)

// TestPlanFromLiveTraffic: traffic through the proxy shows up in
// /admin/plan with its route and stage, the unclaimed family is
// suggested, and the Markdown form and bad parameters answer as documented.
func TestPlanFromLiveTraffic(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.traffic()
	r := f.do("GET", "/admin/plan", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var p plan.Plan
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("decoding the plan: %v", err)
	}
	if p.Source != "live" || p.Requests != 9 {
		t.Errorf("source %q, %d requests; want live, 9", p.Source, p.Requests)
	}
	byShape := map[string]plan.Endpoint{}
	for _, e := range p.Endpoints {
		byShape[e.Method+" "+e.Shape] = e
	}
	if e := byShape["GET /api/customers/{id}"]; e.Route != "customers" || e.Stage != "migrated" || e.ServiceRequests != 2 {
		t.Errorf("customers endpoint %+v; want route customers at migrated, 2 answered by the service", e)
	}
	if e := byShape["GET /legacy/invoices/{id}"]; e.Requests != 2 || e.Route != "" {
		t.Errorf("unclaimed invoices endpoint %+v; want 2 requests, no route", e)
	}
	if got := p.Progress.ServiceRequests; got != 2 {
		t.Errorf("progress: %d requests served by new services; want 2", got)
	}
	var families []string
	for _, s := range p.Suggestions {
		families = append(families, s.Family.Prefix)
	}
	if !strings.Contains(strings.Join(families, " "), "/legacy") {
		t.Errorf("suggested families %q; want the unclaimed /legacy/invoices family", families)
	}

	md := f.do("GET", "/admin/plan?format=md", "", nil)
	if md.Status != http.StatusOK || !strings.HasPrefix(md.Header.Get("Content-Type"), "text/markdown") ||
		!strings.Contains(string(md.Body), "/legacy/invoices") {
		t.Errorf("markdown plan: status %d, type %q, body %.300s", md.Status, md.Header.Get("Content-Type"), md.Body)
	}
	for _, bad := range []struct{ query, field string }{{"top=x", "top"}, {"top=0", "top"}, {"format=xml", "format"}} {
		r := f.do("GET", "/admin/plan?"+bad.query, "", nil)
		if _, field := r.errorBody(t); r.Status != http.StatusBadRequest || field != bad.field {
			t.Errorf("?%s: status %d, field %q; want 400 naming %s", bad.query, r.Status, field, bad.field)
		}
	}
}
