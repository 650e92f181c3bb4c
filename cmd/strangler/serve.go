package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/proxy"
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
	// listening, if set, is called with the data-plane address once the
	// proxy accepts connections.
	listening func(addr string)
}

// runServe loads the config, serves until ctx is done, then drains.
func runServe(ctx context.Context, o serveOptions) error {
	cfg, err := config.Load(o.path, o.source)
	if err != nil {
		for _, p := range config.Problems(err) {
			fmt.Fprintln(o.errOut, p)
		}
		return exitCode(1)
	}
	log := proxy.NewLogger(cfg.Log, o.out)
	p, err := proxy.New(cfg, log)
	if err != nil {
		return fmt.Errorf("building proxy: %w", err)
	}
	defer p.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s (listen): %w", cfg.Listen, err)
	}
	rctx, stopReload := context.WithCancel(ctx)
	var wg sync.WaitGroup
	reloader := &proxy.Reloader{Proxy: p, Path: o.path, Source: o.source}
	wg.Go(func() { reloader.Run(rctx) })
	defer func() { stopReload(); wg.Wait() }()

	log.Info().Str("listen", ln.Addr().String()).Str("config", o.path).Int("routes", len(cfg.Routes)).
		Msg("strangler is serving")
	if o.listening != nil {
		o.listening(ln.Addr().String())
	}
	srv := proxy.NewServer(p.Handler(), cfg.Server, log)
	err = proxy.Serve(ctx, srv, ln, cfg.Server.ShutdownTimeout)
	log.Info().Err(err).Msg("strangler stopped")
	return err
}
