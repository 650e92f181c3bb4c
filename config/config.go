// Package config reads, validates and watches strangler's YAML route file.
//
// It is the only package that imports viper. Everything else receives a
// validated *Config: viper is never consulted on the request path.
package config

import (
	"os"
	"slices"
	"time"

	"github.com/stranglerfig/strangler/config/reportlimits"
)

// Log buffering defaults.
const (
	DefaultLogBuffer        = 64 << 10
	DefaultLogFlushInterval = 200 * time.Millisecond
)

// Host header policies for upstream requests.
const (
	HostUpstream = "upstream" // send the upstream's own host (default)
	HostClient   = "client"   // keep the Host the client sent
)

// HTTP clients an upstream can be reached with.
const (
	// ClientLean forwards plain GET, HEAD and OPTIONS requests without a
	// body over strangler's own HTTP/1.1 connection pool and everything
	// else through Go's http.Transport (default).
	ClientLean = "lean"
	// ClientStandard sends every request through Go's http.Transport.
	ClientStandard = "standard"
)

// Config is the whole route file after defaults are applied.
type Config struct {
	// Listen is the data-plane address, host:port.
	Listen string `mapstructure:"listen" json:"listen"`
	// Server holds the data-plane http.Server limits.
	Server Server `mapstructure:"server" json:"server"`
	// Admin configures the admin listener.
	Admin Admin `mapstructure:"admin" json:"admin"`
	// Log configures logging.
	Log Log `mapstructure:"log" json:"log"`
	// TrustedProxies lists CIDRs (or single IPs) whose X-Forwarded-* headers
	// are believed. From anyone else those headers are replaced.
	TrustedProxies []string `mapstructure:"trusted_proxies" json:"trusted_proxies"`
	// Legacy is the monolith: it serves every request no route claims.
	Legacy Upstream `mapstructure:"legacy" json:"legacy"`
	// Services are the extracted services routes can move to, by name.
	Services map[string]Service `mapstructure:"services" json:"services"`
	// Routes are matched in file order; the first match wins.
	Routes []Route `mapstructure:"routes" json:"routes"`
	// StateFile keeps runtime overrides and the audit trail across
	// restarts. Default: strangler-state.json beside the config file; a
	// relative path is taken from the config file's directory.
	StateFile string `mapstructure:"state_file" json:"state_file"`
	// Shadowing sizes the mirroring workers and queue.
	Shadowing Shadowing `mapstructure:"shadowing" json:"shadowing"`
	// Reports bounds the stored comparison results.
	Reports Reports `mapstructure:"reports" json:"reports"`
	// Automation paces the automatic promotion controller.
	Automation AutomationLoop `mapstructure:"automation" json:"automation"`
	// State chooses where overrides, versions, pauses and the audit trail
	// live: the state file (default) or etcd, shared by several replicas.
	State State `mapstructure:"state" json:"state"`
	// Replica names this process among the replicas sharing one state.
	Replica Replica `mapstructure:"replica" json:"replica"`
	// Tracing exports OpenTelemetry traces of each request, its upstream
	// attempts and its shadow copy (off by default).
	Tracing Tracing `mapstructure:"tracing" json:"tracing"`
	// Planner tunes the migration planner (GET /admin/plan, strangler plan).
	Planner Planner `mapstructure:"planner" json:"planner"`
	// FileSHA256 is the hex sha256 of the route file's bytes this config
	// was loaded from (LoadData sets it; "" for a config built otherwise).
	// Replicas publish it so that /admin/cluster can flag config drift.
	FileSHA256 string `mapstructure:"-" json:"-"`
}

