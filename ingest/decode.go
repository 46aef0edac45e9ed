package ingest

import (
	"context"
	"fmt"
	"io"
)

// decodeCtx is the decoding side of one file's pipeline. Decoders call emit for every
// submission they read, in file order; fileProblem for problems that belong to no single
// submission (a bad header); and reject for rows that are lost with such a problem.
type decodeCtx struct {
	ctx    context.Context
	env    *env
	store  Store
	format Format

	jobs    chan<- *block
	ordered chan<- *block
	cur     *block

	// seen finds the same organisation and cycle twice in one file.
	seen map[subKey]int
	// fileProblems belong to the file, not to one submission.
	fileProblems []Problem
	// orphans counts rows rejected by a file problem without becoming items (the rows
	// under a broken header), so that the counts still add up.
	orphans int
}

type subKey struct{ org, cycle string }

// run decodes r with the decoder of the format.
func (d *decodeCtx) run(r io.Reader) error {
	switch d.format {
	case FormatJSON:
		return d.decodeJSON(r)
	case FormatNDJSON:
		return d.decodeNDJSON(r)
	case FormatCSVWide:
		return d.decodeCSVWide(r)
	case FormatCSVLong:
		return d.decodeCSVLong(r)
	case FormatXLSX:
		return d.decodeXLSX(r)
	}
	return fmt.Errorf("no decoder for format %q", d.format)
}

// where names a row in the words of the format, for messages that point at another row.
func (d *decodeCtx) where(row int) string {
	switch d.format {
	case FormatNDJSON:
		return fmt.Sprintf("line %d", row)
	default:
		return fmt.Sprintf("row %d", row)
	}
}

// emit queues one submission. It catches the same organisation and cycle twice in one
// file here, in file order: the first is used, later ones are rejected, because which of
// them the provider meant cannot be known and committing both would let file order pick.
func (d *decodeCtx) emit(it *item) error {
	if !it.broken && it.sub.Organisation.ID != "" && it.sub.Cycle != "" {
		k := subKey{it.sub.Organisation.ID, it.sub.Cycle}
		if first, dup := d.seen[k]; dup {
			ptr := "/organisation/id"
			switch d.format {
			case FormatCSVWide, FormatCSVLong:
				ptr = columnOfField["organisation.id"]
			}
			it.problem(Problem{Row: it.row, Pointer: ptr, Field: "organisation.id", Rule: RuleDuplicateSubmission, Value: clip(k.org),
				Message: fmt.Sprintf("organisation %s already has a submission for cycle %s in this file (%s); only the first is used",
					clip(k.org), clip(k.cycle), d.where(first))})
		} else {
			d.seen[k] = it.row
		}
	}
	if d.cur == nil {
		d.cur = &block{items: make([]item, 0, blockSize), done: make(chan struct{})}
	}
	d.cur.items = append(d.cur.items, *it)
	if len(d.cur.items) == blockSize {
		return d.flush()
	}
	return nil
}

// flush sends the current block to the workers and, in order, to the collector.
func (d *decodeCtx) flush() error {
	b := d.cur
	if b == nil || len(b.items) == 0 {
		return nil
	}
	d.cur = nil
	select {
	case d.jobs <- b:
	case <-d.ctx.Done():
		return d.ctx.Err()
	}
	select {
	case d.ordered <- b:
	case <-d.ctx.Done():
		return d.ctx.Err()
	}
	return nil
}

func (d *decodeCtx) fileProblem(p Problem) { d.fileProblems = append(d.fileProblems, p) }

// reject counts n rows lost to a file problem.
func (d *decodeCtx) reject(n int) { d.orphans += n }
