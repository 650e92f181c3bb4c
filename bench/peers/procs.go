package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// processes are the processes this run started; stopAll ends them by PID
// (and their process groups), whatever happens: at the end of the run, on
// an interrupt or when the run's time limit is over.
type processes struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func (p *processes) start(name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p.mu.Lock()
	p.cmds = append(p.cmds, cmd)
	p.mu.Unlock()
	return cmd, nil
}

func (p *processes) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.cmds {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range p.cmds {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Until(deadline)):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	p.cmds = nil
}

// freePort returns a loopback port nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers or 15 s pass.
func waitHTTP(url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 15s", url)
}

// startBackend starts the Go backend, delaying answers by slow.
func (p *processes) startBackend(bin string, slow time.Duration) (string, error) {
	addr, err := listen()
	if err != nil {
		return "", err
	}
	if _, err := p.start(filepath.Join(bin, "backend"), "-addr", addr, "-slow", slow.String()); err != nil {
		return "", err
	}
	url := "http://" + addr
	if slow > 0 {
		time.Sleep(300 * time.Millisecond) // it answers slowly; give it a moment to listen
		return url, nil
	}
	return url, waitHTTP(url + "/small")
}

// cpuTicks returns the user+system clock ticks of pid and its
// descendants (nginx and Caddy run workers as children).
func cpuTicks(pid int) uint64 {
	children := map[int][]int{}
	ticks := map[int]uint64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, t, ok := procStat(p)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], p)
		ticks[p] = t
	}
	var total uint64
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		total += ticks[p]
		stack = append(stack, children[p]...)
	}
	return total
}

// procStat reads ppid and utime+stime from /proc/PID/stat.
func procStat(pid int) (ppid int, ticks uint64, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+2:]))
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return ppid, ut + st, true
}

// clockTicks is USER_HZ on Linux.
const clockTicks = 100