// Server holds limits of the data-plane HTTP server.
type Server struct {
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout" json:"read_header_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout" json:"idle_timeout"`
	MaxHeaderBytes    ByteSize      `mapstructure:"max_header_bytes" json:"max_header_bytes"`
	// DrainDelay is how long /readyz answers 503 before the listener stops
	// accepting, so load balancers take the instance out first.
	DrainDelay time.Duration `mapstructure:"drain_delay" json:"drain_delay"`
	// GCPercent sets the garbage collector's target (Go's GOGC) unless the
	// GOGC environment variable is set. strangler's live heap is bounded by
	// its own caps, so a higher target trades a larger heap for less GC work
	// on the request path.
	GCPercent int `mapstructure:"gc_percent" json:"gc_percent"`
	// MemoryLimit is a soft limit for the Go runtime (GOMEMLIMIT wins);
	// 0 means 80% of the container's memory limit when there is one.
	MemoryLimit ByteSize `mapstructure:"memory_limit" json:"memory_limit"`
	// ShutdownTimeout bounds how long in-flight requests may drain on stop.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" json:"shutdown_timeout"`
	// MaxBodyBytes bounds a request body (413); a route may set its own.
	MaxBodyBytes ByteSize `mapstructure:"max_body_bytes" json:"max_body_bytes"`
	// BodyReadTimeout is the longest wait for the next bytes of a request
	// body (408), as nginx's client_body_timeout.
	BodyReadTimeout time.Duration `mapstructure:"body_read_timeout" json:"body_read_timeout"`
	// BodyMinRate is the slowest average upload accepted once a body has
	// taken longer than BodyReadTimeout, in bytes per second (408).
	BodyMinRate ByteSize `mapstructure:"body_min_rate" json:"body_min_rate"`
}

// Admin configures the admin HTTP listener.
type Admin struct {
	Listen string `mapstructure:"listen" json:"listen"`
	// TokenEnv names the environment variable holding the bearer token.
	TokenEnv string `mapstructure:"token_env" json:"token_env"`
	// Pprof serves Go's profiler under /debug/pprof/ (token-protected).
	Pprof bool `mapstructure:"pprof" json:"pprof"`
}

// Log configures the process logger and the access log.
type Log struct {
	Level  string `mapstructure:"level" json:"level"`   // trace|debug|info|warn|error
	Format string `mapstructure:"format" json:"format"` // json|console
	Access bool   `mapstructure:"access" json:"access"` // one line per proxied request
	// Buffer batches log lines up to this size before writing them (0:
	// one write per line); warnings and errors are written at once.
	Buffer ByteSize `mapstructure:"buffer" json:"buffer"`
	// FlushInterval bounds how long a buffered line waits.
	FlushInterval time.Duration `mapstructure:"flush_interval" json:"flush_interval"`
}

// Upstream is one HTTP backend: the monolith or a service.
type Upstream struct {
	URL string `mapstructure:"url" json:"url"`
	// Timeout bounds the wait for the response header (not the body, so
	// streams are not cut).
	Timeout     time.Duration `mapstructure:"timeout" json:"timeout"`
	DialTimeout time.Duration `mapstructure:"dial_timeout" json:"dial_timeout"`
	// MaxIdleConns is the keep-alive pool size kept open to this upstream.
	MaxIdleConns int `mapstructure:"max_idle_conns" json:"max_idle_conns"`
	// HostHeader is "upstream" (send the upstream's host) or "client".
	HostHeader string `mapstructure:"host_header" json:"host_header"`
	// Client is "lean" (the lean path for bodiless GET, HEAD and OPTIONS
	// over plain http) or "standard" (Go's http.Transport for all).
	Client string `mapstructure:"client" json:"client"`
	// MaxInFlight bounds the requests forwarded to this upstream at once;
	// past it strangler answers 503 itself. 0 means the default: there is
	// no unbounded setting.
	MaxInFlight int `mapstructure:"max_in_flight" json:"max_in_flight"`
}

// Service is an extracted service.
type Service struct {
	Upstream `mapstructure:",squash"`
	// Sandbox marks a service whose side effects are disposable, so that
	// write methods may be shadowed to it.
	Sandbox bool `mapstructure:"sandbox" json:"sandbox"`
	// Breaker stops sending to a failing service for a while.
	Breaker Breaker `mapstructure:"breaker" json:"breaker"`
}

