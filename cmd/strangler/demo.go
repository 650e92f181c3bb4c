package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/config"
	"github.com/stranglerfig/strangler/demo"
)

func newDemoCmd() *cobra.Command {
	var listen string
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
			path, err := b.WriteConfig(listen)
			if err != nil {
				return err
			}
			defer os.RemoveAll(filepath.Dir(path))
			return runServe(cmd.Context(), serveOptions{
				path:      path,
				source:    config.Source{},
				out:       cmd.OutOrStdout(),
				errOut:    cmd.ErrOrStderr(),
				listening: func(addr string) { printDemoBanner(cmd.ErrOrStderr(), addr, path, b) },
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "proxy listen address")
	return cmd
}

func printDemoBanner(w io.Writer, addr, path string, b *demo.Backends) {
	base := "http://" + addr
	fmt.Fprintf(w, `
strangler demo is running
  proxy     %[1]s
  monolith  %[2]s   (direct, for comparison)
  orders    %[3]s   (direct, for comparison)
  config    %[4]s   (edit it: the proxy reloads it live)

Try:
  curl -i %[1]s/api/products/1                          # route products, stage legacy: the monolith answers
  curl -i %[1]s/api/orders                              # route order-list, stage migrated: the orders service answers
  curl -i -H 'X-User-ID: alice' %[1]s/api/orders/1001   # route order-details, canary 50%%: alice always lands on one side
  curl -i -H 'X-User-ID: bob'   %[1]s/api/orders/1001   #   ... and bob on his (see the X-Served-By header)
  curl -i %[1]s/api/users/1                             # no route: the monolith answers
Stop with Ctrl-C.

`, base, b.LegacyURL, b.OrdersURL, path)
}
