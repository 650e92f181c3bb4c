package proxy

import (
	"context"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"syscall"

	"github.com/stranglerfig/strangler/config"
)

// Reloader reloads a Proxy from its config file: on file changes, on
// SIGHUP, or when asked. A file that fails to load or validate is
// rejected whole and logged once with every problem; the last good config
// keeps serving.
type Reloader struct {
	Proxy  *Proxy
	Path   string
	Source config.Source
	// Apply installs a loaded config; nil means Proxy.Apply. The rollout
	// controller puts its overrides on top here.
	Apply func(*config.Config) error
	// Done, if set, is called after each reload attempt with its result.
	Done func(source string, err error)

	mu      sync.Mutex // one reload at a time
	once    sync.Once
	watcher *config.Watcher
}

// fileWatcher is the Reloader's one file watcher, made on first use.
func (r *Reloader) fileWatcher() *config.Watcher {
	r.once.Do(func() { r.watcher = config.NewWatcher(r.Path, config.DefaultDebounce) })
	return r.watcher
}

// Watching is closed once Run's file watcher has registered its
// directories and read the file: a change written after that is seen.
// It stays open when the file cannot be watched.
func (r *Reloader) Watching() <-chan struct{} { return r.fileWatcher().Ready() }

// Reload loads the file and applies it. source ("file", "signal",
// "admin") is logged.
func (r *Reloader) Reload(source string) error { return r.reload(source, nil) }

// reload applies data, the file's content as the watcher found it stable,
// or, when data is nil, what the file holds now.
func (r *Reloader) reload(source string, data []byte) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Done != nil {
		defer func() { r.Done(source, err) }()
	}
	log := r.Proxy.log
	var cfg *config.Config
	if data != nil {
		cfg, err = config.LoadData(data, r.Path, r.Source)
	} else {
		cfg, err = config.Load(r.Path, r.Source)
	}
	if err == nil {
		apply := r.Apply
		if apply == nil {
			apply = r.Proxy.Apply
		}
		err = apply(cfg)
	}
	if err != nil {
		log.Error().Str("source", source).Str("file", r.Path).Strs("problems", config.ProblemStrings(err)).
			Msg("config rejected; the last good config keeps serving")
		return err
	}
	for _, note := range restartNeeded(r.Proxy.started, cfg) {
		log.Warn().Str("source", source).Str("field", note).Msg("changed setting takes effect only after a restart")
	}
	log.Info().Str("source", source).Str("file", r.Path).Int("routes", len(cfg.Routes)).Msg("config reloaded")
	return nil
}

// Run watches the file and SIGHUP until ctx is done. It returns when both
// watchers have stopped.
func (r *Reloader) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		err := r.fileWatcher().Run(ctx,
			func(data []byte) { _ = r.reload("file", data) },
			func(err error) { r.Proxy.log.Warn().Err(err).Msg("config watch") })
		if err != nil {
			r.Proxy.log.Warn().Err(err).Msg("config file is not watched; reload with SIGHUP")
		}
	})
	wg.Go(func() {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = r.Reload("signal")
			}
		}
	})
	wg.Wait()
}

// restartNeeded lists settings that differ from the ones the process
// started with and cannot change while it runs.
func restartNeeded(started, now *config.Config) []string {
	if started == nil {
		return nil
	}
	var out []string
	check := func(field string, changed bool) {
		if changed {
			out = append(out, field)
		}
	}
	check("listen", started.Listen != now.Listen)
	check("admin", started.Admin != now.Admin)
	check("server", started.Server != now.Server)
	check("log", started.Log != now.Log)
	check("shadowing", !started.Shadowing.Equal(now.Shadowing))
	check("reports", started.Reports != now.Reports)
	check("automation.interval", started.Automation != now.Automation)
	check("tracing", !reflect.DeepEqual(started.Tracing, now.Tracing))
	return out
}
