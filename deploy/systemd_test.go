package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unit is a systemd unit file: section → key → values in order.
type unit map[string]map[string][]string

// parseUnit reads a unit file, joining continued lines.
func parseUnit(p string) (unit, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading the unit: %w", err)
	}
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := ""
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if line == "" && (text == "" || text[0] == '#' || text[0] == ';') {
			continue
		}
		if cont, ok := strings.CutSuffix(text, "\\"); ok {
			line += cont + " "
			continue
		}
		line += text
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		} else if k, v, ok := strings.Cut(line, "="); ok && section != "" {
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		} else {
			return nil, fmt.Errorf("%s: %q: want [Section] or Key=value", p, line)
		}
		line = ""
	}
	return u, sc.Err()
}

// last is the value of a Service key that holds (the last assignment).
func (u unit) last(key string) string {
	v := u["Service"][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// systemdSeconds parses a systemd time span: 45, 45s, 1min 30s, 2min.
func systemdSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	s = strings.NewReplacer("min", "m", " ", "").Replace(s)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("time span %q: %w", s, err)
	}
	return d, nil
}

// TestSystemdUnit checks deploy/systemd/strangler.service against the CLI
// and the route file's timing, and runs systemd-analyze verify on it when
// the machine has systemd.
func TestSystemdUnit(t *testing.T) {
	const file = "systemd/strangler.service"
	u, err := parseUnit(file)
	if err != nil {
		t.Fatal(err)
	}
	rf := loadRouteFile(t)
	for _, tc := range []struct {
		name  string
		check func() error
	}{
		{"simple: strangler does not speak sd_notify", func() error {
			if got := u.last("Type"); got != "simple" && got != "exec" {
				return fmt.Errorf("Type=%s", got)
			}
			return nil
		}},
		{"not root", func() error {
			user := u.last("User")
			if (user == "" || user == "root" || user == "0") && u.last("DynamicUser") != "yes" {
				return fmt.Errorf("User=%q and no DynamicUser=yes", user)
			}
			return nil
		}},
		{"ExecStart and ExecStartPre are real CLI commands", func() error {
			for _, k := range []string{"ExecStart", "ExecStartPre"} {
				for _, v := range u["Service"][k] {
					args := strings.Fields(strings.TrimLeft(v, "-@:+!"))
					if path.Base(args[0]) != "strangler" {
						return fmt.Errorf("%s=%s does not run strangler", k, v)
					}
					if err := commandExists(t, args); err != nil {
						return fmt.Errorf("%s=%s: %w", k, v, err)
					}
				}
			}
			return nil
		}},
		{"ExecReload sends SIGHUP (TestProbesReachRealEndpoints sees it reload)", func() error {
			if got := u.last("ExecReload"); got != "/bin/kill -HUP $MAINPID" {
				return fmt.Errorf("ExecReload=%s", got)
			}
			return nil
		}},
		{"KillSignal=SIGTERM starts the drain", func() error {
			if got := u.last("KillSignal"); got != "SIGTERM" {
				return fmt.Errorf("KillSignal=%s", got)
			}
			return nil
		}},
		{"TimeoutStopSec covers drain and shutdown", func() error {
			d, err := systemdSeconds(u.last("TimeoutStopSec"))
			if err != nil {
				return err
			}
			need := rf.cfg.Server.DrainDelay + rf.cfg.Server.ShutdownTimeout + shadowDrain
			if d <= need {
				return fmt.Errorf("TimeoutStopSec=%v, want more than drain_delay + shutdown_timeout + shadow drain = %v", d, need)
			}
			return nil
		}},
		{"hardening", func() error {
			for k, want := range map[string]string{"NoNewPrivileges": "true", "ProtectSystem": "strict", "ProtectHome": "true", "PrivateTmp": "true"} {
				if got := u.last(k); got != want {
					return fmt.Errorf("%s=%s, want %s", k, got, want)
				}
			}
			return nil
		}},
		{"the state file's folder is writable", func() error {
			dir := path.Dir(rf.cfg.StateFile)
			for _, p := range strings.Fields(strings.Join(u["Service"]["ReadWritePaths"], " ")) {
				if strings.TrimPrefix(p, "-") == dir {
					return nil
				}
			}
			return fmt.Errorf("ReadWritePaths=%v lacks the route file's state_file folder %s", u["Service"]["ReadWritePaths"], dir)
		}},
		{"secrets from an environment file", func() error {
			if u.last("EnvironmentFile") == "" {
				return fmt.Errorf("no EnvironmentFile")
			}
			return nil
		}},
		{"GOMEMLIMIT below MemoryMax", func() error {
			max, err := quantity(strings.TrimSuffix(u.last("MemoryMax"), "B") + "i")
			if err != nil {
				return fmt.Errorf("MemoryMax=%s: %w", u.last("MemoryMax"), err)
			}
			for _, e := range u["Service"]["Environment"] {
				if v, ok := strings.CutPrefix(e, "GOMEMLIMIT="); ok {
					n, err := quantity(strings.TrimSuffix(v, "B"))
					if err != nil || n >= max {
						return fmt.Errorf("GOMEMLIMIT=%s: want a size below MemoryMax %d: %v", v, max, err)
					}
					return nil
				}
			}
			return fmt.Errorf("no Environment=GOMEMLIMIT: strangler finds a container's cgroup limit, not a unit's MemoryMax")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		})
	}

	t.Run("systemd-analyze verify", func(t *testing.T) {
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed (Debian package systemd); the unit is not verified by systemd here")
		}
		// verify wants the commands to exist: point them at the built binary.
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "strangler.service")
		data = bytes.ReplaceAll(data, []byte("/usr/local/bin/strangler"), []byte(strangler(t)))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", p).CombinedOutput()
		// verify exits 0 on unknown keys and bad values: any output is a problem.
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", file, err, out)
		}
	})
}
