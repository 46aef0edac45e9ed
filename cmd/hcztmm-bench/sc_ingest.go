package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hcztmm/warehouse/ingest"
)

// bulkIngest times the real binary end to end, `hcztmm ingest --db FRESH --json WIDE.csv`
// in a child process (parse, validate, score, Arrow, commit, checkpoint, close, and
// process start and DB open), against DuckDB's own COPY of the same answers as CSV-long,
// and INSERT ... SELECT read_parquet as the absolute ceiling, each in a child process
// too, into a fresh file, with CHECKPOINT.
type bulkIngest struct{}

func (bulkIngest) Name() string { return "ingest" }
func (bulkIngest) Scaled() bool { return true }

const (
	bulkTarget = 1.0 / 3 // of DuckDB's COPY
	rssTarget  = 500     // MB
)

func (bulkIngest) Run(ctx context.Context, env *Env) ([]Row, error) {
	f, err := env.Files(env.Orgs)
	if err != nil {
		return nil, err
	}
	bin, err := env.Hcztmm(ctx)
	if err != nil {
		return nil, err
	}
	pq, err := env.Parquet(ctx, f)
	if err != nil {
		return nil, err
	}

	// Ours: the cycle exists before the clock starts (as the ceiling's table does).
	db := filepath.Join(env.RunDir(), "hcztmm.duckdb")
	if _, err := runChild(ctx, env, bin, "cycles", "create", "--db", db, "--id", f.Cycle); err != nil {
		return nil, err
	}
	ours, err := runChild(ctx, env, bin, "ingest", "--db", db, "--json", f.Wide)
	if err != nil {
		return nil, err
	}
	var rep ingest.Report
	if err := json.Unmarshal(ours.Stdout, &rep); err != nil {
		return nil, fmt.Errorf("hcztmm ingest --json: %w", err)
	}
	if rep.Total.Accepted != f.Submissions || rep.Total.Answers != f.Answers || rep.Total.ProblemCount != 0 {
		return nil, fmt.Errorf("hcztmm ingest accepted %d of %d submissions (%d answers of %d, %d problems); the benchmark needs every one stored",
			rep.Total.Accepted, f.Submissions, rep.Total.Answers, f.Answers, rep.Total.ProblemCount)
	}

	copyRun, copyLoad, err := ceilingChild(ctx, env, "copy-csv", filepath.Join(env.RunDir(), "copy.duckdb"), f.Long, f.Long)
	if err != nil {
		return nil, err
	}
	pqRun, pqLoad, err := ceilingChild(ctx, env, "insert-parquet", filepath.Join(env.RunDir(), "parquet.duckdb"), f.Long, pq)
	if err != nil {
		return nil, err
	}
	for _, l := range []struct {
		name string
		rows int64
	}{{"COPY", copyLoad.Rows}, {"read_parquet", pqLoad.Rows}} {
		if l.rows != int64(f.Answers) {
			return nil, fmt.Errorf("ceiling %s loaded %d rows, want %d", l.name, l.rows, f.Answers)
		}
	}

	rows := float64(f.Answers)
	oursFig := Figure{Value: rows / ours.Wall.Seconds(), Unit: "answers/s"}
	size := fmt.Sprintf("%s submissions, %s answers", thousands(int64(f.Submissions)), thousands(int64(f.Answers)))
	longMB := fileMB(f.Long)
	return []Row{
		{
			Path:    "Bulk ingest end to end: `hcztmm ingest` of CSV-wide, " + size,
			Ours:    oursFig,
			Ceiling: Figure{Value: rows / copyRun.Wall.Seconds(), Unit: "rows/s", Label: "DuckDB COPY FROM CSV-long"},
			Target:  bulkTarget,
			Extras: []Extra{
				{Name: "peak RSS", Value: mib(ours.MaxRSS), Unit: "MiB", Note: fmt.Sprintf("target < %d MB", rssTarget)},
				{Name: "wall", Value: ours.Wall.Seconds(), Unit: "s"},
				{Name: "CPU", Value: ours.CPU.Seconds(), Unit: "s"},
				{Name: "of which Ingest call", Value: rep.Seconds, Unit: "s"},
				{Name: "COPY wall", Value: copyRun.Wall.Seconds(), Unit: "s"},
				{Name: "CPU", Value: copyRun.CPU.Seconds(), Unit: "s"},
				{Name: "of which COPY", Value: copyLoad.Load.Seconds(), Unit: "s"},
				{Name: "CHECKPOINT", Value: copyLoad.Checkpoint.Seconds(), Unit: "s"},
				{Name: "COPY peak RSS", Value: mib(copyRun.MaxRSS), Unit: "MiB"},
			},
			Note: fmt.Sprintf("both child processes into a fresh file, schema made before the clock; COPY reads the same answers as CSV-long (%.0f MB, 10 columns) into a matching table", longMB),
		},
		{
			Path:    "Bulk ingest end to end vs DuckDB's fastest load, " + size,
			Ours:    oursFig,
			Ceiling: Figure{Value: rows / pqRun.Wall.Seconds(), Unit: "rows/s", Label: "INSERT … SELECT read_parquet"},
			Extras: []Extra{
				{Name: "parquet wall", Value: pqRun.Wall.Seconds(), Unit: "s"},
				{Name: "of which INSERT", Value: pqLoad.Load.Seconds(), Unit: "s"},
				{Name: "CHECKPOINT", Value: pqLoad.Checkpoint.Seconds(), Unit: "s"},
			},
			Note: "absolute ceiling: the same rows from a DuckDB-written Parquet file, child process, fresh file",
		},
	}, nil
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

func fileMB(path string) float64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(st.Size()) / 1e6
}
