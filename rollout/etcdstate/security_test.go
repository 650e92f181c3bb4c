package etcdstate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/internal/etcdtest"
	"github.com/stranglerfig/strangler/internal/testutil"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/stage"
)

// secureDialTimeout is state.etcd.dial_timeout in these tests: a failure
// must come within it (plus slack), never hang.
const secureDialTimeout = 2 * time.Second

// roundTrip changes the stage on rs[0] and waits until rs[1] serves it
// (its watch fired); it returns how long that took.
func roundTrip(t *testing.T, rs []*replica, pos stage.Position) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := rs[0].ctl.SetStage(rollout.Change{Route: "orders", Reason: "round trip"}, pos); err != nil {
		t.Fatalf("stage %s on %s: %v", pos, rs[0].name, err)
	}
	if _, ok := rs[1].waitSide(sideOf(pos), 5*time.Second); !ok {
		t.Fatalf("%s never served %s after %s changed it (its watch did not fire)", rs[1].name, pos, rs[0].name)
	}
	return time.Since(start)
}

// replicasOn starts two replicas on ec, logging to log.
func replicasOn(t *testing.T, ec config.Etcd, log zerolog.Logger) []*replica {
	t.Helper()
	file := fileConfig(t, backend(t, "monolith").URL, backend(t, "orders").URL)
	return []*replica{startReplicaOn(t, "r1", ec, file, 0, log), startReplicaOn(t, "r2", ec, file, 0, log)}
}

// firstContact opens a store on ec and initialises its prefix, as serve
// does at start, with a generous deadline: the dial timeout must end it.
// It returns the error of whichever step failed and how long it took.
func firstContact(t *testing.T, ec config.Etcd, log zerolog.Logger) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	st, err := etcdstate.Open(etcdstate.Options{Replica: "r1", Config: ec, Log: log})
	if err != nil {
		return time.Since(start), err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = st.Init(ctx, rollout.State{}, "")
	return time.Since(start), err
}