// Breaker is a service's circuit breaker. It opens after
// ConsecutiveFailures failures in a row, or when at least MinRequests
// requests in Window failed at FailureRatio or more; after OpenFor it lets
// HalfOpenRequests probes through and closes when they succeed.
type Breaker struct {
	Enabled             *bool         `mapstructure:"enabled" json:"enabled"`
	ConsecutiveFailures uint32        `mapstructure:"consecutive_failures" json:"consecutive_failures"`
	FailureRatio        float64       `mapstructure:"failure_ratio" json:"failure_ratio"`
	MinRequests         uint32        `mapstructure:"min_requests" json:"min_requests"`
	Window              time.Duration `mapstructure:"window" json:"window"`
	OpenFor             time.Duration `mapstructure:"open_for" json:"open_for"`
	HalfOpenRequests    uint32        `mapstructure:"half_open_requests" json:"half_open_requests"`
}

// On reports whether the breaker is enabled (the default).
func (b Breaker) On() bool { return b.Enabled == nil || *b.Enabled }

// Route is one migrating function of the monolith.
type Route struct {
	// Name is unique; it labels reports, metrics and admin paths.
	Name    string  `mapstructure:"name" json:"name"`
	Match   Match   `mapstructure:"match" json:"match"`
	Service string  `mapstructure:"service" json:"service"`
	Stage   string  `mapstructure:"stage" json:"stage"`
	Percent float64 `mapstructure:"percent" json:"percent"`
	// Sticky says which request property keeps a user on one side:
	// "header:NAME", "cookie:NAME" or "ip".
	Sticky string `mapstructure:"sticky" json:"sticky"`
	// Fallback answers from the monolith when the service fails, for
	// idempotent requests whose answer has not started.
	Fallback bool `mapstructure:"fallback" json:"fallback"`
	// FallbackStatuses are service statuses that also fall back, besides
	// 502, 503 and 504.
	FallbackStatuses []int `mapstructure:"fallback_statuses" json:"fallback_statuses"`
	// Automation promotes and rolls back the route by itself.
	Automation Automation `mapstructure:"automation" json:"automation"`
	Rewrite    Rewrite    `mapstructure:"rewrite" json:"rewrite"`
	Shadow     Shadow     `mapstructure:"shadow" json:"shadow"`
	Diff       Diff       `mapstructure:"diff" json:"diff"`
	// Plan lists the steps promote walks through: "shadow", "canary N"
	// (N percent) and "migrated", in increasing order. Empty means
	// DefaultPlan.
	Plan []string `mapstructure:"plan" json:"plan"`
	// MaxBodyBytes overrides server.max_body_bytes for this route.
	MaxBodyBytes ByteSize `mapstructure:"max_body_bytes" json:"max_body_bytes,omitempty"`
}

// Match selects the requests a route claims. Path and Prefix are exclusive.
type Match struct {
	Path    string            `mapstructure:"path" json:"path,omitempty"`     // gorilla/mux template
	Prefix  string            `mapstructure:"prefix" json:"prefix,omitempty"` // gorilla/mux path prefix
	Host    string            `mapstructure:"host" json:"host,omitempty"`     // gorilla/mux host template
	Methods []string          `mapstructure:"methods" json:"methods,omitempty"`
	Headers map[string]string `mapstructure:"headers" json:"headers,omitempty"` // "" matches any value
	// Allow lists ambiguous request properties this route accepts (see
	// MatchAllowances); others are refused with 400.
	Allow []string `mapstructure:"allow" json:"allow,omitempty"`
	// CaseInsensitive matches the path ignoring ASCII case (IIS backends).
	CaseInsensitive bool `mapstructure:"case_insensitive" json:"case_insensitive,omitempty"`
}

// MatchAllowances are the values of match.allow: request properties that
// backends read differently, refused unless a route allows them.
var MatchAllowances = []string{"semicolon", "backslash", "encoded_slash", "empty_segment",
	"double_encoding", "control", "invalid_utf8", "h2c"}

// Rewrite changes the request sent to the route's service (never the
// request sent to the monolith).
type Rewrite struct {
	StripPrefix string `mapstructure:"strip_prefix" json:"strip_prefix"`
	AddPrefix   string `mapstructure:"add_prefix" json:"add_prefix"`
	// HostHeader overrides the service's host_header for this route.
	HostHeader string `mapstructure:"host_header" json:"host_header"`
}

