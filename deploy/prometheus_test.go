package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The alerting rules and their promtool unit tests.
const (
	rulesFile     = "strangler-rules.yaml"
	rulesTestFile = "strangler-rules.test.yaml"
	rulesDir      = "prometheus"
)

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTests is a promtool unit-test file (the parts read here).
type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func loadYAML[T any](t *testing.T, path string) T {
	t.Helper()
	var v T
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// loadRules reads the rule file: alert names, recorded names and every
// expression by where it is.
func loadRules(t *testing.T) (alerts, records []string, exprs map[string]string) {
	t.Helper()
	rf := loadYAML[ruleFile](t, filepath.Join(rulesDir, rulesFile))
	exprs = map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Alert
			if r.Record != "" {
				name = r.Record
				records = append(records, r.Record)
			} else {
				alerts = append(alerts, r.Alert)
			}
			exprs[rulesFile+": "+name] = r.Expr
		}
	}
	return alerts, records, exprs
}

// TestAlertingRules runs promtool's checks and unit tests on the rules
// and wants every alert covered: each has a test where it fires. The
// unit tests list every alert expected at each evaluation, so a series
// for which an alert must stay silent fails them if it fires.
func TestAlertingRules(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", rulesFile},
		{"test", "rules", rulesTestFile},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = rulesDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
	alerts, _, _ := loadRules(t)
	tests := loadYAML[ruleTests](t, filepath.Join(rulesDir, rulesTestFile))
	if !slices.Equal(tests.RuleFiles, []string{rulesFile}) {
		t.Errorf("%s tests rule files %v, want [%s]", rulesTestFile, tests.RuleFiles, rulesFile)
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			}
		}
	}
	for _, a := range alerts {
		if !fires[a] {
			t.Errorf("alert %s: no unit test in %s where it fires", a, rulesTestFile)
		}
	}
}

// TestAlertingRulesDescribeThemselves wants each alert to carry a
// severity and a summary and description for the notification.
func TestAlertingRulesDescribeThemselves(t *testing.T) {
	rf := loadYAML[ruleFile](t, filepath.Join(rulesDir, rulesFile))
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: want a summary and a description annotation", r.Alert)
			}
		}
	}
	if n < 6 {
		t.Errorf("%d alerts, want at least the six of issue 16", n)
	}
}
