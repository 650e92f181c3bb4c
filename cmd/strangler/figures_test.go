package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/internal/etcdtest"
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
		waitFor(t, func() bool { return routeOf(t, a).Figures.Legacy.Requests == 7 })
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
