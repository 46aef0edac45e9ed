package main

import "github.com/spf13/cobra"

func (a *app) exportCommand() *cobra.Command {
	return &cobra.Command{Use: "export", Short: "Export a release as a cohort dataset (not built yet)", RunE: notBuilt("export")}
}
