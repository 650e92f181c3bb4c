package main

import (
	"fmt"
	"log"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sample is one wrk run against one target.
type sample struct {
	rps      float64
	p50, p99 time.Duration
	cpuUsReq float64 // proxy CPU µs per request (0 for direct)
}

// result is a target's median over the rounds.
type result struct {
	name     string
	rps      float64
	p50, p99 time.Duration
	cpuUsReq float64
}

// throughput runs wrk against every target in interleaved rounds
// (A B C ... A B C) so machine drift is shared, and returns medians.
func throughput(targets []target, o options) ([]result, error) {
	samples := map[string][]sample{}
	for round := 1; round <= o.rounds; round++ {
		for _, t := range targets {
			if _, err := wrk(t.url, o.warmup, o.conns); err != nil {
				return nil, fmt.Errorf("warm-up %s: %w", t.name, err)
			}
			before := cpuTicks(t.pid)
			s, err := wrk(t.url, o.duration, o.conns)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			if t.pid != 0 {
				ticks := cpuTicks(t.pid) - before
				reqs := s.rps * o.duration.Seconds()
				s.cpuUsReq = float64(ticks) / clockTicks * 1e6 / reqs
			}
			samples[t.name] = append(samples[t.name], s)
			log.Printf("round %d %-20s %9.0f req/s  p50 %-8s p99 %-8s cpu %.1f µs/req", round, t.name, s.rps, s.p50, s.p99, s.cpuUsReq)
		}
	}
	out := make([]result, 0, len(targets))
	for _, t := range targets {
		out = append(out, median(t.name, samples[t.name]))
	}
	return out, nil
}

func median(name string, ss []sample) result {
	pick := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return result{
		name:     name,
		rps:      pick(func(s sample) float64 { return s.rps }),
		p50:      time.Duration(pick(func(s sample) float64 { return float64(s.p50) })),
		p99:      time.Duration(pick(func(s sample) float64 { return float64(s.p99) })),
		cpuUsReq: pick(func(s sample) float64 { return s.cpuUsReq }),
	}
}

var (
	rpsRe = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	latRe = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// wrk runs one wrk measurement of url/small.
func wrk(url string, d time.Duration, conns int) (sample, error) {
	secs := strconv.Itoa(max(1, int(d.Seconds())))
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+secs+"s", "--latency", url+"/small").CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	m := rpsRe.FindSubmatch(out)
	if m == nil {
		return sample{}, fmt.Errorf("wrk printed no Requests/sec: %s", out)
	}
	s := sample{}
	s.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, l := range latRe.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		d := time.Duration(v * float64(unit(string(l[3]))))
		if string(l[1]) == "50" {
			s.p50 = d
		} else {
			s.p99 = d
		}
	}
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		log.Printf("warning: %s: %s", url, strings.TrimSpace(string(out)))
	}
	return s, nil
}

func unit(u string) time.Duration {
	switch u {
	case "us":
		return time.Microsecond
	case "ms":
		return time.Millisecond
	}
	return time.Second
}