// Shadow configures mirroring of the route's requests to the other side.
type Shadow struct {
	// Sample is the percent of eligible requests mirrored; nil means 100.
	Sample  *float64 `mapstructure:"sample" json:"sample"`
	Methods []string `mapstructure:"methods" json:"methods"`
	// MaxBody bounds the request body copied for the mirror; larger
	// requests are served normally and not mirrored.
	MaxBody ByteSize `mapstructure:"max_body" json:"max_body"`
	// Canary also mirrors canary requests to the side that did not serve.
	Canary bool `mapstructure:"canary" json:"canary"`
	// Migrated mirrors requests of a migrated route back to the monolith
	// (reverse shadow), so diffs keep flowing after the move.
	Migrated bool `mapstructure:"migrated" json:"migrated"`
	// Timeout bounds one mirrored request; 0 means shadowing.timeout.
	Timeout time.Duration `mapstructure:"timeout" json:"timeout"`
}

// Diff configures how shadow responses are compared.
type Diff struct {
	// Ignore lists what is left out of comparisons: JSON Pointers (with *
	// for any key or index; they also match XML element paths),
	// "header:NAME", "line:N" (text bodies) and CSS selectors (HTML, with
	// an optional @attr or ::text suffix).
	Ignore []string `mapstructure:"ignore" json:"ignore"`
	// Text compares HTML pages by their visible text only, ignoring
	// markup (for routes whose templates are rewritten on purpose).
	Text bool `mapstructure:"text" json:"text"`
	// Unordered lists JSON Pointers of arrays compared as multisets.
	Unordered []string `mapstructure:"unordered" json:"unordered"`
	// Tolerance lets numbers differ a little.
	Tolerance Tolerance `mapstructure:"tolerance" json:"tolerance"`
	// MaxBody bounds the response body captured on each side.
	MaxBody ByteSize `mapstructure:"max_body" json:"max_body"`
	// Noise learns noisy fields by asking the monolith twice.
	Noise Noise `mapstructure:"noise" json:"noise"`
	// Redact lists JSON Pointers, "header:NAME" entries and CSS selectors
	// (HTML) whose values are never stored or shown, on top of what is
	// recognised by default (docs/shadowing.md#redaction).
	Redact []string `mapstructure:"redact" json:"redact"`
}

// Tolerance: numbers a and b are equal when |a-b| <= Abs or
// |a-b| <= Rel * max(|a|,|b|).
type Tolerance struct {
	Abs float64 `mapstructure:"abs" json:"abs"`
	Rel float64 `mapstructure:"rel" json:"rel"`
}

// Noise configures noise cancellation.
type Noise struct {
	Enabled bool `mapstructure:"enabled" json:"enabled"`
	// Sample is the percent of mirrored GETs for which the monolith is
	// asked a second time, after the first Warmup ones (always asked).
	Sample float64 `mapstructure:"sample" json:"sample"`
	Warmup int     `mapstructure:"warmup" json:"warmup"`
}

// Automation is a route's gated automatic promotion and rollback.
type Automation struct {
	Enabled bool `mapstructure:"enabled" json:"enabled"`
	// Hold is how long every gate must hold before the next promotion.
	Hold time.Duration `mapstructure:"hold" json:"hold"`
	// Window is how far back figures are taken for gates and triggers.
	Window   time.Duration `mapstructure:"window" json:"window"`
	Gates    Gates         `mapstructure:"gates" json:"gates"`
	Rollback Triggers      `mapstructure:"rollback" json:"rollback"`
}

// Gates must all hold (for Hold) before a promotion. A zero threshold is
// not checked, except the minimums, which default to 100.
type Gates struct {
	MinCompared uint64        `mapstructure:"min_compared" json:"min_compared"`
	MinRequests uint64        `mapstructure:"min_requests" json:"min_requests"`
	MatchRate   float64       `mapstructure:"match_rate" json:"match_rate"`
	ErrorRate   *float64      `mapstructure:"error_rate" json:"error_rate"`
	P99Ratio    float64       `mapstructure:"p99_ratio" json:"p99_ratio"`
	P99Max      time.Duration `mapstructure:"p99_max" json:"p99_max"`
}

