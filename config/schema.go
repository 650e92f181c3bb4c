package config

import (
	"embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/stranglerfig/strangler/stage"
)

// SchemaID is the $id of the route file's JSON Schema.
const SchemaID = "https://github.com/stranglerfig/strangler/config.schema.json"

// Patterns of the schema's string values. They are ECMA-262 and RE2
// compatible (no inline flags), so editors and Go validators agree.
const (
	// durationPattern is what time.ParseDuration accepts, with a unit.
	durationPattern = `^\s*[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)\s*$`
	// byteSizePattern is what ParseByteSize accepts: 512, 64KiB, 1 MB.
	byteSizePattern = `^\s*\+?[0-9]+\s*([bB]|[kKmMgG]([iI]?[bB])?)?\s*$`
	tokenPattern    = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
	envPattern      = `^[A-Za-z_][A-Za-z0-9_]*$`
	httpURLPattern  = `^https?://`
)

// sources are the config package's Go files: their doc comments become
// the schema's descriptions, so that editors show them on hover.
//
//go:embed *.go
var sources embed.FS

var (
	schemaOnce sync.Once
	schemaJSON []byte
	schemaErr  error
)

// SchemaJSON returns the JSON Schema (draft 2020-12) of the route file,
// generated from the Config types: keys are the YAML keys, unknown keys
// are refused, durations are strings such as "5s", sizes are integers or
// strings such as "1MiB", and enumerations and ranges are those the
// loader checks. The output is indented and ends with a newline.
func SchemaJSON() ([]byte, error) {
	schemaOnce.Do(func() {
		s, err := Schema()
		if err != nil {
			schemaErr = err
			return
		}
		out, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			schemaErr = fmt.Errorf("encoding the config schema: %w", err)
			return
		}
		schemaJSON = append(out, '\n')
	})
	return schemaJSON, schemaErr
}

// Schema reflects the Config types into a JSON Schema.
func Schema() (*jsonschema.Schema, error) {
	comments, err := goComments(sources)
	if err != nil {
		return nil, err
	}
	r := &jsonschema.Reflector{
		FieldNameTag:               "json",
		RequiredFromJSONSchemaTags: true, // every key has a default
		ExpandedStruct:             true,
		Mapper:                     mapType,
		LookupComment: func(t reflect.Type, field string) string {
			if t.PkgPath() != reflect.TypeFor[Config]().PkgPath() {
				return ""
			}
			return comments[t.Name()+"."+field]
		},
	}
	s := r.Reflect(&Config{})
	s.ID = SchemaID
	for name, def := range sharedDefs() {
		s.Definitions[name] = def
	}
	s.Title = "strangler route file"
	if err := constrain(s); err != nil {
		return nil, err
	}
	return s, nil
}

// mapType makes durations and sizes references to the Duration and
// ByteSize definitions (see sharedDefs), and unsigned integers
// non-negative.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return &jsonschema.Schema{Ref: "#/$defs/Duration"}
	case reflect.TypeFor[ByteSize]():
		return &jsonschema.Schema{Ref: "#/$defs/ByteSize"}
	}
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &jsonschema.Schema{Type: "integer", Minimum: "0"}
	}
	return nil
}

// sharedDefs are the YAML forms of the types the loader decodes with
// hooks (durationHook, byteSizeHook).
func sharedDefs() jsonschema.Definitions {
	return jsonschema.Definitions{
		"Duration": {
			Description: "A duration with a unit, as Go's time.ParseDuration reads it (ns, us, ms, s, m, h); 0 alone needs none.",
			AnyOf: []*jsonschema.Schema{
				{Type: "string", Pattern: durationPattern},
				{Type: "integer", Enum: []any{0}},
			},
			Examples: []any{"500ms", "30s", "2m"},
		},
		"ByteSize": {
			Description: "A size in bytes: a whole number, or a number with a unit B, KB, KiB, MB, MiB, GB, GiB (case-insensitive).",
			AnyOf: []*jsonschema.Schema{
				{Type: "integer", Minimum: "0"},
				{Type: "string", Pattern: byteSizePattern},
			},
			Examples: []any{"64KiB", "1MiB", 4096},
		},
	}
}

