package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/plan/plantest"
)

// TestPlanLargeLog streams a generated 1 M-line log of a 240-family
// monolith into `strangler plan --access-log -` and reports its speed and
// peak RSS.
func TestPlanLargeLog(t *testing.T) {
	const lines = 1_000_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "plan", "--access-log", "-", "--format", "json", "--top", "5")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	mono := plantest.New(240, 7)
	_, genErr := mono.WriteLog(stdin, lines, 11)
	stdin.Close()
	if err := cmd.Wait(); err != nil || genErr != nil {
		t.Fatalf("plan: %v, generator: %v\n%s", err, genErr, errOut.String())
	}
	took := time.Since(start)
	maxRSS := peak() // KiB
	t.Logf("%d lines in %v: %.0f lines/s, peak RSS %d MiB", lines, took.Round(time.Millisecond),
		float64(lines)/took.Seconds(), maxRSS>>10)
	var p plan.Plan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatalf("output is not a plan: %v\n%.500s", err, out.String())
	}
	if p.Requests != uint64(lines) || p.Log == nil || p.Log.Parsed != int64(lines) || len(p.Suggestions) != 5 {
		t.Fatalf("plan of %d requests, log %+v, %d suggestions", p.Requests, p.Log, len(p.Suggestions))
	}
	if maxRSS > 150<<10 {
		t.Errorf("peak RSS %d MiB: want the log streamed in bounded memory", maxRSS>>10)
	}
}

func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "access.log")
	var log strings.Builder
	for i := range 300 {
		log.WriteString(`10.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "GET /api/catalog/` + strconv.Itoa(i) + ` HTTP/1.1" 200 900 "-" "ua" 0.010` + "\n")
		if i%3 == 0 {
			log.WriteString(`10.0.0.1 - - [10/Oct/2025:13:55:36 +0000] "POST /api/orders HTTP/1.1" 201 40 "-" "ua" 0.200` + "\n")
		}
	}
	if err := os.WriteFile(logFile, []byte(log.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "routes.yaml")
	routes := "legacy:\n  url: http://127.0.0.1:9\nservices:\n  orders:\n    url: http://127.0.0.1:9\nroutes:\n" +
		"  - {name: api, match: {prefix: /api/}, service: orders, stage: shadow}\n" +
		"  - {name: orders, match: {prefix: /api/orders}, service: orders, stage: shadow}\n"
	if err := os.WriteFile(cfgFile, []byte(routes), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    []string
	}{
		{"markdown", []string{"--access-log", logFile}, false,
			[]string{"# Migration plan", "### 1. `/api/catalog`", "prefix: /api/catalog/", "`/api/catalog/{id}`"}},
		{"json top 1", []string{"--access-log", logFile, "--format", "json", "--top", "1"}, false,
			[]string{`"suggestions": [`, `"prefix": "/api/catalog"`}},
		{"with config", []string{"--access-log", logFile, "--config", cfgFile}, false,
			[]string{"**unreachable** `orders`", "Nothing: every endpoint seen is claimed by a route."}},
		{"no log flag", nil, true, nil},
		{"bad format", []string{"--access-log", logFile, "--format", "xml"}, true, nil},
		{"missing file", []string{"--access-log", filepath.Join(dir, "nope")}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(binary, append([]string{"plan"}, tt.args...)...).CombinedOutput()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestPlanSuggestionValidates pastes the suggested blocks of the plan
// command into a route file that `strangler validate` accepts.
func TestPlanSuggestionValidates(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "access.jsonl")
	var log strings.Builder
	for i := range 200 {
		log.WriteString(`{"method":"GET","path":"/shop/items/` + strconv.Itoa(i) + `","status":200,"duration_ms":4}` + "\n")
		log.WriteString(`{"method":"GET","path":"/shop/cart","status":200,"duration_ms":4}` + "\n")
	}
	if err := os.WriteFile(logFile, []byte(log.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "plan", "--access-log", logFile, "--format", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	var svcs, routes strings.Builder
	for _, s := range p.Suggestions {
		svcs.WriteString(s.ServiceYAML)
		routes.WriteString(s.RouteYAML)
	}
	file := writeFile(t, "legacy:\n  url: http://127.0.0.1:9\nservices:\n"+svcs.String()+"routes:\n"+routes.String())
	if res, err := exec.Command(binary, "validate", file).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, res)
	}
	if len(p.Suggestions) != 2 {
		t.Errorf("%d suggestions, want 2 (/shop/items, /shop/cart)", len(p.Suggestions))
	}
}

// TestPlanLive: without --access-log, strangler plan prints the running
// proxy's plan of the traffic it served.
func TestPlanLive(t *testing.T) {
	mono, svc := differingSides(t)
	data, adminURL := startInProcess(t, writeFile(t, shadowConfig(mono.URL, svc.URL)))
	for i := range 3 {
		for _, p := range []string{"/api/orders/" + strconv.Itoa(i), "/legacy/invoices/" + strconv.Itoa(i)} {
			resp, err := http.Get(data + p)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	var p plan.Plan
	if err := json.Unmarshal(cliStdout(t, adminURL, "plan", "--format", "json"), &p); err != nil {
		t.Fatalf("decoding the live plan: %v", err)
	}
	if p.Source != "live" || p.Requests != 6 {
		t.Errorf("source %q, %d requests; want live, 6", p.Source, p.Requests)
	}
	md := string(cliStdout(t, adminURL, "plan"))
	if !strings.Contains(md, "/legacy/invoices") {
		t.Errorf("the Markdown plan does not name the unclaimed /legacy/invoices family:\n%s", md)
	}
	if out := cliFails(t, adminURL, "plan", "--config", "x.yaml"); !strings.Contains(out, "--config applies to --access-log") {
		t.Errorf("--config without --access-log: %s", out)
	}
}

// watchPeakRSS polls the VmHWM (peak resident set) of process pid every
// 10 ms until it exits; the returned func gives the last value read, in
// KiB. Not rusage's Maxrss: Linux counts in it the resident set of the
// parent at fork time (a large test process), not the child's own peak.
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			data, err := os.ReadFile(path)
			if err != nil {
				return // exited
			}
			for line := range strings.SplitSeq(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
						peak.Store(kb)
					}
				}
				if strings.HasPrefix(line, "State:") && strings.Contains(line, "zombie") {
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() int64 { <-done; return peak.Load() }
}