// Triggers roll the route back at once when one fires (with enough
// samples). A zero threshold is not checked.
type Triggers struct {
	MatchRate   float64       `mapstructure:"match_rate" json:"match_rate"`
	ErrorRate   float64       `mapstructure:"error_rate" json:"error_rate"`
	P99Ratio    float64       `mapstructure:"p99_ratio" json:"p99_ratio"`
	P99Max      time.Duration `mapstructure:"p99_max" json:"p99_max"`
	BreakerOpen *bool         `mapstructure:"breaker_open" json:"breaker_open"`
	// MinSamples is how many requests (or comparisons, for match_rate) a
	// trigger needs in the window before it may fire; default 20.
	MinSamples uint64 `mapstructure:"min_samples" json:"min_samples"`
}

// AutomationLoop paces the automation controller.
type AutomationLoop struct {
	// Interval is how often every automated route is evaluated.
	Interval time.Duration `mapstructure:"interval" json:"interval"`
}

// Shadowing sizes the shared mirroring machinery.
type Shadowing struct {
	Workers int `mapstructure:"workers" json:"workers"`
	Queue   int `mapstructure:"queue" json:"queue"`
	// Timeout bounds one mirrored request unless a route sets its own.
	Timeout time.Duration `mapstructure:"timeout" json:"timeout"`
	// TrustMarkerFrom lists CIDRs (or single IPs) whose inbound
	// X-Strangler-Shadow and X-Strangler-Shadow-Signature headers are
	// kept (another strangler in front). From anyone else they are
	// stripped at the edge. Independent of trusted_proxies; default none.
	TrustMarkerFrom []string `mapstructure:"trust_marker_from" json:"trust_marker_from"`
	// SecretEnv names the environment variable holding the key that signs
	// the marker on copies. Unset or empty variable: copies carry the
	// plain marker, unsigned (logged once at start).
	SecretEnv string `mapstructure:"secret_env" json:"secret_env"`
}

// Equal reports whether two Shadowing settings are the same (the struct
// holds a list, so == does not compile).
func (s Shadowing) Equal(o Shadowing) bool {
	return s.Workers == o.Workers && s.Queue == o.Queue && s.Timeout == o.Timeout &&
		s.SecretEnv == o.SecretEnv && slices.Equal(s.TrustMarkerFrom, o.TrustMarkerFrom)
}

// Reports bounds the stored diff results.
type Reports struct {
	MaxResults int      `mapstructure:"max_results" json:"max_results"`
	MaxBytes   ByteSize `mapstructure:"max_bytes" json:"max_bytes"`
	Queue      int      `mapstructure:"queue" json:"queue"`
	MaxExcerpt ByteSize `mapstructure:"max_excerpt" json:"max_excerpt"`
}

// Tracing configures OpenTelemetry tracing over OTLP. Fields left empty
// fall back to the standard OTEL_EXPORTER_OTLP_* variables (endpoint,
// protocol, headers, certificates, timeout), then to the SDK's defaults.
// Planner tunes the migration planner.
type Planner struct {
	// Weights rank the endpoint families to carve next
	// (docs/planning.md#what-to-carve-next).
	Weights PlannerWeights `mapstructure:"weights" json:"weights"`
}

// PlannerWeights weigh the terms of a family's score, each from 0 to 1.
// A key left out keeps its default; 0 turns its term off; all five at 0
// (or a Config built in code without them) mean the defaults.
type PlannerWeights struct {
	Traffic       float64 `mapstructure:"traffic" json:"traffic"`
	ReadOnly      float64 `mapstructure:"read_only" json:"read_only"`
	SelfContained float64 `mapstructure:"self_contained" json:"self_contained"`
	Errors        float64 `mapstructure:"errors" json:"errors"`
	Latency       float64 `mapstructure:"latency" json:"latency"`
}

