package deploy

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLocalClusterFollows runs deploy/local/run.sh --selftest: a real etcd,
// the demo backends, three replicas sharing their rollout on etcd and
// nginx in front; a stage change made on replica 1 must be served by
// replicas 2 and 3. It needs etcd and nginx (.ci/run installs both) and
// free loopback ports.
func TestLocalClusterFollows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, nginx and four strangler processes")
	}
	for _, bin := range []string{"etcd", "nginx", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err := exec.LookPath("/usr/sbin/" + bin); err != nil {
				t.Skipf("%s is not installed (.ci/run installs it)", bin)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ports := freePorts(t, 9)
	cmd := exec.CommandContext(ctx, "bash", "local/run.sh", "--selftest")
	cmd.Env = append(os.Environ(),
		"LB_PORT="+ports[0], "ETCD_CLIENT_PORT="+ports[1], "ETCD_PEER_PORT="+ports[2],
		"DATA_PORTS="+strings.Join(ports[3:6], " "), "ADMIN_PORTS="+strings.Join(ports[6:9], " "))
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("local cluster selftest: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "replica-2 and replica-3 follow") {
		t.Fatalf("selftest said nothing about the replicas following:\n%s", out)
	}
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}
