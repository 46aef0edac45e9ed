package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/warehouse"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func (a *app) ingestCommand() *cobra.Command {
	var (
		dbPath   string
		format   string
		atomic   bool
		asJSON   bool
		maxBytes int64
		chunk    int
	)
	cmd := &cobra.Command{
		Use:   "ingest [--db FILE] [--format F] [--atomic] [--json] FILE...",
		Short: "Validate, score and store submissions",
		Long: `Read submission files, validate every submission against its model version, score it
and store it. Formats: json (one submission), ndjson (many), csv-wide (one row per
submission, one column per capability), csv-long (org, cycle, capability, answer), xlsx
(the workbook 'hcztmm template' writes). The format is sniffed when --format is not given.

Each submission is atomic; --atomic makes each whole file all-or-nothing. A resubmission
for the same organisation and cycle supersedes the earlier one (kept as history);
re-ingesting identical content changes nothing. Every rejected submission is reported
with its file, row or JSON pointer, field, rule and value.

Exit codes: 0 all stored (or unchanged), 3 some rejected and the rest committed,
1 nothing written.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parseFormat(format)
			if err != nil {
				return err
			}
			return a.withWarehouse(cmd.Context(), dbPath, func(db *warehouse.DB) error {
				report, err := a.ingestFiles(cmd.Context(), db, args, f, ingest.Options{Atomic: atomic, MaxBytes: maxBytes, ChunkSize: chunk}, !asJSON)
				if err != nil {
					return &exitError{code: exitFailure, err: err}
				}
				// The report goes out as soon as the data is committed: it is durable in the
				// WAL from then on, and the checkpoint on close only folds it into the file.
				if asJSON {
					enc := json.NewEncoder(a.stdout)
					enc.SetIndent("", "  ")
					if err := enc.Encode(report); err != nil {
						return err
					}
				} else {
					for _, p := range report.Problems() {
						fmt.Fprintln(a.stderr, p.String())
					}
					fmt.Fprintln(a.stdout, report.String())
				}
				if err := db.Checkpoint(cmd.Context()); err != nil {
					return fmt.Errorf("checkpoint after ingest: %w", err)
				}
				return ingestExit(report)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dbPath, "db", dbDefault(), "warehouse file (env HCZTMM_DB)")
	fl.StringVar(&format, "format", "", "json, ndjson, csv-wide, csv-long or xlsx (default: sniffed)")
	fl.BoolVar(&atomic, "atomic", false, "make each file all-or-nothing")
	fl.BoolVar(&asJSON, "json", false, "print a machine-readable JSON report")
	fl.Int64Var(&maxBytes, "max-bytes", ingest.DefaultMaxBytes, "size limit of one file in bytes")
	fl.IntVar(&chunk, "chunk-size", ingest.DefaultChunkSize, "submissions per transaction (without --atomic)")
	return cmd
}

func parseFormat(s string) (ingest.Format, error) {
	if s == "" {
		return "", nil
	}
	for _, f := range ingest.Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", usageError("unknown --format %q (want one of %v)", s, ingest.Formats())
}

// ingestExit turns a report into the documented exit codes.
func ingestExit(r *ingest.Report) error {
	written := r.Total.Accepted + r.Total.Superseded
	switch {
	case r.OK():
		return nil
	case written > 0:
		return &exitError{code: exitPartial, err: fmt.Errorf("%d submissions rejected, %d stored", r.Total.Rejected, written)}
	default:
		return &exitError{code: exitFailure, err: fmt.Errorf("nothing written: %d submissions rejected, %d problems", r.Total.Rejected, r.Total.ProblemCount)}
	}
}

// ingestFiles opens the files and runs the pipeline, with a progress bar when stderr is
// a terminal.
func (a *app) ingestFiles(ctx context.Context, db *warehouse.DB, paths []string, format ingest.Format, opts ingest.Options, progress bool) (*ingest.Report, error) {
	var inputs []ingest.Input
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var size int64
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		inputs = append(inputs, ingest.Input{Name: p, Reader: f, Format: format, Size: size, Source: "cli:" + p})
	}
	if progress && isTerminal(a.stderr) {
		bars := map[string]*progressbar.ProgressBar{}
		opts.Progress = func(p ingest.Progress) {
			bar, ok := bars[p.File]
			if !ok {
				bar = progressbar.NewOptions64(p.TotalBytes, progressbar.OptionSetWriter(a.stderr),
					progressbar.OptionSetDescription(p.File), progressbar.OptionShowBytes(true),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
				bars[p.File] = bar
			}
			_ = bar.Set64(p.Bytes)
			if p.Done {
				_ = bar.Finish()
			}
		}
	}
	return ingest.Ingest(ctx, db, a.models, inputs, opts)
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