// DefaultPlannerWeights rank read-only, high-traffic, self-contained
// families first, with the monolith's pain (errors, latency) as a
// tie-breaker.
var DefaultPlannerWeights = PlannerWeights{Traffic: 0.35, ReadOnly: 0.25, SelfContained: 0.2, Errors: 0.1, Latency: 0.1}

// Tracing exports OpenTelemetry spans of each request, its upstream
// attempts and its shadow copy over OTLP; off by default.
type Tracing struct {
	// Enabled turns tracing on; off, nothing is created per request.
	Enabled bool `mapstructure:"enabled" json:"enabled"`
	// Endpoint is the collector: a URL (http://collector:4318,
	// https://collector:4317) or host:port. Empty: the OTEL_EXPORTER_OTLP_*
	// variables, else localhost on the protocol's default port.
	Endpoint string `mapstructure:"endpoint" json:"endpoint"`
	// Protocol is grpc or http (OTLP/HTTP protobuf). Empty:
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL,
	// else http.
	Protocol string `mapstructure:"protocol" json:"protocol"`
	// SampleRatio is the share of new traces kept, 0 to 1 (default 1); an
	// inbound traceparent's sampled flag is followed (parent-based).
	SampleRatio *float64 `mapstructure:"sample_ratio" json:"sample_ratio,omitempty"`
	// ServiceName is the resource's service.name (default strangler;
	// OTEL_SERVICE_NAME wins).
	ServiceName string `mapstructure:"service_name" json:"service_name"`
	// HeadersEnv sends headers to the collector whose values are read from
	// environment variables: header name -> variable name.
	HeadersEnv map[string]string `mapstructure:"headers_env" json:"headers_env,omitempty"`
	// Insecure sends in plain text to a host:port endpoint (a URL's
	// scheme decides for itself).
	Insecure bool `mapstructure:"insecure" json:"insecure"`
	// TLS holds the CA that verifies the collector and an optional client
	// certificate (PEM files).
	TLS TLSFiles `mapstructure:"tls" json:"tls"`
	// Timeout bounds one export (0: OTEL_EXPORTER_OTLP_TIMEOUT, else 10s).
	Timeout time.Duration `mapstructure:"timeout" json:"timeout"`
	// QueueSize bounds the spans waiting for export; past it new spans are
	// dropped and counted, never waited for (default 2048).
	QueueSize int `mapstructure:"queue_size" json:"queue_size"`
	// BatchSize is the most spans sent in one export (default 512).
	BatchSize int `mapstructure:"batch_size" json:"batch_size"`
}

// TLSFiles names PEM files: a CA bundle and a client key pair.
type TLSFiles struct {
	CA   string `mapstructure:"ca" json:"ca"`
	Cert string `mapstructure:"cert" json:"cert"`
	Key  string `mapstructure:"key" json:"key"`
}

// Tracing protocols.
const (
	TracingGRPC = "grpc"
	TracingHTTP = "http"
)

// Defaults for fields left empty in the file.
const (
	DefaultTracingService = "strangler"
	DefaultTracingQueue   = 2048
	DefaultTracingBatch   = 512
	DefaultTracingSample  = 1.0

	DefaultListen            = ":8080"
	DefaultAdminListen       = "127.0.0.1:9901"
	DefaultTokenEnv          = "STRANGLER_ADMIN_TOKEN"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxBodyBytes      = 10 << 20
	DefaultBodyReadTimeout   = 60 * time.Second
	DefaultBodyMinRate       = 500
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultGCPercent         = 400
	DefaultUpstreamTimeout   = 30 * time.Second
	DefaultDialTimeout       = 5 * time.Second
	DefaultMaxIdleConns      = 256
	DefaultMaxInFlight       = 1024
	DefaultShadowMaxBody     = 1 << 20
	DefaultDiffMaxBody       = 1 << 20
	DefaultShadowWorkers     = 8
	DefaultShadowQueue       = 1024
	DefaultShadowTimeout     = 5 * time.Second
	DefaultShadowSecretEnv   = "STRANGLER_SHADOW_SECRET"
	DefaultNoiseSample       = 10
	DefaultNoiseWarmup       = 20
	DefaultMaxResults        = reportlimits.MaxResults // shared with report, which imports no config
	DefaultMaxReportBytes    = reportlimits.MaxBytes
	DefaultReportQueue       = reportlimits.QueueSize
	DefaultMaxExcerpt        = reportlimits.MaxExcerpt
	DefaultAutomationEvery   = 10 * time.Second
	DefaultHold              = 5 * time.Minute
	DefaultWindow            = 5 * time.Minute
	DefaultGateMinimum       = 100
	DefaultTriggerMinimum    = 20
	DefaultBreakerFailures   = 5
	DefaultBreakerRatio      = 0.5
	DefaultBreakerMinimum    = 20
	DefaultBreakerWindow     = 10 * time.Second
	DefaultBreakerOpenFor    = 10 * time.Second
	DefaultBreakerProbes     = 1
	DefaultSticky            = "ip"
)

