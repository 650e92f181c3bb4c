package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"
	"golang.org/x/net/html/atom"

	"github.com/stranglerfig/strangler/diff"
	"github.com/stranglerfig/strangler/stage"
)

// FieldError is one problem in a config file: which file, which field
// (as a path such as routes[2].match.path), why, and the line the field
// is on when the file sets it.
type FieldError struct {
	File   string
	Field  string
	Reason string
	// Line is the 1-based line of the field (or of its closest enclosing
	// key the file has) in File; 0 when unknown.
	Line int
}

// Error formats the problem as "file:line: field: reason", or "file:
// field: reason" without a line.
func (e *FieldError) Error() string {
	switch {
	case e.File == "":
		return e.Field + ": " + e.Reason
	case e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Field + ": " + e.Reason
	}
	return e.File + ": " + e.Field + ": " + e.Reason
}

// Problems returns each FieldError inside err (as returned by Load or
// Parse), or err itself when it holds none.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ProblemStrings is Problems as messages, for JSON answers and logs.
func ProblemStrings(err error) []string {
	var out []string
	for _, p := range Problems(err) {
		out = append(out, p.Error())
	}
	return out
}

var (
	nameRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	svcNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	tokenRe   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	envRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// bareWordRe is an entry that, as a CSS selector, names one element
	// type; one that no HTML element has is a JSON field written
	// without its leading "/".
	bareWordRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	pointerRe  = regexp.MustCompile(`^(/([^/~]|~[01])*)+$`)
)

