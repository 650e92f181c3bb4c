package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/demo"
)

// compiledSchema compiles the generated schema with a validator library
// independent of the generator.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := config.SchemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the generated schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(config.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(config.SchemaID)
	if err != nil {
		t.Fatalf("compiling the generated schema: %v", err)
	}
	return s
}

// yamlInstance decodes a YAML route file into the JSON value an editor's
// validator checks.
func yamlInstance(data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding YAML %.40q as JSON: %w", data, err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(j))
}

func validateYAML(s *jsonschema.Schema, data []byte) error {
	inst, err := yamlInstance(data)
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

func TestSchemaFileIsGenerated(t *testing.T) {
	want, err := config.SchemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "config.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("config.schema.json differs from the schema the config types generate: run `make schema` and commit it")
	}
}

func TestConfigYAMLNamesSchema(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if want := "# yaml-language-server: $schema=./config.schema.json"; first != want {
		t.Errorf("config.yaml starts with %q, want %q (editors find the schema by it)", first, want)
	}
}

// validFiles are the route files the project ships or tests with that
// the loader accepts: config.yaml, the demo's, the Kubernetes one and the
// config fuzz corpus entries that parse.
func validFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	data, err := os.ReadFile(filepath.Join("..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files["config.yaml"] = data
	b := demo.Backends{LegacyURL: "http://127.0.0.1:1", OrdersURL: "http://127.0.0.1:2", CatalogURL: "http://127.0.0.1:3"}
	if files["demo"], err = b.Config("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	files["deploy/kubernetes/configmap.yaml"] = configMapRouteFile(t)
	for name, data := range fuzzCorpus(t) {
		if _, err := config.Parse(data, name, config.Source{}); err == nil {
			files[name] = data
		}
	}
	return files
}

// configMapRouteFile is the route file inside the Kubernetes ConfigMap.
func configMapRouteFile(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "deploy", "kubernetes", "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(data, &cm); err != nil || len(cm.Data) != 1 {
		t.Fatalf("configmap.yaml: want one data key, got %d (%v)", len(cm.Data), err)
	}
	for _, v := range cm.Data {
		return []byte(v)
	}
	return nil
}

// fuzzCorpus decodes the FuzzConfigLoad corpus: one []byte("...") each.
func fuzzCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzConfigLoad", "*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no FuzzConfigLoad corpus (%v)", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		inner, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
		inner, ok2 := strings.CutSuffix(inner, ")")
		s, err := strconv.Unquote(inner)
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: not a []byte(...) corpus entry", p)
		}
		out[filepath.ToSlash(p)] = []byte(s)
	}
	return out
}

func TestValidFilesMatchSchema(t *testing.T) {
	s := compiledSchema(t)
	files := validFiles(t)
	if len(files) < 5 {
		t.Fatalf("only %d valid files found", len(files))
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			if _, err := config.Parse(data, name, config.Source{}); err != nil {
				t.Fatalf("the loader refuses it: %v", err)
			}
			if err := validateYAML(s, data); err != nil {
				t.Errorf("the loader accepts it, the schema does not:\n%v", err)
			}
		})
	}
}

// base is a small valid route file; the invalid cases change one line.
const base = `listen: ":8080"
legacy:
  url: http://127.0.0.1:8081
services:
  orders:
    url: http://127.0.0.1:8082
routes:
  - name: orders
    match: {prefix: /orders}
    service: orders
    stage: canary
    percent: 10
    shadow: {sample: 50}
state:
  backend: file
log:
  level: info
server:
  idle_timeout: 120s
  max_body_bytes: 10MiB
`

