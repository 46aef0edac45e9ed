package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hcztmm/warehouse/warehouse"
	"github.com/spf13/cobra"
)

func (a *app) exportCommand() *cobra.Command {
	var dbPath, id, format, out string
	cmd := &cobra.Command{
		Use:   "export --release ID --format csv|parquet|arrow|xlsx --out FILE",
		Short: "Export a release as a cohort dataset (CSV, Parquet, Arrow IPC, Excel)",
		Long: `Export the stored figures of a published release in tidy long form: one row per figure
(release, partitioning, cohort keys, metric, subject, bucket, value, raw, CI low/high,
suppressed/withheld flags and reason, and the noise parameters that produced it).
Only stored release values appear: no row-level data and no exact counts.

Metadata (model version, cycle, release, epsilon/delta spent, noise kind, publication
threshold, confidence, created/published at, DP library, body SHA-256) is embedded in
Parquet (key/value metadata), Arrow IPC (schema metadata) and Excel (a "metadata"
sheet); a CSV export gets it in a JSON sidecar FILE.meta.json.

The file is written to a temporary file next to FILE and renamed into place.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return usageError("--release is required")
			}
			if out == "" {
				return usageError("--out is required")
			}
			f, err := warehouse.ParseExportFormat(format)
			if err != nil {
				return usageError("unknown --format %q (want csv, parquet, arrow or xlsx)", format)
			}
			if err := checkOutPath(out); err != nil {
				return err
			}
			if f == warehouse.ExportCSV {
				if err := checkOutPath(out + ".meta.json"); err != nil {
					return err
				}
			}
			// Exporting reads: a missing warehouse is an error, not a new empty file.
			if _, err := os.Stat(dbPath); err != nil {
				return fmt.Errorf("no warehouse at %s: %w", dbPath, err)
			}
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				var meta warehouse.ExportMeta
				size, err := writeAtomic(out, func(w io.Writer) error {
					var err error
					meta, err = db.ExportRelease(cmd.Context(), id, f, w)
					return err
				})
				if err != nil {
					return err
				}
				if f == warehouse.ExportCSV {
					if _, err := writeAtomic(out+".meta.json", func(w io.Writer) error { return writeJSON(w, meta) }); err != nil {
						return err
					}
				}
				fmt.Fprintf(a.stdout, "exported release %s (%d rows, %s, %d bytes) to %s\n", meta.ReleaseID, meta.Rows, f, size, out)
				if f == warehouse.ExportCSV {
					fmt.Fprintf(a.stdout, "metadata in %s.meta.json\n", out)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dbPath, "db", dbDefault(), "warehouse file (env HCZTMM_DB)")
	f.StringVar(&id, "release", "", "release ID, e.g. 2024-r001 (required)")
	f.StringVar(&format, "format", "csv", "csv, parquet, arrow (IPC stream) or xlsx")
	f.StringVar(&out, "out", "", "output file (required); replaced atomically if it exists")
	return cmd
}

// checkOutPath refuses an output path that is a directory (or ends like one), so that a
// rename never lands on or inside one by accident.
func checkOutPath(p string) error {
	if p == "" || p == "." || p == ".." || os.IsPathSeparator(p[len(p)-1]) || filepath.Base(p) == ".." {
		return usageError("--out %q names a directory, not a file", p)
	}
	fi, err := os.Lstat(p)
	switch {
	case err == nil && fi.IsDir():
		return usageError("--out %q is a directory; refusing to overwrite it", p)
	case err == nil && !fi.Mode().IsRegular():
		return usageError("--out %q exists and is not a regular file", p)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("check --out: %w", err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
		return usageError("--out %q: directory %s does not exist", p, filepath.Dir(p))
	}
	return nil
}

// writeAtomic writes through fn to a temporary file beside path and renames it into place;
// on failure the temporary file is removed and path is untouched.
func writeAtomic(path string, fn func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fn(tmp); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	fi, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	done = true
	return fi.Size(), nil
}