// validator collects problems for one file.
type validator struct {
	file string
	errs []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{File: v.file, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Validate checks c and reports every problem, each a *FieldError naming
// the field; it changes nothing in c (not even case), so a config handed
// out may be validated without a copy. Parse has already validated what it
// returns; a Config built in code runs SetDefaults first.
func (c *Config) Validate() error {
	return c.validate("")
}

func (c *Config) validate(file string) error {
	v := &validator{file: file}
	v.addr("listen", c.Listen)
	v.addr("admin.listen", c.Admin.Listen)
	if !envRe.MatchString(c.Admin.TokenEnv) {
		v.add("admin.token_env", "%q is not a valid environment variable name", c.Admin.TokenEnv)
	}
	c.validateServer(v)
	c.validateLog(v)
	c.validateShadowing(v)
	c.validateState(v)
	c.validateTracing(v)
	c.validatePlanner(v)
	for i, p := range c.TrustedProxies {
		if _, err := ParseCIDR(p); err != nil {
			v.add(fmt.Sprintf("trusted_proxies[%d]", i), "%v", err)
		}
	}
	v.upstream("legacy", c.Legacy)
	for name, s := range c.Services {
		field := "services." + name
		if !svcNameRe.MatchString(name) {
			v.add(field, "service name must be lower case letters, digits, '-' or '_' (at most 64)")
		}
		v.upstream(field, s.Upstream)
		v.breaker(field+".breaker", s.Breaker)
	}
	seen := map[string]int{}
	for i := range c.Routes {
		c.validateRoute(v, i, seen)
	}
	return errors.Join(v.errs...)
}

func (c *Config) validateServer(v *validator) {
	s := c.Server
	if s.ReadHeaderTimeout <= 0 {
		v.add("server.read_header_timeout", "must be positive, got %s", s.ReadHeaderTimeout)
	}
	if s.IdleTimeout <= 0 {
		v.add("server.idle_timeout", "must be positive, got %s", s.IdleTimeout)
	}
	if s.MaxHeaderBytes < 4096 || s.MaxHeaderBytes > 64<<20 {
		v.add("server.max_header_bytes", "must be between 4KiB and 64MiB, got %d", s.MaxHeaderBytes)
	}
	if s.GCPercent < 25 || s.GCPercent > 10000 {
		v.add("server.gc_percent", "must be between 25 and 10000, got %d", s.GCPercent)
	}
	if s.MemoryLimit < 0 {
		v.add("server.memory_limit", "must not be negative")
	}
	if s.DrainDelay < 0 {
		v.add("server.drain_delay", "must not be negative, got %s", s.DrainDelay)
	}
	if s.ShutdownTimeout <= 0 {
		v.add("server.shutdown_timeout", "must be positive, got %s", s.ShutdownTimeout)
	}
	if s.MaxBodyBytes < 1 {
		v.add("server.max_body_bytes", "must be positive, got %d", s.MaxBodyBytes)
	}
	if s.BodyReadTimeout <= 0 {
		v.add("server.body_read_timeout", "must be positive, got %s", s.BodyReadTimeout)
	}
	if s.BodyMinRate < 0 {
		v.add("server.body_min_rate", "must not be negative (0: no minimum), got %d", s.BodyMinRate)
	}
}

func (c *Config) validateShadowing(v *validator) {
	sh, rp := c.Shadowing, c.Reports
	if sh.Workers < 1 || sh.Workers > 1024 {
		v.add("shadowing.workers", "must be between 1 and 1024, got %d", sh.Workers)
	}
	if sh.Queue < 1 || sh.Queue > 1<<20 {
		v.add("shadowing.queue", "must be between 1 and 1048576, got %d", sh.Queue)
	}
	if sh.Timeout <= 0 {
		v.add("shadowing.timeout", "must be positive, got %s", sh.Timeout)
	}
	for i, p := range sh.TrustMarkerFrom {
		if _, err := ParseCIDR(p); err != nil {
			v.add(fmt.Sprintf("shadowing.trust_marker_from[%d]", i), "%v", err)
		}
	}
	if !envRe.MatchString(sh.SecretEnv) {
		v.add("shadowing.secret_env", "%q is not a valid environment variable name", sh.SecretEnv)
	}
	if c.Automation.Interval <= 0 {
		v.add("automation.interval", "must be positive, got %s", c.Automation.Interval)
	}
	if rp.MaxResults < 1 {
		v.add("reports.max_results", "must be at least 1, got %d", rp.MaxResults)
	}
	if rp.MaxBytes < 1<<10 {
		v.add("reports.max_bytes", "must be at least 1KiB, got %d", rp.MaxBytes)
	}
	if rp.Queue < 1 || rp.Queue > 1<<20 {
		v.add("reports.queue", "must be between 1 and 1048576, got %d", rp.Queue)
	}
	if rp.MaxExcerpt < 64 {
		v.add("reports.max_excerpt", "must be at least 64 bytes, got %d", rp.MaxExcerpt)
	}
}

func (c *Config) validateLog(v *validator) {
	if _, err := zerolog.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		v.add("log.level", "unknown level %q: want trace, debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		v.add("log.format", "unknown format %q: want json or console", c.Log.Format)
	}
	if c.Log.Buffer < 0 || c.Log.Buffer > 16<<20 {
		v.add("log.buffer", "must be between 0 (off) and 16MiB, got %d", c.Log.Buffer)
	}
	if c.Log.Buffer > 0 && c.Log.FlushInterval <= 0 {
		v.add("log.flush_interval", "must be positive when log.buffer is set, got %s", c.Log.FlushInterval)
	}
}

func (v *validator) addr(field, addr string) {
	if addr == "" {
		v.add(field, "required")
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		v.add(field, "%q is not host:port", addr)
		return
	}
	// 0 asks the kernel for any free port (tests, and the demo); anything
	// else must be a real port: net.Listen would refuse 99999 only at start.
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(field, "port %q in %q must be a number from 1 to 65535 (or 0 for any free port)", port, addr)
	}
}

func (v *validator) upstream(field string, u Upstream) {
	if u.URL == "" {
		v.add(field+".url", "required")
	} else if err := checkURL(u.URL); err != nil {
		v.add(field+".url", "%v", err)
	}
	if u.Timeout <= 0 {
		v.add(field+".timeout", "must be positive, got %s", u.Timeout)
	}
	if u.DialTimeout <= 0 {
		v.add(field+".dial_timeout", "must be positive, got %s", u.DialTimeout)
	}
	if u.MaxIdleConns < 1 {
		v.add(field+".max_idle_conns", "must be at least 1, got %d", u.MaxIdleConns)
	}
	v.hostHeader(field+".host_header", u.HostHeader)
	if u.Client != ClientLean && u.Client != ClientStandard {
		v.add(field+".client", "unknown value %q: want lean or standard", u.Client)
	}
	if u.MaxInFlight < 1 {
		v.add(field+".max_in_flight", "must be at least 1, got %d (there is no unbounded setting)", u.MaxInFlight)
	}
}

func (v *validator) hostHeader(field, h string) {
	if h != "" && h != HostUpstream && h != HostClient {
		v.add(field, "unknown value %q: want upstream or client", h)
	}
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", raw, unwrapAll(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("invalid URL %q: must not have a query or fragment", raw)
	}
	return nil
}

