package etcdstate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/rollout"
)

// diagnoseRead is how long the diagnosis waits, after a TLS handshake,
// for the server to refuse the client's certificate (TLS 1.3 says so
// only after the client's side of the handshake is done).
const diagnoseRead = 300 * time.Millisecond

// Open connects to etcd. Without a user it does not wait for etcd to
// answer; with state.etcd.username it authenticates, within the dial
// timeout, and fails naming the user and the endpoints (never the
// password). A user whose password variable is empty is refused here.
func Open(o Options) (*Store, error) {
	ec := o.Config
	cc := clientv3.Config{Endpoints: ec.Endpoints, DialTimeout: ec.DialTimeout, Username: ec.Username, Logger: zap.NewNop()}
	if ec.Username != "" {
		cc.Password = os.Getenv(ec.PasswordEnv)
		if cc.Password == "" {
			return nil, fmt.Errorf("etcd user %q (state.etcd.username) has no password: the environment variable %s (state.etcd.password_env) is empty or unset",
				ec.Username, ec.PasswordEnv)
		}
	}
	if t := ec.TLS; t.CA != "" || t.Cert != "" {
		tc, err := tlsConfig(t)
		if err != nil {
			return nil, err
		}
		cc.TLS = tc
	}
	if o.AuditSize <= 0 {
		o.AuditSize = rollout.DefaultAuditSize
	}
	s := &Store{prefix: ec.Prefix, replica: o.Replica, max: o.AuditSize, log: o.Log, onHealth: o.OnHealth,
		endpoints: ec.Endpoints, user: ec.Username, dialTimeout: ec.DialTimeout, tls: cc.TLS, tlsFiles: ec.TLS}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", s.where(), s.explain(err))
	}
	s.cli = cli
	if ec.Username != "" {
		if s.login, err = useLogin(cli, cc, o.Log); err != nil {
			_ = cli.Close()
			return nil, fmt.Errorf("connecting to %s for logging in again: %w", s.where(), err)
		}
	}
	s.seq.Store(uint64(time.Now().UnixNano()))
	s.up.Store(true)
	return s, nil
}

func tlsConfig(t config.EtcdTLS) (*tls.Config, error) {
	info := transport.TLSInfo{TrustedCAFile: t.CA, CertFile: t.Cert, KeyFile: t.Key}
	tc, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading etcd TLS files (state.etcd.tls ca=%q cert=%q): %w", t.CA, t.Cert, err)
	}
	return tc, nil
}

// where names the etcd endpoints, and the user when there is one.
func (s *Store) where() string {
	w := "etcd " + strings.Join(s.endpoints, ",")
	if s.user != "" {
		w += " as user " + s.user
	}
	return w
}

// firstContact bounds ctx by the dial timeout: the first exchange with
// etcd is where a wrong address or TLS setup shows, and it must not
// hang for longer than connecting may take.
func (s *Store) firstContact(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.dialTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.dialTimeout)
}

// explain adds to an unreachable etcd's error why the first endpoint
// that cannot be reached cannot: the client itself only says that its
// deadline passed.
func (s *Store) explain(err error) error {
	if err == nil || !isUnavailable(err) {
		return err
	}
	for _, ep := range s.endpoints {
		if problem := s.diagnose(ep); problem != nil {
			return fmt.Errorf("%w (%w)", err, problem)
		}
	}
	return err
}

// diagnose connects to one endpoint as the client would (TCP, then TLS
// for https) and returns what went wrong, or nil.
func (s *Store) diagnose(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q is not a URL: %w", endpoint, err)
	}
	timeout := min(max(s.dialTimeout, time.Second), 5*time.Second)
	conn, err := net.DialTimeout("tcp", u.Host, timeout)
	if err != nil {
		return fmt.Errorf("etcd %s cannot be reached: %w", endpoint, err)
	}
	defer conn.Close()
	if u.Scheme != "https" {
		return nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.tls != nil {
		tc = s.tls.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	tc.NextProtos = []string{"h2"}
	tlsConn := tls.Client(conn, tc)
	_ = tlsConn.SetDeadline(time.Now().Add(timeout))
	err = tlsConn.Handshake()
	if err == nil { // a refused client certificate shows on the first read
		_ = tlsConn.SetReadDeadline(time.Now().Add(diagnoseRead))
		if _, err = tlsConn.Read(make([]byte, 1)); isTimeout(err) || errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("TLS with etcd %s failed: %w; check state.etcd.tls (ca=%q cert=%q key=%q) against the server's certificate and its --trusted-ca-file",
			endpoint, err, s.tlsFiles.CA, s.tlsFiles.Cert, s.tlsFiles.Key)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
