package main

import "github.com/spf13/cobra"

func (a *app) exportCommand() *cobra.Command {
	return &cobra.Command{Use: "export", Short: "Export a release as a cohort dataset (not built yet)", RunE: notBuilt("export")}
}

func (a *app) reportCommand() *cobra.Command {
	return &cobra.Command{Use: "report", Short: "Write the researchers' findings report of a release (not built yet)", RunE: notBuilt("report")}
}
