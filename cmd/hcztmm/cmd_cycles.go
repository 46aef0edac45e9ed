package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/hcztmm/warehouse/warehouse"
	"github.com/spf13/cobra"
)

func (a *app) cyclesCommand() *cobra.Command {
	var dbPath string
	cycles := &cobra.Command{
		Use:   "cycles",
		Short: "Manage assessment cycles and their privacy budgets",
		Long: `An assessment cycle (usually a year) names the model version its submissions use and
the total privacy budget (epsilon, delta) its releases may spend. Submissions are accepted
only for open cycles.`,
	}
	cycles.PersistentFlags().StringVar(&dbPath, "db", dbDefault(), "warehouse file (env HCZTMM_DB)")

	var c warehouse.Cycle
	create := &cobra.Command{
		Use:   "create --id ID [--model V] [--epsilon E] [--delta D]",
		Short: "Create an open cycle",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.ID == "" {
				return usageError("--id is required")
			}
			if c.ModelVersion == "" {
				c.ModelVersion = a.models.Latest().Version
			}
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				if err := db.CreateCycle(cmd.Context(), c); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "created cycle %s (model %s, budget epsilon %g, delta %g)\n", c.ID, c.ModelVersion, c.Epsilon, c.Delta)
				return nil
			})
		},
	}
	create.Flags().StringVar(&c.ID, "id", "", "cycle ID, e.g. 2026 (required)")
	create.Flags().StringVar(&c.ModelVersion, "model", "", "model version (default: the latest)")
	create.Flags().Float64Var(&c.Epsilon, "epsilon", 5, "total privacy budget epsilon of the cycle")
	create.Flags().Float64Var(&c.Delta, "delta", 1e-6, "total privacy budget delta of the cycle")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List cycles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				cs, err := db.ListCycles(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(cs)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CYCLE\tMODEL\tSTATUS\tEPSILON\tDELTA\tSUBMISSIONS")
				for _, c := range cs {
					current, _, err := db.CountSubmissions(cmd.Context(), c.ID)
					if err != nil {
						return err
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%g\t%g\t%d\n", c.ID, c.ModelVersion, c.Status, c.Epsilon, c.Delta, current)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var closeID string
	closeCmd := &cobra.Command{
		Use:   "close --id ID",
		Short: "Close a cycle to new submissions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if closeID == "" {
				return usageError("--id is required")
			}
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				if err := db.CloseCycle(cmd.Context(), closeID); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "closed cycle %s\n", closeID)
				return nil
			})
		},
	}
	closeCmd.Flags().StringVar(&closeID, "id", "", "cycle ID (required)")

	cycles.AddCommand(create, list, closeCmd)
	return cycles
}
