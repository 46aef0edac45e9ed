package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
	"github.com/spf13/cobra"
)

func (a *app) releaseCommand() *cobra.Command {
	var (
		dbPath  string
		req     privacy.Request
		noise   string
		parts   string
		full    bool
		asJSON  bool
		outBody bool
	)
	cmd := &cobra.Command{
		Use:   "release --cycle ID --epsilon E [--delta D] [--partitionings size,region,size_region,type] [--json]",
		Short: "Compute and store a differentially private release of a cycle",
		Long: `Compute the peer statistics of a cycle with differential privacy and store them as an
immutable release. The cost (epsilon, delta) is charged to the cycle's budget first and
the release is refused when it would exceed it. Cohorts come from the model's public grid
(national, size band, Census region, size x region, organisation type); a cohort whose
noisy count does not show enough peers is suppressed.

Subcommands: 'release list' and 'release show ID'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Cycle == "" {
				return usageError("--cycle is required")
			}
			req.Noise = privacy.NoiseKind(noise)
			var ps []privacy.Partitioning
			for _, p := range splitList(parts) {
				ps = append(ps, privacy.Partitioning(p))
			}
			if len(ps) > 0 && ps[0] != privacy.National {
				ps = append([]privacy.Partitioning{privacy.National}, ps...) // the fallback of last resort
			}
			if full {
				req.Split = privacy.FullSplit(ps...)
			} else {
				req.Split = privacy.DefaultSplit(ps...)
			}
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				pub, err := privacy.Publish(cmd.Context(), db, a.models, req)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, struct {
						Release string           `json:"release"`
						Cost    privacy.Cost     `json:"cost"`
						Budget  warehouse.Budget `json:"budget"`
					}{pub.Release.ID, pub.Release.Cost, pub.Budget})
				}
				fmt.Fprintf(a.stdout, "published release %s of cycle %s (%d bytes)\n\n", pub.Release.ID, req.Cycle, len(pub.Body))
				printCost(a.stdout, pub.Release.Cost)
				printSuppression(a.stdout, pub.Release)
				fmt.Fprintf(a.stdout, "\nbudget of cycle %s: epsilon %.4g of %.4g spent, %.4g left; delta %.3g of %.3g spent\n",
					pub.Budget.Cycle, pub.Budget.EpsilonSpent, pub.Budget.EpsilonTotal, pub.Budget.EpsilonLeft, pub.Budget.DeltaSpent, pub.Budget.DeltaTotal)
				return nil
			})
		},
	}
	f := cmd.Flags()
	cmd.PersistentFlags().StringVar(&dbPath, "db", dbDefault(), "warehouse file (env HCZTMM_DB)")
	f.StringVar(&req.Cycle, "cycle", "", "cycle to release (required)")
	f.Float64Var(&req.Epsilon, "epsilon", 1, "epsilon the release spends")
	f.Float64Var(&req.Delta, "delta", 0, "delta the release spends (0 with Laplace noise)")
	f.StringVar(&noise, "noise", string(privacy.Laplace), "noise: laplace or gaussian")
	f.StringVar(&parts, "partitionings", "", "comma-separated partitionings besides national: size,region,size_region,type (default all)")
	f.BoolVar(&full, "full", false, "release every metric in every partitioning (costlier per figure)")
	f.IntVar(&req.PublicationThreshold, "threshold", privacy.DefaultPublicationThreshold, "peers a cohort needs to be published")

	var listCycle string
	list := &cobra.Command{
		Use:   "list [--cycle ID]",
		Short: "List releases with their cost",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				rels, err := db.ListReleases(cmd.Context(), listCycle)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, rels)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RELEASE\tCYCLE\tSTATUS\tEPSILON\tDELTA\tNOISE\tBYTES\tRESERVED")
				budgets := map[string]warehouse.Budget{}
				var cycles []string
				for _, r := range rels {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%.4g\t%.3g\t%s\t%d\t%s\n", r.ID, r.Cycle, r.Status, r.Epsilon, r.Delta, r.Noise, r.Bytes, r.ReservedAt.Format("2006-01-02 15:04"))
					if _, ok := budgets[r.Cycle]; !ok {
						if budgets[r.Cycle], err = db.Budget(cmd.Context(), r.Cycle); err != nil {
							return err
						}
						cycles = append(cycles, r.Cycle)
					}
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				for _, c := range cycles {
					b := budgets[c]
					fmt.Fprintf(a.stdout, "cycle %s: epsilon %.4g left of %.4g; delta %.3g left of %.3g\n", c, b.EpsilonLeft, b.EpsilonTotal, b.DeltaLeft, b.DeltaTotal)
				}
				return nil
			})
		},
	}
	list.Flags().StringVar(&listCycle, "cycle", "", "only this cycle")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Print a stored release exactly as stored",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				body, err := db.ReleaseBody(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if outBody {
					_, err = a.stdout.Write(body)
					return err
				}
				rel, err := privacy.Decode(body)
				if err != nil {
					return err
				}
				info, err := db.GetRelease(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "release %s of cycle %s, model %s, %s noise, created %s, sha256 %s\n\n",
					rel.ID, rel.Cycle, rel.ModelVersion, rel.Request.Noise, rel.CreatedAt.Format("2006-01-02 15:04:05Z"), info.SHA256)
				printCost(a.stdout, rel.Cost)
				printSuppression(a.stdout, rel)
				return nil
			})
		},
	}
	show.Flags().BoolVar(&outBody, "raw", false, "print the stored JSON body byte for byte")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, show)
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printCost(w io.Writer, c privacy.Cost) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITIONING\tFAMILY\tEPSILON\tDELTA\tL0\tCOHORTS")
	for _, e := range c.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.3g\t%d\t%d\n", e.Partitioning, e.Family, e.Epsilon, e.Delta, e.L0, e.Cohorts)
	}
	fmt.Fprintf(tw, "total\t\t%.4g\t%.3g\t\t\n", c.Epsilon, c.Delta)
	tw.Flush()
}

// printSuppression says, per partitioning, how many cohorts were published: the figure
// a researcher checks before quoting a cut.
func printSuppression(w io.Writer, r *privacy.Release) {
	type tally struct{ total, suppressed int }
	order := []privacy.Partitioning{}
	counts := map[privacy.Partitioning]*tally{}
	for _, c := range r.Cohorts {
		t, ok := counts[c.Partitioning]
		if !ok {
			t = &tally{}
			counts[c.Partitioning] = t
			order = append(order, c.Partitioning)
		}
		t.total++
		if c.Suppressed {
			t.suppressed++
		}
	}
	fmt.Fprintln(w)
	for _, p := range order {
		t := counts[p]
		fmt.Fprintf(w, "%-12s %3d cohorts, %3d suppressed (not enough peers)\n", p, t.total, t.suppressed)
	}
}
