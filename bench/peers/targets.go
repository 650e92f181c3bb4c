package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// target is one thing wrk measures.
type target struct {
	name string
	url  string
	pid  int // 0: not a proxy (direct)
}

// startTargets starts every proxy in front of backend, the extra ones
// last.
func startTargets(p *processes, bin, work, backend string, extra extras) ([]target, error) {
	targets := []target{{name: "direct", url: backend}}
	starters := []struct {
		name  string
		start func(p *processes, bin, work, backend string) (target, error)
	}{
		{"nginx", startNginx}, {"haproxy", startHAProxy}, {"caddy", startCaddy},
		{"bare-httputil", startBare},
		{"tuned-httputil", startTuned},
		{"strangler-legacy", stranglerStarter("legacy", "")},
		{"strangler-migrated", stranglerStarter("migrated", "")},
		{"strangler-legacy-standard-client", stranglerClientStarter("legacy", "", "standard")},
		{"strangler-shadow", stranglerStarter("shadow", "")},
		{"reference-fasthttp-minimal", floorStarter(false)},
		{"reference-fasthttp-features", floorStarter(true)},
	}
	for _, e := range extra {
		starters = append(starters, struct {
			name  string
			start func(p *processes, bin, work, backend string) (target, error)
		}{e.name, e.start})
	}
	for _, s := range starters {
		t, err := s.start(p, bin, work, backend)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		t.name = s.name
		targets = append(targets, t)
	}
	return targets, nil
}

func listen() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(port), nil
}

func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }

func startNginx(p *processes, _, work, backend string) (target, error) {
	addr, err := listen()
	if err != nil {
		return target{}, err
	}
	dir := filepath.Join(work, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return target{}, err
	}
	conf := fmt.Sprintf(`worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  upstream backend { server %[2]s; keepalive 64; }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, dir, hostPort(backend), addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return target{}, err
	}
	cmd, err := p.start("nginx", "-c", path, "-p", dir, "-g", "daemon off;")
	if err != nil {
		return target{}, err
	}
	return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
}

func startHAProxy(p *processes, _, work, backend string) (target, error) {
	addr, err := listen()
	if err != nil {
		return target{}, err
	}
	conf := fmt.Sprintf(`global
  nbthread 2
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind %s
  default_backend be
backend be
  http-reuse always
  server s1 %s
`, addr, hostPort(backend))
	path := filepath.Join(work, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return target{}, err
	}
	cmd, err := p.start("haproxy", "-f", path, "-db")
	if err != nil {
		return target{}, err
	}
	return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
}

func startCaddy(p *processes, _, work, backend string) (target, error) {
	addr, err := listen()
	if err != nil {
		return target{}, err
	}
	conf := fmt.Sprintf("{\n  admin off\n  auto_https off\n}\nhttp://%s {\n  reverse_proxy %s\n}\n", addr, hostPort(backend))
	path := filepath.Join(work, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return target{}, err
	}
	cmd, err := p.start("caddy", "run", "--config", path, "--adapter", "caddyfile")
	if err != nil {
		return target{}, err
	}
	return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
}

func startBare(p *processes, bin, _, backend string) (target, error) {
	addr, err := listen()
	if err != nil {
		return target{}, err
	}
	cmd, err := p.start(filepath.Join(bin, "bareproxy"), "-addr", addr, "-target", backend)
	if err != nil {
		return target{}, err
	}
	return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
}

// startTuned runs bench/tunedproxy, the reference Go proxy: idle
// connections per host at least the client connections (4× wrk's), a
// buffer pool, HTTP/1.1 upstream.
func startTuned(p *processes, bin, _, backend string) (target, error) {
	addr, err := listen()
	if err != nil {
		return target{}, err
	}
	cmd, err := p.start(filepath.Join(bin, "tunedproxy"), "-addr", addr, "-target", backend, "-idle-per-host", "256")
	if err != nil {
		return target{}, err
	}
	return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
}

// stranglerStarter runs strangler with 100 routes, the measured path
// matching the last one, at stage; candidate is the shadow target ("" =
// the backend itself). Upstreams use the default client.
func stranglerStarter(stage, candidate string) func(*processes, string, string, string) (target, error) {
	return stranglerClientStarter(stage, candidate, "lean")
}

// stranglerClientStarter is stranglerStarter with the upstreams' client
// (lean or standard) chosen.
func stranglerClientStarter(stage, candidate, client string) func(*processes, string, string, string) (target, error) {
	return func(p *processes, bin, work, backend string) (target, error) {
		addr, err := listen()
		if err != nil {
			return target{}, err
		}
		admin, err := listen()
		if err != nil {
			return target{}, err
		}
		if candidate == "" {
			candidate = backend
		}
		path := filepath.Join(work, "strangler-"+stage+"-"+client+"-"+strings.ReplaceAll(addr, ":", "_")+".yaml")
		if err := os.WriteFile(path, []byte(stranglerConfig(addr, admin, backend, candidate, stage, client)), 0o644); err != nil {
			return target{}, err
		}
		cmd, err := p.start(filepath.Join(bin, "strangler"), "serve", "--config", path)
		if err != nil {
			return target{}, err
		}
		return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
	}
}

// stranglerConfig has 100 routes; /small matches the last. The access
// log is on (to the process's stdout, discarded) and metrics are on.
func stranglerConfig(addr, admin, legacy, service, stage, client string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: %q\nadmin: {listen: %q}\nstate_file: %q\n", addr, admin, "state-"+strings.ReplaceAll(addr, ":", "_")+".json")
	fmt.Fprintf(&b, "legacy: {url: %q, client: %s}\nservices:\n  svc: {url: %q, client: %s}\nroutes:\n", legacy, client, service, client)
	for i := range 99 {
		fmt.Fprintf(&b, "  - {name: fn-%d, match: {path: \"/api/fn%d/{id:[0-9]+}\", methods: [GET]}, service: svc, stage: %s}\n", i, i, stage)
	}
	fmt.Fprintf(&b, "  - {name: small, match: {path: /small, methods: [GET]}, service: svc, stage: %s}\n", stage)
	return b.String()
}

// floorStarter runs bench/floor, the reference Go proxy on fasthttp:
// bare, or with strangler's per-request features on the routes strangler
// is measured with (stage legacy).
func floorStarter(features bool) func(*processes, string, string, string) (target, error) {
	return func(p *processes, bin, work, backend string) (target, error) {
		addr, err := listen()
		if err != nil {
			return target{}, err
		}
		args := []string{"-addr", addr, "-up", hostPort(backend)}
		if features {
			admin, err := listen()
			if err != nil {
				return target{}, err
			}
			path := filepath.Join(work, "floor-"+strings.ReplaceAll(addr, ":", "_")+".yaml")
			if err := os.WriteFile(path, []byte(stranglerConfig(addr, admin, backend, backend, "legacy", "lean")), 0o644); err != nil {
				return target{}, err
			}
			args = append(args, "-config", path)
		}
		cmd, err := p.start(filepath.Join(bin, "floor"), args...)
		if err != nil {
			return target{}, err
		}
		return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
	}
}

// extraTarget is a proxy given on the command line (-extra NAME=COMMAND).
type extraTarget struct{ name, command string }

// extras collects the repeatable -extra flag.
type extras []extraTarget

func (e *extras) String() string {
	names := make([]string, len(*e))
	for i, t := range *e {
		names[i] = t.name
	}
	return strings.Join(names, ",")
}

// Set parses NAME=COMMAND; the command needs {listen} to know its address.
func (e *extras) Set(v string) error {
	name, command, ok := strings.Cut(v, "=")
	name, command = strings.TrimSpace(name), strings.TrimSpace(command)
	switch {
	case !ok || name == "" || command == "":
		return fmt.Errorf("want NAME=COMMAND, got %q", v)
	case !strings.Contains(command, "{listen}"):
		return fmt.Errorf("command of %s has no {listen} placeholder", name)
	}
	*e = append(*e, extraTarget{name: name, command: command})
	return nil
}

// start runs the command with its placeholders filled in and waits until
// it answers.
func (t extraTarget) start(p *processes, _, _, backend string) (target, error) {
	addr, err := listen()
	if err != nil {
		return target{}, err
	}
	args := strings.Fields(strings.NewReplacer("{listen}", addr, "{backend}", hostPort(backend)).Replace(t.command))
	cmd, err := p.start(args[0], args[1:]...)
	if err != nil {
		return target{}, err
	}
	return target{url: "http://" + addr, pid: cmd.Process.Pid}, waitHTTP("http://" + addr + "/small")
}
