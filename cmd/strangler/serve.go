package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/admin"
	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/metrics"
	"github.com/stranglerfig/strangler/plan"
	"github.com/stranglerfig/strangler/progress"
	"github.com/stranglerfig/strangler/proxy"
	"github.com/stranglerfig/strangler/report"
	"github.com/stranglerfig/strangler/rollout"
	"github.com/stranglerfig/strangler/rollout/etcdstate"
	"github.com/stranglerfig/strangler/shadow"
	"github.com/stranglerfig/strangler/tracing"
)

func newServeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the proxy from a route file",
		Long: "serve runs the proxy from --config. STRANGLER_* environment variables\n" +
			"override the file and flags override both. The file is watched and\n" +
			"reloaded on change and on SIGHUP; SIGTERM or SIGINT drain and stop.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), serveOptions{
				path:   path,
				source: config.Source{Flags: cmd.Flags(), Env: true},
				out:    cmd.OutOrStdout(),
				errOut: cmd.ErrOrStderr(),
			})
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config.yaml", "route file")
	config.AddFlags(cmd.Flags())
	return cmd
}

// serveOptions are the inputs of one proxy run.
type serveOptions struct {
	path   string
	source config.Source
	out    io.Writer // logs
	errOut io.Writer // config problems at start
	// listening, if set, is called with the data-plane and admin
	// addresses once both accept connections.
	listening func(data, admin string)
	// newLogger, if set, builds the logger instead of logging to out.
	newLogger func(config.Log) (zerolog.Logger, func() error, error)
	// started, if set, is called with the running proxy once it serves
	// (after listening), for in-process figures.
	started func(*app)
	// progressEvery, if set, replaces the progress sampling interval
	// (progress.DefaultEvery), for tests.
	progressEvery time.Duration
}

// app is one running proxy: data plane, control plane and admin API.
type app struct {
	cfg      *config.Config
	log      zerolog.Logger
	metrics  *metrics.Registry
	proxy    *proxy.Proxy
	control  *rollout.Controller
	reloader *proxy.Reloader
	ready    *readiness
	token    string
	reports  *report.Store
	shadow   *shadow.Dispatcher
	tracer   *tracing.Tracer // nil when tracing is off
	auto     *rollout.Automator
	etcd     *etcdstate.Store       // nil with the file backend
	members  *etcdstate.Registry    // nil with the file backend
	fileHash atomic.Pointer[string] // sha256 of the route file last applied

	// figures publishes this replica's counts and sums the cluster's;
	// nil with the file backend.
	figures *etcdstate.ClusterFigures
	// progress records the migration's progress every 5 minutes.
	progress *progress.Sampler
}

// runServe loads the config, serves until ctx is done, then drains.
func runServe(ctx context.Context, o serveOptions) error {
	cfg, err := config.Load(o.path, o.source)
	if err != nil {
		if ferr := routeFileError(o.path, err); ferr != nil {
			return ferr
		}
		for _, p := range config.Problems(err) {
			fmt.Fprintln(o.errOut, p)
		}
		return exitCode(1)
	}
	var log zerolog.Logger
	var closeLog func() error
	if o.newLogger != nil {
		if log, closeLog, err = o.newLogger(cfg.Log); err != nil {
			return err
		}
	} else {
		log, closeLog = proxy.NewLogger(cfg.Log, o.out)
	}
	defer func() {
		if err := closeLog(); err != nil {
			fmt.Fprintln(o.errOut, "strangler: writing logs:", err)
		}
	}()
	a, err := newApp(cfg, log, o)
	if err != nil {
		return err
	}
	defer shutdownTracing(a)
	tuneGC(cfg.Server, a.log)
	defer a.proxy.Close()
	return a.run(ctx, o)
}