// ParseCIDR accepts a CIDR ("10.0.0.0/8") or a single IP address.
func ParseCIDR(s string) (*net.IPNet, error) {
	if !strings.Contains(s, "/") {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", s)
		}
		bits := 128
		if ip4 := ip.To4(); ip4 != nil {
			ip, bits = ip4, 32
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", s)
	}
	return n, nil
}

func (c *Config) validateRoute(v *validator, i int, seen map[string]int) {
	r := &c.Routes[i]
	f := fmt.Sprintf("routes[%d]", i)
	switch {
	case r.Name == "":
		v.add(f+".name", "required")
	case !nameRe.MatchString(r.Name):
		v.add(f+".name", "%q must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", r.Name)
	default:
		if j, dup := seen[r.Name]; dup {
			v.add(f+".name", "duplicate route name %q (also routes[%d])", r.Name, j)
		}
		seen[r.Name] = i
	}
	validateMatch(v, f+".match", r.Match)
	c.validateStage(v, f, r)
	validateSticky(v, f+".sticky", r.Sticky)
	validateRewrite(v, f+".rewrite", r.Rewrite)
	c.validateShadow(v, f+".shadow", r)
	validateDiff(v, f+".diff", r.Diff)
	validatePlan(v, f+".plan", r.Plan)
	c.validateGuard(v, f, r)
	if r.MaxBodyBytes < 0 {
		v.add(f+".max_body_bytes", "must not be negative (0: server.max_body_bytes), got %d", r.MaxBodyBytes)
	}
}

func validateMatch(v *validator, f string, m Match) {
	switch {
	case m.Path == "" && m.Prefix == "":
		v.add(f, "one of path or prefix is required")
	case m.Path != "" && m.Prefix != "":
		v.add(f, "path and prefix are exclusive: set one")
	case m.Path != "":
		checkTemplate(v, f+".path", m.Path, func(r *mux.Route) *mux.Route { return r.Path(m.Path) })
	default:
		checkTemplate(v, f+".prefix", m.Prefix, func(r *mux.Route) *mux.Route { return r.PathPrefix(m.Prefix) })
	}
	if m.Host != "" {
		if err := mux.NewRouter().NewRoute().Host(m.Host).GetError(); err != nil {
			v.add(f+".host", "bad host template %q: %v", m.Host, err)
		}
	}
	for j, meth := range m.Methods {
		if !tokenRe.MatchString(meth) {
			v.add(fmt.Sprintf("%s.methods[%d]", f, j), "%q is not an HTTP method", meth)
		}
	}
	for name := range m.Headers {
		if !tokenRe.MatchString(name) {
			v.add(f+".headers", "%q is not a valid header name", name)
		}
	}
	for j, a := range m.Allow {
		if !slices.Contains(MatchAllowances, a) {
			v.add(fmt.Sprintf("%s.allow[%d]", f, j), "unknown value %q: want one of %s", a, strings.Join(MatchAllowances, ", "))
		}
	}
}

func checkTemplate(v *validator, f, tpl string, build func(*mux.Route) *mux.Route) {
	if !strings.HasPrefix(tpl, "/") {
		v.add(f, "%q must start with /", tpl)
		return
	}
	if err := build(mux.NewRouter().NewRoute()).GetError(); err != nil {
		v.add(f, "bad template %q: %v", tpl, err)
	}
}

func (c *Config) validateStage(v *validator, f string, r *Route) {
	switch r.Stage {
	case stage.Legacy.String(), stage.Shadow.String(), stage.Canary.String(), stage.Migrated.String():
	default:
		v.add(f+".stage", "unknown stage %q: want legacy, shadow, canary or migrated", r.Stage)
	}
	if r.Percent < 0 || r.Percent > 100 || r.Percent != r.Percent {
		v.add(f+".percent", "must be between 0 and 100, got %v", r.Percent)
	}
	if r.Service == "" {
		if r.Stage != stage.Legacy.String() && r.Stage != "" {
			v.add(f+".service", "required for stage %q", r.Stage)
		}
		return
	}
	if _, ok := c.Services[r.Service]; !ok {
		v.add(f+".service", "unknown service %q (not under services:)", r.Service)
	}
}

