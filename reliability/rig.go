package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AdminToken is the admin bearer token every strangler the suite starts
// gets (32 characters, more than any minimum a fix may require).
const AdminToken = "reliability-token-0123456789abcd"

// Env is what every scenario runs with.
type Env struct {
	// Bin is the built strangler binary.
	Bin string
	// Dir holds the route files and state files of this run.
	Dir string
	// Quick shortens every scenario for `go test`.
	Quick bool
	// Logf reports progress (nil: silent).
	Logf func(format string, args ...any)
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// pick returns quick in quick mode, full otherwise.
func pick[T any](e *Env, quick, full T) T {
	if e.Quick {
		return quick
	}
	return full
}

// Build compiles ./cmd/strangler of the module at root into dir.
func Build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "strangler")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/strangler")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building strangler in %s: %w: %s", root, err, out)
	}
	return bin, nil
}

// freeAddr returns a 127.0.0.1 address nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// syncBuffer is a bytes.Buffer safe for a child's output and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Proc is one running strangler.
type Proc struct {
	Data, Admin string // host:port
	Path        string // route file
	cmd         *exec.Cmd
	out         *syncBuffer
	done        chan struct{}
	exitErr     error
	exited      time.Time
}

// header is the part of every route file the rig writes: addresses, the
// state file, the admin profiler (for heap figures) and unbuffered JSON
// logs.
func header(data, admin, state string) string {
	return fmt.Sprintf("listen: %q\nadmin: {listen: %q, pprof: true}\nstate_file: %q\nlog: {level: info, format: json, buffer: 0}\n",
		data, admin, state)
}

// writeConfig writes the route file name.yaml with the rig's header and
// body and returns its path and the data and admin addresses.
func (e *Env) writeConfig(name, body string) (path, data, admin string, err error) {
	if data, err = freeAddr(); err != nil {
		return "", "", "", err
	}
	if admin, err = freeAddr(); err != nil {
		return "", "", "", err
	}
	path = filepath.Join(e.Dir, name+".yaml")
	text := header(data, admin, name+"-state.json") + body
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", "", "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, data, admin, nil
}

// validate runs `strangler validate` on path and returns its complaint.
func (e *Env) validate(path string) error {
	out, err := exec.Command(e.Bin, "validate", path).CombinedOutput()
	if err != nil {
		line := firstLine(string(out))
		if _, after, ok := strings.Cut(line, ".yaml: "); ok {
			line = after
		}
		return fmt.Errorf("%s", line)
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Start writes a route file and starts strangler on it, waiting until its
// admin /readyz answers 200.
func (e *Env) Start(name, body string) (*Proc, error) {
	path, data, admin, err := e.writeConfig(name, body)
	if err != nil {
		return nil, err
	}
	return e.startFile(path, data, admin, AdminToken)
}

// StartAssumed starts strangler with withKeys (a body using AssumedKeys);
// when the binary rejects it, it starts without, a body free of them, and
// returns a note naming the rejection.
func (e *Env) StartAssumed(name, withKeys, without string) (*Proc, string, error) {
	path, _, _, err := e.writeConfig(name+"-check", withKeys)
	if err != nil {
		return nil, "", err
	}
	if verr := e.validate(path); verr != nil {
		p, err := e.Start(name, without)
		return p, "assumed keys rejected (" + verr.Error() + ")", err
	}
	p, err := e.Start(name, withKeys)
	return p, "", err
}

// startFile runs `strangler serve` on path with token in its environment.
func (e *Env) startFile(path, data, admin, token string) (*Proc, error) {
	p := &Proc{Data: data, Admin: admin, Path: path, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(e.Bin, "serve", "--config", path)
	p.cmd.Env = append(os.Environ(), "STRANGLER_ADMIN_TOKEN="+token)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting strangler on %s: %w", path, err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		p.exited = time.Now()
		close(p.done)
	}()
	if err := p.waitReady(15 * time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// waitReady polls /readyz until 200, the process exits or d passes.
func (p *Proc) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("strangler on %s exited at start (%v): %s", p.Path, p.exitErr, tail(p.out.String(), 600))
		default:
		}
		resp, err := http.Get("http://" + p.Admin + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("strangler on %s not ready after %s: %s", p.Path, d, tail(p.out.String(), 600))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// URL is the data-plane base URL.
func (p *Proc) URL() string { return "http://" + p.Data }

// Logs is everything the process wrote so far.
func (p *Proc) Logs() string { return p.out.String() }

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to d for the process to exit and returns its exit code
// (-1 when it did not exit) and when it exited.
func (p *Proc) Wait(d time.Duration) (int, time.Time) {
	select {
	case <-p.done:
	case <-time.After(d):
		return -1, time.Time{}
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		return ee.ExitCode(), p.exited
	}
	if p.exitErr != nil {
		return -1, p.exited
	}
	return 0, p.exited
}

// Stop ends the process (SIGTERM, then SIGKILL after 10 s) and its group.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// AdminGet GETs an admin path with the token and returns status and body.
func (p *Proc) AdminGet(path string) (int, string, error) {
	return p.adminDo(http.MethodGet, path, AdminToken, nil)
}

// adminDo sends one admin request with token (none when empty) and extra
// header pairs.
func (p *Proc) adminDo(method, path, token string, hdr map[string]string) (int, string, error) {
	req, err := http.NewRequest(method, "http://"+p.Admin+path, nil)
	if err != nil {
		return 0, "", fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, string(body), err
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return string(b), nil
}

func writeFile(path, text string) error {
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