// goComments maps "Type.Field" (and "Type") to the doc comment, or else
// the line comment, of the config types in the Go files of fsys.
func goComments(fsys fs.FS) (map[string]string, error) {
	names, err := fs.Glob(fsys, "*.go")
	if err != nil {
		return nil, fmt.Errorf("listing the config sources: %w", err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("reading config source %s: %w", name, err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parsing config source %s: %w", name, err)
		}
		addComments(f, out)
	}
	return out, nil
}

// addComments adds the comments of f's struct types to out.
func addComments(f *ast.File, out map[string]string) {
	ast.Inspect(f, func(n ast.Node) bool {
		gd, ok := n.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			return true
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			doc := ts.Doc
			if doc == nil && len(gd.Specs) == 1 {
				doc = gd.Doc
			}
			out[ts.Name.Name] = clean(doc.Text())
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, fld := range st.Fields.List {
				text := fld.Doc.Text()
				if text == "" {
					text = fld.Comment.Text()
				}
				for _, id := range fld.Names {
					out[ts.Name.Name+"."+id.Name] = clean(text)
				}
			}
		}
		return false
	})
}

// clean joins a comment's lines into one paragraph.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// rule narrows one property of one schema definition ("Type.key"; the
// root is "Config") to what the loader accepts.
type rule struct {
	at    string
	apply func(*jsonschema.Schema)
}

func enum(values ...string) func(*jsonschema.Schema) {
	return func(s *jsonschema.Schema) {
		for _, v := range values {
			s.Enum = append(s.Enum, v)
		}
	}
}

func between(lo, hi json.Number) func(*jsonschema.Schema) {
	return func(s *jsonschema.Schema) { s.Minimum, s.Maximum = lo, hi }
}

func atLeast(lo json.Number) func(*jsonschema.Schema) {
	return func(s *jsonschema.Schema) { s.Minimum = lo }
}

func pattern(p string) func(*jsonschema.Schema) {
	return func(s *jsonschema.Schema) { s.Pattern = p }
}

// items applies f to the schema of a list's items.
func items(f func(*jsonschema.Schema)) func(*jsonschema.Schema) {
	return func(s *jsonschema.Schema) { f(s.Items) }
}

// keys constrains an object's property names (a map's keys).
func keys(p string) func(*jsonschema.Schema) {
	return func(s *jsonschema.Schema) { s.PropertyNames = &jsonschema.Schema{Pattern: p} }
}

// upstreamRules apply to the monolith (Upstream) and to every service
// (Service, which embeds Upstream).
func upstreamRules() []rule {
	var out []rule
	for _, t := range []string{"Upstream", "Service"} {
		out = append(out,
			rule{t + ".url", pattern(httpURLPattern)},
			rule{t + ".host_header", enum(HostUpstream, HostClient)},
			rule{t + ".client", enum(ClientLean, ClientStandard)},
			rule{t + ".max_idle_conns", atLeast("0")},
			rule{t + ".max_in_flight", atLeast("0")},
		)
	}
	return out
}