func validateSticky(v *validator, f, s string) {
	if s == "ip" {
		return
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok || (kind != "header" && kind != "cookie") || !tokenRe.MatchString(name) {
		v.add(f, "malformed %q: want header:NAME, cookie:NAME or ip", s)
	}
}

func validateRewrite(v *validator, f string, rw Rewrite) {
	for _, p := range []struct{ field, val string }{{"strip_prefix", rw.StripPrefix}, {"add_prefix", rw.AddPrefix}} {
		if p.val == "" {
			continue
		}
		if !strings.HasPrefix(p.val, "/") || strings.ContainsAny(p.val, "?#") {
			v.add(f+"."+p.field, "%q must be a path starting with / and without ? or #", p.val)
		}
		if strings.ContainsFunc(p.val, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			v.add(f+"."+p.field, "%q must not contain control characters", p.val)
		}
	}
	v.hostHeader(f+".host_header", rw.HostHeader)
}

// writeMethods may only be shadowed to a sandbox service.
var safeMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true}

func (c *Config) validateShadow(v *validator, f string, r *Route) {
	s := r.Shadow
	if s.Sample != nil && (*s.Sample < 0 || *s.Sample > 100 || *s.Sample != *s.Sample) {
		v.add(f+".sample", "must be between 0 and 100, got %v", *s.Sample)
	}
	if s.MaxBody < 0 {
		v.add(f+".max_body", "must not be negative")
	}
	if s.Timeout < 0 {
		v.add(f+".timeout", "must not be negative, got %s", s.Timeout)
	}
	svc, known := c.Services[r.Service]
	for j, m := range s.Methods {
		up := strings.ToUpper(m)
		switch {
		case !tokenRe.MatchString(m):
			v.add(fmt.Sprintf("%s.methods[%d]", f, j), "%q is not an HTTP method", m)
		case up == "CONNECT":
			v.add(fmt.Sprintf("%s.methods[%d]", f, j), "CONNECT is never shadowed")
		case !safeMethods[up] && known && !svc.Sandbox:
			v.add(fmt.Sprintf("%s.methods[%d]", f, j),
				"shadowing %s writes to service %q, which is not marked sandbox: true", up, r.Service)
		case !safeMethods[up] && (s.Canary || s.Migrated):
			v.add(fmt.Sprintf("%s.methods[%d]", f, j),
				"%s would be mirrored to the monolith (shadow.canary or shadow.migrated): writes never are", up)
		}
	}
}

func validateDiff(v *validator, f string, d Diff) {
	diffEntries(v, f+".ignore", d.Ignore)
	diffEntries(v, f+".redact", d.Redact)
	for j, p := range d.Unordered {
		if !pointerRe.MatchString(p) {
			v.add(fmt.Sprintf("%s.unordered[%d]", f, j), "%q is not a JSON Pointer (/a/*/b)", p)
		}
	}
	if d.Tolerance.Abs < 0 || d.Tolerance.Rel < 0 || d.Tolerance.Rel != d.Tolerance.Rel || d.Tolerance.Abs != d.Tolerance.Abs {
		v.add(f+".tolerance", "abs and rel must not be negative")
	}
	if d.MaxBody < 0 || d.MaxBody > 64<<20 {
		v.add(f+".max_body", "must be between 0 and 64MiB, got %d", d.MaxBody)
	}
	if n := d.Noise; n.Sample < 0 || n.Sample > 100 || n.Sample != n.Sample {
		v.add(f+".noise.sample", "must be between 0 and 100, got %v", n.Sample)
	}
	if d.Noise.Warmup < 0 {
		v.add(f+".noise.warmup", "must not be negative, got %d", d.Noise.Warmup)
	}
}

// DiffEntries is a validated diff.ignore or diff.redact list sorted by
// the kind of place each entry names.
type DiffEntries struct {
	Headers   []string // header names, from header:NAME entries
	Pointers  []string // JSON Pointers, also matched against XML element paths
	Lines     []int    // 1-based text line numbers, from line:N entries
	Selectors []string // CSS selectors (with @attr or ::text) for HTML bodies
}

