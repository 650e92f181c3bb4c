package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestValidateState checks state.* and replica.*: each bad value is
// reported with its field, and every problem of one file together.
func TestValidateState(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Config)
		fields []string // none: valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"etcd", func(c *Config) {
			c.State = State{Backend: BackendEtcd, Etcd: Etcd{Endpoints: []string{"https://10.0.0.1:2379"}, Prefix: "/strangler/prod"}}
			c.Replica = Replica{Name: "pod-1", Advertise: "http://10.0.0.5:9901"}
		}, nil},
		{"unknown backend", func(c *Config) { c.State.Backend = "consul" }, []string{"state.backend"}},
		{"bad endpoint and prefix", func(c *Config) {
			c.State.Etcd.Endpoints = []string{"http://ok:2379", "127.0.0.1:2379"}
			c.State.Etcd.Prefix = "strangler/"
		}, []string{"state.etcd.endpoints[1]", "state.etcd.prefix"}},
		{"negative dial timeout", func(c *Config) { c.State.Etcd.DialTimeout = -time.Second }, []string{"state.etcd.dial_timeout"}},
		{"bad password env", func(c *Config) { c.State.Etcd.PasswordEnv = "NOT A NAME" }, []string{"state.etcd.password_env"}},
		{"cert without key", func(c *Config) { c.State.Etcd.TLS.Cert = "c.pem" }, []string{"state.etcd.tls"}},
		{"replica name with a slash", func(c *Config) { c.Replica.Name = "a/b" }, []string{"replica.name"}},
		{"replica advertise not a URL", func(c *Config) { c.Replica.Advertise = "10.0.0.5:9901" }, []string{"replica.advertise"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{
				Listen: ":8080", Admin: Admin{Listen: "127.0.0.1:9901", TokenEnv: "T"},
				Server: Server{ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
					MaxHeaderBytes: DefaultMaxHeaderBytes, ShutdownTimeout: DefaultShutdownTimeout},
				Log:    Log{Level: "info", Format: "json"},
				Legacy: Upstream{URL: "http://127.0.0.1:1"},
			}
			tt.edit(c)
			c.SetDefaults()
			err := c.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if got := len(Problems(err)); got != len(tt.fields) {
				t.Errorf("%d problems, want %d: %v", got, len(tt.fields), err)
			}
			for _, f := range tt.fields {
				if err == nil || !strings.Contains(err.Error(), f+":") {
					t.Errorf("want a problem at %s, got %v", f, err)
				}
			}
		})
	}
}

// TestLoadStateDefaultsAndEnv loads a file without state keys: the file
// backend with its defaults; then the environment switches to etcd with a
// comma-separated endpoint list and names the replica.
func TestLoadStateDefaultsAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("legacy: {url: http://127.0.0.1:1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, Source{Env: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.State; s.Backend != BackendFile || s.Etcd.Prefix != DefaultStatePrefix ||
		s.Etcd.DialTimeout != DefaultEtcdDialTimeout || s.Etcd.PasswordEnv != DefaultEtcdPasswordEnv ||
		len(s.Etcd.Endpoints) != 1 || s.Etcd.Endpoints[0] != DefaultEtcdEndpoint {
		t.Errorf("defaults: %+v", s)
	}
	t.Setenv("STRANGLER_STATE_BACKEND", "etcd")
	t.Setenv("STRANGLER_STATE_ETCD_ENDPOINTS", "http://10.0.0.1:2379, http://10.0.0.2:2379")
	t.Setenv("STRANGLER_REPLICA_NAME", "pod-7")
	if cfg, err = Load(path, Source{Env: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}
	if cfg.State.Backend != BackendEtcd || strings.Join(cfg.State.Etcd.Endpoints, " ") != strings.Join(want, " ") ||
		cfg.Replica.Name != "pod-7" || cfg.Replica.ReplicaName() != "pod-7" {
		t.Errorf("env overrides: %+v %+v", cfg.State, cfg.Replica)
	}
	t.Setenv("STRANGLER_STATE_ETCD_ENDPOINTS", "10.0.0.1:2379")
	if _, err := Load(path, Source{Env: true}); err == nil || !strings.Contains(err.Error(), "state.etcd.endpoints[0]") {
		t.Errorf("a bad endpoint from the environment: %v, want a problem at state.etcd.endpoints[0]", err)
	}
}
