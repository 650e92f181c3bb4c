package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/stranglerfig/strangler/config"
)

// TestSchemaCommand runs the built binary's schema verb: it prints the
// committed config.schema.json, byte for byte.
func TestSchemaCommand(t *testing.T) {
	out, err := exec.Command(binary, "schema").Output()
	if err != nil {
		t.Fatalf("strangler schema: %v", err)
	}
	committed, err := os.ReadFile("../../config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, committed) {
		t.Error("`strangler schema` differs from config.schema.json: run `make schema`")
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["$id"] != config.SchemaID || doc["additionalProperties"] != false {
		t.Errorf("$id %v, additionalProperties %v: want %s and false", doc["$id"], doc["additionalProperties"], config.SchemaID)
	}
}

// TestSchemaAndValidateAgree runs `strangler validate` and the printed
// schema on the same files: both accept the good one, both refuse each
// bad one.
func TestSchemaAndValidateAgree(t *testing.T) {
	out, err := exec.Command(binary, "schema").Output()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	const good = "legacy:\n  url: http://127.0.0.1:1\nroutes:\n  - {name: a, match: {path: /a}}\n"
	for _, tc := range []struct {
		desc, file string
		valid      bool
	}{
		{"valid", good, true},
		{"unknown key", good + "colour: blue\n", false},
		{"wrong type", strings.Replace(good, "name: a,", "name: a, percent: [5],", 1), false},
		{"percent 150", strings.Replace(good, "name: a,", "name: a, percent: 150,", 1), false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var v any
			if err := yaml.Unmarshal([]byte(tc.file), &v); err != nil {
				t.Fatal(err)
			}
			j, _ := json.Marshal(v)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
			if err != nil {
				t.Fatal(err)
			}
			schemaErr := schema.Validate(inst)
			validateErr := exec.Command(binary, "validate", writeFile(t, tc.file)).Run()
			if (schemaErr == nil) != tc.valid || (validateErr == nil) != tc.valid {
				t.Errorf("want valid=%v; schema says %v, strangler validate says %v", tc.valid, schemaErr, validateErr)
			}
		})
	}
}
