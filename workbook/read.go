package workbook

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/model"
)

// Problem rules of the workbook reader. They use the same vocabulary as ingest (and the
// model's FieldError rules) so that a problem reads the same whatever the file format.
const (
	RuleInvalidXLSX         = "invalid_xlsx"
	RuleMissingSheet        = "missing_sheet"
	RuleMissingField        = "missing_field"
	RuleUnknownField        = "unknown_field"
	RuleMissingColumn       = "missing_column"
	RuleNotANumber          = "not_a_number"
	RuleInvalidTime         = "invalid_time"
	RuleInvalidUTF8         = "invalid_utf8"
	RuleDuplicateAnswer     = "duplicate_answer"
	RuleDuplicateField      = "duplicate_field"
	RuleUnknownCapability   = "unknown_capability"
	RuleUnknownModelVersion = "unknown_model_version"
	RuleRequired            = "required"
)

// Problem is one thing wrong with a workbook, located by sheet and cell.
type Problem struct {
	// Cell is "Sheet!A1", or just the sheet name when no single cell is to blame, or ""
	// when the file itself is unreadable.
	Cell string `json:"cell,omitempty"`
	// Field is the submission field, as model.FieldError names it (e.g. "answers.VDT-02").
	Field string `json:"field,omitempty"`
	// Rule is a stable identifier, e.g. "out_of_range".
	Rule string `json:"rule"`
	// Value is the offending value as written, empty when missing.
	Value string `json:"value,omitempty"`
	// Message says what is wrong in words a person can act on.
	Message string `json:"message"`
}

// String renders the problem as "Assessment!J7: out_of_range: …".
func (p Problem) String() string {
	if p.Cell == "" {
		return p.Rule + ": " + p.Message
	}
	return p.Cell + ": " + p.Rule + ": " + p.Message
}

// Filled is a decoded workbook: the submission and where each of its fields was found,
// so that validation problems found later can be pointed at a cell.
type Filled struct {
	Submission model.Submission
	cells      map[string]string
	// unread marks fields whose cell could not be read (already reported), and
	// noProfile/noAnswers whole sheets, so that validation does not repeat them as "required".
	unread               map[string]bool
	noProfile, noAnswers bool
}

// Unread reports whether a field was already reported as unreadable by Decode (its cell
// or its whole sheet), so that callers validating the submission can drop the "required"
// echo of the same problem.
func (f *Filled) Unread(field string) bool {
	if f.unread[field] {
		return true
	}
	if strings.HasPrefix(field, "answers.") {
		return f.noAnswers
	}
	return f.noProfile
}

// Cell returns the cell a submission field (model.FieldError naming, e.g.
// "answers.VDT-02" or "organisation.state") was read from. For a field the workbook does
// not hold (a capability row deleted by the provider) it returns the sheet name.
func (f *Filled) Cell(field string) string {
	if c, ok := f.cells[field]; ok {
		return c
	}
	if strings.HasPrefix(field, "answers.") {
		return SheetAssessment
	}
	return SheetProfile
}

// readLimits bound what an uploaded workbook may expand to; excelize's defaults (16 GB)
// would let a zip bomb exhaust memory. A generated workbook unzips to well under 1 MB.
var readLimits = excelize.Options{UnzipSizeLimit: 64 << 20, UnzipXMLSizeLimit: 16 << 20}

// Decode reads a workbook without judging its content against a model: it reports only
// what stops a value being read (a missing sheet, a non-numeric bed count, an answer that
// is not a level). Ingest uses it and validates like every other format; Read adds the
// model's validation. The submission is nil when the file cannot be read at all.
func Decode(r io.Reader) (*Filled, []Problem) {
	f, err := excelize.OpenReader(r, readLimits)
	if err != nil {
		return nil, []Problem{{Rule: RuleInvalidXLSX, Message: "not a readable XLSX workbook: " + err.Error()}}
	}
	defer f.Close()
	d := &decoder{f: f, out: &Filled{cells: map[string]string{}, unread: map[string]bool{}}}
	d.out.Submission.SchemaVersion = model.SchemaVersion
	d.profile()
	d.assessment()
	return d.out, d.problems
}

