package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitCode is an error that carries only an exit status: the command has
// already printed what went wrong.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func asExitCode(err error, target *exitCode) bool { return errors.As(err, target) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "strangler",
		Short:         "A reverse proxy that moves a monolith's routes to new services one at a time",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newValidateCmd(), newInitCmd(), newDemoCmd(), newVersionCmd())
	root.AddCommand(newPlanCmd())
	root.AddCommand(newProgressCmd())
	root.AddCommand(newVerbCmds()...)
	root.AddCommand(newSchemaCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "strangler %s\n", versionString())
			return err
		},
	}
}
