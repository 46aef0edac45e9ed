package ingest

import (
	"bytes"
	"io"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/workbook"
)

// xlsxLoc locates fields of a workbook by the cell they were read from.
type xlsxLoc struct{ filled *workbook.Filled }

func (l xlsxLoc) locate(fe *model.FieldError) (int, string) { return 0, l.filled.Cell(fe.Field) }

// decodeXLSX reads the assessment workbook (one submission) through package workbook,
// which knows its layout; validation then runs here as for every other format, with
// problems pointed at the workbook's cells.
func (d *decodeCtx) decodeXLSX(r io.Reader) error {
	// XLSX is a ZIP archive, read from its end; the size limit applies while buffering.
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	filled, wbProblems := workbook.Decode(bytes.NewReader(data))
	if filled == nil {
		for _, p := range wbProblems {
			d.fileProblem(fromWorkbook(p))
		}
		d.reject(1)
		return nil
	}
	it := item{loc: xlsxLoc{filled}, sub: filled.Submission, unread: filled.Unread, answers: len(filled.Submission.Answers)}
	for _, p := range wbProblems {
		it.problem(fromWorkbook(p))
	}
	return d.emit(&it)
}

func fromWorkbook(p workbook.Problem) Problem {
	return Problem{Pointer: p.Cell, Field: p.Field, Rule: p.Rule, Value: p.Value, Message: p.Message}
}