// Read decodes a workbook and validates it against the model of its model_version,
// returning every problem with its cell. The submission is nil only when the file cannot
// be read at all.
func Read(r io.Reader, reg *model.Registry) (*model.Submission, []Problem) {
	filled, problems := Decode(r)
	if filled == nil {
		return nil, problems
	}
	s := &filled.Submission
	if s.ModelVersion == "" {
		if !filled.Unread("model_version") {
			problems = append(problems, Problem{Cell: filled.Cell("model_version"), Field: "model_version", Rule: RuleRequired,
				Message: "model_version is required"})
		}
		return s, problems
	}
	m, err := reg.Get(s.ModelVersion)
	if err != nil {
		problems = append(problems, Problem{Cell: filled.Cell("model_version"), Field: "model_version", Rule: RuleUnknownModelVersion,
			Value: s.ModelVersion, Message: err.Error()})
		return s, problems
	}
	for _, fe := range m.ValidateSubmission(s) {
		if filled.Unread(fe.Field) {
			continue // already reported as unreadable; "required" would only repeat it
		}
		problems = append(problems, Problem{Cell: filled.Cell(fe.Field), Field: fe.Field, Rule: fe.Rule, Value: fe.Value, Message: fe.Message})
	}
	return s, problems
}

type decoder struct {
	f        *excelize.File
	out      *Filled
	problems []Problem
}

func (d *decoder) add(p Problem) {
	d.problems = append(d.problems, p)
	if p.Field != "" {
		d.out.unread[p.Field] = true
	}
}

func (d *decoder) rows(sheet string) ([][]string, bool) {
	rows, err := d.f.GetRows(sheet)
	if err != nil {
		var missing excelize.ErrSheetNotExist
		if errors.As(err, &missing) {
			d.add(Problem{Cell: sheet, Rule: RuleMissingSheet, Message: fmt.Sprintf("the workbook has no %q sheet; use the workbook generated for the model", sheet)})
		} else {
			d.add(Problem{Cell: sheet, Rule: RuleInvalidXLSX, Message: fmt.Sprintf("sheet %q cannot be read: %v", sheet, err)})
		}
		return nil, false
	}
	return rows, true
}

func cellAt(row []string, col string) string {
	n, err := excelize.ColumnNameToNumber(col)
	if err != nil || n > len(row) {
		return ""
	}
	return strings.TrimSpace(row[n-1])
}

func cellName(sheet, col string, row int) string { return fmt.Sprintf("%s!%s%d", sheet, col, row) }

// text checks that a cell value is valid UTF-8; excelize passes bytes through as stored.
func (d *decoder) text(v, cell, field string) (string, bool) {
	if utf8.ValidString(v) {
		return v, true
	}
	d.add(Problem{Cell: cell, Field: field, Rule: RuleInvalidUTF8, Value: strconv.Quote(v),
		Message: "the cell holds bytes that are not valid UTF-8"})
	return "", false
}

