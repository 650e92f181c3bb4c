package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// clusterFile is the sides' route file on etcd without a replica name
// (each replica gets it from STRANGLER_REPLICA_NAME), so replicas can
// share identical bytes; extra is appended.
func (s *sides) clusterFile(endpoint, prefix, extra string) string {
	return s.config("legacy", 0) + fmt.Sprintf(`state:
  backend: etcd
  etcd: {endpoints: [%s], prefix: %s, dial_timeout: 2s}
`, endpoint, prefix) + extra
}

// serving is one runServe in this process.
type serving struct {
	admin string
	stop  func() error
}

// serveAs runs runServe on path as replica name (through the
// environment, read at start); stop drains it.
func serveAs(t *testing.T, path, name string) (*serving, error) {
	t.Helper()
	t.Setenv("STRANGLER_REPLICA_NAME", name)
	t.Setenv("STRANGLER_REPLICA_ADVERTISE", "http://"+name+".test:9901")
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, serveOptions{path: path, out: io.Discard, errOut: io.Discard,
			source:    config.Source{Env: true},
			listening: func(_, admin string) { addrs <- admin }})
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	select {
	case a := <-addrs:
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Errorf("runServe %s: %v", name, err)
			}
		})
		return &serving{admin: "http://" + a, stop: stop}, nil
	case err := <-done:
		cancel()
		return nil, err
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("replica %s did not start", name)
	}
	return nil, nil
}

// clusterOf asks adminURL for /admin/cluster.
func clusterOf(t *testing.T, adminURL string) etcdstate.ClusterView {
	t.Helper()
	code, body := get(t, adminURL+"/admin/cluster")
	if code != http.StatusOK {
		t.Fatalf("/admin/cluster: %d %s", code, body)
	}
	var v etcdstate.ClusterView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/admin/cluster is not a cluster view: %v\n%s", err, body)
	}
	return v
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func replicaNames(v etcdstate.ClusterView) string {
	var out []string
	for _, r := range v.Replicas {
		out = append(out, r.Name)
	}
	return strings.Join(out, ",")
}

// TestClusterOnEtcd runs three replicas on one etcd, the third with a
// different route file: /admin/cluster on each lists all three with the
// self flag on itself and the third flagged drift (API and gauge); the
// drift clears once its file matches; the leader flag follows the
// election's first key; a duplicate name is refused at start; a stopped
// replica leaves the list; with etcd down the endpoint answers 503.
func TestClusterOnEtcd(t *testing.T) {
	m := etcdtest.Start(t)
	s := newSides(t)
	prefix := "/strangler/" + t.Name()
	same := s.clusterFile(m.ClientURL, prefix, "")
	drifted := s.clusterFile(m.ClientURL, prefix, "# edited on three only\n")
	path, path3 := writeFile(t, same), writeFile(t, drifted)
	names := []string{"one", "two", "three"}
	rs := make([]*serving, 3)
	for i, n := range names {
		p := path
		if n == "three" {
			p = path3
		}
		r, err := serveAs(t, p, n)
		if err != nil {
			t.Fatalf("starting %s: %v", n, err)
		}
		rs[i] = r
	}

	for i, r := range rs {
		testutil.Eventually(t, "the condition at cluster_test.go:135", func() bool {
			_, metrics := get(t, r.admin+"/metrics")
			return strings.Contains(metrics, "strangler_config_drift 1")
		})
		v := clusterOf(t, r.admin)
		if v.Backend != "etcd" || replicaNames(v) != "one,three,two" || !v.Drift || !slices.Contains(names, v.Leader) {
			t.Fatalf("%s lists %s on %s, drift %v, leader %q; want one,three,two on etcd, drift, a replica leading",
				names[i], replicaNames(v), v.Backend, v.Drift, v.Leader)
		}
		for _, rep := range v.Replicas {
			wantHash := sha(same)
			if rep.Name == "three" {
				wantHash = sha(drifted)
			}
			if rep.Self != (rep.Name == names[i]) || rep.Drift != (rep.Name == "three") || rep.RouteFileHash != wantHash ||
				rep.Advertise != "http://"+rep.Name+".test:9901" || rep.Version != "dev" || rep.AppliedRevision == 0 ||
				time.Since(rep.LastHeartbeat) > time.Minute {
				t.Errorf("%s sees %+v", names[i], rep)
			}
		}
	}

	if err := os.WriteFile(path3, []byte(same), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "!clusterOf(t, rs[0].admin).Drift", func() bool { return !clusterOf(t, rs[0].admin).Drift })
	testutil.Eventually(t, "the condition at cluster_test.go:161", func() bool {
		_, metrics := get(t, rs[2].admin+"/metrics")
		return strings.Contains(metrics, "strangler_config_drift 0")
	})

	// The replicas elect their automation leader themselves: every one
	// names the same leader, and flags it alone.
	leader := clusterOf(t, rs[0].admin).Leader
	for i, r := range rs {
		v := clusterOf(t, r.admin)
		for _, rep := range v.Replicas {
			if rep.Leader != (rep.Name == leader) {
				t.Errorf("%s sees %s leader=%v; want only %s", names[i], rep.Name, rep.Leader, leader)
			}
		}
		if v.Leader != leader {
			t.Errorf("%s names leader %q, want %s", names[i], v.Leader, leader)
		}
	}

	if _, err := serveAs(t, path, "two"); err == nil || !strings.Contains(err.Error(), "replica name is taken") ||
		!strings.Contains(err.Error(), `"two"`) {
		t.Errorf("a second replica named two: %v; want it refused, naming the name", err)
	}

	if err := rs[2].stop(); err != nil {
		t.Fatalf("stopping three: %v", err)
	}
	if got := replicaNames(clusterOf(t, rs[0].admin)); got != "one,two" {
		t.Errorf("after three stopped one lists %s, want one,two", got)
	}

	m.Stop()
	testutil.Eventually(t, "the condition at cluster_test.go:194", func() bool {
		code, body := get(t, rs[0].admin+"/admin/cluster")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "cannot list the replicas: etcd is unreachable")
	})
}

