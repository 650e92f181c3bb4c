package deploy

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// flagRe finds the flags in cobra's help: "  -c, --config string".
var flagRe = regexp.MustCompile(`(?m)^\s+(?:(-[A-Za-z]), )?(--[a-z0-9-]+)`)

// commandExists asks the built binary for the help of args' verb and
// wants every flag of args in it.
func commandExists(t *testing.T, args []string) error {
	t.Helper()
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return fmt.Errorf("%q: want strangler VERB ...", args)
	}
	verb := args[1]
	out, err := exec.Command(strangler(t), verb, "--help").CombinedOutput()
	if err != nil {
		return fmt.Errorf("strangler %s --help: %w\n%s", verb, err, out)
	}
	if !strings.Contains(string(out), "strangler "+verb) {
		return fmt.Errorf("strangler has no verb %q:\n%s", verb, out)
	}
	known := map[string]bool{}
	for _, m := range flagRe.FindAllStringSubmatch(string(out), -1) {
		known[m[1]], known[m[2]] = true, true
	}
	for _, a := range args[2:] {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(a, "=")
		if !known[name] {
			return fmt.Errorf("strangler %s has no flag %s", verb, name)
		}
	}
	return nil
}

// checkCommand fails t when args is not a command the CLI accepts.
func checkCommand(t *testing.T, what string, args []string) {
	t.Helper()
	if err := commandExists(t, args); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// flagValue is the value of --name in args (--name v or --name=v).
func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