func (d *decoder) profile() {
	rows, ok := d.rows(SheetProfile)
	if !ok {
		d.out.noProfile = true
		return
	}
	seen := map[string]int{}
	p := &d.out.Submission
	for i := ProfileFirstRow - 1; i < len(rows); i++ {
		row := i + 1
		name := cellAt(rows[i], ProfileFieldCol)
		if name == "" {
			continue
		}
		nameCell := cellName(SheetProfile, ProfileFieldCol, row)
		cell := cellName(SheetProfile, ProfileValueCol, row)
		known := false
		for _, f := range ProfileFields {
			known = known || f == name
		}
		if !known {
			n, _ := d.text(name, nameCell, "")
			d.add(Problem{Cell: nameCell, Rule: RuleUnknownField, Value: n,
				Message: fmt.Sprintf("%q is not a profile field (expected one of %s)", n, strings.Join(ProfileFields, ", "))})
			continue
		}
		field := submissionField(name)
		if first, dup := seen[name]; dup {
			d.add(Problem{Cell: nameCell, Field: field, Rule: RuleDuplicateField, Value: name,
				Message: fmt.Sprintf("%s appears again (first in row %d)", name, first)})
			continue
		}
		seen[name] = row
		d.out.cells[field] = cell
		v, ok := d.text(cellAt(rows[i], ProfileValueCol), cell, field)
		if !ok {
			continue
		}
		switch name {
		case model.ColOrgID:
			p.Organisation.ID = v
		case model.ColOrgName:
			p.Organisation.Name = v
		case model.ColState:
			p.Organisation.State = v
		case model.ColBeds:
			if v == "" {
				d.add(Problem{Cell: cell, Field: field, Rule: RuleRequired, Message: "organisation.beds is required"})
				continue
			}
			n, err := wholeNumber(v)
			if err != nil {
				d.add(Problem{Cell: cell, Field: field, Rule: RuleNotANumber, Value: v,
					Message: fmt.Sprintf("beds %q is not a whole number", v)})
				continue
			}
			p.Organisation.Beds = n
		case model.ColOrgType:
			p.Organisation.Type = v
		case model.ColCycle:
			p.Cycle = v
		case model.ColModelVersion:
			p.ModelVersion = v
		case model.ColSubmittedAt:
			if v == "" {
				continue
			}
			t, err := ParseTime(v)
			if err != nil {
				d.add(Problem{Cell: cell, Field: field, Rule: RuleInvalidTime, Value: v,
					Message: fmt.Sprintf("submitted_at %q is not a date (YYYY-MM-DD) or an RFC 3339 time", v)})
				continue
			}
			p.SubmittedAt = t
		}
	}
	for _, f := range ProfileFields {
		if _, ok := seen[f]; !ok && !optionalProfileFields[f] {
			d.add(Problem{Cell: SheetProfile, Field: submissionField(f), Rule: RuleMissingField,
				Message: fmt.Sprintf("the Profile sheet has no %s row", f)})
		}
	}
}

func (d *decoder) assessment() {
	rows, ok := d.rows(SheetAssessment)
	if !ok {
		d.out.noAnswers = true
		return
	}
	var header []string
	if len(rows) >= AssessHeader {
		header = rows[AssessHeader-1]
	}
	for _, c := range []struct{ col, title string }{{ColID, TitleID}, {ColAnswer, TitleAnswer}} {
		if got := cellAt(header, c.col); got != c.title {
			d.add(Problem{Cell: cellName(SheetAssessment, c.col, AssessHeader), Rule: RuleMissingColumn, Value: got,
				Message: fmt.Sprintf("column %s must be titled %q; columns were moved or the workbook is not ours", c.col, c.title)})
			d.out.noAnswers = true
			return
		}
	}
	answers := make(map[string]model.Answer, len(rows))
	d.out.Submission.Answers = answers
	seen := map[string]int{}
	for i := AssessFirst - 1; i < len(rows); i++ {
		row := i + 1
		idCell := cellName(SheetAssessment, ColID, row)
		cell := cellName(SheetAssessment, ColAnswer, row)
		id, ok := d.text(cellAt(rows[i], ColID), idCell, "")
		if !ok {
			continue
		}
		text := cellAt(rows[i], ColAnswer)
		if id == "" {
			if text != "" {
				d.add(Problem{Cell: idCell, Rule: RuleUnknownCapability, Message: "an answer is given in a row without a capability ID"})
			}
			continue
		}
		field := "answers." + id
		if first, dup := seen[id]; dup {
			d.add(Problem{Cell: idCell, Field: field, Rule: RuleDuplicateAnswer, Value: id,
				Message: fmt.Sprintf("%s appears again (first in row %d)", id, first)})
			continue
		}
		seen[id] = row
		d.out.cells[field] = cell
		if text == "" {
			continue // left blank: the model reports it as required, at this cell
		}
		text, ok = d.text(text, cell, field)
		if !ok {
			continue
		}
		a, err := model.ParseAnswer(text)
		if err != nil {
			d.add(Problem{Cell: cell, Field: field, Rule: RuleNotANumber, Value: text, Message: id + " " + err.Error()})
			continue
		}
		answers[id] = a
	}
}

// submissionField maps a Profile sheet field name to the model.FieldError field name.
func submissionField(name string) string {
	for k, v := range profileFieldOf {
		if v == name && k != "schema_version" {
			return k
		}
	}
	return name
}

// wholeNumber reads an integer, also as Excel writes it ("120.0", "120").
func wholeNumber(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int(f)) {
		return 0, strconv.ErrSyntax
	}
	return int(f), nil
}

// ParseTime reads submitted_at as the tabular formats carry it: RFC 3339 (what Write and
// the JSON formats use) or a plain date (what a person types).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}
