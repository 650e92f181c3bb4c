package config

import (
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/viper"
	"github.com/stranglerfig/strangler/stage"
)

// defaultConfig is the one table of defaults: the config an empty file
// means, for every key outside maps and lists. viper's defaults are read
// from it (setViperDefaults) and so are the values SetDefaults fills in;
// the defaults of a service, a route and its breaker are defaultUpstream,
// defaultRoute and defaultBreaker. It returns a fresh value each call.
func defaultConfig() Config {
	ratio := DefaultTracingSample
	return Config{
		Listen: DefaultListen,
		Server: Server{ReadHeaderTimeout: DefaultReadHeaderTimeout, IdleTimeout: DefaultIdleTimeout,
			MaxHeaderBytes: DefaultMaxHeaderBytes, GCPercent: DefaultGCPercent, ShutdownTimeout: DefaultShutdownTimeout,
			MaxBodyBytes: DefaultMaxBodyBytes, BodyReadTimeout: DefaultBodyReadTimeout, BodyMinRate: DefaultBodyMinRate},
		Admin: Admin{Listen: DefaultAdminListen, TokenEnv: DefaultTokenEnv},
		Log: Log{Level: "info", Format: "json", Access: true, Buffer: DefaultLogBuffer,
			FlushInterval: DefaultLogFlushInterval},
		Legacy: defaultUpstream(),
		Shadowing: Shadowing{Workers: DefaultShadowWorkers, Queue: DefaultShadowQueue, Timeout: DefaultShadowTimeout,
			SecretEnv: DefaultShadowSecretEnv},
		Reports: Reports{MaxResults: DefaultMaxResults, MaxBytes: DefaultMaxReportBytes, Queue: DefaultReportQueue,
			MaxExcerpt: DefaultMaxExcerpt},
		Automation: AutomationLoop{Interval: DefaultAutomationEvery},
		State: State{Backend: BackendFile, Etcd: Etcd{Endpoints: []string{DefaultEtcdEndpoint}, Prefix: DefaultStatePrefix,
			DialTimeout: DefaultEtcdDialTimeout, PasswordEnv: DefaultEtcdPasswordEnv}},
		Tracing: Tracing{ServiceName: DefaultTracingService, SampleRatio: &ratio, QueueSize: DefaultTracingQueue,
			BatchSize: DefaultTracingBatch},
		Planner: Planner{Weights: DefaultPlannerWeights},
	}
}

// defaultUpstream holds the defaults of legacy and of every service.
func defaultUpstream() Upstream {
	return Upstream{Timeout: DefaultUpstreamTimeout, DialTimeout: DefaultDialTimeout, MaxIdleConns: DefaultMaxIdleConns,
		HostHeader: HostUpstream, Client: ClientLean, MaxInFlight: DefaultMaxInFlight}
}

// defaultBreaker holds the defaults of a service's breaker.
func defaultBreaker() Breaker {
	return Breaker{ConsecutiveFailures: DefaultBreakerFailures, FailureRatio: DefaultBreakerRatio,
		MinRequests: DefaultBreakerMinimum, Window: DefaultBreakerWindow, OpenFor: DefaultBreakerOpenFor,
		HalfOpenRequests: DefaultBreakerProbes}
}

// defaultRoute holds the defaults of a route, with lists of its own.
func defaultRoute() Route {
	full := 100.0
	return Route{
		Stage: stage.Legacy.String(), Sticky: DefaultSticky,
		Shadow: Shadow{Sample: &full, Methods: slices.Clone(DefaultShadowMethods), MaxBody: DefaultShadowMaxBody},
		Diff:   Diff{MaxBody: DefaultDiffMaxBody, Noise: Noise{Sample: DefaultNoiseSample, Warmup: DefaultNoiseWarmup}},
		Plan:   slices.Clone(DefaultPlan),
		Automation: Automation{Hold: DefaultHold, Window: DefaultWindow,
			Gates:    Gates{MinCompared: DefaultGateMinimum, MinRequests: DefaultGateMinimum},
			Rollback: Triggers{MinSamples: DefaultTriggerMinimum}},
	}
}

