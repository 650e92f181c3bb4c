package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stranglerfig/strangler/config"
)

func TestStranglerConfigLoads(t *testing.T) {
	for _, stage := range []string{"legacy", "migrated", "shadow"} {
		data := stranglerConfig("127.0.0.1:1", "127.0.0.1:2", "http://127.0.0.1:3", "http://127.0.0.1:4", stage, "standard")
		cfg, err := config.Parse([]byte(data), "bench.yaml", config.Source{})
		if err != nil {
			t.Fatalf("%s: the benchmark config is invalid: %v", stage, err)
		}
		if cfg.Legacy.Client != "standard" || cfg.Services["svc"].Client != "standard" {
			t.Errorf("%s: clients %q, %q; want standard", stage, cfg.Legacy.Client, cfg.Services["svc"].Client)
		}
		if n := len(cfg.Routes); n != 100 || cfg.Routes[99].Match.Path != "/small" || cfg.Routes[99].Stage != stage {
			t.Errorf("%s: %d routes, last %+v; want 100 with /small last", stage, n, cfg.Routes[99])
		}
	}
}

func TestMedian(t *testing.T) {
	r := median("x", []sample{{rps: 3, p99: 3 * time.Millisecond}, {rps: 1, p99: time.Millisecond}, {rps: 2, p99: 2 * time.Millisecond}})
	if r.rps != 2 || r.p99 != 2*time.Millisecond {
		t.Errorf("median = %+v; want the middle values", r)
	}
}

func TestWrkOutputParsing(t *testing.T) {
	out := `Running 6s test @ http://127.0.0.1:1/small
  Latency Distribution
     50%  1.25ms
     75%    2.10ms
     99%  520.00us
  131016 requests in 6.00s, 40.11MB read
Requests/sec:  21836.12
`
	m := rpsRe.FindStringSubmatch(out)
	if m == nil || m[1] != "21836.12" {
		t.Fatalf("req/s not found: %v", m)
	}
	lat := latRe.FindAllStringSubmatch(out, -1)
	if len(lat) != 2 || lat[0][2]+lat[0][3] != "1.25ms" || lat[1][2]+lat[1][3] != "520.00us" {
		t.Errorf("latencies = %v; want 50%% and 99%% lines", lat)
	}
	if unit("us") != time.Microsecond || unit("s") != time.Second {
		t.Error("unit conversion")
	}
}

func TestExtraFlag(t *testing.T) {
	tests := []struct {
		value   string
		wantErr string
	}{
		{"fast=/usr/bin/fastproxy -addr {listen} -up {backend}", ""},
		{"nocmd=", "want NAME=COMMAND"},
		{"=cmd {listen}", "want NAME=COMMAND"},
		{"noequals", "want NAME=COMMAND"},
		{"nolisten=/usr/bin/proxy -up {backend}", "no {listen} placeholder"},
	}
	for _, tt := range tests {
		var e extras
		err := e.Set(tt.value)
		if tt.wantErr == "" {
			if err != nil || len(e) != 1 || e[0].name != "fast" || e.String() != "fast" {
				t.Errorf("Set(%q) = %v, %+v", tt.value, err, e)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Set(%q) = %v, want an error with %q", tt.value, err, tt.wantErr)
		}
	}
}

func TestHeadlineAgainstTunedProxy(t *testing.T) {
	r := report{
		Opts: options{rate: 1000},
		Throughput: []result{
			{name: "tuned-httputil", rps: 20000, p99: 2 * time.Millisecond, cpuUsReq: 20},
			{name: "strangler-legacy", rps: 30000, p99: 3 * time.Millisecond, cpuUsReq: 30},
		},
		Latency: []latencyResult{
			{name: "tuned httputil.ReverseProxy", p50: time.Millisecond, p99: 2 * time.Millisecond},
			{name: "strangler, shadow off", p50: time.Millisecond, p99: 3 * time.Millisecond},
		},
	}
	md := r.markdown()
	for _, want := range []string{
		"| × tuned httputil |",
		"| strangler-legacy | 30000 | 1.50 |",
		"req/s × 1.50, CPU µs/req × 1.50, p99 × 1.50 (3.00 vs 2.00 ms)",
		"At 1000 req/s (open loop): p99 × 1.50 (3.00 vs 2.00 ms)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
