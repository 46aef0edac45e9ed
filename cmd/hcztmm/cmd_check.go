package main

import (
	"encoding/json"
	"fmt"

	"github.com/hcztmm/warehouse/warehouse"
	"github.com/spf13/cobra"
)

func (a *app) checkCommand() *cobra.Command {
	var (
		dbPath string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "check [--db FILE] [--json]",
		Short: "Verify that every stored submission is whole",
		Long: `Check the warehouse after a crash or a restore: every submission has all the answers and
domain scores of its model, no rows are left without their submission, each organisation
has one current submission per cycle and supersession links are intact. Exit 1 when
something is wrong.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				res, err := db.CheckIntegrity(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					if err := json.NewEncoder(a.stdout).Encode(res); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(a.stdout, "%d submissions (%d current); incomplete %d, orphan answers %d, orphan domain scores %d, duplicate current %d, broken links %d\n",
						res.Submissions, res.Current, len(res.Incomplete), res.OrphanAnswers, res.OrphanDomainScores, res.DuplicateCurrent, res.BrokenLinks)
				}
				if !res.OK() {
					return &exitError{code: exitFailure, err: fmt.Errorf("integrity check failed")}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", dbDefault(), "warehouse file (env HCZTMM_DB)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
