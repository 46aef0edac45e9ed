package main

import "github.com/spf13/cobra"

func (a *app) exportCommand() *cobra.Command {
	return &cobra.Command{Use: "export", Short: "Export a release as a cohort dataset (not built yet)", RunE: notBuilt("export")}
}

func (a *app) reportCommand() *cobra.Command {
	return &cobra.Command{Use: "report", Short: "Write the researchers' findings report of a release (not built yet)", RunE: notBuilt("report")}
}

func (a *app) keysCommand() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	keys.AddCommand(&cobra.Command{Use: "create", Short: "Mint an API key (not built yet)", RunE: notBuilt("keys create")})
	return keys
}
