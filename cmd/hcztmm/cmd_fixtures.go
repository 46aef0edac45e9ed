package main

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/workbook"
	"github.com/spf13/cobra"
)

func (a *app) fixturesCommand() *cobra.Command {
	var (
		opts    fixtures.Options
		out     string
		formats string
		quiet   bool
	)
	cmd := &cobra.Command{
		Use:   "fixtures --out DIR [--orgs N] [--cycles C] [--seed S] [--formats LIST]",
		Short: "Write a deterministic synthetic population of submissions",
		Long: `Write a synthetic population of provider organisations and their assessments, in the
submission formats ingest reads. The same seed gives the same bytes. The population is
calibrated on the published HC-ZTMM findings: most organisations are at Posture 1 and
continuous trust evaluation is the most common gap.

Layout: DIR/json/<cycle>/<org>.json, DIR/ndjson/<cycle>.ndjson, DIR/csv-wide/<cycle>.csv,
DIR/csv-long/<cycle>.csv, DIR/xlsx/<cycle>/<org>.xlsx.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError("--out is required")
			}
			m := a.models.Latest()
			start := time.Now()
			pop, err := fixtures.Generate(m, opts)
			if err != nil {
				return usageError("%v", err)
			}
			generated := time.Since(start)
			written, err := fixtures.WriteFilesWith(pop, out, splitList(formats), extraFixtureWriters())
			if err != nil {
				return err
			}
			if quiet {
				return nil
			}
			fmt.Fprintf(a.stdout, "generated %d organisations, %d submissions over %d cycles in %s; wrote %d files to %s in %s\n\n",
				len(pop.Orgs), len(pop.Submissions), len(pop.Cycles), generated.Round(time.Millisecond),
				len(written), out, time.Since(start).Round(time.Millisecond))
			return fixtures.Summary(m, pop).WriteText(a.stdout)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Orgs, "orgs", fixtures.DefaultOrgs, "number of organisations")
	f.IntVar(&opts.Cycles, "cycles", fixtures.DefaultCycles, "number of assessment cycles")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same files")
	f.IntVar(&opts.FirstCycle, "first-cycle", fixtures.DefaultFirstCycle, "year of the first cycle")
	f.StringVar(&out, "out", "", "output directory (required)")
	f.StringVar(&formats, "formats", "json", "comma-separated formats: "+strings.Join(append(fixtures.Formats(), "xlsx"), ","))
	f.BoolVar(&quiet, "quiet", false, "print nothing")
	return cmd
}

// extraFixtureWriters adds formats whose writers live outside fixtures (which may only
// import model): the XLSX workbook, filled in as a provider would.
func extraFixtureWriters() map[string]fixtures.FileWriter {
	return map[string]fixtures.FileWriter{"xlsx": writeWorkbooks}
}

// writeWorkbooks writes DIR/xlsx/<cycle>/<org>.xlsx, one filled workbook per submission.
func writeWorkbooks(pop *fixtures.Population, dir string) ([]string, error) {
	var written []string
	for i := range pop.Submissions {
		s := &pop.Submissions[i]
		path := filepath.Join(dir, "xlsx", s.Cycle, s.Organisation.ID+".xlsx")
		err := writeFileAtomically(path, func(w *bufio.Writer) error { return workbook.Write(w, pop.Model, s) })
		if err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
