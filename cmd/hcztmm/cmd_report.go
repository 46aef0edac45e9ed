package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hcztmm/warehouse/report"
	"github.com/hcztmm/warehouse/warehouse"
	"github.com/spf13/cobra"
)

func (a *app) reportCommand() *cobra.Command {
	var dbPath, releaseID, previousID, out, format string
	var noPrevious bool
	cmd := &cobra.Command{
		Use:   "report --release ID --out findings.html|findings.md",
		Short: "Write the researchers' findings report of a release (HTML or Markdown)",
		Long: `report writes the researchers' findings report of a stored release: the posture
distribution, the capability gaps the model's findings name (ranked), differences by size
and region, cohorts with not enough peers, and the change since the previous cycle. Every
statement is worded from the release's figures and lists the release values it rests on.

The HTML is one self-contained, printable page (inline CSS, charts as inline SVG, no
script, no external reference). The format follows the --out extension (.html, .htm, .md)
unless --format says otherwise. By default the report compares with the newest published
release of the previous cycle, when there is one; --previous names another release,
--no-previous compares with none. The file is written atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if releaseID == "" {
				return usageError("--release is required")
			}
			if out == "" {
				return usageError("--out is required")
			}
			if noPrevious && previousID != "" {
				return usageError("--previous and --no-previous exclude each other")
			}
			f, err := reportFormat(format, out)
			if err != nil {
				return err
			}
			if _, err := os.Stat(dbPath); err != nil {
				return fmt.Errorf("warehouse %s: %w", dbPath, err)
			}
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				ctx := cmd.Context()
				if _, err := db.GetRelease(ctx, releaseID); err != nil {
					return err
				}
				prev := previousID
				if prev == "" && !noPrevious {
					if prev, err = report.PreviousRelease(ctx, db, releaseID); err != nil {
						return err
					}
				}
				rep, err := report.Load(ctx, db, a.models, releaseID, prev)
				if err != nil {
					return err
				}
				body := rep.HTML()
				if f == "md" {
					body = rep.Markdown()
				}
				if err := writeFileAtomically(out, func(w *bufio.Writer) error {
					_, err := w.Write(body)
					return err
				}); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
				// The report is for publication: readable by others, unlike the
				// private temporary file it was renamed from.
				if err := os.Chmod(out, 0o644); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
				compared := "no previous cycle"
				if rep.PreviousID != "" {
					compared = "compared with release " + rep.PreviousID + " (cycle " + rep.PreviousCycle + ")"
				}
				fmt.Fprintf(a.stdout, "wrote %s (%s, %d bytes, %d statements) for release %s, %s\n",
					out, f, len(body), len(rep.Statements()), rep.ReleaseID, compared)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", dbDefault(), "warehouse file")
	cmd.Flags().StringVar(&releaseID, "release", "", "release to report on (required)")
	cmd.Flags().StringVar(&previousID, "previous", "", "release to compare with (default: the previous cycle's newest)")
	cmd.Flags().BoolVar(&noPrevious, "no-previous", false, "do not compare with a previous cycle")
	cmd.Flags().StringVar(&out, "out", "", "output file, .html or .md (required)")
	cmd.Flags().StringVar(&format, "format", "", "html or md (default: from the --out extension)")
	return cmd
}

// reportFormat decides the output format from --format or the file extension.
func reportFormat(format, out string) (string, error) {
	switch strings.ToLower(format) {
	case "html", "htm":
		return "html", nil
	case "md", "markdown":
		return "md", nil
	case "":
	default:
		return "", usageError("--format %q: want html or md", format)
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".html", ".htm":
		return "html", nil
	case ".md", ".markdown":
		return "md", nil
	}
	return "", usageError("cannot tell the format of %q from its extension: give --format html or md", out)
}
