// Package etcdtest starts real etcd servers (/usr/bin/etcd, Debian's
// etcd-server) for tests: free loopback ports, data in a temp dir, stopped
// by PID. Only tests import it.
package etcdtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Binary is the etcd server the tests run.
const Binary = "/usr/bin/etcd"

// startTimeout bounds how long a member may take to answer /health.
const startTimeout = 20 * time.Second

// Member is one etcd server process.
type Member struct {
	t                   testing.TB
	Name                string
	ClientURL, PeerURL  string
	dir, cluster, token string
	cmd                 *exec.Cmd
	done                chan struct{}
	pki                 *PKI // serves clients on https, client certificates required
}

// Need skips the test when etcd is not installed, unless
// STRANGLER_REQUIRE_ETCD=1 (CI) makes that a failure.
func Need(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv("STRANGLER_REQUIRE_ETCD") == "1" {
			t.Fatalf("etcd is required (STRANGLER_REQUIRE_ETCD=1) but %s is missing: apt-get install etcd-server", Binary)
		}
		t.Skipf("%s is missing (apt-get install etcd-server); skipping the etcd tests", Binary)
	}
}

// Start runs a one-member etcd and returns it; it stops with the test.
func Start(t testing.TB) *Member {
	t.Helper()
	return StartCluster(t, 1)[0]
}

// StartTLS runs a one-member etcd serving clients on https with p's
// server certificate, requiring client certificates signed by p's CA
// (--client-cert-auth); it stops with the test.
func StartTLS(t testing.TB, p PKI) *Member {
	t.Helper()
	return startCluster(t, 1, &p)[0]
}

// StartCluster runs an n-member etcd cluster on loopback.
func StartCluster(t testing.TB, n int) []*Member {
	t.Helper()
	return startCluster(t, n, nil)
}

// startCluster runs n members, serving clients on https when p is set.
func startCluster(t testing.TB, n int, p *PKI) []*Member {
	t.Helper()
	Need(t)
	scheme := "http://"
	if p != nil {
		scheme = "https://"
	}
	token := fmt.Sprintf("strangler-test-%d", time.Now().UnixNano())
	ms := make([]*Member, n)
	var peers []string
	for i := range ms {
		ms[i] = &Member{t: t, Name: fmt.Sprintf("m%d", i), ClientURL: scheme + freeAddr(t),
			PeerURL: "http://" + freeAddr(t), dir: t.TempDir(), token: token, pki: p}
		peers = append(peers, ms[i].Name+"="+ms[i].PeerURL)
	}
	for _, m := range ms {
		m.cluster = strings.Join(peers, ",")
		m.start()
	}
	for _, m := range ms {
		m.WaitHealthy()
	}
	return ms
}

// Endpoints are the client URLs of ms.
func Endpoints(ms []*Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ClientURL
	}
	return out
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start launches the process (again, after Stop, on the same data).
func (m *Member) start() {
	m.t.Helper()
	m.cmd = exec.Command(Binary, "--name", m.Name, "--data-dir", m.dir,
		"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", m.cluster, "--initial-cluster-token", m.token,
		"--initial-cluster-state", "new", "--heartbeat-interval", "50", "--election-timeout", "500",
		"--log-level", "error", "--logger", "zap")
	if m.pki != nil {
		m.cmd.Args = append(m.cmd.Args, "--cert-file", m.pki.ServerCert, "--key-file", m.pki.ServerKey,
			"--trusted-ca-file", m.pki.CA, "--client-cert-auth")
	}
	m.cmd.Stdout, m.cmd.Stderr = os.Stderr, os.Stderr
	if os.Getenv("STRANGLER_ETCD_LOGS") == "" {
		m.cmd.Stdout, m.cmd.Stderr = nil, nil
	}
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("starting %s: %v", Binary, err)
	}
	m.done = make(chan struct{})
	cmd, done := m.cmd, m.done
	go func() { _ = cmd.Wait(); close(done) }()
	m.t.Cleanup(m.Stop)
}

// WaitHealthy waits until the member answers /health with a leader.
func (m *Member) WaitHealthy() {
	m.t.Helper()
	deadline := time.Now().Add(startTimeout)
	c := m.httpClient()
	defer c.CloseIdleConnections()
	for time.Now().Before(deadline) {
		resp, err := c.Get(m.ClientURL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatalf("etcd member %s (%s) not healthy after %s", m.Name, m.ClientURL, startTimeout)
}

// Stop terminates the process by its PID and waits for it. Idempotent.
func (m *Member) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	select {
	case <-m.done:
		return
	default:
	}
	_ = syscall.Kill(m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.done
}

// Restart starts a stopped member again on its data and ports.
func (m *Member) Restart() {
	m.t.Helper()
	m.Stop()
	m.start()
	m.WaitHealthy()
}

// httpClient asks the member's client URL, with the client certificate
// when it serves https.
func (m *Member) httpClient() *http.Client {
	c := &http.Client{Timeout: time.Second}
	if m.pki != nil {
		c.Transport = &http.Transport{TLSClientConfig: m.pki.ClientTLS(m.t)}
	}
	return c
}

// IsLeader reports whether the member leads its cluster, from /metrics.
func (m *Member) IsLeader() bool {
	c := m.httpClient()
	defer c.CloseIdleConnections()
	resp, err := c.Get(m.ClientURL + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	_, _ = io.Copy(buf, resp.Body)
	return strings.Contains(buf.String(), "\netcd_server_is_leader 1")
}

// EnableAuth turns on etcd's authentication with a root user (role root)
// whose password is password, through the clientv3 Auth API.
func (m *Member) EnableAuth(password string) {
	m.t.Helper()
	cfg := clientv3.Config{Endpoints: []string{m.ClientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if m.pki != nil {
		cfg.TLS = m.pki.ClientTLS(m.t)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		m.t.Fatalf("connecting to %s to enable auth: %v", m.ClientURL, err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	steps := []struct {
		what string
		do   func() error
	}{
		{"adding the user root", func() error { _, err := cli.UserAdd(ctx, "root", password); return err }},
		{"granting root the role root", func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err }},
		{"enabling auth", func() error { _, err := cli.AuthEnable(ctx); return err }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			m.t.Fatalf("%s on %s: %v", s.what, m.ClientURL, err)
		}
	}
}
