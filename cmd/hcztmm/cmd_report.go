package main

import "github.com/spf13/cobra"

func (a *app) reportCommand() *cobra.Command {
	return &cobra.Command{Use: "report", Short: "Write the researchers' findings report of a release (not built yet)", RunE: notBuilt("report")}
}