func newApp(cfg *config.Config, log zerolog.Logger, o serveOptions) (*app, error) {
	a := &app{cfg: cfg, log: log, metrics: metrics.New(),
		token: os.Getenv(cfg.Admin.TokenEnv)}
	if err := admin.CheckExposure(cfg.Admin.Listen, a.token, cfg.Admin.TokenEnv); err != nil {
		return nil, err
	}
	var err error
	a.reports, err = report.New(report.Options{MaxResults: cfg.Reports.MaxResults, MaxBytes: int64(cfg.Reports.MaxBytes),
		QueueSize: cfg.Reports.Queue, MaxExcerpt: int(cfg.Reports.MaxExcerpt)})
	if err != nil {
		return nil, fmt.Errorf("building the report store: %w", err)
	}
	if a.tracer, err = startTracing(cfg.Tracing, a.log); err != nil {
		return nil, err
	}
	if a.tracer != nil {
		a.metrics.TracingSpans(func() (uint64, uint64, uint64) {
			c := a.tracer.Counts()
			return c.Ended, c.Exported, c.Failed
		})
	}
	a.shadow = shadow.New(shadow.Options{Workers: cfg.Shadowing.Workers, Queue: cfg.Shadowing.Queue,
		Observer: a.metrics, Sink: a.reports, Log: a.log, Secret: []byte(os.Getenv(cfg.Shadowing.SecretEnv)),
		Tracer: a.tracer})
	if a.proxy, err = proxy.New(cfg, proxy.Options{Log: a.log, Metrics: a.metrics, Shadow: a.shadow,
		Tracer: a.tracer}); err != nil {
		shutdownTracing(a)
		return nil, fmt.Errorf("building proxy: %w", err)
	}
	if a.control, err = a.newController(cfg); err != nil {
		return nil, err
	}
	if err := a.control.LoadFile(cfg); err != nil {
		if a.etcd != nil {
			a.etcd.Close()
		}
		return nil, fmt.Errorf("applying the config with its overrides: %w", err)
	}
	a.fileHash.Store(&cfg.FileSHA256)
	if err := a.register(); err != nil {
		a.etcd.Close()
		a.proxy.Close()
		return nil, err
	}
	for _, v := range a.control.Routes() {
		a.metrics.SetRouteState(v.Name, v.Stage, v.Percent)
	}
	a.reloader = &proxy.Reloader{Proxy: a.proxy, Path: o.path, Source: o.source, Apply: a.loadFile,
		Done: func(_ string, err error) { a.metrics.ConfigReload(err == nil) }}
	a.ready = &readiness{control: a.control}
	a.figures = a.newFigures()
	a.auto = rollout.NewAutomator(a.control, a.gateFigures(), a.proxy, a.log)
	return a, nil
}

// run serves the data plane and the admin API until ctx is done, then
// drains both.
func (a *app) run(ctx context.Context, o serveOptions) error {
	dataLn, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return listenError(a.cfg.Listen, "listen", "listen", err)
	}
	adminLn, err := net.Listen("tcp", a.cfg.Admin.Listen)
	if err != nil {
		dataLn.Close()
		return listenError(a.cfg.Admin.Listen, "admin.listen", "admin-listen", err)
	}
	warnUnreachable(o.errOut, a.log, a.cfg.Legacy)
	stop, cancelStop := context.WithCancel(context.Background())
	defer cancelStop()
	var wg sync.WaitGroup
	a.shadow.Start()
	storeCtx, stopStore := context.WithCancel(context.Background())
	var storeWG sync.WaitGroup
	storeWG.Go(func() { a.reports.Run(storeCtx) })
	defer func() {
		// After the servers: finish queued copies briefly, then store them.
		sctx, cancel := context.WithTimeout(context.Background(), shadowDrain)
		a.shadow.Stop(sctx)
		cancel()
		stopStore()
		storeWG.Wait()
	}()
	var leader rollout.Leadership // nil with the file backend
	if a.etcd != nil {
		defer a.etcd.Close()
		defer a.members.Close() // leave the list at once, before the client closes
		wg.Go(func() { a.etcd.Run(stop, a.control) })
		wg.Go(func() { a.members.Run(stop) })
		el := a.elector()
		leader = el
		wg.Go(func() { el.Run(stop) })
		defer a.figures.Close() // leave the cluster sum at once
		wg.Go(func() { a.figures.Run(stop) })
		wg.Go(func() { a.etcd.ShareNoise(stop, a.shadow, etcdstate.DefaultNoiseEvery) })
	}
	wg.Go(func() { a.reloader.Run(stop) })
	wg.Go(func() { a.auto.Run(stop, a.cfg.Automation.Interval) })
	a.progress = a.newProgress(leader, o.progressEvery)
	wg.Go(func() { a.progress.Run(stop) })
	wg.Go(func() { a.drainOn(ctx, stop, cancelStop) })

	a.log.Info().Str("listen", dataLn.Addr().String()).Str("admin", adminLn.Addr().String()).
		Str("config", o.path).Int("routes", len(a.cfg.Routes)).Bool("admin_token", a.token != "").
		Msg("strangler is serving")
	if o.listening != nil {
		o.listening(dataLn.Addr().String(), adminLn.Addr().String())
	}
	if o.started != nil {
		o.started(a)
	}
	errs := make(chan error, 2)
	serve := func(h http.Handler, ln net.Listener) {
		err := proxy.Serve(stop, proxy.NewServer(h, a.cfg.Server, a.log), ln, a.cfg.Server.ShutdownTimeout)
		cancelStop() // one server ending stops the other
		errs <- err
	}
	wg.Go(func() { serve(a.proxy.Handler(), dataLn) })
	wg.Go(func() { serve(a.adminHandler(o.path), adminLn) })
	err = errors.Join(<-errs, <-errs)
	wg.Wait()
	a.log.Info().Err(err).Msg("strangler stopped")
	return err
}

