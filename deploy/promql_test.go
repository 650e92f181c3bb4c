package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Metric names are taken out of PromQL with the small scanner below, not
// with Prometheus's own parser: github.com/prometheus/prometheus would
// raise the versions of libraries the binary ships with (mapstructure,
// zap, websocket). Syntax is checked by the real parser all the same:
// promtool reads every expression (see checkPromQL).

// promqlKeywords are the words of PromQL that are not metric names when
// they are not followed by "(" (functions and aggregations always are).
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true, "offset": true,
	"inf": true, "nan": true,
	// aggregations: "sum by (x) (...)" puts the label list before the "("
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
	"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
	"quantile": true, "limitk": true, "limit_ratio": true,
}

// labelListKeywords are followed by a parenthesized list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true,
}

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameByte(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }

// promqlMetricNames returns the metric names an expression selects, in
// order of first use. It skips strings, label matchers ({...}), ranges
// and subqueries ([...]), label lists of by/without/on/ignoring/group_*,
// functions and keywords; a number's letters (1e3, 0x1f) are part of it.
func promqlMetricNames(expr string) ([]string, error) {
	var names []string
	depth := 0
	for i := 0; i < len(expr); {
		c := expr[i]
		var err error
		switch {
		case c == '(' || c == ')':
			if depth += map[byte]int{'(': 1, ')': -1}[c]; depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' at %d in %q", i, expr)
			}
			i++
		case c == '"' || c == '\'' || c == '`':
			i, err = skipString(expr, i)
		case c == '{' || c == '[':
			i, err = skipGroup(expr, i)
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isNameByte(expr[i]) || expr[i] == '.') {
				i++
			}
		case isNameStart(c):
			var name string
			if name, i, err = scanWord(expr, i); name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		default:
			i++
		}
		if err != nil {
			return nil, err
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '(' in %q", expr)
	}
	return names, nil
}

// scanWord reads the word starting at i and returns it when it is a
// metric name, and where scanning goes on: after the word, or after the
// label list of a by/without/on/ignoring/group_* keyword.
func scanWord(expr string, i int) (name string, end int, err error) {
	start := i
	for i < len(expr) && isNameByte(expr[i]) {
		i++
	}
	word := expr[start:i]
	next := i
	for next < len(expr) && strings.ContainsRune(" \t\n\r", rune(expr[next])) {
		next++
	}
	lower := strings.ToLower(word)
	called := next < len(expr) && expr[next] == '('
	switch {
	case labelListKeywords[lower] && called:
		end, err = skipGroup(expr, next)
		return "", end, err
	case promqlKeywords[lower], called: // a keyword, a function or an aggregation
		return "", i, nil
	}
	return word, i, nil
}

// skipString returns the index after the quoted string starting at i.
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d in %q", i, s)
}

// skipGroup returns the index after the bracket group opening at i,
// nested groups and strings included.
func skipGroup(s string, i int) (int, error) {
	closing := map[byte]byte{'{': '}', '[': ']', '(': ')'}
	var stack []byte
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case closing[c] != 0:
			stack = append(stack, closing[c])
		case len(stack) > 0 && c == stack[len(stack)-1]:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("unbalanced %q at %d in %q", s[i], i, s)
}

func TestPromQLMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`rate(http_requests_total{job="a", path=~"/x{1,2}"}[5m])`, []string{"http_requests_total"}},
		{`sum by (route, served_by) (rate(a_total[5m])) / sum without (le) (b)`, []string{"a_total", "b"}},
		{`sum(rate(a[1m])) by (route)`, []string{"a"}},
		{`x > on (route) group_left (stage) y and on(route) z == 1 unless ignoring (result) w`, []string{"x", "y", "z", "w"}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{le!="+Inf"}[5m])))`, []string{"h_bucket"}},
		{`1.5 * foo offset 1h or vector(0) + 1e3 + 0x1f + Inf + NaN`, []string{"foo"}},
		{`count(a == 1) or bool b`, []string{"a", "b"}},
		{`strangler:route_error_ratio:rate5m{served_by="service"} - on (route) c`, []string{"strangler:route_error_ratio:rate5m", "c"}},
		{`max_over_time(a[1h:5m]) + label_replace(b, "x", "$1", "y", "(.*)")`, []string{"a", "b"}},
		{`time() - max by (instance) (t{job=~"x"} > 0)`, []string{"t"}},
		{"a{x=`}`} + b{y='\\'}'}", []string{"a", "b"}},
	} {
		got, err := promqlMetricNames(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: names %q, want %q", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{`a{x="y}`, `rate(a[5m]`, `a{x="1"`} {
		if _, err := promqlMetricNames(bad); err == nil {
			t.Errorf("%s: no error for an unbalanced expression", bad)
		}
	}
}

// promtool returns the path of Prometheus's promtool, skipping the test
// when it is missing unless STRANGLER_REQUIRE_PROMTOOL=1 (CI).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("STRANGLER_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("promtool is required (STRANGLER_REQUIRE_PROMTOOL=1) but missing: apt-get install prometheus")
		}
		t.Skip("promtool is missing (apt-get install prometheus; .ci/run installs it)")
	}
	return p
}

// checkPromQL has promtool parse every expression, named by where it
// comes from, as recording rules of a throwaway rule file.
func checkPromQL(t *testing.T, exprs map[string]string) {
	t.Helper()
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	type group struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	}
	var g group
	g.Name = "syntax"
	var where []string
	for w := range exprs {
		where = append(where, w)
	}
	slices.Sort(where)
	for i, w := range where {
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("check:expr_%d", i), Expr: exprs[w]})
	}
	data, err := yaml.Marshal(map[string][]group{"groups": {g}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "exprs.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool(t), "check", "rules", path).CombinedOutput()
	if err != nil {
		for i, w := range where {
			if strings.Contains(string(out), fmt.Sprintf("%q", g.Rules[i].Record)) || strings.Contains(string(out), exprs[w]) {
				t.Errorf("%s: %s", w, exprs[w])
			}
		}
		t.Fatalf("promtool check rules on the expressions: %v\n%s", err, out)
	}
}