// rules are the enumerations, ranges and patterns config.validate checks
// that the Go types do not say. Zero means "the default" for most
// numbers, so lower bounds admit it.
func rules() []rule {
	out := []rule{
		{"Config.services", keys(svcNameRe.String())},
		{"Server.gc_percent", between("0", "10000")},
		{"Admin.token_env", pattern(envPattern)},
		{"Log.level", enum("trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled")},
		{"Log.format", enum("json", "console")},
		{"Route.name", pattern(nameRe.String())},
		{"Route.service", pattern(svcNameRe.String())},
		{"Route.stage", enum(stage.Names()...)},
		{"Route.percent", between("0", "100")},
		{"Route.sticky", pattern(`^(ip|(header|cookie):[!#$%&'*+.^_` + "`" + `|~0-9A-Za-z-]+)$`)},
		{"Route.fallback_statuses", items(between("400", "599"))},
		{"Route.plan", items(pattern(`^\s*(shadow|migrated|canary\s+\S+)\s*$`))},
		{"Match.path", pattern("^/")},
		{"Match.prefix", pattern("^/")},
		{"Match.methods", items(pattern(tokenPattern))},
		{"Match.headers", keys(tokenPattern)},
		{"Match.allow", items(enum(MatchAllowances...))},
		{"Rewrite.strip_prefix", pattern(`^(/[^?#]*)?$`)},
		{"Rewrite.add_prefix", pattern(`^(/[^?#]*)?$`)},
		{"Rewrite.host_header", enum("", HostUpstream, HostClient)},
		{"Shadow.sample", between("0", "100")},
		{"Shadow.methods", items(pattern(tokenPattern))},
		{"Tolerance.abs", atLeast("0")},
		{"Tolerance.rel", atLeast("0")},
		{"Noise.sample", between("0", "100")},
		{"Noise.warmup", atLeast("0")},
		{"Gates.match_rate", between("0", "1")},
		{"Gates.error_rate", between("0", "1")},
		{"Gates.p99_ratio", atLeast("0")},
		{"Triggers.match_rate", between("0", "1")},
		{"Triggers.error_rate", between("0", "1")},
		{"Triggers.p99_ratio", atLeast("0")},
		{"Breaker.failure_ratio", between("0", "1")},
		{"Shadowing.workers", between("0", "1024")},
		{"Shadowing.queue", between("0", "1048576")},
		{"Shadowing.secret_env", pattern(envPattern)},
		{"Reports.queue", between("0", "1048576")},
		{"State.backend", enum(BackendFile, BackendEtcd)},
		{"Etcd.endpoints", items(pattern(httpURLPattern))},
		{"Etcd.password_env", pattern(envPattern)},
		{"Tracing.protocol", enum("", TracingGRPC, TracingHTTP)},
		{"Tracing.sample_ratio", between("0", "1")},
		{"PlannerWeights.traffic", between("0", "1")},
		{"PlannerWeights.read_only", between("0", "1")},
		{"PlannerWeights.self_contained", between("0", "1")},
		{"PlannerWeights.errors", between("0", "1")},
		{"PlannerWeights.latency", between("0", "1")},
		{"Tracing.headers_env", keys(tokenPattern)},
		{"Tracing.queue_size", between("0", "1048576")},
		{"Tracing.batch_size", between("0", "1048576")},
	}
	return append(out, upstreamRules()...)
}

// describe sets a key's description unless its Go comment gave one.
func describe(text string) func(*jsonschema.Schema) {
	return func(s *jsonschema.Schema) {
		if s.Description == "" {
			s.Description = text
		}
	}
}

