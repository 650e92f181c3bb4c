package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/config"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a route file; print every problem with its field and reason",
		Long: "validate loads FILE exactly as serve would (without environment or flag\n" +
			"overrides) and exits 0 when it is valid, 1 with every problem otherwise.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0], config.Source{})
			if err != nil {
				problems := config.Problems(err)
				for _, p := range problems {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: invalid (%d problem(s))\n", args[0], len(problems))
				return exitCode(1)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d routes, %d services)\n",
				args[0], len(cfg.Routes), len(cfg.Services))
			return err
		},
	}
}
