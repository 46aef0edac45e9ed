package ingest

import (
	"fmt"
	"strings"
	"time"
)

// Counts say what happened to the submissions of a file (or of all files).
// Submissions = Valid + Rejected before commit; after commit Valid splits into Accepted,
// Superseded and Unchanged, or moves to Rejected when the warehouse refuses it or an
// atomic file is rolled back. A dry run (no store) leaves the three at zero.
type Counts struct {
	// Submissions read (including rows too broken to be read as one).
	Submissions int `json:"submissions"`
	// Valid submissions: passed validation and were scored.
	Valid int `json:"valid"`
	// Accepted: stored as the organisation's current submission for the cycle.
	Accepted int `json:"accepted"`
	// Superseded: stored, replacing an earlier submission (kept as history).
	Superseded int `json:"superseded"`
	// Unchanged: identical to the stored current submission; nothing written.
	Unchanged int `json:"unchanged"`
	// Rejected: not stored; Problems say why.
	Rejected int `json:"rejected"`
	// Answers read, for throughput.
	Answers int `json:"answers"`
	// ProblemCount is the number of problems, including any omitted from the list.
	ProblemCount int `json:"problem_count"`
}

func (c *Counts) add(o Counts) {
	c.Submissions += o.Submissions
	c.Valid += o.Valid
	c.Accepted += o.Accepted
	c.Superseded += o.Superseded
	c.Unchanged += o.Unchanged
	c.Rejected += o.Rejected
	c.Answers += o.Answers
	c.ProblemCount += o.ProblemCount
}

// FileReport is the outcome of one input file.
type FileReport struct {
	File   string `json:"file"`
	Format Format `json:"format"`
	Counts
	// RolledBack is set when an atomic file had a problem and nothing of it was stored.
	RolledBack bool `json:"rolled_back"`
	// Problems in file order (file and header problems first). Never nil, so that the
	// JSON report always has a list.
	Problems []Problem `json:"problems"`
	// ProblemsOmitted counts problems beyond Options.MaxProblems.
	ProblemsOmitted int     `json:"problems_omitted,omitempty"`
	Seconds         float64 `json:"seconds"`
}

// Report is the outcome of one Ingest call. It marshals to JSON as it is (the CLI's
// --json output and the API's response body) and String gives the human summary.
type Report struct {
	Atomic bool         `json:"atomic"`
	Files  []FileReport `json:"files"`
	Total  Counts       `json:"total"`
	// Seconds is the wall time of the whole call; the rates are over it.
	Seconds              float64 `json:"seconds"`
	AnswersPerSecond     float64 `json:"answers_per_second"`
	SubmissionsPerSecond float64 `json:"submissions_per_second"`
}

func (r *Report) finish(d time.Duration) {
	r.Total = Counts{}
	for i := range r.Files {
		r.Total.add(r.Files[i].Counts)
	}
	r.Seconds = d.Seconds()
	if r.Seconds > 0 {
		r.AnswersPerSecond = float64(r.Total.Answers) / r.Seconds
		r.SubmissionsPerSecond = float64(r.Total.Submissions) / r.Seconds
	}
}

// OK reports whether every file was read without a problem and nothing was rejected; the
// CLI turns it into its exit status.
func (r *Report) OK() bool { return r.Total.ProblemCount == 0 && r.Total.Rejected == 0 }

// Problems lists the problems of every file, in order (for an API error body).
func (r *Report) Problems() []Problem {
	var out []Problem
	for i := range r.Files {
		out = append(out, r.Files[i].Problems...)
	}
	return out
}

// summaryProblems is how many problems per file String prints; the JSON report has all.
const summaryProblems = 20

// String is the human summary: totals, then each file with its first problems.
func (r *Report) String() string {
	var b strings.Builder
	t := r.Total
	fmt.Fprintf(&b, "ingested %d file(s) in %.2f s: %d submissions, %d answers (%s answers/s)\n",
		len(r.Files), r.Seconds, t.Submissions, t.Answers, rate(r.AnswersPerSecond))
	fmt.Fprintf(&b, "  %s\n", countsLine(t))
	for i := range r.Files {
		f := &r.Files[i]
		fmt.Fprintf(&b, "%s (%s): %s\n", f.File, orUnknown(f.Format), countsLine(f.Counts))
		if f.RolledBack {
			b.WriteString("  atomic: the file had problems, so nothing of it was stored\n")
		}
		for j, p := range f.Problems {
			if j == summaryProblems {
				fmt.Fprintf(&b, "  … and %d more problems (the JSON report lists them all)\n", f.ProblemCount-summaryProblems)
				break
			}
			fmt.Fprintf(&b, "  %s\n", p)
		}
		if f.ProblemsOmitted > 0 && len(f.Problems) <= summaryProblems {
			fmt.Fprintf(&b, "  … and %d more problems not kept (Options.MaxProblems)\n", f.ProblemsOmitted)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func countsLine(c Counts) string {
	return fmt.Sprintf("%d valid; %d accepted, %d superseded, %d unchanged, %d rejected; %d problems",
		c.Valid, c.Accepted, c.Superseded, c.Unchanged, c.Rejected, c.ProblemCount)
}

func orUnknown(f Format) string {
	if f == "" {
		return "format unknown"
	}
	return string(f)
}

func rate(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2f M", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1f k", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}
