package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/warehouse"
)

// bulkIngest times the real binary end to end, `hcztmm ingest --db FRESH --json WIDE.csv`
// in a child process (process start, DB open, parse, validate, score, Arrow, commit,
// checkpoint, close), against DuckDB's own loads of the same answers into a fresh file
// with CHECKPOINT, each in a child process too: COPY of the CSV-long file fixtures write
// (profile on every row), COPY of a CSV-long file with the required columns only, and
// INSERT ... SELECT read_parquet, the absolute ceiling.
type bulkIngest struct{}

func (bulkIngest) Name() string { return "ingest" }

// HeadlineOrgs: ingest is headlined at every -scale (25k by default).
func (bulkIngest) HeadlineOrgs(scales []int) []int { return scales }

// ingestFamily is ingest's series in the Scaling table.
const ingestFamily = "ingest: `hcztmm ingest` of CSV-wide; ceiling DuckDB COPY FROM CSV-long"

const (
	bulkTarget = 1.0 / 3 // of DuckDB's COPY
	rssTarget  = 500     // MB
)

// load is one ceiling measured in a child process.
type load struct {
	run  child
	stmt warehouse.CeilingLoad
}

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

	// Ours: the cycle exists before the clock starts (as the ceilings' tables do).
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

	ceiling := func(name, mode, schemaCSV, file string) (load, error) {
		c, l, err := ceilingChild(ctx, env, mode, filepath.Join(env.RunDir(), name+".duckdb"), schemaCSV, file)
		if err == nil && l.Rows != int64(f.Answers) {
			err = fmt.Errorf("ceiling %s loaded %d rows, want %d", name, l.Rows, f.Answers)
		}
		return load{c, l}, err
	}
	long, err := ceiling("copy-long", "copy-csv", f.Long, f.Long)
	if err != nil {
		return nil, err
	}
	narrow, err := ceiling("copy-narrow", "copy-csv", f.Narrow, f.Narrow)
	if err != nil {
		return nil, err
	}
	parquet, err := ceiling("parquet", "insert-parquet", f.Long, pq)
	if err != nil {
		return nil, err
	}

	rows := float64(f.Answers)
	oursFig := Figure{Value: rows / ours.Wall.Seconds(), Unit: "answers/s"}
	subs := thousands(int64(f.Submissions)) + " submissions"
	rate := func(l load) float64 { return rows / l.run.Wall.Seconds() }
	// costs are a ceiling's own figures, each name led by who (e.g. "COPY ").
	costs := func(l load, who string) []Extra {
		return []Extra{
			{Name: who + "wall", Value: l.run.Wall.Seconds(), Unit: "s"},
			{Name: "CPU", Value: l.run.CPU.Seconds(), Unit: "s"},
			{Name: "of which statement", Value: l.stmt.Load.Seconds(), Unit: "s"},
			{Name: "CHECKPOINT", Value: l.stmt.Checkpoint.Seconds(), Unit: "s"},
			{Name: "peak RSS", Value: mib(l.run.MaxRSS), Unit: "MiB"},
		}
	}
	out := []Row{
		{
			Family:  ingestFamily,
			Path:    "Bulk ingest end to end, " + subs + " / " + thousands(int64(f.Answers)) + " answers: `hcztmm ingest` of CSV-wide (" + mbOf(f.Wide) + ")",
			Ours:    oursFig,
			Ceiling: Figure{Value: rate(long), Unit: "rows/s", Label: "DuckDB COPY FROM CSV-long (" + mbOf(f.Long) + ", 10 columns)"},
			Target:  bulkTarget,
			Extras: append([]Extra{
				{Name: "peak RSS", Value: mib(ours.MaxRSS), Unit: "MiB", Note: fmt.Sprintf("target < %d MB", rssTarget)},
				{Name: "wall", Value: ours.Wall.Seconds(), Unit: "s"},
				{Name: "CPU", Value: ours.CPU.Seconds(), Unit: "s"},
				{Name: "of which Ingest call", Value: rep.Seconds, Unit: "s"},
			}, costs(long, "COPY: ")...),
			Note: "every load a child process into a fresh file, schema (cycle; table) made before the clock, ending with CHECKPOINT; CSV-long as fixtures write it repeats the profile on every row",
		},
		{
			Path:    "… " + subs + ", against COPY of the same answers as CSV-long with the required columns only",
			Ours:    oursFig,
			Ceiling: Figure{Value: rate(narrow), Unit: "rows/s", Label: "COPY FROM CSV-long (" + mbOf(f.Narrow) + ", 5 columns)"},
			Target:  bulkTarget,
			Extras:  costs(narrow, "COPY: "),
			Note:    "the tightest CSV ceiling: the fewest bytes holding the same answers in long form",
		},
		{
			Path:    "… " + subs + ", against DuckDB's fastest load (absolute ceiling)",
			Ours:    oursFig,
			Ceiling: Figure{Value: rate(parquet), Unit: "rows/s", Label: "INSERT … SELECT read_parquet (" + mbOf(pq) + ")"},
			Extras:  costs(parquet, "INSERT: "),
			Note:    "the same rows as CSV-long, from a DuckDB-written Parquet file",
		},
	}
	for i := range out {
		out[i].Orgs, out[i].Work = f.Submissions, rows
	}
	return out, nil
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// mbOf is a file's size for a label, e.g. "98 MB".
func mbOf(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "? MB"
	}
	mb := float64(st.Size()) / 1e6
	if mb < 10 {
		return fmt.Sprintf("%.1f MB", mb)
	}
	return fmt.Sprintf("%.0f MB", mb)
}
