package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/demo"
	"github.com/stranglerfig/strangler/termout"
)

func newDemoCmd() *cobra.Command {
	var listen, adminListen, configOut string
	var traffic, backendsOnly, verbose bool
	var statusInterval time.Duration
	var logPath string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the proxy in front of a built-in bookshop monolith and orders service",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := demo.StartBackends()
			if err != nil {
				return err
			}
			defer b.Close()
			if backendsOnly {
				return serveBackends(cmd.Context(), cmd.OutOrStdout(), b, listen, adminListen, configOut)
			}
			path, err := b.WriteConfig(listen, adminListen)
			if err != nil {
				return err
			}
			defer os.RemoveAll(filepath.Dir(path))
			ctx, stop := context.WithCancel(cmd.Context())
			var wg sync.WaitGroup
			defer func() { stop(); wg.Wait() }() // the traffic and the status line end before the backends close
			out := cmd.OutOrStdout()
			tm := termout.For(cmd.Context(), out)
			con := &console{w: out, tty: tm.TTY, width: tm.Width}
			o := serveOptions{
				path:   path,
				source: config.Source{},
				out:    out,
				errOut: cmd.ErrOrStderr(),
				listening: func(addr, adminAddr string) {
					printDemoBanner(cmd.ErrOrStderr(), addr, adminAddr, path, logPathIf(!verbose, logPath), b)
					if traffic {
						wg.Go(func() { demo.Traffic(ctx, "http://"+addr, 250*time.Millisecond) })
					}
				},
			}
			if !verbose {
				o.newLogger = demoLogger(logPath, con)
				o.started = func(a *app) { wg.Go(func() { runStatus(ctx, a, con, statusInterval) }) }
			}
			return runServe(ctx, o)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "proxy listen address")
	cmd.Flags().StringVar(&adminListen, "admin-listen", config.DefaultAdminListen, "admin API listen address")
	cmd.Flags().BoolVar(&traffic, "traffic", true, "send gentle background traffic (4 requests a second)")
	cmd.Flags().BoolVar(&backendsOnly, "backends-only", false,
		"run only the demo monolith and services (no proxy) until stopped, for proxies started apart (deploy/local)")
	cmd.Flags().StringVar(&configOut, "config-out", "", "with --backends-only: write the demo route file for them here")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print the access log on the terminal instead of a status line (it goes to a file otherwise)")
	cmd.Flags().StringVar(&logPath, "log-file", demoLogPath(), "without --verbose: write the log here")
	cmd.Flags().DurationVar(&statusInterval, "status-every", statusEvery, "how often the status line is drawn")
	return cmd
}

// serveBackends writes the demo route file for b to configOut (when set),
// prints where the backends listen and waits until ctx ends (SIGINT or
// SIGTERM).
func serveBackends(ctx context.Context, out io.Writer, b *demo.Backends, listen, adminListen, configOut string) error {
	if configOut != "" {
		data, err := b.Config(listen, adminListen)
		if err != nil {
			return err
		}
		if err := os.WriteFile(configOut, data, 0o600); err != nil {
			return fmt.Errorf("writing the demo route file to --config-out %s: %w", configOut, err)
		}
	}
	fmt.Fprintf(out, "monolith %s\norders %s\ncatalog %s\n", b.LegacyURL, b.OrdersURL, b.CatalogURL)
	if configOut != "" {
		fmt.Fprintf(out, "route file %s\n", configOut)
	}
	<-ctx.Done()
	return nil
}

// demoLogPath is where the demo writes its log: a stable place, kept
// after the demo stops (its route file's folder is removed then).
func demoLogPath() string { return filepath.Join(os.TempDir(), "strangler-demo.log") }

// logPathIf is path when the log goes to a file, "" otherwise.
func logPathIf(toFile bool, path string) string {
	if toFile {
		return path
	}
	return ""
}

func printDemoBanner(w io.Writer, addr, adminAddr, path, logPath string, b *demo.Backends) {
	base := "http://" + addr
	fmt.Fprintf(w, `
strangler demo is running
  proxy     %[1]s
  dashboard %[5]s/admin/   (open it in a browser; API: %[5]s/admin/routes, metrics: %[5]s/metrics)
  monolith  %[2]s   (direct, for comparison)
  orders    %[3]s   (direct, for comparison)
  catalog   %[6]s   (direct, for comparison)
  config    %[4]s   (edit it: the proxy reloads it live)

Try:
  curl -i %[1]s/api/products                            # route products, stage legacy: the monolith answers
  curl -i %[1]s/api/orders                              # route order-list, stage shadow: the monolith answers, orders gets a copy
  curl -i -H 'X-User-ID: alice' %[1]s/api/orders/1001   # route order-details, canary 50%%: alice always lands on one side
  curl -i -H 'X-User-ID: bob'   %[1]s/api/orders/1001   #   ... and bob on his (see the X-Served-By header)
  curl -i %[1]s/api/users/1                             # no route: the monolith answers
See the differences (background traffic fills them in within seconds):
  strangler report                                      # match rates, top differing fields, learned noise
  strangler diffs order-details                         # recent comparisons; strangler diff ID shows one
  open %[5]s/admin/report?format=html
Watch automation: product-details walks shadow -> canary 25 -> 50 -> migrated by itself
(strangler route product-details says why it waits). Then break the catalog:
  curl -X POST %[6]s/_demo/faults -d '{"bug": true}'     # prices 10%% off: rolled back within 5 s
  curl -X POST %[6]s/_demo/faults -d '{"bug": false}'    # healthy again: it walks forward again
Steer it:
  strangler routes                                      # every route: stage, percent, figures
  strangler stage order-details canary 25 --reason "ramp"
  strangler rollback order-details                      # the monolith serves all of it at once
  strangler events                                      # the audit trail
`, base, b.LegacyURL, b.OrdersURL, path, "http://"+adminAddr, b.CatalogURL)
	if logPath != "" {
		fmt.Fprintf(w, "Access log and info lines: %s (tail -f it; --verbose prints them here).\n", logPath)
		fmt.Fprintf(w, "Below: a status line every few seconds; warnings and errors show as they come.\n")
	}
	fmt.Fprint(w, "Stop with Ctrl-C.\n\n")
}
