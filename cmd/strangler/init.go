package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"text/template"

	"github.com/spf13/cobra"
)

// starterTemplate is the route file strangler init writes.
var starterTemplate = template.Must(template.New("starter").Parse(`# strangler route file, written by strangler init.
# Reference for every key and its default: docs/config.md
# How routes move (legacy -> shadow -> canary -> migrated): docs/rollout.md
# Comparing answers in shadow: docs/shadowing.md; running it: docs/operations.md
# Check this file with:   strangler validate {{.Out}}
# Run the proxy with it:  strangler serve --config {{.Out}}

listen: "127.0.0.1:8080"            # where clients reach the proxy
admin:
  listen: "127.0.0.1:9901"          # admin API, dashboard (/admin/) and metrics; keep it on loopback

log:
  level: info                       # trace | debug | info | warn | error
  format: json                      # json | console

legacy:                             # your monolith: it answers everything no route moved
  url: {{.LegacyURL}}
  timeout: 30s

# services:                         # the new services routes move to
#   orders:
#     url: http://127.0.0.1:8082
#     timeout: 5s

routes:                             # tried in this order; the first match wins
  - name: example                   # unique; used in reports, metrics and strangler route NAME
    match:
      prefix: /api/example          # or path: "/api/orders/{id:[0-9]+}" (gorilla/mux template)
    stage: legacy                   # legacy | shadow | canary | migrated
    # To move it: add the service above, then
    #   service: orders
    #   stage: shadow               # the monolith answers, the service gets a copy to compare
    #   plan: [shadow, canary 5, canary 25, migrated]
`))

func newInitCmd() *cobra.Command {
	var legacyURL, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "init --legacy-url URL [--out FILE] [--force]",
		Short: "Write a commented starter route file for your monolith",
		Long: "init writes a route file that validates: the monolith at --legacy-url, one\n" +
			"example route in stage legacy and pointers to the docs. It refuses to\n" +
			"overwrite an existing file unless --force.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLegacyURL(legacyURL); err != nil {
				return err
			}
			data, err := starterFile(legacyURL, out)
			if err != nil {
				return err
			}
			if err := writeNew(out, data, force); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s for the monolith at %s\nnext: strangler validate %[1]s && strangler serve --config %[1]s\n",
				out, legacyURL)
			return err
		},
	}
	cmd.Flags().StringVar(&legacyURL, "legacy-url", "", "the monolith's base URL, e.g. http://127.0.0.1:8081 (required)")
	cmd.Flags().StringVar(&out, "out", "config.yaml", "file to write")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite the file if it exists")
	_ = cmd.MarkFlagRequired("legacy-url")
	return cmd
}

// checkLegacyURL accepts an absolute http or https URL.
func checkLegacyURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--legacy-url %q: want the monolith's base URL, like http://127.0.0.1:8081", s)
	}
	return nil
}

// starterFile renders the starter route file.
func starterFile(legacyURL, out string) ([]byte, error) {
	var b bytes.Buffer
	if err := starterTemplate.Execute(&b, map[string]string{"LegacyURL": legacyURL, "Out": out}); err != nil {
		return nil, fmt.Errorf("rendering the starter route file for %s: %w", legacyURL, err)
	}
	return b.Bytes(), nil
}

// writeNew writes data to path, refusing an existing file unless force.
func writeNew(path string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; pass --force to overwrite it, or --out to write elsewhere", path)
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
