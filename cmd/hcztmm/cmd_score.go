package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/hcztmm/warehouse/model"
	"github.com/spf13/cobra"
)

func (a *app) scoreCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "score FILE",
		Short: "Print the scorecard of one submission without storing it",
		Long: `Validate one JSON submission and print its scorecard as JSON: per-domain index and
posture, overall index and posture, family roll-up, the binding constraint that stops the
next posture and the next steps. Nothing is stored.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			var s model.Submission
			dec := json.NewDecoder(f)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&s); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			m, err := a.models.Get(s.ModelVersion)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if problems := m.ValidateSubmission(&s); len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintf(a.stderr, "%s: %s: %s\n", args[0], p.Rule, p.Message)
				}
				return &exitError{code: exitFailure, err: fmt.Errorf("%s: %d problems", args[0], len(problems))}
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(m.Score(s.Answers))
		},
	}
	return cmd
}
