package main

import (
	"encoding/json"

	"github.com/spf13/cobra"
)

func (a *app) modelCommand() *cobra.Command {
	var version string
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Print the maturity model as JSON",
		Long:  "Print a version of the maturity model (domains, capabilities, level descriptions, postures, rules, cohort grid) as JSON.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := a.models.Latest()
			if version != "" {
				var err error
				if m, err = a.models.Get(version); err != nil {
					return usageError("%v", err)
				}
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "model version (default: the latest)")
	return cmd
}