// tracingFlush bounds how long the spans still queued may take to export
// at shutdown.
const tracingFlush = 5 * time.Second

// startTracing sets up tracing when the config turns it on.
func startTracing(cfg config.Tracing, log zerolog.Logger) (*tracing.Tracer, error) {
	tr, err := tracing.New(context.Background(), cfg, log)
	if err != nil {
		return nil, fmt.Errorf("setting up tracing: %w", err)
	}
	if tr != nil {
		proto, _ := tracing.Protocol(cfg)
		log.Info().Str("endpoint", cfg.Endpoint).Str("protocol", proto).Float64("sample_ratio", cfg.Ratio()).
			Str("service_name", cfg.ServiceName).Msg("tracing on")
	}
	return tr, nil
}

// shutdownTracing exports the spans still queued (the shadow copies' come
// last: the dispatcher has stopped by then) and stops the exporter.
func shutdownTracing(a *app) {
	ctx, cancel := context.WithTimeout(context.Background(), tracingFlush)
	defer cancel()
	if err := a.tracer.Shutdown(ctx); err != nil {
		a.log.Warn().Err(err).Msg("tracing: spans lost at shutdown")
	}
}

// shadowDrain bounds how long queued shadow copies may still run at
// shutdown; the rest are dropped and counted.
const shadowDrain = 2 * time.Second

// drainOn turns readiness off when ctx ends, waits the drain delay so load
// balancers notice, then stops the servers. It returns early if the
// servers stop on their own.
func (a *app) drainOn(ctx, stop context.Context, stopServers context.CancelFunc) {
	select {
	case <-stop.Done():
		return
	case <-ctx.Done():
	}
	a.ready.drain()
	a.log.Info().Dur("drain_delay", a.cfg.Server.DrainDelay).Msg("draining: readiness is off")
	select {
	case <-time.After(a.cfg.Server.DrainDelay):
	case <-stop.Done():
	}
	stopServers()
}

func (a *app) adminHandler(path string) http.Handler {
	figures, replicaFigures := a.adminFigures()
	return admin.New(admin.Deps{
		Control: a.control, Figures: figures, ReplicaFigures: replicaFigures, Ready: a.ready.check, Degraded: a.control.Degraded,
		Reload:    func() error { return a.reloader.Reload("admin") },
		Metrics:   a.metrics.Handler(),
		Inventory: a.proxy.Inventory(), ConfigPath: path, Token: a.token, Log: a.log, Pprof: a.cfg.Admin.Pprof,
		Reports: a.reports, Shadow: a.shadow, Timeline: a.metrics.Timeline,
		Automation: a.auto, Breakers: a.proxy, Cluster: a.clusterView,
		Planner: a.proxy.Planner(), PlanOptions: func() plan.BuildOptions {
			cfg := a.proxy.Config()
			w := plan.WeightsOf(cfg.Planner.Weights)
			return plan.BuildOptions{Config: cfg, Window: planIdleWindow, Weights: &w}
		},
		Progress: a.progress,
	})
}

