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
		{"Route.stage", enum(StageLegacy, StageShadow, StageCanary, StageMigrated)},
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
	}
	return append(out, upstreamRules()...)
}

// constrain applies rules to the reflected schema s. A rule naming a
// type or key the schema lacks is an error, so a renamed field cannot
// silently lose its constraint.
func constrain(s *jsonschema.Schema) error {
	for _, r := range rules() {
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