// TestClusterCLI: `strangler cluster` prints the table and -o json.
func TestClusterCLI(t *testing.T) {
	m := etcdtest.Start(t)
	s := newSides(t)
	prefix := "/strangler/" + t.Name()
	file := s.clusterFile(m.ClientURL, prefix, "")
	path := writeFile(t, file)
	one, err := serveAs(t, path, "one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serveAs(t, writeFile(t, file+"# drifted\n"), "two"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "clusterOf(t, one.admin).Leader == \"one\"", func() bool { return clusterOf(t, one.admin).Leader == "one" }) // the first to start leads

	out := cli(t, one.admin, "cluster")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("table has %d lines, want header, two replicas, blank, summary:\n%s", len(lines), out)
	}
	for _, want := range []string{"NAME", "ADVERTISE", "ROUTE FILE", "HEARTBEAT", "LEADER", "DRIFT"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header lacks %s: %q", want, lines[0])
		}
	}
	row1, row2 := strings.Fields(lines[1]), strings.Fields(lines[2])
	// one * http://one.test:9901 dev <hash> <rev> <age> ago leader -  (tie: two drifts from one's view)
	if len(row1) != 10 || row1[0] != "one" || row1[1] != "*" || row1[2] != "http://one.test:9901" || row1[3] != "dev" ||
		row1[4] != sha(file)[:12] || row1[8] != "leader" || row1[9] != "-" {
		t.Errorf("row of one: %q", lines[1])
	}
	if len(row2) != 9 || row2[0] != "two" || row2[3] != sha(file + "# drifted\n")[:12] || row2[7] != "-" || row2[8] != "DRIFT" {
		t.Errorf("row of two: %q", lines[2])
	}
	if !strings.Contains(lines[4], "backend etcd, automation leader one, config drift YES") {
		t.Errorf("summary: %q", lines[4])
	}

	var v etcdstate.ClusterView
	if err := json.Unmarshal([]byte(cli(t, one.admin, "cluster", "-o", "json")), &v); err != nil {
		t.Fatalf("-o json: %v", err)
	}
	if replicaNames(v) != "one,two" || v.Leader != "one" || !v.Replicas[0].Self || !v.Replicas[1].Drift {
		t.Errorf("-o json: %+v", v)
	}
}

// TestClusterFileBackend: with the file backend /admin/cluster lists this
// replica alone, with its route file's hash; it needs the admin token.
func TestClusterFileBackend(t *testing.T) {
	s := newSides(t)
	t.Setenv("STRANGLER_ADMIN_TOKEN", "cluster-token-value")
	file := s.config("legacy", 0)
	_, adminURL := startInProcess(t, writeFile(t, file))
	if code, _ := get(t, adminURL+"/admin/cluster"); code != http.StatusUnauthorized {
		t.Errorf("/admin/cluster without the token: %d, want 401", code)
	}
	cmd := exec.Command(binary, "cluster", "-o", "json", "--admin", adminURL)
	cmd.Env = append(os.Environ(), "STRANGLER_ADMIN_TOKEN=cluster-token-value")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("strangler cluster: %v\n%s", err, out)
	}
	var v etcdstate.ClusterView
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if v.Backend != "file" || len(v.Replicas) != 1 || !v.Replicas[0].Self || v.Replicas[0].RouteFileHash != sha(file) ||
		v.Replicas[0].Name == "" || v.Leader != "" || v.Drift {
		t.Errorf("file backend: %s", out)
	}
}