func TestInvalidFilesFailSchemaAndLoader(t *testing.T) {
	s := compiledSchema(t)
	if err := validateYAML(s, []byte(base)); err != nil {
		t.Fatalf("the base file fails the schema: %v", err)
	}
	if _, err := config.Parse([]byte(base), "base", config.Source{}); err != nil {
		t.Fatalf("the base file fails the loader: %v", err)
	}
	for _, tc := range []struct {
		name, old, new string
		field          string // named by the loader's error
	}{
		{"unknown top-level key", `listen: ":8080"`, "listen: \":8080\"\nlisten_on: \":9090\"", "listen_on"},
		{"unknown route key", "stage: canary", "stage: canary\n    stages: canary", "stages"},
		{"unknown nested key", "match: {prefix: /orders}", "match: {prefix: /orders, pathh: /x}", "pathh"},
		{"percent 150", "percent: 10", "percent: 150", "percent"},
		{"negative percent", "percent: 10", "percent: -1", "percent"},
		{"percent as words", "percent: 10", "percent: ten", "percent"},
		{"routes not a list", "routes:\n", "routes: orders\nx_routes:\n", "routes"},
		{"services not a map", "services:\n  orders:\n    url: http://127.0.0.1:8082\n", "services: [orders]\n", "services"},
		{"listen as a list", `listen: ":8080"`, `listen: [":8080"]`, "listen"},
		{"unknown stage", "stage: canary", "stage: beta", "stage"},
		{"unknown backend", "backend: file", "backend: consul", "backend"},
		{"unknown log level", "level: info", "level: loud", "level"},
		{"duration without unit", "idle_timeout: 120s", "idle_timeout: 120", "idle_timeout"},
		{"duration in words", "idle_timeout: 120s", "idle_timeout: two minutes", "idle_timeout"},
		{"size in lightyears", "max_body_bytes: 10MiB", "max_body_bytes: 10 lightyears", "max_body_bytes"},
		{"shadow sample 101", "sample: 50", "sample: 101", "sample"},
		{"upper-case service name", "  orders:\n    url", "  Orders:\n    url", "Orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(base, tc.old) {
				t.Fatalf("base lacks %q", tc.old)
			}
			data := []byte(strings.Replace(base, tc.old, tc.new, 1))
			if err := validateYAML(s, data); err == nil {
				t.Errorf("the schema accepts:\n%s", data)
			}
			_, err := config.Parse(data, "bad.yaml", config.Source{})
			if err == nil {
				t.Fatalf("the loader accepts:\n%s", data)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("the loader's error does not name %q: %v", tc.field, err)
			}
		})
	}
}

// schemaPattern is the pattern of one of the schema's shared definitions.
func schemaPattern(t *testing.T, def string) *regexp.Regexp {
	t.Helper()
	s, err := config.Schema()
	if err != nil {
		t.Fatal(err)
	}
	d := s.Definitions[def]
	if d == nil {
		t.Fatalf("no $defs/%s", def)
	}
	for _, alt := range d.AnyOf {
		if alt.Pattern != "" {
			return regexp.MustCompile(alt.Pattern)
		}
	}
	t.Fatalf("$defs/%s has no pattern", def)
	return nil
}

func TestDurationPatternAgreesWithLoader(t *testing.T) {
	re := schemaPattern(t, "Duration")
	for _, tc := range []string{"5s", "500ms", "1h30m", "1.5h", ".5s", "0", " 30s ", "-5s", "+5s", "10us", "10µs",
		"5", "5 s", "s", "1d", "5S", "", "1.2.3s", "0x10s", "5s5"} {
		_, err := time.ParseDuration(strings.TrimSpace(tc))
		if got, want := re.MatchString(tc), err == nil; got != want {
			t.Errorf("%q: schema accepts %v, time.ParseDuration accepts %v", tc, got, want)
		}
	}
}

func TestByteSizePatternAgreesWithLoader(t *testing.T) {
	re := schemaPattern(t, "ByteSize")
	for _, tc := range []string{"512", "64KiB", "64kib", "1MiB", "2 MB", "1g", "1GB", "10b", " 7 K ", "+5",
		"1.5MiB", "MiB", "-1", "1 TiB", "1KiBB", "", "1 ki", "0x10"} {
		_, err := config.ParseByteSize(tc)
		if got, want := re.MatchString(tc), err == nil; got != want {
			t.Errorf("%q: schema accepts %v, config.ParseByteSize accepts %v", tc, got, want)
		}
	}
}
