package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stranglerfig/strangler/config"
)

// newSchemaCmd prints the route file's JSON Schema, the one committed as
// config.schema.json (make schema regenerates that file with it).
func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the route file's JSON Schema (config.schema.json) for editors and validators",
		Long: "schema prints the JSON Schema (draft 2020-12) of the route file, generated\n" +
			"from the config types: editors that read the yaml-language-server comment at\n" +
			"the top of config.yaml validate and complete keys with it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := config.SchemaJSON()
			if err != nil {
				return fmt.Errorf("generating the config schema: %w", err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}