// DefaultStateFile is the state file's name beside the config file.
const DefaultStateFile = "strangler-state.json"

// DefaultPlan is the promotion plan of a route that names none.
var DefaultPlan = []string{"shadow", "canary 5", "canary 25", "canary 50", "migrated"}

// DefaultShadowMethods are mirrored when a route names none.
var DefaultShadowMethods = []string{"GET", "HEAD"}

// State backends (state.backend).
const (
	// BackendFile keeps the state in state_file (default).
	BackendFile = "file"
	// BackendEtcd keeps the state in etcd v3, shared by every replica.
	BackendEtcd = "etcd"
)

// Defaults of the state and replica keys.
const (
	DefaultStatePrefix      = "/strangler/default"
	DefaultEtcdDialTimeout  = 5 * time.Second
	DefaultEtcdPasswordEnv  = "STRANGLER_ETCD_PASSWORD"
	DefaultEtcdEndpoint     = "http://127.0.0.1:2379"
	EnvStateEtcdEndpoints   = EnvPrefix + "_STATE_ETCD_ENDPOINTS"
	maxStatePrefixLength    = 256
	maxReplicaNameLength    = 128
	replicaNameFallbackName = "strangler"
)

// State is the state backend (state.*).
type State struct {
	// Backend is file (default) or etcd.
	Backend string `mapstructure:"backend" json:"backend"`
	// Etcd configures the etcd backend.
	Etcd Etcd `mapstructure:"etcd" json:"etcd"`
}

// Etcd is how to reach etcd (state.etcd.*).
type Etcd struct {
	// Endpoints are etcd client URLs (http:// or https://).
	Endpoints []string `mapstructure:"endpoints" json:"endpoints"`
	// Prefix is the key prefix every key lives under: two clusters with
	// different prefixes never collide.
	Prefix string `mapstructure:"prefix" json:"prefix"`
	// DialTimeout bounds connecting to etcd.
	DialTimeout time.Duration `mapstructure:"dial_timeout" json:"dial_timeout"`
	// Username authenticates to etcd; empty means no authentication.
	Username string `mapstructure:"username" json:"username"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `mapstructure:"password_env" json:"password_env"`
	// TLS holds client certificate files for https endpoints.
	TLS EtcdTLS `mapstructure:"tls" json:"tls"`
}

// EtcdTLS names PEM files for TLS to etcd (state.etcd.tls.*).
type EtcdTLS struct {
	CA   string `mapstructure:"ca" json:"ca"`
	Cert string `mapstructure:"cert" json:"cert"`
	Key  string `mapstructure:"key" json:"key"`
}

// Replica names this process among its peers (replica.*).
type Replica struct {
	// Name is unique per replica; default: the host name.
	Name string `mapstructure:"name" json:"name"`
	// Advertise is the admin URL peers use to reach this replica.
	Advertise string `mapstructure:"advertise" json:"advertise"`
}

// ReplicaName is r.Name, or else the host name, or else "strangler".
func (r Replica) ReplicaName() string {
	if r.Name != "" {
		return r.Name
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return replicaNameFallbackName
}

// Ratio returns the sample ratio (DefaultTracingSample when unset).
func (t Tracing) Ratio() float64 {
	if t.SampleRatio == nil {
		return DefaultTracingSample
	}
	return *t.SampleRatio
}
