package main

import (
	"fmt"
	"html"
	"os"
	"runtime"
	"strings"
	"time"
)

// report is one run's results.
type report struct {
	When       time.Time
	Machine    string
	Throughput []result
	Latency    []latencyResult
	Opts       options
}

func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name\t: "); ok {
				model = v
				break
			}
		}
	}
	return fmt.Sprintf("%d vCPU (%s), %s", runtime.NumCPU(), model, runtime.Version())
}

func (r report) find(name string) (result, bool) {
	for _, t := range r.Throughput {
		if t.name == name {
			return t, true
		}
	}
	return result{}, false
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func (r report) findLatency(name string) (latencyResult, bool) {
	for _, l := range r.Latency {
		if l.name == name {
			return l, true
		}
	}
	return latencyResult{}, false
}

// headline compares strangler at stage legacy with the tuned Go proxy,
// the reference row: req/s, CPU per request and p99, at saturation (wrk)
// and at a fixed rate (vegeta).
func (r report) headline() string {
	var b strings.Builder
	tuned, okT := r.find("tuned-httputil")
	str, okS := r.find("strangler-legacy")
	if okT && okS {
		fmt.Fprintf(&b, "strangler (legacy) vs tuned httputil.ReverseProxy at saturation: req/s × %s, CPU µs/req × %s, p99 × %s (%s vs %s ms).\n",
			ratio(str.rps, tuned.rps), ratio(str.cpuUsReq, tuned.cpuUsReq), ratio(float64(str.p99), float64(tuned.p99)), ms(str.p99), ms(tuned.p99))
	}
	lt, okT := r.findLatency("tuned httputil.ReverseProxy")
	ls, okS := r.findLatency("strangler, shadow off")
	if okT && okS {
		fmt.Fprintf(&b, "At %d req/s (open loop): p99 × %s (%s vs %s ms), p50 × %s.\n", r.Opts.rate,
			ratio(float64(ls.p99), float64(lt.p99)), ms(ls.p99), ms(lt.p99), ratio(float64(ls.p50), float64(lt.p50)))
	}
	if b.Len() > 0 {
		return "\n" + b.String()
	}
	return ""
}

func (r report) markdown() string {
	var b strings.Builder
	nginx, _ := r.find("nginx")
	bare, _ := r.find("bare-httputil")
	tuned, _ := r.find("tuned-httputil")
	fmt.Fprintf(&b, "## Throughput (%s)\n\n", r.When.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s. wrk -t1 -c%d, %s per target after a %s warm-up, %d interleaved rounds, medians; ~200 B JSON from a Go backend on loopback.\n\n",
		r.Machine, r.Opts.conns, r.Opts.duration, r.Opts.warmup, r.Opts.rounds)
	b.WriteString("| target | req/s | × tuned httputil | × nginx | × default-transport httputil | p50 ms | p99 ms | p99 × tuned | proxy CPU µs/req | CPU × tuned | CPU × nginx |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range r.Throughput {
		cpu, cpuTuned, cpuRatio := "–", "–", "–"
		if t.cpuUsReq > 0 {
			cpu, cpuTuned, cpuRatio = fmt.Sprintf("%.1f", t.cpuUsReq), ratio(t.cpuUsReq, tuned.cpuUsReq), ratio(t.cpuUsReq, nginx.cpuUsReq)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t.name, t.rps, ratio(t.rps, tuned.rps),
			ratio(t.rps, nginx.rps), ratio(t.rps, bare.rps), ms(t.p50), ms(t.p99), ratio(float64(t.p99), float64(tuned.p99)),
			cpu, cpuTuned, cpuRatio)
	}
	fmt.Fprintf(&b, "\n## Latency at a fixed rate (%d req/s, %s, open loop)\n\n", r.Opts.rate, r.Opts.latDur)
	b.WriteString("| run | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms | added p99.9 ms | success |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.Latency {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %.2f%% |\n", l.name, ms(l.p50), ms(l.p99), ms(l.p999),
			ms(l.addedP50), ms(l.addedP99), ms(l.addedP999), 100*l.success)
	}
	b.WriteString(r.headline())
	return b.String()
}

// svg draws requests/s per target as horizontal bars, each labeled with
// its value (readable without color).
func (r report) svg() string {
	const w, barH, gap, left = 760, 22, 8, 170
	maxRPS := 1.0
	for _, t := range r.Throughput {
		maxRPS = max(maxRPS, t.rps)
	}
	h := 40 + len(r.Throughput)*(barH+gap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`, w, h)
	fmt.Fprintf(&b, `<title>requests per second by target</title><text x="10" y="20" font-weight="bold">requests/s (wrk -c%d, median of %d rounds)</text>`, r.Opts.conns, r.Opts.rounds)
	for i, t := range r.Throughput {
		y := 34 + i*(barH+gap)
		bw := int(float64(w-left-90) * t.rps / maxRPS)
		fill := "#8a8a8a"
		if strings.HasPrefix(t.name, "strangler") {
			fill = "#2b6cb0"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-8, y+16, html.EscapeString(t.name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %.0f req/s</title></rect>`, left, y, bw, barH, fill, html.EscapeString(t.name), t.rps)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%.0f</text>`, left+bw+6, y+16, t.rps)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
