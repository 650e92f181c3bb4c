// Command peers benchmarks strangler side by side with the proxies users
// would otherwise put in front of a monolith (nginx, HAProxy, Caddy, a bare
// httputil.ReverseProxy with the default transport and a tuned one, the
// reference), on loopback: throughput with wrk in interleaved
// rounds (medians, CPU per request from /proc), then latency at a fixed
// request rate with vegeta, with shadowing off and on (fast, slow and dead
// candidates). It writes a Markdown table and an SVG chart to -out, stops
// every process it started, and is bounded in time.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	rounds   int
	duration time.Duration
	warmup   time.Duration
	conns    int
	rate     int
	latDur   time.Duration
	out      string
	bin      string
	only     string
	extra    extras
	limit    time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds over all targets")
	flag.DurationVar(&o.duration, "duration", 6*time.Second, "wrk duration per target and round")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "wrk warm-up per target and round")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections")
	flag.IntVar(&o.rate, "rate", 1000, "fixed request rate for the latency phase (requests/s)")
	flag.DurationVar(&o.latDur, "latency-duration", 8*time.Second, "duration of each fixed-rate run")
	flag.StringVar(&o.out, "out", "results", "folder for the Markdown table and the SVG chart")
	flag.StringVar(&o.bin, "bin", "", "folder with the built strangler, backend, bareproxy, tunedproxy and floor binaries")
	flag.StringVar(&o.only, "only", "", "run only this phase: throughput or latency")
	flag.DurationVar(&o.limit, "limit", 15*time.Minute, "stop everything and fail when the run takes longer")
	flag.Var(&o.extra, "extra", "NAME=COMMAND: one more proxy to measure, started as COMMAND with {listen} and\n"+
		"{backend} (host:port) replaced; answers /small from the backend (repeatable)")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	started := time.Now()
	work, err := os.MkdirTemp("", "strangler-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	procs := &processes{}
	defer procs.stopAll()
	finished := make(chan struct{})
	defer close(finished)
	go stopOnInterrupt(procs, o.limit, finished)

	backend, err := procs.startBackend(o.bin, 0)
	if err != nil {
		return err
	}
	var results []result
	if o.only != "latency" {
		targets, err := startTargets(procs, o.bin, work, backend, o.extra)
		if err != nil {
			return err
		}
		log.Printf("throughput: %d targets x %d rounds x %s", len(targets), o.rounds, o.duration+o.warmup)
		if results, err = throughput(targets, o); err != nil {
			return err
		}
	}
	var latency []latencyResult
	if o.only != "throughput" {
		if latency, err = latencyPhase(procs, o, work, backend); err != nil {
			return err
		}
	}
	rep := report{When: started, Machine: machine(), Throughput: results, Latency: latency, Opts: o}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	stamp := started.UTC().Format("20060102-150405")
	md := rep.markdown()
	if err := os.WriteFile(filepath.Join(o.out, "bench-"+stamp+".md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "bench-"+stamp+".svg"), []byte(rep.svg()), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	log.Printf("done in %s; results in %s", time.Since(started).Round(time.Second), o.out)
	return nil
}

// stopOnInterrupt ends every process the run started and exits with 1 on
// SIGINT or SIGTERM, or when the run is still going after limit: the
// proxies run in their own process groups, so a Ctrl-C would not reach
// them. It returns when finished is closed.
func stopOnInterrupt(procs *processes, limit time.Duration, finished <-chan struct{}) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case <-finished:
		return
	case s := <-sig:
		log.Printf("%s: stopping everything this run started", s)
	case <-time.After(limit):
		log.Printf("the run took longer than -limit %s: stopping everything it started", limit)
	}
	procs.stopAll()
	os.Exit(1)
}
