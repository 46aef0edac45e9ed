// Package ingest turns submission files (JSON, NDJSON, CSV wide and long, the XLSX
// workbook) into validated, scored submissions and hands them to the warehouse in large
// batches. Every problem is reported with its file, row or JSON pointer or cell, field,
// rule and value, so that one run tells a provider everything to fix.
//
// The pipeline is decode → validate → score → commit. Decoding streams over the input;
// validation and scoring run on Options.Workers goroutines over blocks of submissions and
// the results are put back in file order, so reports and commits are deterministic.
package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// Input is one file to ingest.
type Input struct {
	// Name is the file name as the user knows it; problems carry it and Sniff reads its
	// extension.
	Name string
	// Reader is the content. Ingest reads it once, to the end or to the first fatal problem.
	Reader io.Reader
	// Format is the format, or "" to sniff it from Name and the content.
	Format Format
	// Size is the content length when known (0 if not). A file known to be over
	// Options.MaxBytes is rejected without being read.
	Size int64
	// Source is recorded with each submission (warehouse.ScoredSubmission.Source), e.g.
	// "cli:file.csv" or "api"; "" records Name.
	Source string
}

// DefaultMaxBytes is the size limit of one input when Options.MaxBytes is 0. It is far
// above any real population file (6,000 hospitals × 40 answers is a few MB in any format)
// and guards memory, not disk: CSV-long and atomic ingests hold a whole file's
// submissions at once. The API sets a much smaller limit.
const DefaultMaxBytes = 256 << 20

// DefaultChunkSize is how many submissions go into one Store.Commit when not atomic: large
// enough that the per-commit cost vanishes (research/perf.md: one commit per submission
// runs at ~1,000/s), small enough to bound memory on very large files. Measured on a
// 100,000-organisation CSV: 25,000 per commit peaked at ~580 MB resident, 10,000 at
// ~415 MB in the same time (2.6–2.9 s either way); on 25,000 organisations 344 vs 291 MB,
// 0.81 vs 0.83 s.
const DefaultChunkSize = 10_000

// Options tune an ingest. The zero value is usable.
type Options struct {
	// Atomic makes each file all-or-nothing: any problem in the file (or any warehouse
	// rejection) means nothing of it is committed. Without it each submission is its own
	// unit: valid ones are committed, invalid ones reported.
	Atomic bool
	// MaxBytes limits the size of each input; 0 means DefaultMaxBytes.
	MaxBytes int64
	// ChunkSize is the number of submissions per Store.Commit when not atomic; 0 means
	// DefaultChunkSize. (Atomic files are committed in one call, as the Store's unit of
	// atomicity is the call.)
	ChunkSize int
	// Workers is the number of goroutines validating and scoring; 0 means GOMAXPROCS.
	Workers int
	// MaxProblems caps the problems kept per file (the rest are counted in
	// FileReport.ProblemsOmitted); 0 keeps every problem.
	MaxProblems int
	// Progress, when set, is called from the ingesting goroutine after each block of
	// submissions and once at the end of each file, so that a caller can drive a progress
	// bar. It must return quickly.
	Progress func(Progress)
	// OnCommit, when set, is called for every submission handed to the store, with its
	// outcome, after the store returns (the API uses it to answer a provider with the new
	// submission's ID and scorecard). Called from the ingesting goroutine, in file order.
	OnCommit func(Committed)
}

// Committed is one submission the store has decided on.
type Committed struct {
	File string
	// Row is the submission's row or line (0 for a JSON document or a workbook).
	Row        int
	Submission warehouse.ScoredSubmission
	Outcome    warehouse.Outcome
}

// ErrRolledBack is the Outcome.Err given to OnCommit for submissions of an atomic file
// that were valid themselves but not stored because another submission was refused.
var ErrRolledBack = errors.New("not stored: another submission of the atomic file was rejected")

// Progress is a snapshot of one file's ingest.
type Progress struct {
	File   string `json:"file"`
	Format Format `json:"format"`
	// Bytes read so far and the file size (0 when unknown).
	Bytes      int64 `json:"bytes"`
	TotalBytes int64 `json:"total_bytes"`
	// Submissions decoded so far, and how many of them were rejected.
	Submissions int `json:"submissions"`
	Rejected    int `json:"rejected"`
	// Done is set on the last call for the file.
	Done bool `json:"done"`
}

// blockSize is the number of submissions handed to a worker at once: big enough to make
// channel traffic negligible, small enough to keep both cores busy on small files.
const blockSize = 512

