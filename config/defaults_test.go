package config

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/viper"
	"github.com/stranglerfig/strangler/stage"
)

// TestEmptyFileMeansTheDefaultsTable: a file giving only legacy.url loads
// as defaultConfig with that URL, so viper's defaults and SetDefaults
// agree with the one table.
func TestEmptyFileMeansTheDefaultsTable(t *testing.T) {
	cfg, err := Parse([]byte(minimalYAML), "min.yaml", Source{})
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.Legacy.URL = "http://legacy.internal:8081"
	if d := cmp.Diff(&want, cfg); d != "" {
		t.Errorf("minimal file (-table +loaded):\n%s", d)
	}
}

// TestViperDefaultsFromTable: every scalar key outside maps and lists has
// a viper default, read from defaultConfig, so environment overrides
// reach it.
func TestViperDefaultsFromTable(t *testing.T) {
	v := viper.New()
	setViperDefaults(v)
	tests := []struct {
		key  string
		want any
	}{
		{"listen", DefaultListen},
		{"server.idle_timeout", DefaultIdleTimeout},
		{"server.max_body_bytes", ByteSize(DefaultMaxBodyBytes)},
		{"admin.pprof", false},
		{"log.access", true},
		{"legacy.max_in_flight", DefaultMaxInFlight},
		{"reports.max_results", DefaultMaxResults},
		{"state.etcd.tls.key", ""},
		{"tracing.sample_ratio", DefaultTracingSample},
		{"planner.weights.latency", DefaultPlannerWeights.Latency},
	}
	for _, tc := range tests {
		if got := v.Get(tc.key); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("viper default %s = %#v, want %#v", tc.key, got, tc.want)
		}
	}
	for _, key := range []string{"routes", "services", "trusted_proxies", "state.etcd.endpoints", "tracing.headers_env"} {
		if v.IsSet(key) {
			t.Errorf("%s is a list or map: it has no viper default, got %#v", key, v.Get(key))
		}
	}
	t.Setenv("STRANGLER_SERVER_BODY_READ_TIMEOUT", "7s")
	cfg, err := Parse([]byte(minimalYAML), "env.yaml", Source{Env: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.BodyReadTimeout != 7*time.Second {
		t.Errorf("server.body_read_timeout = %s, want the environment's 7s", cfg.Server.BodyReadTimeout)
	}
}

// rawConfig is a config built in code before SetDefaults: lower-case
// method lists, nil pointers and empty lists everywhere SetDefaults fills
// or normalises something. Each call returns a fresh value.
func rawConfig() *Config {
	return &Config{
		Listen: ":8080",
		Server: Server{ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
			MaxHeaderBytes: DefaultMaxHeaderBytes, ShutdownTimeout: DefaultShutdownTimeout},
		Admin:  Admin{Listen: DefaultAdminListen, TokenEnv: DefaultTokenEnv},
		Log:    Log{Level: "info", Format: "json"},
		Legacy: Upstream{URL: "http://legacy:1"},
		Services: map[string]Service{
			"orders":  {Upstream: Upstream{URL: "http://orders:1"}},
			"scratch": {Upstream: Upstream{URL: "http://scratch:1"}, Sandbox: true},
		},
		Routes: []Route{
			{Name: "a", Match: Match{Path: "/a", Methods: []string{"get", "Post", "GE T"}}, Service: "orders", Stage: stage.Shadow.String()},
			{Name: "b", Match: Match{Prefix: "/b/"}, Service: "scratch", Stage: stage.Shadow.String(),
				Shadow: Shadow{Methods: []string{"get", "put", "delete"}}, Automation: Automation{Enabled: true}},
		},
		State: State{Etcd: Etcd{Username: "u"}},
	}
}

// TestValidateChangesNothing validates configs and compares each, field
// by field, with an identical one that was not validated.
func TestValidateChangesNothing(t *testing.T) {
	defaulted := func() *Config { c := rawConfig(); c.SetDefaults(); return c }
	parsed := func() *Config {
		c, err := Parse([]byte(withRoutes("  - name: r\n    match: {path: /a, methods: [get, post]}\n    service: scratch\n"+
			"    stage: shadow\n    shadow: {methods: [get, put]}\n")), "p.yaml", Source{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name    string
		build   func() *Config
		invalid bool
	}{
		{"before SetDefaults", rawConfig, true},
		{"after SetDefaults", defaulted, true},
		{"parsed", parsed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, want := tc.build(), tc.build()
			err := got.Validate()
			if (err != nil) != tc.invalid {
				t.Errorf("Validate = %v, want invalid %v", err, tc.invalid)
			}
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Validate changed the config (-before +after):\n%s", d)
			}
		})
	}
}

// TestSetDefaultsNormalises: SetDefaults fills what a route, a service
// and its breaker leave out, upper-cases method tokens (leaving a value
// that is not a token as written, for Validate to quote), gives each
// route lists of its own, and a second run changes nothing.
func TestSetDefaultsNormalises(t *testing.T) {
	c := rawConfig()
	c.SetDefaults()
	a, b := c.Routes[0], c.Routes[1]
	checks := []struct {
		field     string
		got, want any
	}{
		{"routes[0].match.methods", a.Match.Methods, []string{"GET", "POST", "GE T"}},
		{"routes[1].shadow.methods", b.Shadow.Methods, []string{"GET", "PUT", "DELETE"}},
		{"routes[0].shadow.methods", a.Shadow.Methods, DefaultShadowMethods},
		{"routes[0].plan", a.Plan, DefaultPlan},
		{"routes[0].shadow.sample", *a.Shadow.Sample, 100.0},
		{"routes[1].automation.hold", b.Automation.Hold, DefaultHold},
		{"services.orders.timeout", c.Services["orders"].Timeout, DefaultUpstreamTimeout},
		{"services.orders.breaker.window", c.Services["orders"].Breaker.Window, DefaultBreakerWindow},
		{"state.etcd.endpoints", c.State.Etcd.Endpoints, []string{DefaultEtcdEndpoint}},
		{"state.etcd.username", c.State.Etcd.Username, "u"},
		{"tracing.sample_ratio", *c.Tracing.SampleRatio, DefaultTracingSample},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.field, ck.got, ck.want)
		}
	}
	if a.Shadow.Sample == b.Shadow.Sample || &a.Plan[0] == &b.Plan[0] || &a.Shadow.Methods[0] == &DefaultShadowMethods[0] {
		t.Error("routes share a default pointer or list")
	}
	again := rawConfig()
	again.SetDefaults()
	again.SetDefaults()
	if d := cmp.Diff(c, again); d != "" {
		t.Errorf("a second SetDefaults changed the config (-once +twice):\n%s", d)
	}
}
