package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/rollout"
)

// readiness answers /readyz: ready once a config is applied and every
// upstream host resolves, and not ready while draining.
type readiness struct {
	control  *rollout.Controller
	draining atomic.Bool
}

func (r *readiness) drain() { r.draining.Store(true) }

func (r *readiness) check() error {
	if r.draining.Load() {
		return errors.New("draining")
	}
	cfg := r.control.Effective()
	if cfg == nil {
		return errors.New("no config loaded")
	}
	urls := []string{cfg.Legacy.URL}
	for _, s := range cfg.Services {
		urls = append(urls, s.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, raw := range urls {
		if err := resolvable(ctx, raw); err != nil {
			return err
		}
	}
	return nil
}

// resolvable checks that the URL's host is an IP or resolves.
func resolvable(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("upstream %q: %w", raw, err)
	}
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return nil
	}
	if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
		return fmt.Errorf("upstream host %q does not resolve: %w", host, err)
	}
	return nil
}

// metricsObserver mirrors stage changes into the metrics.
type metricsObserver struct{ reg *metrics.Registry }

// Changed updates the stage gauges and counts admin changes.
func (m metricsObserver) Changed(e rollout.Event) {
	if e.Action == "removed" {
		m.reg.ForgetRoute(e.Route)
		return
	}
	m.reg.SetRouteState(e.Route, e.To.Stage, e.To.Percent)
	if e.Source != rollout.SourceFile {
		m.reg.AdminChange(e.Route, e.Action)
	}
}