// ClassifyEntries sorts a validated diff.ignore or diff.redact list by
// kind: header:NAME, line:N, a JSON Pointer (starts with "/"), else a CSS
// selector.
func ClassifyEntries(entries []string) DiffEntries {
	var out DiffEntries
	for _, e := range entries {
		if name, ok := strings.CutPrefix(e, "header:"); ok {
			out.Headers = append(out.Headers, name)
		} else if n, ok := lineEntry(e); ok {
			out.Lines = append(out.Lines, n)
		} else if strings.HasPrefix(e, "/") {
			out.Pointers = append(out.Pointers, e)
		} else {
			out.Selectors = append(out.Selectors, e)
		}
	}
	return out
}

// lineEntry parses a line:N entry.
func lineEntry(e string) (int, bool) {
	s, ok := strings.CutPrefix(e, "line:")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// diffEntries checks diff.ignore / diff.redact entries: header:NAME, a
// JSON Pointer or XML path, line:N, or a CSS selector.
func diffEntries(v *validator, f string, entries []string) {
	for j, e := range entries {
		field := fmt.Sprintf("%s[%d]", f, j)
		switch {
		case strings.HasPrefix(e, "header:"):
			if name := strings.TrimPrefix(e, "header:"); !tokenRe.MatchString(name) {
				v.add(field, "%q is not a valid header name", name)
			}
		case strings.HasPrefix(e, "line:"):
			if n, ok := lineEntry(e); !ok || n < 1 {
				v.add(field, "%q: want line:N with N a line number from 1", e)
			}
		case strings.HasPrefix(e, "/"):
			if !pointerRe.MatchString(e) {
				v.add(field, "%q is not a JSON Pointer (/a/*/b) or XML path (/order/item/@qty)", e)
			}
		case bareWordRe.MatchString(e) && atom.Lookup([]byte(strings.ToLower(e))) == 0 && !strings.Contains(e, "-"):
			v.add(field, "%q is neither a JSON Pointer (did you mean /%s?), header:NAME, line:N nor a CSS selector of an HTML element", e, e)
		default:
			if err := diff.CheckSelector(e); err != nil {
				v.add(field, "%q is neither a JSON Pointer (/a/*/b), header:NAME, line:N nor a CSS selector: %v", e, err)
			}
		}
	}
}

// validatePlanner checks planner.weights: each from 0 to 1.
func (c *Config) validatePlanner(v *validator) {
	w := c.Planner.Weights
	for _, t := range []struct {
		key string
		val float64
	}{{"traffic", w.Traffic}, {"read_only", w.ReadOnly}, {"self_contained", w.SelfContained},
		{"errors", w.Errors}, {"latency", w.Latency}} {
		if !(t.val >= 0 && t.val <= 1) {
			v.add("planner.weights."+t.key, "must be between 0 and 1, got %v", t.val)
		}
	}
}

// validateState checks state.* and replica.* (the etcd backend).
func (c *Config) validateState(v *validator) {
	s := c.State
	switch s.Backend {
	case BackendFile, BackendEtcd:
	default:
		v.add("state.backend", "unknown backend %q: want file or etcd", s.Backend)
	}
	e := s.Etcd
	for i, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(fmt.Sprintf("state.etcd.endpoints[%d]", i), "%q is not an http:// or https:// URL with a host", ep)
		}
	}
	if !strings.HasPrefix(e.Prefix, "/") || strings.HasSuffix(e.Prefix, "/") || len(e.Prefix) > maxStatePrefixLength {
		v.add("state.etcd.prefix", "%q must start with '/', not end with '/' and be at most %d bytes", e.Prefix, maxStatePrefixLength)
	}
	if e.DialTimeout <= 0 {
		v.add("state.etcd.dial_timeout", "must be positive, got %s", e.DialTimeout)
	}
	if !envRe.MatchString(e.PasswordEnv) {
		v.add("state.etcd.password_env", "%q is not a valid environment variable name", e.PasswordEnv)
	}
	if (e.TLS.Cert == "") != (e.TLS.Key == "") {
		v.add("state.etcd.tls", "cert and key go together: give both or neither")
	}
	if n := c.Replica.Name; len(n) > maxReplicaNameLength || strings.ContainsAny(n, "/ \t\n") {
		v.add("replica.name", "%q must be at most %d bytes without '/' or spaces", n, maxReplicaNameLength)
	}
	if a := c.Replica.Advertise; a != "" {
		if err := checkURL(a); err != nil {
			v.add("replica.advertise", "%v", err)
		}
	}
}
