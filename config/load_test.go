package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/stranglerfig/strangler/stage"
)

// minimalYAML is the smallest valid file: only legacy.url is required.
const minimalYAML = "legacy:\n  url: http://legacy.internal:8081\n"

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadExampleConfig(t *testing.T) {
	cfg, err := Load("../config.yaml", Source{})
	if err != nil {
		t.Fatalf("Load(../config.yaml): %v", err)
	}
	top := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Listen, ":8080"},
		{"server.read_header_timeout", cfg.Server.ReadHeaderTimeout, 10 * time.Second},
		{"server.idle_timeout", cfg.Server.IdleTimeout, 120 * time.Second},
		{"server.max_header_bytes", cfg.Server.MaxHeaderBytes, ByteSize(64 << 10)},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout, 30 * time.Second},
		{"server.max_body_bytes", cfg.Server.MaxBodyBytes, ByteSize(10 << 20)},
		{"server.body_read_timeout", cfg.Server.BodyReadTimeout, 60 * time.Second},
		{"server.body_min_rate", cfg.Server.BodyMinRate, ByteSize(500)},
		{"admin", cfg.Admin, Admin{Listen: "127.0.0.1:9901", TokenEnv: "STRANGLER_ADMIN_TOKEN"}},
		{"log", cfg.Log, Log{Level: "info", Format: "json", Access: true, Buffer: DefaultLogBuffer, FlushInterval: DefaultLogFlushInterval}},
		{"trusted_proxies", len(cfg.TrustedProxies), 0},
		{"legacy", cfg.Legacy, Upstream{URL: "http://127.0.0.1:8081", Timeout: 30 * time.Second,
			DialTimeout: 5 * time.Second, MaxIdleConns: 256, HostHeader: HostUpstream, Client: ClientLean,
			MaxInFlight: DefaultMaxInFlight}},
		{"services", cfg.Services, map[string]Service{"orders": {Upstream: Upstream{URL: "http://127.0.0.1:8082",
			Timeout: 5 * time.Second, DialTimeout: DefaultDialTimeout, MaxIdleConns: DefaultMaxIdleConns,
			HostHeader: HostUpstream, Client: ClientLean, MaxInFlight: DefaultMaxInFlight}, Breaker: Breaker{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20,
			Window: 10 * time.Second, OpenFor: 10 * time.Second, HalfOpenRequests: 1}}}},
		{"len(routes)", len(cfg.Routes), 3},
	}
	for _, tc := range top {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	if len(cfg.Routes) != 3 {
		t.FailNow()
	}

	routes := []struct {
		name, path, prefix, service, stage, sticky string
		methods                                    []string
		percent                                    float64
		ignore                                     []string
	}{
		{"order-details", "/api/orders/{id:[0-9]+}", "", "orders", stage.Canary.String(), "header:X-User-ID",
			[]string{"GET"}, 10, []string{"/served_at", "/request_id", "header:Date"}},
		{"order-list", "/api/orders", "", "orders", stage.Shadow.String(), "ip", []string{"GET"}, 0, nil},
		{"legacy-reports", "", "/reports/", "", stage.Legacy.String(), "ip", nil, 0, nil},
	}
	for i, want := range routes {
		r := cfg.Routes[i]
		t.Run(want.name, func(t *testing.T) {
			checks := []struct {
				field     string
				got, want any
			}{
				{"name", r.Name, want.name},
				{"match.path", r.Match.Path, want.path},
				{"match.prefix", r.Match.Prefix, want.prefix},
				{"service", r.Service, want.service},
				{"stage", r.Stage, want.stage},
				{"sticky", r.Sticky, want.sticky},
				{"percent", r.Percent, want.percent},
				{"fallback", r.Fallback, false},
				{"shadow.sample", *r.Shadow.Sample, 100.0},
				{"shadow.methods", r.Shadow.Methods, []string{"GET", "HEAD"}},
				{"shadow.max_body", r.Shadow.MaxBody, ByteSize(1 << 20)},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %#v, want %#v", c.field, c.got, c.want)
				}
			}
			if len(r.Match.Methods) != len(want.methods) || (len(want.methods) > 0 && !reflect.DeepEqual(r.Match.Methods, want.methods)) {
				t.Errorf("match.methods = %#v, want %#v", r.Match.Methods, want.methods)
			}
			if len(r.Diff.Ignore) != len(want.ignore) || (len(want.ignore) > 0 && !reflect.DeepEqual(r.Diff.Ignore, want.ignore)) {
				t.Errorf("diff.ignore = %#v, want %#v", r.Diff.Ignore, want.ignore)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	const routesYAML = minimalYAML + `
services:
  orders:
    url: http://orders:8082
routes:
  - name: r
    match:
      prefix: /api/
    service: orders
`
	cfg, err := Parse([]byte(routesYAML), "defaults.yaml", Source{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r := cfg.Routes[0]
	svc := cfg.Services["orders"]
	tests := []struct {
		field     string
		got, want any
	}{
		{"listen", cfg.Listen, DefaultListen},
		{"admin.listen", cfg.Admin.Listen, DefaultAdminListen},
		{"admin.token_env", cfg.Admin.TokenEnv, DefaultTokenEnv},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "json"},
		{"log.access", cfg.Log.Access, true},
		{"server.read_header_timeout", cfg.Server.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"server.idle_timeout", cfg.Server.IdleTimeout, DefaultIdleTimeout},
		{"server.max_header_bytes", cfg.Server.MaxHeaderBytes, ByteSize(DefaultMaxHeaderBytes)},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout, DefaultShutdownTimeout},
		{"legacy.timeout", cfg.Legacy.Timeout, DefaultUpstreamTimeout},
		{"legacy.dial_timeout", cfg.Legacy.DialTimeout, DefaultDialTimeout},
		{"legacy.max_idle_conns", cfg.Legacy.MaxIdleConns, DefaultMaxIdleConns},
		{"legacy.host_header", cfg.Legacy.HostHeader, HostUpstream},
		{"legacy.client", cfg.Legacy.Client, ClientLean},
		{"legacy.max_in_flight", cfg.Legacy.MaxInFlight, DefaultMaxInFlight},
		{"services.orders.max_in_flight", svc.MaxInFlight, DefaultMaxInFlight},
		{"services.orders.timeout", svc.Timeout, DefaultUpstreamTimeout},
		{"services.orders.dial_timeout", svc.DialTimeout, DefaultDialTimeout},
		{"services.orders.max_idle_conns", svc.MaxIdleConns, DefaultMaxIdleConns},
		{"services.orders.host_header", svc.HostHeader, HostUpstream},
		{"services.orders.sandbox", svc.Sandbox, false},
		{"routes[0].stage", r.Stage, stage.Legacy.String()},
		{"routes[0].sticky", r.Sticky, "ip"},
		{"routes[0].percent", r.Percent, 0.0},
		{"routes[0].shadow.sample", *r.Shadow.Sample, 100.0},
		{"routes[0].shadow.methods", r.Shadow.Methods, []string{"GET", "HEAD"}},
		{"routes[0].shadow.max_body", r.Shadow.MaxBody, ByteSize(1 << 20)},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.field, tc.got, tc.want)
		}
	}
	// The default method list must be a copy: editing one route's list
	// must not change the package default.
	r.Shadow.Methods[0] = "PUT"
	if DefaultShadowMethods[0] != "GET" {
		t.Errorf("DefaultShadowMethods aliased by a route: %v", DefaultShadowMethods)
	}
}

func TestLoadExplicitZeroSampleKept(t *testing.T) {
	cfg, err := Parse([]byte(minimalYAML+"routes:\n  - name: r\n    match: {path: /x}\n    shadow: {sample: 0}\n"), "s.yaml", Source{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *cfg.Routes[0].Shadow.Sample; got != 0 {
		t.Errorf("shadow.sample = %v, want an explicit 0 kept", got)
	}
}

func TestLoadOverrides(t *testing.T) {
	const file = `listen: ":7000"
legacy:
  url: http://file-legacy:8081
`
	path := writeTemp(t, "over.yaml", file)
	tests := []struct {
		name       string
		env        bool
		envListen  string // "" leaves STRANGLER_LISTEN unset (empty)
		flagListen string // "" leaves --listen unset
		wantListen string
		wantLegacy string
	}{
		{"file only", false, "", "", ":7000", "http://file-legacy:8081"},
		{"env ignored without Source.Env", false, ":7100", "", ":7000", "http://file-legacy:8081"},
		{"env beats file", true, ":7100", "", ":7100", "http://env-legacy:9000"},
		{"flag beats file", false, "", ":7200", ":7200", "http://file-legacy:8081"},
		{"flag beats env", true, ":7100", ":7200", ":7200", "http://env-legacy:9000"},
		{"flag with env ignored", false, ":7100", ":7200", ":7200", "http://file-legacy:8081"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.envListen != "" {
				t.Setenv("STRANGLER_LISTEN", tc.envListen)
				t.Setenv("STRANGLER_LEGACY_URL", "http://env-legacy:9000")
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			AddFlags(fs)
			var args []string
			if tc.flagListen != "" {
				args = append(args, "--listen", tc.flagListen)
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path, Source{Flags: fs, Env: tc.env})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Listen != tc.wantListen {
				t.Errorf("listen = %q, want %q", cfg.Listen, tc.wantListen)
			}
			if cfg.Legacy.URL != tc.wantLegacy {
				t.Errorf("legacy.url = %q, want %q", cfg.Legacy.URL, tc.wantLegacy)
			}
			// Flags that were not set must not blank out file values.
			if cfg.Admin.Listen != DefaultAdminListen || cfg.Log.Level != "info" {
				t.Errorf("unset flags changed admin.listen=%q log.level=%q", cfg.Admin.Listen, cfg.Log.Level)
			}
		})
	}
}

func TestLoadEnvOverrideIsValidated(t *testing.T) {
	t.Setenv("STRANGLER_LEGACY_URL", "ftp://nope")
	path := writeTemp(t, "env.yaml", minimalYAML)
	if _, err := Load(path, Source{}); err != nil {
		t.Fatalf("without Env the variable must be ignored: %v", err)
	}
	_, err := Load(path, Source{Env: true})
	if err == nil || !strings.Contains(err.Error(), "legacy.url") || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("err = %v, want legacy.url scheme problem", err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.yaml"), "nope.yaml"},
		{"directory", dir, "reading config"},
		{"too large", big, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path, Source{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "nope.yaml"), Source{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error %v does not wrap os.ErrNotExist", err)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr string
	}{
		{"0", 0, ""},
		{"512", 512, ""},
		{"512B", 512, ""},
		{"1k", 1 << 10, ""},
		{"64KiB", 64 << 10, ""},
		{"64kib", 64 << 10, ""},
		{"1KB", 1000, ""},
		{"1MiB", 1 << 20, ""},
		{"1 MiB", 1 << 20, ""},
		{"  2 MB ", 2_000_000, ""},
		{"3m", 3 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"1GB", 1_000_000_000, ""},
		{"2g", 2 << 30, ""},
		{"4611686018427387904", 1 << 62, ""},
		{"", 0, "invalid size"},
		{"MiB", 0, "invalid size"},
		{"-1", 0, "invalid size"},
		{"-1KiB", 0, "invalid size"},
		{"1.5MiB", 0, "invalid size"},
		{"1 potato", 0, "invalid size"},
		{"1TiB", 0, "invalid size"},
		{"0x10", 0, "invalid size"},
		{"1 Mi B", 0, "invalid size"},
		{"4611686018427387905", 0, "too large"},
		{"9999999999GiB", 0, "too large"},
		{"99999999999999999999", 0, "invalid size"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseByteSize(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseByteSize(%q) = %d, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "\""+tc.in+"\"") {
					t.Errorf("error %q does not quote the input", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseByteSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestByteSizeInYAML(t *testing.T) {
	tests := []struct {
		yaml string
		want ByteSize
	}{
		{"64KiB", 64 << 10},
		{"65536", 65536},
		{"\"2 MB\"", 2_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.yaml, func(t *testing.T) {
			y := minimalYAML + "server:\n  max_header_bytes: " + tc.yaml + "\n"
			cfg, err := Parse([]byte(y), "b.yaml", Source{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Server.MaxHeaderBytes != tc.want {
				t.Errorf("max_header_bytes = %d, want %d", cfg.Server.MaxHeaderBytes, tc.want)
			}
		})
	}
}