// newProgress returns the progress sampler on the state backend: a file
// beside the state file, or keys under the etcd prefix written by the
// automation leader alone (leader nil: the file backend).
// every <= 0 samples every progress.DefaultEvery.
func (a *app) newProgress(leader rollout.Leadership, every time.Duration) *progress.Sampler {
	o := progress.Options{Inventory: a.proxy.Planner(), Log: a.log, Every: every,
		Store:  progress.FileStore{Path: progress.FileFor(a.cfg.StateFile)},
		Routes: func() progress.Stages { return routeStages(a.control.Routes()) }}
	if a.etcd != nil && leader != nil {
		o.Store = a.etcd.Progress(progress.DefaultKeep)
		o.Record = func() bool { _, self := leader.Leader(); return self }
	}
	return progress.NewSampler(o)
}

// routeStages counts routes by stage.
func routeStages(routes []rollout.RouteView) progress.Stages {
	var st progress.Stages
	for _, r := range routes {
		st.Add(r.Stage)
	}
	return st
}

// planIdleWindow is how long a route may see no request before the plan
// reports it as idle (a typo or a dead route).
const planIdleWindow = time.Hour

// newController builds the rollout controller on the configured state
// backend: the state file, or etcd (the state file is then imported once
// into an empty prefix).
func (a *app) newController(cfg *config.Config) (*rollout.Controller, error) {
	file := rollout.FileStore{Path: cfg.StateFile}
	opts := rollout.Options{Store: file, Applier: a.proxy, Log: a.log, Observer: metricsObserver{a.metrics}}
	if cfg.State.Backend == config.BackendEtcd {
		replica := cfg.Replica.ReplicaName()
		st, err := etcdstate.Open(etcdstate.Options{Config: cfg.State.Etcd, Replica: replica,
			Log: a.log, OnHealth: a.metrics.SetStateBackendUp})
		if err != nil {
			return nil, fmt.Errorf("opening the etcd state backend (state.etcd): %w", err)
		}
		if err := importState(st, file, a.log); err != nil {
			st.Close()
			return nil, err
		}
		a.etcd, opts.Shared, opts.Replica = st, st, replica
		a.metrics.SetStateBackendUp(true)
	}
	c, err := rollout.New(opts)
	if err != nil {
		if a.etcd != nil {
			a.etcd.Close()
		}
		return nil, fmt.Errorf("loading state (%s backend): %w", cfg.State.Backend, err)
	}
	return c, nil
}

// elector makes automation on this replica decide only while it leads
// (etcd backend): the gauge and the log follow the leader.
func (a *app) elector() *etcdstate.Elector {
	a.metrics.SetAutomationLeader(false)
	el := a.etcd.Elector(etcdstate.ElectorOptions{OnChange: func(leader string, self bool) {
		a.metrics.SetAutomationLeader(self)
		a.log.Info().Str("leader", leader).Bool("self", self).Msg("automation leader changed")
	}})
	a.auto.SetLeadership(el)
	return el
}

// importState initialises an empty etcd prefix, importing the state file
// when there is one (once, whichever replica comes first).
func importState(st *etcdstate.Store, file rollout.FileStore, log zerolog.Logger) error {
	state, err := file.Load()
	if err != nil {
		return fmt.Errorf("reading the state file to import into etcd: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	imported, err := st.Init(ctx, state, file.Path)
	if err != nil {
		return fmt.Errorf("initialising the etcd state (state.etcd): %w", err)
	}
	if imported {
		log.Info().Str("state_file", file.Path).Int("overrides", len(state.Overrides)).Msg("imported the state file into etcd")
	}
	return nil
}