// setViperDefaults registers, from defaultConfig, a default for every
// scalar key outside maps and lists, so that a key left out of the file
// takes its default and environment overrides reach every such key (viper
// only reads the environment for keys it knows).
func setViperDefaults(v *viper.Viper) {
	walkDefaults(reflect.ValueOf(defaultConfig()), "", v.SetDefault)
}

// walkDefaults calls set for each scalar field of the struct s by its
// dotted mapstructure key; a nil pointer has no default.
func walkDefaults(s reflect.Value, prefix string, set func(key string, value any)) {
	for i := range s.NumField() {
		name, _, _ := strings.Cut(s.Type().Field(i).Tag.Get("mapstructure"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := s.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		switch f.Kind() {
		case reflect.Map, reflect.Slice:
		case reflect.Struct:
			walkDefaults(f, prefix+name+".", set)
		default:
			set(prefix+name, f.Interface())
		}
	}
}

// SetDefaults is the one defaults step (Caddy's Provision): Parse runs it
// once after decoding, and code that builds a Config runs it before
// Validate. It fills, from the defaults table, the fields whose zero value
// means the default (those inside maps and lists, which viper's defaults
// cannot reach, and those where 0 or "" in the file also means the
// default) and normalises what is compared case-insensitively (method
// lists to upper case). Keys whose zero is refused or meaningful (listen,
// server.idle_timeout, log.buffer, ...) take their default from viper only
// when left out of the file. SetDefaults is idempotent.
func (c *Config) SetDefaults() {
	d := defaultConfig()
	c.Legacy.setDefaults(d.Legacy)
	for name, s := range c.Services {
		s.Upstream.setDefaults(d.Legacy)
		s.Breaker.setDefaults(defaultBreaker())
		c.Services[name] = s
	}
	for i := range c.Routes {
		c.Routes[i].setDefaults(defaultRoute())
	}
	fillZero(&c.Shadowing, d.Shadowing)
	fillZero(&c.Reports, d.Reports)
	setIfZero(&c.State.Backend, d.State.Backend)
	fillZero(&c.State.Etcd, d.State.Etcd)
	setIfZero(&c.Server.GCPercent, d.Server.GCPercent)
	setIfZero(&c.Server.MaxBodyBytes, d.Server.MaxBodyBytes)
	setIfZero(&c.Server.BodyReadTimeout, d.Server.BodyReadTimeout)
	setIfZero(&c.Server.BodyMinRate, d.Server.BodyMinRate)
	setIfZero(&c.Automation.Interval, d.Automation.Interval)
	fillZero(&c.Tracing, d.Tracing)
}

func (u *Upstream) setDefaults(d Upstream) { fillZero(u, d) }

func (b *Breaker) setDefaults(d Breaker) { fillZero(b, d) }

func (r *Route) setDefaults(d Route) {
	fillZero(r, d) // d is fresh: its pointer and lists become r's own
	upperTokens(r.Match.Methods)
	upperTokens(r.Shadow.Methods)
}

// upperTokens upper-cases each method name in place. A value that is not
// a token is left as written, so that Validate quotes it as the file has it.
func upperTokens(methods []string) {
	for i, m := range methods {
		if tokenRe.MatchString(m) {
			methods[i] = strings.ToUpper(m)
		}
	}
}

// fillZero sets every zero field of *dst, recursively through structs, to
// the field of d: a nil pointer or empty list takes d's (so d must not be
// shared), a false bool stays false unless d says otherwise.
func fillZero[T any](dst *T, d T) {
	fillValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(d))
}

func fillValue(dst, d reflect.Value) {
	switch dst.Kind() {
	case reflect.Struct:
		for i := range dst.NumField() {
			fillValue(dst.Field(i), d.Field(i))
		}
		return
	case reflect.Slice, reflect.Map:
		if dst.Len() == 0 && d.Len() > 0 {
			dst.Set(d)
		}
		return
	}
	if dst.IsZero() {
		dst.Set(d)
	}
}

// setIfZero sets *p to def when it holds its zero value.
func setIfZero[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
