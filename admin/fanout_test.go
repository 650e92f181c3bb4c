package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// clusterToken is the admin token every replica of clusterOf shares.
const clusterToken = "a-long-cluster-admin-token"

// peer is one replica: a report fixture registered in etcd with its
// admin URL as advertise URL.
type peer struct {
	name string
	f    *fixture
	reg  *etcdstate.Registry
}

// clusterOf starts one replica per name on a real etcd, each with its own
// report store and token (tokens[name], clusterToken when absent), each
// with reportsTraffic's five comparisons stored.
func clusterOf(t *testing.T, names []string, tokens map[string]string) []*peer {
	t.Helper()
	endpoint := etcdtest.Start(t).ClientURL
	prefix := fmt.Sprintf("/fanout-%d", time.Now().UnixNano())
	out := make([]*peer, len(names))
	for i, name := range names {
		p := &peer{name: name}
		store, err := etcdstate.Open(etcdstate.Options{Replica: name,
			Config: config.Etcd{Endpoints: []string{endpoint}, Prefix: prefix, DialTimeout: 2 * time.Second}})
		if err != nil {
			t.Fatalf("etcdstate.Open %s: %v", name, err)
		}
		t.Cleanup(func() { _ = store.Close() })
		var reg atomic.Pointer[etcdstate.Registry]
		token, ok := tokens[name]
		if !ok {
			token = clusterToken
		}
		p.f = newFixture(t, fixtureOptions{Reports: true, Token: token,
			Cluster: func(ctx context.Context) (etcdstate.ClusterView, error) { return reg.Load().View(ctx) }})
		p.f.reportsTraffic()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		p.reg, err = store.Register(ctx, etcdstate.MemberOptions{Self: func() etcdstate.Member {
			return etcdstate.Member{Name: name, Advertise: p.f.admin.URL, Version: "v-test"}
		}})
		cancel()
		if err != nil {
			t.Fatalf("Register %s: %v", name, err)
		}
		t.Cleanup(p.reg.Close)
		reg.Store(p.reg)
		out[i] = p
	}
	return out
}

// clusterAnswer is what the cluster-scope endpoints answer besides data.
type clusterAnswer struct {
	Scope    string          `json:"scope"`
	Replicas []string        `json:"replicas"`
	Missing  []admin.Missing `json:"missing"`
	Routes   []struct {
		Route    string `json:"route"`
		Records  uint64 `json:"records"`
		Compared uint64 `json:"compared"`
	} `json:"routes"`
	Overall struct {
		Compared uint64 `json:"compared"`
	} `json:"overall"`
	Diffs []admin.ClusterSummary `json:"diffs"`
}

func getCluster(t *testing.T, f *fixture, path string) clusterAnswer {
	t.Helper()
	r := f.do("GET", path, "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var a clusterAnswer
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, r.Body)
	}
	return a
}

func records(a clusterAnswer) (n uint64) {
	for _, r := range a.Routes {
		n += r.Records
	}
	return n
}

// missingNames lists the missing replicas and checks each has a reason.
func missingNames(t *testing.T, a clusterAnswer) string {
	t.Helper()
	var names []string
	for _, m := range a.Missing {
		if m.Error == "" {
			t.Errorf("missing replica %s has no error", m.Replica)
		}
		names = append(names, m.Replica)
	}
	return strings.Join(names, ",")
}

