package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestProblemsCarryLines: unknown keys, values that do not decode and
// validation problems come in one pass, each with the line the file
// gives it; a missing key points at its parent, and a value taken from
// the environment has no line.
func TestProblemsCarryLines(t *testing.T) {
	const file = "config.yaml"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // every problem, in any order
	}{
		{"unknown key and invalid value in one route", `legacy:
  url: http://legacy:8081
services:
  orders:
    url: http://orders:8082
routes:
  - name: r
    match: {path: /a}
    service: orders
    stagee: canary
    percent: 150
`, nil, []string{
			"config.yaml:10: routes[0].stagee: unknown key",
			"config.yaml:11: routes[0].percent: must be between 0 and 100, got 150",
		}},
		{"unknown service key, bad listen, undecodable timeout", `listen: nowhere
legacy:
  url: http://legacy:8081
  timeout: soon
services:
  orders: {url: "http://orders:8082", sandboxx: true}
`, nil, []string{
			`config.yaml:1: listen: "nowhere" is not host:port`,
			`config.yaml:4: legacy.timeout: invalid duration "soon": want a number with a unit, such as 500ms, 30s or 2m`,
			"config.yaml:6: services[orders].sandboxx: unknown key",
		}},
		{"missing key points at its parent", `legacy:
  timeout: 5s
routes:
  - name: r
    match: {methods: [GET]}
    stage: canary
`, nil, []string{
			"config.yaml:1: legacy.url: required",
			"config.yaml:5: routes[0].match: one of path or prefix is required",
			`config.yaml:4: routes[0].service: required for stage "canary"`,
		}},
		{"value from the environment has no line", `listen: ":8080"
legacy: {url: "http://legacy:8081"}
lgo: {level: debug}
`, map[string]string{"STRANGLER_LISTEN": "nowhere"}, []string{
			`config.yaml: listen: "nowhere" is not host:port`,
			"config.yaml:3: lgo: unknown key",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Parse([]byte(tc.yaml), file, Source{Env: tc.env != nil})
			got := ProblemStrings(err)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestFieldPath(t *testing.T) {
	tests := []struct {
		field string
		want  []string
	}{
		{"listen", []string{"listen"}},
		{"routes[0].match.methods[1]", []string{"routes", "0", "match", "methods", "1"}},
		{"services[orders].sandboxx", []string{"services", "orders", "sandboxx"}},
		{"services.orders.url", []string{"services", "orders", "url"}},
		{"routes[2", []string{"routes", "2"}},
		{"(file)", []string{"(file)"}},
	}
	for _, tc := range tests {
		if got := fieldPath(tc.field); !slices.Equal(got, tc.want) {
			t.Errorf("fieldPath(%q) = %q, want %q", tc.field, got, tc.want)
		}
	}
}

// TestFlagValueHasNoLine: a value given by a flag is not the file's, so
// its problem names no line; the file's own problems keep theirs.
func TestFlagValueHasNoLine(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--listen", "nowhere"}); err != nil {
		t.Fatal(err)
	}
	_, err := Parse([]byte("listen: \":8080\"\nlegacy: {url: \"ftp://legacy\"}\n"), "f.yaml", Source{Flags: fs})
	got := ProblemStrings(err)
	slices.Sort(got)
	want := []string{
		`f.yaml: listen: "nowhere" is not host:port`,
		`f.yaml:2: legacy.url: invalid URL "ftp://legacy": scheme must be http or https`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
