package main

import "github.com/spf13/cobra"

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "Serve the API and dashboards", RunE: notBuilt("serve")}
}

func (a *app) ingestCommand() *cobra.Command {
	return &cobra.Command{Use: "ingest", Short: "Validate, score and store submissions", RunE: notBuilt("ingest")}
}

func (a *app) cyclesCommand() *cobra.Command {
	return &cobra.Command{Use: "cycles", Short: "Manage assessment cycles", RunE: notBuilt("cycles")}
}

func (a *app) templateCommand() *cobra.Command {
	return &cobra.Command{Use: "template", Short: "Write the assessment workbook", RunE: notBuilt("template")}
}
