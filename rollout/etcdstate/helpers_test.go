package etcdstate_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/proxy"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
)

// backend is a real HTTP server naming itself in X-Side.
func backend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Side", name)
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// fileConfig is the route file every replica reads: "orders" at legacy.
func fileConfig(t testing.TB, monolith, orders string) *config.Config {
	t.Helper()
	cfg := &config.Config{
		Listen: "127.0.0.1:0",
		Server: config.Server{ReadHeaderTimeout: 5e9, IdleTimeout: 60e9, MaxHeaderBytes: 1 << 20, ShutdownTimeout: 5e9},
		Admin:  config.Admin{Listen: "127.0.0.1:0", TokenEnv: "STRANGLER_ADMIN_TOKEN"},
		Log:    config.Log{Level: "info", Format: "json"},
		Legacy: config.Upstream{URL: monolith},
		Services: map[string]config.Service{
			"orders": {Upstream: config.Upstream{URL: orders}},
		},
		Routes: []config.Route{{Name: "orders", Match: config.Match{Prefix: "/orders"}, Service: "orders"}},
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config invalid: %v", err)
	}
	return cfg
}

// replica is one strangler stack: controller on etcd, proxy served by a
// real HTTP server, the watch running.
type replica struct {
	t      testing.TB
	name   string
	store  *etcdstate.Store
	ctl    *rollout.Controller
	proxy  *proxy.Proxy
	srv    *httptest.Server
	client *http.Client
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// startReplica builds a replica named name on endpoints and loads file.
// It is ready (serves the current state) when it returns.
func startReplica(t testing.TB, name, prefix string, endpoints []string, file *config.Config) *replica {
	t.Helper()
	return startReplicaSized(t, name, prefix, endpoints, file, 0)
}

// startReplicaSized is startReplica keeping auditSize events in etcd.
func startReplicaSized(t testing.TB, name, prefix string, endpoints []string, file *config.Config, auditSize int) *replica {
	t.Helper()
	return startReplicaOn(t, name, config.Etcd{Endpoints: endpoints, Prefix: prefix, DialTimeout: 2 * time.Second},
		file, auditSize, zerolog.Nop())
}

// startReplicaOn is startReplica with the whole state.etcd section (TLS,
// a user) and a logger for the store and the controller.
func startReplicaOn(t testing.TB, name string, ec config.Etcd, file *config.Config, auditSize int, log zerolog.Logger) *replica {
	t.Helper()
	p, err := proxy.New(file, proxy.Options{Log: zerolog.Nop()})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	st, err := etcdstate.Open(etcdstate.Options{Replica: name, Log: log, AuditSize: auditSize, Config: ec})
	if err != nil {
		p.Close()
		t.Fatalf("etcdstate.Open: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := st.Init(ctx, rollout.State{}, ""); err != nil {
		t.Fatalf("Init: %v", err)
	}
	ctl, err := rollout.New(rollout.Options{Applier: p, Log: log, Shared: st, Replica: name,
		Audit: rollout.NewAudit(auditSize)})
	if err != nil {
		t.Fatalf("rollout.New on etcd: %v", err)
	}
	if err := ctl.LoadFile(file); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	r := &replica{t: t, name: name, store: st, ctl: ctl, proxy: p, srv: httptest.NewServer(p.Handler()),
		client: &http.Client{Timeout: 5 * time.Second}}
	runCtx, stop := context.WithCancel(context.Background())
	r.stop = stop
	r.wg.Go(func() { st.Run(runCtx, ctl) })
	t.Cleanup(func() {
		r.Close()
		p.Close()
	})
	return r
}

// Close stops the watch, the server and the client. Idempotent.
func (r *replica) Close() {
	r.stop()
	r.wg.Wait()
	r.srv.Close()
	r.client.CloseIdleConnections()
	_ = r.store.Close()
}

// side asks the replica's data plane for /orders/1 and returns who
// answered, or an error for anything but a 200.
func (r *replica) side() (string, error) {
	resp, err := r.client.Get(r.srv.URL + "/orders/1")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{resp.StatusCode}
	}
	return resp.Header.Get("X-Side"), nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

// waitSide polls until the replica serves want, up to limit; it returns
// how long that took.
func (r *replica) waitSide(want string, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < limit {
		if got, err := r.side(); err == nil && got == want {
			return time.Since(start), true
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start), false
}
