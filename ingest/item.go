package ingest

import (
	"strings"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// item is one submission on its way through the pipeline: what the decoder read, where it
// was, what is wrong with it, and (once valid) its scored form.
type item struct {
	sub model.Submission
	// row is where the submission starts: CSV row, NDJSON line, first CSV-long row; 0 for
	// a JSON document or a workbook.
	row int
	loc locator
	// problems found so far; any problem rejects the submission.
	problems []Problem
	// broken marks a row that could not be read into a submission at all (bad CSV syntax,
	// wrong column count, unparseable JSON): it is counted and reported, never validated.
	broken bool
	// unread reports fields the decoder already reported in a way problems do not show
	// (a missing workbook sheet); nil for most formats.
	unread  func(field string) bool
	answers int
	scored  warehouse.ScoredSubmission
	// fields holds the fields named by problems, created with the first such problem; a
	// map rather than a scan of problems, because a hostile document can hold 100,000
	// bad answers and a scan per answer would be quadratic.
	fields map[string]struct{}
}

func (it *item) problem(p Problem) {
	it.problems = append(it.problems, p)
	if p.Field != "" {
		if it.fields == nil {
			it.fields = map[string]struct{}{}
		}
		it.fields[p.Field] = struct{}{}
	}
}

// reported tells whether the decoder already reported a field, so that validation does
// not add "required" for an answer it could not read.
func (it *item) reported(field string) bool {
	if _, ok := it.fields[field]; ok {
		return true
	}
	// A problem with the whole object ("organisation" is not an object) covers its members.
	if i := strings.IndexByte(field, '.'); i > 0 && it.fields != nil {
		if _, ok := it.fields[field[:i]]; ok {
			return true
		}
	}
	return it.unread != nil && it.unread(field)
}

// locator points a validation problem (named by model field) back into the file.
type locator interface {
	locate(fe *model.FieldError) (row int, pointer string)
}

// jsonLoc locates fields of a JSON document by JSON pointer; line is the NDJSON line.
type jsonLoc struct{ line int }

func (l jsonLoc) locate(fe *model.FieldError) (int, string) { return l.line, jsonPointer(fe.Field) }

// jsonPointer turns a model field ("answers.VDT-02", "organisation.state") into an RFC
// 6901 pointer. Capability IDs may contain '.', so only the known prefixes are split.
func jsonPointer(field string) string {
	if id, ok := strings.CutPrefix(field, "answers."); ok {
		return "/answers/" + escapePointer(id)
	}
	if f, ok := strings.CutPrefix(field, "organisation."); ok {
		return "/organisation/" + escapePointer(f)
	}
	return "/" + escapePointer(field)
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}

// columnOfField maps model fields to the CSV columns that carry them.
var columnOfField = map[string]string{
	"organisation.id":    model.ColOrgID,
	"organisation.name":  model.ColOrgName,
	"organisation.state": model.ColState,
	"organisation.beds":  model.ColBeds,
	"organisation.type":  model.ColOrgType,
	"cycle":              model.ColCycle,
	"model_version":      model.ColModelVersion,
	"submitted_at":       model.ColSubmittedAt,
}

// fieldOfColumn is columnOfField inverted.
var fieldOfColumn = func() map[string]string {
	out := map[string]string{}
	for f, c := range columnOfField {
		out[c] = f
	}
	return out
}()

// wideLoc locates fields of a CSV-wide row: the row, and the column named like the field.
type wideLoc struct{ row int }

func (l wideLoc) locate(fe *model.FieldError) (int, string) {
	if id, ok := strings.CutPrefix(fe.Field, "answers."); ok {
		return l.row, id
	}
	return l.row, columnOfField[fe.Field]
}
