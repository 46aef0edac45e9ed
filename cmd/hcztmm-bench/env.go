package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// Env is what scenarios share: the model, the scale, a fresh directory per run and
// memoised, untimed preparation (populations, files, the hcztmm binary).
type Env struct {
	Reg   *model.Registry
	Model *model.Model
	// Orgs is the population size of the current scale (-scale).
	Orgs int
	// Seed of every generated population.
	Seed uint64

	work   string // root of everything this run writes; removed at the end
	runDir string
	runSeq int
	seq    int
	goCmd  string
	bin    string // the hcztmm binary (-hcztmm, or built on first use)
	self   string // this program, for the ceiling sub-mode
	logw   io.Writer

	pops  map[int]*fixtures.Population
	files map[int]*Files
}

// Files are one population written once, before any timing, in the forms the ingest
// scenarios read.
type Files struct {
	Cycle       string
	Submissions int
	Answers     int
	Wide        string // CSV-wide: what hcztmm ingest reads
	Long        string // CSV-long: the same answers, one row each, what COPY reads
	Narrow      string // CSV-long with the required columns only (no profile): a tighter COPY
	parquet     string // made on first use from Long
}

// Logf reports progress on stderr (the table goes to stdout).
func (e *Env) Logf(format string, args ...any) {
	fmt.Fprintf(e.logw, "hcztmm-bench: "+format+"\n", args...)
}

// RunDir is a fresh, empty directory for the current run.
func (e *Env) RunDir() string { return e.runDir }

// nextSeq numbers files within the work directory.
func (e *Env) nextSeq() int {
	e.seq++
	return e.seq
}

// nextRun makes the fresh directory the next Run call uses.
func (e *Env) nextRun() error {
	e.runSeq++
	e.runDir = filepath.Join(e.work, fmt.Sprintf("run%03d", e.runSeq))
	return os.Mkdir(e.runDir, 0o755)
}

// Population returns the generated population of orgs organisations in one cycle.
func (e *Env) Population(orgs int) (*fixtures.Population, error) {
	if p, ok := e.pops[orgs]; ok {
		return p, nil
	}
	start := time.Now()
	p, err := fixtures.Generate(e.Model, fixtures.Options{Orgs: orgs, Cycles: 1, Seed: e.Seed})
	if err != nil {
		return nil, err
	}
	if len(p.Cycles) != 1 || len(p.Submissions) != orgs {
		return nil, fmt.Errorf("fixtures gave %d submissions in %d cycles for %d organisations, want one each", len(p.Submissions), len(p.Cycles), orgs)
	}
	e.pops[orgs] = p
	e.Logf("generated %d submissions (seed %d) in %.1f s", orgs, e.Seed, time.Since(start).Seconds())
	return p, nil
}

// forget drops the populations of these sizes (none: every one made so far) and their
// files, so that the Scaling sizes, run one after the other, do not pile up in memory
// (100k organisations × 40 answers are a few hundred MB of maps) or on disk (a 100k
// CSV-long is about 400 MB). keepFiles leaves the files on disk (-keep).
func (e *Env) forget(keepFiles bool, sizes ...int) error {
	if len(sizes) == 0 {
		sizes = slices.Concat(slices.Collect(maps.Keys(e.pops)), slices.Collect(maps.Keys(e.files)))
	}
	for _, orgs := range sizes {
		delete(e.pops, orgs)
		f, ok := e.files[orgs]
		if !ok {
			continue
		}
		delete(e.files, orgs)
		if !keepFiles {
			if err := os.RemoveAll(filepath.Dir(f.Wide)); err != nil {
				return err
			}
		}
	}
	// Hand the memory back now, not at some later GC cycle: the children measured next
	// share the machine.
	debug.FreeOSMemory()
	return nil
}

// Files returns the population of orgs organisations written as CSV-wide and CSV-long.
func (e *Env) Files(orgs int) (*Files, error) {
	if f, ok := e.files[orgs]; ok {
		return f, nil
	}
	p, err := e.Population(orgs)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	dir := filepath.Join(e.work, fmt.Sprintf("files-%d", orgs))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f := &Files{Cycle: p.Cycles[0], Submissions: len(p.Submissions),
		Wide: filepath.Join(dir, "wide.csv"), Long: filepath.Join(dir, "long.csv"), Narrow: filepath.Join(dir, "narrow.csv")}
	for i := range p.Submissions {
		f.Answers += len(p.Submissions[i].Answers)
	}
	if err := writeFile(f.Wide, func(w io.Writer) error { return fixtures.WriteCSVWide(w, e.Model, p.Submissions) }); err != nil {
		return nil, err
	}
	if err := writeFile(f.Long, func(w io.Writer) error { return fixtures.WriteCSVLong(w, e.Model, p.Submissions) }); err != nil {
		return nil, err
	}
	if err := writeFile(f.Narrow, func(w io.Writer) error { return writeCSVNarrow(w, e.Model, p.Submissions) }); err != nil {
		return nil, err
	}
	e.files[orgs] = f
	e.Logf("wrote %s, %s and %s (%d answers) in %.1f s", f.Wide, f.Long, f.Narrow, f.Answers, time.Since(start).Seconds())
	return f, nil
}

// Parquet returns f's answers as a Parquet file (written by DuckDB, untimed).
func (e *Env) Parquet(ctx context.Context, f *Files) (string, error) {
	if f.parquet != "" {
		return f.parquet, nil
	}
	path := strings.TrimSuffix(f.Long, ".csv") + ".parquet"
	if err := warehouse.CeilingWriteParquet(ctx, f.Long, path); err != nil {
		return "", err
	}
	f.parquet = path
	return path, nil
}

// Hcztmm returns the path of the hcztmm binary, building it on first use with the
// duckdb_arrow tag into the work directory.
func (e *Env) Hcztmm(ctx context.Context) (string, error) {
	if e.bin != "" {
		return e.bin, nil
	}
	out, err := exec.CommandContext(ctx, e.goCmd, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run hcztmm-bench inside the module (or pass -hcztmm)")
	}
	bin := filepath.Join(e.work, "hcztmm")
	start := time.Now()
	cmd := exec.CommandContext(ctx, e.goCmd, "build", "-tags", "duckdb_arrow", "-o", bin, "./cmd/hcztmm")
	cmd.Dir = filepath.Dir(gomod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/hcztmm: %w\n%s", err, out)
	}
	e.Logf("built %s in %.1f s", bin, time.Since(start).Seconds())
	e.bin = bin
	return bin, nil
}

// writeCSVNarrow writes the answers in CSV-long form with only the required columns
// (model.LongRequiredColumns), as a long file without profile columns is: the smallest
// CSV holding the same answers.
func writeCSVNarrow(w io.Writer, m *model.Model, subs []model.Submission) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(model.LongRequiredColumns); err != nil {
		return err
	}
	row := make([]string, len(model.LongRequiredColumns))
	ids := m.CapabilityIDs()
	for i := range subs {
		s := &subs[i]
		for _, id := range ids {
			a, ok := s.Answers[id]
			if !ok {
				continue
			}
			for c, col := range model.LongRequiredColumns {
				switch col {
				case model.ColOrgID:
					row[c] = s.Organisation.ID
				case model.ColCycle:
					row[c] = s.Cycle
				case model.ColModelVersion:
					row[c] = s.ModelVersion
				case model.ColCapability:
					row[c] = id
				case model.ColAnswer:
					row[c] = a.String()
				default:
					return fmt.Errorf("narrow CSV: no value for required column %q", col)
				}
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