// TestClusterScope: comparisons stored on three replicas are in one
// report and one diff listing, each diff naming its replica; a replica
// whose listener is closed, or whose token differs (401), is named
// missing; the local scope stays local; peers are asked with scope=local.
func TestClusterScope(t *testing.T) {
	ps := clusterOf(t, []string{"a", "b", "c", "d", "e"}, map[string]string{"e": "another-long-admin-token"})
	a := ps[0].f
	local := getCluster(t, a, "/admin/report")
	perReplica := records(local)
	if perReplica == 0 || local.Scope != "" {
		t.Fatalf("local report: %d records, scope %q; want records and no scope", perReplica, local.Scope)
	}
	ps[3].f.admin.Close() // d: registered, its lease alive, its listener closed

	tests := []struct {
		path                    string
		replicas, missing       string
		records, compared, diff int
	}{
		{path: "/admin/report?scope=cluster", replicas: "a,b,c", missing: "d,e", records: 3},
		{path: "/admin/report?scope=cluster&format=json", replicas: "a,b,c", missing: "d,e", records: 3},
		{path: "/admin/diffs?scope=cluster&limit=1000", replicas: "a,b,c", missing: "d,e", diff: 3},
		{path: "/admin/diffs?scope=cluster&route=order-list&limit=4", replicas: "a,b,c", missing: "d,e", diff: -4},
		{path: "/admin/report?scope=local", records: 1},
		{path: "/admin/diffs?limit=1000"},
	}
	for _, tc := range tests {
		got := getCluster(t, a, tc.path)
		if r := strings.Join(got.Replicas, ","); r != tc.replicas {
			t.Errorf("%s: replicas %q, want %q", tc.path, r, tc.replicas)
		}
		if m := missingNames(t, got); m != tc.missing {
			t.Errorf("%s: missing %q, want %q (%+v)", tc.path, m, tc.missing, got.Missing)
		}
		if tc.records > 0 && records(got) != uint64(tc.records)*perReplica {
			t.Errorf("%s: %d records, want %d", tc.path, records(got), uint64(tc.records)*perReplica)
		}
		checkDiffs(t, tc.path, got.Diffs, tc.diff, int(perReplica))
	}
	cr := getCluster(t, a, "/admin/report?scope=cluster")
	for _, m := range cr.Missing {
		if m.Replica == "e" && !strings.Contains(m.Error, "401") {
			t.Errorf("e (other token) missing with %q, want a 401", m.Error)
		}
	}
	if cr.Overall.Compared != 3*local.Overall.Compared {
		t.Errorf("overall compared %d, want %d", cr.Overall.Compared, 3*local.Overall.Compared)
	}
}

// checkDiffs: want > 0 is replicas × perReplica diffs from want replicas,
// newest first; want < 0 is exactly -want diffs; 0 checks nothing.
func checkDiffs(t *testing.T, path string, ds []admin.ClusterSummary, want, perReplica int) {
	t.Helper()
	if want < 0 && len(ds) != -want {
		t.Errorf("%s: %d diffs, want %d", path, len(ds), -want)
	}
	if want > 0 {
		from := map[string]int{}
		for _, d := range ds {
			from[d.Replica]++
		}
		if len(ds) != want*perReplica || len(from) != want {
			t.Errorf("%s: %d diffs from %v, want %d from %d replicas", path, len(ds), from, want*perReplica, want)
		}
	}
	for i := 1; i < len(ds); i++ {
		if ds[i].Time.After(ds[i-1].Time) {
			t.Errorf("%s: diff %d is newer than diff %d", path, i, i-1)
		}
	}
}

// TestClusterScopeFileBackend: on the file backend scope=cluster answers
// the local result naming this replica alone; an unknown scope is a 400.
func TestClusterScopeFileBackend(t *testing.T) {
	f := newFixture(t, fixtureOptions{Reports: true, Cluster: func(context.Context) (etcdstate.ClusterView, error) {
		return etcdstate.LocalView(etcdstate.Member{Name: "solo"}), nil
	}})
	f.reportsTraffic()
	tests := []struct {
		path   string
		status int
	}{
		{"/admin/report?scope=cluster", 200},
		{"/admin/diffs?scope=cluster", 200},
		{"/admin/report?scope=everywhere", 400},
		{"/admin/diffs?scope=everywhere", 400},
		{"/admin/report?scope=cluster&format=html", 400},
	}
	for _, tc := range tests {
		r := f.do("GET", tc.path, "", nil)
		if r.Status != tc.status {
			t.Fatalf("GET %s: %d %s, want %d", tc.path, r.Status, r.Body, tc.status)
		}
		if tc.status != 200 {
			continue
		}
		got := getCluster(t, f, tc.path)
		if strings.Join(got.Replicas, ",") != "solo" || got.Missing == nil || len(got.Missing) != 0 || got.Scope != "cluster" {
			t.Errorf("GET %s: scope %q replicas %v missing %v; want cluster, [solo], []", tc.path, got.Scope, got.Replicas, got.Missing)
		}
	}
	md := f.do("GET", "/admin/report?scope=cluster&format=md", "", nil)
	if md.Status != 200 || !strings.Contains(string(md.Body), "Replicas summed: solo.") {
		t.Errorf("markdown cluster report: %d, does not name its replicas: %s", md.Status, md.Body)
	}
}
