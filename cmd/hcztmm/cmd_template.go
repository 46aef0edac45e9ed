package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/workbook"
	"github.com/spf13/cobra"
)

func (a *app) templateCommand() *cobra.Command {
	var (
		format, out, version string
	)
	cmd := &cobra.Command{
		Use:   "template --format xlsx|csv-wide --out FILE",
		Short: "Write the assessment workbook a provider fills in offline",
		Long: `Write, from the model, the assessment a provider fills in offline: an XLSX workbook with
a profile sheet, one row per capability with its question and level descriptions, and a
drop-down of the allowed answers; or an empty CSV-wide file with the right header.
'hcztmm ingest' reads both back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError("--out is required")
			}
			m := a.models.Latest()
			if version != "" {
				var err error
				if m, err = a.models.Get(version); err != nil {
					return usageError("%v", err)
				}
			}
			write := func(w *bufio.Writer) error { return workbook.Write(w, m, nil) }
			switch format {
			case "xlsx":
			case "csv-wide":
				write = func(w *bufio.Writer) error { return fixtures.WriteCSVWide(w, m, []model.Submission{}) }
			default:
				return usageError("--format must be xlsx or csv-wide, got %q", format)
			}
			if err := writeFileAtomically(out, write); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s (model %s)\n", out, m.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "xlsx", "xlsx or csv-wide")
	cmd.Flags().StringVar(&out, "out", "", "output file (required)")
	cmd.Flags().StringVar(&version, "model", "", "model version (default: the latest)")
	return cmd
}

// writeFileAtomically writes to a temporary file beside path and renames it into place,
// so that a failed write never leaves half a file behind.
func writeFileAtomically(path string, write func(*bufio.Writer) error) (err error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriter(tmp)
	if err = write(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file private; a template or workbook is meant to be shared.
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