// Ingest reads, validates, scores and commits every input, in order, and reports what
// happened to each submission. Problems with the content are reported, not returned: the
// error is for failures of the machinery (the store failed, a file could not be read, the
// context ended), and the report of the work done so far is returned with it. A nil store
// makes a dry run: submissions are validated and scored but not committed.
func Ingest(ctx context.Context, store Store, reg *model.Registry, files []Input, opts Options) (*Report, error) {
	start := time.Now()
	opts = opts.withDefaults()
	env := newEnv(reg)
	rep := &Report{Atomic: opts.Atomic, Files: []FileReport{}}
	defer func() { rep.finish(time.Since(start)) }()
	for _, in := range files {
		fr, err := ingestFile(ctx, store, env, in, opts)
		rep.Files = append(rep.Files, *fr)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// env is what every file of one ingest shares: the models by version, each with its
// capability IDs sorted for hashing, and the union of all capability IDs (to intern
// capability strings and tell capability columns from unknown ones).
type env struct {
	reg    *model.Registry
	models map[string]*modelInfo
	intern map[string]string
}

type modelInfo struct {
	m      *model.Model
	sorted []string
}

func newEnv(reg *model.Registry) *env {
	e := &env{reg: reg, models: map[string]*modelInfo{}, intern: map[string]string{}}
	for _, v := range reg.Versions() {
		m, err := reg.Get(v)
		if err != nil {
			continue
		}
		ids := m.CapabilityIDs()
		for _, id := range ids {
			e.intern[id] = id
		}
		slices.Sort(ids)
		e.models[v] = &modelInfo{m: m, sorted: ids}
	}
	return e
}

// block is a run of consecutive submissions. The decoder sends each block both to the
// workers and, in file order, to the collector, which waits for done before reading it;
// that keeps output order deterministic without a reorder buffer.
type block struct {
	items []item
	done  chan struct{}
}

// pendingRef remembers where a valid submission came from, to locate warehouse rejections.
type pendingRef struct {
	row int
	loc locator
}

// fileRun holds the state of one file's ingest.
type fileRun struct {
	ctx     context.Context
	store   Store
	env     *env
	in      Input
	opts    Options
	fr      *FileReport
	lr      *limitReader
	pending []warehouse.ScoredSubmission
	refs    []pendingRef
	// itemProblems are the problems of submissions, in file order.
	itemProblems []Problem
}

func ingestFile(ctx context.Context, store Store, env *env, in Input, opts Options) (_ *FileReport, err error) {
	start := time.Now()
	fr := &FileReport{File: in.Name, Format: in.Format, Problems: []Problem{}}
	defer func() { fr.Seconds = time.Since(start).Seconds() }()
	run := &fileRun{ctx: ctx, store: store, env: env, in: in, opts: opts, fr: fr}
	defer func() {
		if err == nil {
			run.progress(true)
		}
	}()
	if in.Size > opts.MaxBytes {
		run.fileProblem(Problem{Rule: RuleTooLarge, Value: fmt.Sprint(in.Size),
			Message: fmt.Sprintf("the file has %d bytes; the limit is %d", in.Size, opts.MaxBytes)})
		return fr, nil
	}
	if in.Reader == nil {
		return fr, fmt.Errorf("ingest %s: no reader", in.Name)
	}
	br, lr, err := openInput(in.Reader, opts.MaxBytes)
	run.lr = lr
	if err != nil && !errors.Is(err, errTooLarge) {
		return fr, fmt.Errorf("ingest %s: %w", in.Name, err)
	}
	head, err := peekHead(br)
	if err != nil && !errors.Is(err, errTooLarge) {
		return fr, fmt.Errorf("ingest %s: %w", in.Name, err)
	}
	if len(head) == 0 {
		run.fileProblem(Problem{Rule: RuleEmptyFile, Message: "the file is empty"})
		return fr, nil
	}
	format := in.Format
	switch {
	case format == "":
		if format, err = Sniff(in.Name, head); err != nil {
			run.fileProblem(Problem{Rule: RuleUnknownFormat, Message: err.Error()})
			return fr, nil
		}
	case format == FormatCSV:
		format = resolveCSV(head)
	case !format.valid():
		run.fileProblem(Problem{Rule: RuleUnknownFormat, Value: string(format),
			Message: fmt.Sprintf("unknown format %q (known: %v)", format, Formats())})
		return fr, nil
	}
	fr.Format = format
	// Size the batch for the file when its size is known (a wide row is ~150 bytes), so
	// that a 25k-row file does not grow it by doubling, nor a one-document request
	// allocate room for 25k.
	run.pending = make([]warehouse.ScoredSubmission, 0, min(int64(opts.ChunkSize), max(16, in.Size/128)))
	if err := run.pipeline(br, format); err != nil {
		return fr, fmt.Errorf("ingest %s: %w", in.Name, err)
	}
	return fr, nil
}

// pipeline runs decode (one goroutine), validate+score (opts.Workers goroutines) and
// collect+commit (this goroutine) over one file.
func (run *fileRun) pipeline(r io.Reader, format Format) error {
	ctx, cancel := context.WithCancel(run.ctx)
	defer cancel()
	workers := run.opts.Workers
	jobs := make(chan *block, 2*workers)
	ordered := make(chan *block, 2*workers+2)
	dec := &decodeCtx{ctx: ctx, env: run.env, store: run.store, format: format, jobs: jobs, ordered: ordered,
		seen: map[subKey]int{}}

	var wg sync.WaitGroup
	var decErr error
	wg.Go(func() {
		defer close(ordered)
		defer close(jobs)
		decErr = dec.run(r)
		if decErr == nil {
			decErr = dec.flush()
		}
	})
	source := run.in.Source
	if source == "" {
		source = run.in.Name
	}
	for range workers {
		wg.Go(func() {
			p := newProcessor(run.env, source)
			for b := range jobs {
				for i := range b.items {
					p.process(&b.items[i])
				}
				close(b.done)
			}
		})
	}

	var collectErr error
	for b := range ordered {
		if collectErr != nil {
			continue // drain so the decoder can finish
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			collectErr = ctx.Err()
			cancel()
			continue
		}
		if err := run.collect(b); err != nil {
			collectErr = err
			cancel()
			continue
		}
		run.progress(false)
	}
	wg.Wait()
	if collectErr != nil {
		return collectErr
	}
	switch {
	case errors.Is(decErr, errTooLarge):
		run.fileProblem(Problem{Rule: RuleTooLarge,
			Message: fmt.Sprintf("the file is larger than the limit of %d bytes; the rest of it was not read", run.opts.MaxBytes)})
	case decErr != nil:
		return decErr
	}
	run.fr.Rejected += dec.orphans
	run.fr.Submissions += dec.orphans
	fileProblems := dec.fileProblems
	if run.fr.Submissions == 0 && len(fileProblems) == 0 && len(run.itemProblems) == 0 && len(run.fr.Problems) == 0 {
		fileProblems = append(fileProblems, Problem{Rule: RuleEmptyFile, Message: "the file holds no submission"})
	}
	return run.finish(fileProblems)
}

// collect takes a processed block in file order: counts, problems, and valid submissions
// into the pending batch, committed whenever it reaches the chunk size (not atomic).
func (run *fileRun) collect(b *block) error {
	fr := run.fr
	for i := range b.items {
		it := &b.items[i]
		fr.Submissions++
		fr.Answers += it.answers
		if len(it.problems) > 0 {
			fr.Rejected++
			run.itemProblems = append(run.itemProblems, it.problems...)
			continue
		}
		fr.Valid++
		run.pending = append(run.pending, it.scored)
		run.refs = append(run.refs, pendingRef{row: it.row, loc: it.loc})
		if !run.opts.Atomic && len(run.pending) >= run.opts.ChunkSize {
			if err := run.commit(false); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish commits what is pending (or, atomic, decides whether anything may be committed)
// and assembles the file's problem list.
func (run *fileRun) finish(fileProblems []Problem) error {
	fr := run.fr
	if run.opts.Atomic {
		if len(fileProblems) > 0 || len(run.itemProblems) > 0 || len(fr.Problems) > 0 || fr.Rejected > 0 {
			if len(run.pending) > 0 {
				fr.RolledBack = true
				fr.Rejected += len(run.pending)
			}
			run.pending, run.refs = nil, nil
		}
	}
	if err := run.commit(run.opts.Atomic); err != nil {
		return err
	}
	all := make([]Problem, 0, len(fileProblems)+len(run.itemProblems)+len(fr.Problems))
	all = append(append(append(all, fileProblems...), run.itemProblems...), fr.Problems...) // the last: warehouse rejections
	for i := range all {
		all[i].File, all[i].Format = run.in.Name, fr.Format
		all[i].bound()
	}
	// Stable by row: file and header problems first, then in reading order; within a row,
	// in the order found.
	slices.SortStableFunc(all, func(a, b Problem) int { return cmp.Compare(a.Row, b.Row) })
	if max := run.opts.MaxProblems; max > 0 && len(all) > max {
		fr.ProblemsOmitted = len(all) - max
		all = all[:max:max]
	}
	fr.Problems = all
	fr.ProblemCount = len(all) + fr.ProblemsOmitted
	return nil
}

// commit hands the pending submissions to the store and counts the outcomes.
func (run *fileRun) commit(atomic bool) error {
	if len(run.pending) == 0 {
		return nil
	}
	defer func() { run.pending, run.refs = run.pending[:0], run.refs[:0] }()
	if run.store == nil {
		return nil // dry run
	}
	outcomes, err := run.store.Commit(run.ctx, run.pending, atomic)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if len(outcomes) != len(run.pending) {
		return fmt.Errorf("commit: the store returned %d outcomes for %d submissions", len(outcomes), len(run.pending))
	}
	fr := run.fr
	rejected := 0
	for _, o := range outcomes {
		if o.Status == warehouse.StatusRejected {
			rejected++
		}
	}
	rolledBack := atomic && rejected > 0
	var consequence []bool
	if rolledBack {
		consequence = consequences(outcomes)
	}
	for i, o := range outcomes {
		if o.Status == warehouse.StatusRejected && (consequence == nil || !consequence[i]) {
			fr.Problems = append(fr.Problems, outcomeProblems(o.Err, run.refs[i])...)
		}
	}
	if run.opts.OnCommit != nil {
		for i, o := range outcomes {
			if rolledBack && o.Status != warehouse.StatusRejected {
				o = warehouse.Outcome{Status: warehouse.StatusRejected, Err: ErrRolledBack}
			}
			run.opts.OnCommit(Committed{File: run.in.Name, Row: run.refs[i].row, Submission: run.pending[i], Outcome: o})
		}
	}
	if rolledBack {
		// The store undid the whole call; nothing of the file is stored.
		fr.RolledBack = true
		fr.Rejected += len(outcomes)
		return nil
	}
	for _, o := range outcomes {
		switch o.Status {
		case warehouse.StatusAccepted:
			fr.Accepted++
		case warehouse.StatusSuperseded:
			fr.Superseded++
		case warehouse.StatusUnchanged:
			fr.Unchanged++
		case warehouse.StatusRejected:
			fr.Rejected++
		default:
			return fmt.Errorf("commit: unknown outcome status %q", o.Status)
		}
	}
	return nil
}

// consequences marks the rejections of an atomic commit that are only the echo of another
// one: the warehouse rejects every member of a failed all-or-nothing batch, wrapping the
// cause (the culprit's own error) in each innocent member's error. Reporting those would
// bury the one real problem under one copy per submission; the report's RolledBack says
// the rest. Errors of non-comparable types are never matched, so they are all reported.
func consequences(outcomes []warehouse.Outcome) []bool {
	causes := map[error]bool{}
	for _, o := range outcomes {
		if o.Status == warehouse.StatusRejected && isComparable(o.Err) {
			causes[o.Err] = true
		}
	}
	out := make([]bool, len(outcomes))
	for i, o := range outcomes {
		if o.Status != warehouse.StatusRejected || o.Err == nil {
			continue
		}
		inner := errors.Unwrap(o.Err)
		out[i] = inner != nil && isComparable(inner) && causes[inner]
	}
	return out
}

func isComparable(err error) bool { return err != nil && reflect.TypeOf(err).Comparable() }

// outcomeProblems turns a warehouse rejection into problems. The warehouse reports
// content problems (unknown or closed cycle) as *model.Error details naming the field;
// those are located like validation problems.
func outcomeProblems(err error, ref pendingRef) []Problem {
	var me *model.Error
	if errors.As(err, &me) && len(me.Details) > 0 {
		out := make([]Problem, 0, len(me.Details))
		for i := range me.Details {
			fe := &me.Details[i]
			row, ptr := ref.row, ""
			if ref.loc != nil {
				row, ptr = ref.loc.locate(fe)
			}
			out = append(out, Problem{Row: row, Pointer: ptr, Field: fe.Field, Rule: fe.Rule, Value: fe.Value, Message: fe.Message})
		}
		return out
	}
	msg := "the warehouse rejected the submission"
	if err != nil {
		msg = err.Error()
	}
	return []Problem{{Row: ref.row, Rule: RuleRejected, Message: msg}}
}

func (run *fileRun) fileProblem(p Problem) {
	p.File, p.Format = run.in.Name, run.in.Format
	p.bound()
	if run.fr.Format != "" {
		p.Format = run.fr.Format
	}
	run.fr.Problems = append(run.fr.Problems, p)
	run.fr.ProblemCount++
}

func (run *fileRun) progress(done bool) {
	if run.opts.Progress == nil {
		return
	}
	var n int64
	if run.lr != nil {
		n = run.lr.n.Load()
	}
	run.opts.Progress(Progress{File: run.in.Name, Format: run.fr.Format, Bytes: n, TotalBytes: run.in.Size,
		Submissions: run.fr.Submissions, Rejected: run.fr.Rejected, Done: done})
}