// descriptions document the keys whose fields have no Go comment (from
// docs/config.md), for the editor's hover.
func descriptions() []rule {
	d := map[string]string{
		"Admin.listen":                 "Admin listener, host:port (default 127.0.0.1:9901): /metrics, /healthz, /readyz and the admin API.",
		"Automation.enabled":           "Promote and roll back this route by itself (default false).",
		"Automation.gates":             "Conditions that must all hold for automation.hold before a promotion.",
		"Automation.rollback":          "Triggers that roll the route back at once.",
		"Breaker.enabled":              "The service's circuit breaker (default true).",
		"Breaker.consecutive_failures": "Open after this many failures in a row (default 5).",
		"Breaker.failure_ratio":        "Or when this share of requests failed, 0-1 (default 0.5) ...",
		"Breaker.min_requests":         "... with at least this many requests (default 20) ...",
		"Breaker.window":               "... in this rolling window (default 10s).",
		"Breaker.open_for":             "How long it stays open before half-open probes (default 10s).",
		"Breaker.half_open_requests":   "Probes let through when half-open (default 1).",
		"EtcdTLS.ca":                   "PEM file of the CA that signed etcd's certificate.",
		"EtcdTLS.cert":                 "PEM client certificate (give cert and key, or neither).",
		"EtcdTLS.key":                  "PEM client key (give cert and key, or neither).",
		"Gates.min_compared":           "Comparisons needed before a promotion (default 100).",
		"Gates.min_requests":           "Requests needed before a promotion (default 100).",
		"Gates.match_rate":             "Match rate at least this fraction (0-1); 0: unchecked.",
		"Gates.error_rate":             "Service error rate at most this fraction (0-1); unset: unchecked.",
		"Gates.p99_ratio":              "Service p99 at most this many times the monolith's; 0: unchecked.",
		"Gates.p99_max":                "Service p99 at most this duration; 0: unchecked.",
		"Match.methods":                "Methods matched, e.g. [GET, HEAD]; empty: any.",
		"Noise.enabled":                "Learn noisy fields by asking the monolith twice (default false).",
		"Noise.warmup":                 "The first N mirrored GETs always ask twice (default 20).",
		"Reports.max_results":          "Comparison results kept; the oldest are evicted (default 10000).",
		"Reports.max_bytes":            "Memory the kept results may hold; the oldest are evicted (default 64MiB).",
		"Reports.queue":                "Results waiting to be stored; when full, dropped and counted (default 1024).",
		"Reports.max_excerpt":          "Body excerpt kept per side of a result (default 4KiB).",
		"Rewrite.strip_prefix":         "Removed from the path sent to the service.",
		"Rewrite.add_prefix":           "Put in front of the service path after stripping.",
		"Route.match":                  "Which requests the route claims: exactly one of path or prefix, and optionally methods, host and headers.",
		"Route.service":                "The service this route moves to (a key of services); required for every stage but legacy.",
		"Route.stage":                  "Where the route stands: legacy (default), shadow, canary or migrated.",
		"Route.percent":                "Canary share sent to the service, 0-100; used at stage canary only.",
		"Route.rewrite":                "Changes to the request sent to the service (never to the monolith).",
		"Route.shadow":                 "Mirroring of the route's requests to the side that does not serve them.",
		"Route.diff":                   "How mirrored answers are compared.",
		"Server.read_header_timeout":   "Longest wait for a request's header (default 10s).",
		"Server.idle_timeout":          "Keep-alive connections idle longer are closed (default 120s).",
		"Server.max_header_bytes":      "Largest request header block; larger get 431 (default 64KiB).",
		"Shadow.methods":               "Methods mirrored (default [GET, HEAD]); a write method needs a sandbox service.",
		"Shadowing.workers":            "Goroutines sending mirrored copies, 1-1024 (default 8).",
		"Shadowing.queue":              "Copies waiting for a worker; when full, new copies are dropped and counted (default 1024).",
		"Tolerance.abs":                "Numbers a and b are equal when |a-b| <= abs.",
		"Tolerance.rel":                "Numbers a and b are equal when |a-b| <= rel * max(|a|,|b|).",
		"Triggers.match_rate":          "Roll back when the match rate falls below this fraction (0-1); 0: unchecked.",
		"Triggers.error_rate":          "Roll back when the service error rate exceeds this fraction (0-1); 0: unchecked.",
		"Triggers.p99_ratio":           "Roll back when the service p99 exceeds this many times the monolith's; 0: unchecked.",
		"Triggers.p99_max":             "Roll back when the service p99 exceeds this duration; 0: unchecked.",
		"Triggers.breaker_open":        "Roll back when the service's breaker opens (default true).",
	}
	for _, t := range []string{"Upstream", "Service"} {
		d[t+".url"] = "http:// or https:// base URL; a path is kept as a base path; no query or fragment."
		d[t+".dial_timeout"] = "TCP connect and TLS handshake bound (default 5s)."
	}
	out := make([]rule, 0, len(d))
	for at, text := range d {
		out = append(out, rule{at, describe(text)})
	}
	return out
}

// constrain applies rules to the reflected schema s. A rule naming a
// type or key the schema lacks is an error, so a renamed field cannot
// silently lose its constraint.
func constrain(s *jsonschema.Schema) error {
	for _, r := range append(rules(), descriptions()...) {
		typ, key, _ := strings.Cut(r.at, ".")
		def := s
		if typ != "Config" {
			def = s.Definitions[typ]
		}
		if def == nil || def.Properties == nil {
			return fmt.Errorf("config schema rule %s: no definition %s", r.at, typ)
		}
		prop, ok := def.Properties.Get(key)
		if !ok {
			return fmt.Errorf("config schema rule %s: %s has no key %s", r.at, typ, key)
		}
		r.apply(prop)
	}
	return nil
}