// TestTLS runs two replicas on an etcd that serves https and requires
// client certificates: a stage change round-trips and the watch fires.
// Then the wrong trust anchors fail quickly with an error naming the
// endpoint and the TLS problem.
func TestTLS(t *testing.T) {
	pki := etcdtest.NewPKI(t)
	m := etcdtest.StartTLS(t, pki)
	ec := config.Etcd{Endpoints: []string{m.ClientURL}, Prefix: "/strangler/" + t.Name(), DialTimeout: secureDialTimeout,
		TLS: config.EtcdTLS{CA: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey}}
	rs := replicasOn(t, ec, zerolog.Nop())
	var took []time.Duration
	for i := range 10 {
		took = append(took, roundTrip(t, rs, []stage.Position{migrated, legacy}[i%2]))
	}
	slices.Sort(took)
	t.Logf("TLS round trip (stage on r1 to served by r2) over %d changes: median %s, max %s", len(took), took[len(took)/2], took[len(took)-1])

	tests := []struct {
		name string
		tls  config.EtcdTLS
		want []string
	}{
		{"wrong CA", config.EtcdTLS{CA: pki.OtherCA, Cert: pki.ClientCert, Key: pki.ClientKey},
			[]string{m.ClientURL, "x509", "state.etcd.tls"}},
		{"no client certificate", config.EtcdTLS{CA: pki.CA},
			[]string{m.ClientURL, "state.etcd.tls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := ec
			bad.TLS = tt.tls
			took, err := firstContact(t, bad, zerolog.Nop())
			if err == nil {
				t.Fatalf("the backend started with %+v", tt.tls)
			}
			t.Logf("failed after %s: %v", took, err)
			if took > secureDialTimeout+2*time.Second {
				t.Errorf("failing took %s, want about the dial timeout %s", took, secureDialTimeout)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// TestUsernamePassword runs two replicas as etcd's root user, the
// password from the variable password_env names: a stage change
// round-trips; while etcd is down a change is refused naming the user;
// once it is back a change round-trips again. A wrong or missing password fails at once naming the user and the
// endpoint; the password is in no error and no log line.
func TestUsernamePassword(t *testing.T) {
	m := etcdtest.Start(t)
	const env = "STRANGLER_TEST_ETCD_PASSWORD"
	password := fmt.Sprintf("pw-%d-secret", time.Now().UnixNano())
	m.EnableAuth(password)
	t.Setenv(env, password)
	logs := &syncBuffer{}
	log := zerolog.New(logs)
	ec := config.Etcd{Endpoints: []string{m.ClientURL}, Prefix: "/strangler/" + t.Name(), DialTimeout: secureDialTimeout,
		Username: "root", PasswordEnv: env}
	rs := replicasOn(t, ec, log)
	for i := range 4 {
		roundTrip(t, rs, []stage.Position{migrated, legacy}[i%2])
	}
	var errs []error
	m.Stop()
	testutil.Eventually(t, "!up", func() bool { up, _ := rs[1].store.Up(); return !up })
	_, err := rs[0].ctl.SetStage(rollout.Change{Route: "orders", Reason: "while down"}, migrated)
	if !errors.Is(err, rollout.ErrUnavailable) || !strings.Contains(err.Error(), "as user root") {
		t.Errorf("a change while etcd is down: %v, want ErrUnavailable naming the user", err)
	}
	errs = append(errs, err)
	m.Restart() // the log-ins below need etcd; TestAuthReconnectAfterRestart times the way back
	if _, err := changeServed(rs, migrated, authReconnectLimit); err != nil {
		t.Fatalf("after etcd (auth on) restarted: %v", err)
	}

	tests := []struct {
		name, password string
		want           []string
	}{
		{"wrong password", "not-" + password, []string{m.ClientURL, `user root`, "authentication failed"}},
		{"no password", "", []string{`user "root"`, env}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(env, tt.password)
			took, err := firstContact(t, ec, log)
			if err == nil {
				t.Fatal("the backend started")
			}
			t.Logf("failed after %s: %v", took, err)
			errs = append(errs, err)
			if took > secureDialTimeout+time.Second {
				t.Errorf("failing took %s, want at most the dial timeout %s", took, secureDialTimeout)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("an error shows the password: %v", err)
		}
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the logs show the password:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "etcd is unreachable") {
		t.Errorf("the logs lack the outage, so the check of them proves little:\n%s", logs)
	}
}

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// authReconnectLimit bounds how long, after an etcd with auth on comes
// back, a change on one replica may take to be served by another.
const authReconnectLimit = 10 * time.Second

// TestAuthReconnectAfterRestart restarts an etcd that has auth on under
// two replicas logged in as root. A restarted etcd no longer knows the
// simple tokens it handed out, so each replica must log in again: a
// stage change on r1 must be served by r2 within authReconnectLimit of
// etcd answering again. A failed log-in (if the outage was long enough
// for one) is followed by a logged log-in, and no log line shows the
// password. The same without auth is the yardstick for the time.
func TestAuthReconnectAfterRestart(t *testing.T) {
	const env = "STRANGLER_TEST_ETCD_PASSWORD"
	for _, auth := range []bool{false, true} {
		t.Run(map[bool]string{false: "without auth", true: "with auth"}[auth], func(t *testing.T) {
			m := etcdtest.Start(t)
			ec := config.Etcd{Endpoints: []string{m.ClientURL}, Prefix: "/strangler/" + t.Name(), DialTimeout: secureDialTimeout}
			password := fmt.Sprintf("pw-%d-secret", time.Now().UnixNano())
			if auth {
				m.EnableAuth(password)
				t.Setenv(env, password)
				ec.Username, ec.PasswordEnv = "root", env
			}
			logs := &syncBuffer{}
			rs := replicasOn(t, ec, zerolog.New(logs))
			roundTrip(t, rs, migrated)
			// The replicas' last log-ins must be in etcd's backend, not only
			// in its WAL, or the restart replays them and the tokens stay good.
			time.Sleep(time.Second)
			m.Restart()
			took, err := changeServed(rs, legacy, authReconnectLimit)
			if err != nil {
				t.Fatalf("after etcd restarted: %v\nlogs:\n%s", err, logs)
			}
			t.Logf("a change on r1 was served by r2 %s after etcd answered again", took.Round(time.Millisecond))
			if got := logs.String(); strings.Contains(got, password) {
				t.Errorf("the logs show the password:\n%s", got)
			} else if failed := strings.LastIndex(got, "logging in to etcd failed"); failed >= 0 && !strings.Contains(got[failed:], "logged in to etcd again") {
				t.Errorf("the logs show a failed log-in but not the log-in after it:\n%s", got)
			}
		})
	}
}

// changeServed retries a stage change on rs[0] (refused while it has not
// reached etcd again) until it commits, then waits until rs[1] serves
// it; it returns how long both took, or an error naming the last refusal.
func changeServed(rs []*replica, pos stage.Position, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	var err error
	for time.Since(start) < limit {
		if _, err = rs[0].ctl.SetStage(rollout.Change{Route: "orders", Reason: "after restart"}, pos); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return 0, fmt.Errorf("%s refused stage %s for %s: %w", rs[0].name, pos, limit, err)
	}
	if _, ok := rs[1].waitSide(sideOf(pos), limit-time.Since(start)); !ok {
		return 0, fmt.Errorf("%s never served %s within %s of %s changing it", rs[1].name, pos, limit, rs[0].name)
	}
	return time.Since(start), nil
}
