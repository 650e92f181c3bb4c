package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/rollout"
)

// routeOf asks adminURL for /admin/routes/orders.
func routeOf(t *testing.T, adminURL string) admin.RouteJSON {
	t.Helper()
	code, body := get(t, adminURL+"/admin/routes/orders")
	if code != http.StatusOK {
		t.Fatalf("/admin/routes/orders: %d %s", code, body)
	}
	var r admin.RouteJSON
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/admin/routes/orders: %v\n%s", err, body)
	}
	return r
}

// TestAdminShowsClusterFigures runs two `serve`s on one etcd and sends
// real requests to both data planes: /admin/routes/orders on either shows
// the sum as figures and each replica's own under replica_figures; the
// file backend shows no replica_figures.
func TestAdminShowsClusterFigures(t *testing.T) {
	m := etcdtest.Start(t)
	s := newSides(t)
	prefix := "/strangler/" + t.Name()
	data1, admin1 := startInProcess(t, writeFile(t, s.etcdConfig(m.ClientURL, prefix, "one")))
	data2, admin2 := startInProcess(t, writeFile(t, s.etcdConfig(m.ClientURL, prefix, "two")))
	for i := range 5 {
		if i < 2 {
			servedBy(t, data1)
		}
		servedBy(t, data2)
	}
	want := map[string]uint64{"one": 2, "two": 5}
	for _, a := range []string{admin1, admin2} {
		testutil.Eventually(t, "routeOf(t, a).Figures.Legacy.Requests == 7", func() bool { return routeOf(t, a).Figures.Legacy.Requests == 7 })
		r := routeOf(t, a)
		if len(r.ReplicaFigures) != len(want) {
			t.Errorf("%s: replica_figures %+v, want one and two", a, r.ReplicaFigures)
		}
		for name, n := range want {
			if got := r.ReplicaFigures[name].Legacy.Requests; got != n {
				t.Errorf("%s: replica_figures[%s] has %d legacy requests, want %d", a, name, got, n)
			}
		}
	}

	data3, admin3 := startInProcess(t, writeFile(t, s.config("legacy", 0)))
	servedBy(t, data3)
	if r := routeOf(t, admin3); r.ReplicaFigures != nil || r.Figures.Legacy.Requests != 1 {
		t.Errorf("file backend: figures %+v, replica_figures %+v; want its own 1 request, no replica_figures",
			r.Figures.Legacy, r.ReplicaFigures)
	}
}

// TestServeGatesCountTheCluster runs two `serve`s on one etcd with
// automation on: the service requests sent to both data planes meet
// min_requests only as a sum (each replica alone served fewer), and the
// automation leader's gate counts the sum.
func TestServeGatesCountTheCluster(t *testing.T) {
	m := etcdtest.Start(t)
	s := newSides(t)
	prefix := "/strangler/" + t.Name()
	file := func(name string) string {
		c := s.etcdConfig(m.ClientURL, prefix, name) + "automation: {interval: 100ms}\n"
		return strings.Replace(strings.Replace(c, "stage: legacy", "stage: canary", 1), "    sticky: header:X-User-ID\n",
			"    sticky: header:X-User-ID\n    automation: {enabled: true, hold: 1h, window: 1m, gates: {min_requests: 6}}\n", 1)
	}
	data1, admin1 := startInProcess(t, writeFile(t, strings.Replace(file("one"), "percent: 0", "percent: 100", 1)))
	data2, admin2 := startInProcess(t, writeFile(t, strings.Replace(file("two"), "percent: 0", "percent: 100", 1)))
	testutil.Eventually(t, "routeOf(t, admin1).Automation != nil && routeOf(t, admin2).Automation != nil", func() bool { return routeOf(t, admin1).Automation != nil && routeOf(t, admin2).Automation != nil })
	time.Sleep(300 * time.Millisecond) // a few ticks: the window has begun
	for range 3 {
		if servedBy(t, data1) != "orders" || servedBy(t, data2) != "orders" {
			t.Fatal("the service does not serve canary 100")
		}
	}
	// Only the automation leader evaluates gates; it counts the sum.
	var leader string
	testutil.Eventually(t, "leader != \"\"", func() bool { leader = clusterOf(t, admin1).Leader; return leader != "" })
	leaderAdmin := map[string]string{"one": admin1, "two": admin2}[leader]
	testutil.Eventually(t, "the condition at figures_test.go:93", func() bool {
		g, ok := gateOf(routeOf(t, leaderAdmin), "min_requests")
		return ok && g.Value == 6
	})
	if g, _ := gateOf(routeOf(t, leaderAdmin), "min_requests"); !g.Holds {
		t.Errorf("leader %s: min_requests %+v does not hold with 6 of 6", leader, g)
	}
	for _, a := range []string{admin1, admin2} {
		if own := routeOf(t, a).ReplicaFigures; own["one"].Service.Requests != 3 || own["two"].Service.Requests != 3 {
			t.Errorf("%s: replica figures %+v, want 3 service requests each", a, own)
		}
	}
}

// gateOf finds a gate in a route's automation explanation.
func gateOf(r admin.RouteJSON, name string) (rollout.Check, bool) {
	if r.Automation == nil {
		return rollout.Check{}, false
	}
	for _, g := range r.Automation.Gates {
		if g.Name == name {
			return g, true
		}
	}
	return rollout.Check{}, false
}
