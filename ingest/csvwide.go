package ingest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/workbook"
)

// colKind says what a CSV column carries.
type colKind uint8

const (
	colIgnored colKind = iota
	colOrgID
	colOrgName
	colState
	colBeds
	colOrgType
	colCycle
	colModelVersion
	colSubmittedAt
	colCapability
	colAnswer
)

var profileColKinds = map[string]colKind{
	model.ColOrgID: colOrgID, model.ColOrgName: colOrgName, model.ColState: colState, model.ColBeds: colBeds,
	model.ColOrgType: colOrgType, model.ColCycle: colCycle, model.ColModelVersion: colModelVersion,
	model.ColSubmittedAt: colSubmittedAt,
}

// wideRequired are the CSV-wide profile columns that must be present; org_name and
// submitted_at are optional as they are in the JSON document.
var wideRequired = []string{model.ColOrgID, model.ColState, model.ColBeds, model.ColOrgType, model.ColCycle, model.ColModelVersion}

type column struct {
	kind colKind
	name string
	id   string // capability ID (interned) for colCapability
}

// newCSVReader configures encoding/csv for our files: field counts are checked by us (to
// report them as problems, not stop), and records reuse their slice (the field strings
// are fresh per record, so keeping them is safe).
func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// readRecord reads one record and sorts out what came back: a record; io.EOF at the end;
// a row that is not valid CSV (broken, with the parser's reason), which the caller reports
// and reads on past; or an error that ends the file (too large, a failed read).
func readRecord(cr *csv.Reader) (rec []string, broken *csv.ParseError, err error) {
	rec, err = cr.Read()
	if err == nil || err == io.EOF || errors.Is(err, errTooLarge) {
		return rec, nil, err
	}
	if errors.As(err, &broken) {
		return nil, broken, nil
	}
	return nil, nil, err
}

// readHeader reads and checks the header row, reporting invalid UTF-8, duplicates and
// syntax. ok is false when the header cannot be used.
func (d *decodeCtx) readHeader(cr *csv.Reader) (header []string, ok bool, err error) {
	rec, broken, err := readRecord(cr)
	switch {
	case err == io.EOF:
		d.fileProblem(Problem{Rule: RuleEmptyFile, Message: "the file is empty"})
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case broken != nil:
		d.fileProblem(Problem{Row: 1, Rule: RuleInvalidCSV, Message: "the header is not valid CSV: " + broken.Err.Error()})
		return nil, false, nil
	}
	header = slices.Clone(rec)
	ok = true
	seen := map[string]bool{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			d.fileProblem(Problem{Row: 1, Rule: RuleInvalidUTF8, Value: quoteBytes(h),
				Message: fmt.Sprintf("header column %d is not valid UTF-8", i+1)})
			header[i], ok = "", false // reported once, here; not again as an unknown column
			continue
		}
		header[i] = strings.TrimSpace(h)
		if seen[header[i]] {
			d.fileProblem(Problem{Row: 1, Pointer: clip(header[i]), Rule: RuleDuplicateColumn, Value: clip(header[i]),
				Message: fmt.Sprintf("column %q appears twice in the header", clip(header[i]))})
			ok = false
		}
		seen[header[i]] = true
	}
	return header, ok, nil
}

// drain counts the records left after a fatal header problem, so that the report says how
// many submissions the problem cost.
func (d *decodeCtx) drain(cr *csv.Reader) error {
	for {
		rec, broken, err := readRecord(cr)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if broken != nil || !blankRecord(rec) {
			d.reject(1)
		}
	}
}

// blankRecord is a row of empty cells, as spreadsheets export below the data.
func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// decodeCSVWide reads one submission per row. The header is checked first and a broken
// header (unknown, duplicate or missing columns) rejects the file with one problem per
// column, rather than the same problem on every one of 25,000 rows.
func (d *decodeCtx) decodeCSVWide(r io.Reader) error {
	cr := newCSVReader(r)
	header, ok, err := d.readHeader(cr)
	if err != nil || header == nil {
		return err
	}
	cols := make([]column, len(header))
	caps := 0
	for i, h := range header {
		if k, isProfile := profileColKinds[h]; isProfile {
			cols[i] = column{kind: k, name: h}
			continue
		}
		if id, isCap := d.env.intern[h]; isCap {
			cols[i] = column{kind: colCapability, name: id, id: id}
			caps++
			continue
		}
		if h == "" {
			continue // unnamed trailing column from a spreadsheet; its cells must be empty
		}
		d.fileProblem(Problem{Row: 1, Pointer: clip(h), Rule: RuleUnknownColumn, Value: clip(h),
			Message: fmt.Sprintf("column %q is neither a profile column (%s) nor a capability of any known model", clip(h), strings.Join(model.WideProfileColumns, ", "))})
		ok = false
	}
	for _, c := range wideRequired {
		if !slices.Contains(header, c) {
			d.fileProblem(Problem{Row: 1, Pointer: c, Rule: RuleMissingColumn, Message: fmt.Sprintf("the header has no %s column", c)})
			ok = false
		}
	}
	if !ok {
		return d.drain(cr)
	}
	checked := map[string]bool{} // model versions whose capability columns were checked
	row, rows := 1, 0
	for {
		rec, broken, err := readRecord(cr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		row++
		if broken != nil {
			rows++
			it := item{row: row, broken: true}
			it.problem(Problem{Row: row, Rule: RuleInvalidCSV, Message: "the row is not valid CSV: " + broken.Err.Error()})
			if e := d.emit(&it); e != nil {
				return e
			}
			continue
		}
		if blankRecord(rec) {
			continue
		}
		rows++
		if len(rec) != len(cols) {
			it := item{row: row, broken: true}
			it.problem(Problem{Row: row, Rule: RuleColumnCount, Value: strconv.Itoa(len(rec)),
				Message: fmt.Sprintf("the row has %d fields; the header has %d", len(rec), len(cols))})
			if e := d.emit(&it); e != nil {
				return e
			}
			continue
		}
		it := d.wideRow(rec, cols, row, caps)
		if v := it.sub.ModelVersion; !checked[v] {
			checked[v] = true
			if missing := d.missingCapColumns(v, header); len(missing) > 0 {
				for _, id := range missing {
					d.fileProblem(Problem{Row: 1, Pointer: id, Field: "answers." + id, Rule: RuleMissingColumn,
						Message: fmt.Sprintf("the header has no column for capability %s of model %s", id, v)})
				}
				d.reject(1)
				return d.drain(cr)
			}
		}
		if e := d.emit(&it); e != nil {
			return e
		}
	}
	if rows == 0 {
		d.fileProblem(Problem{Rule: RuleEmptyFile, Message: "the file has a header but no rows"})
	}
	return nil
}

// missingCapColumns lists the capabilities of a model version that the header lacks.
func (d *decodeCtx) missingCapColumns(version string, header []string) []string {
	info := d.env.models[version]
	if info == nil {
		return nil // the row's problem is its model version, reported by validation
	}
	var missing []string
	for _, id := range info.m.CapabilityIDs() {
		if !slices.Contains(header, id) {
			missing = append(missing, id)
		}
	}
	return missing
}

// wideRow reads one CSV-wide row into an item. It is the hot loop of the benchmark path:
// no allocation per cell except the answers map entries.
func (d *decodeCtx) wideRow(rec []string, cols []column, row, caps int) item {
	it := item{row: row, loc: wideLoc{row}}
	s := &it.sub
	s.SchemaVersion = model.SchemaVersion
	answers := make(map[string]model.Answer, caps)
	s.Answers = answers
	for i, v := range rec {
		c := &cols[i]
		if c.kind == colCapability && len(v) == 1 && v[0]-'0' <= 9 {
			answers[c.id] = model.Answer(v[0] - '0')
			it.answers++
			continue
		}
		if !utf8.ValidString(v) {
			field := fieldOfColumn[c.name]
			if c.kind == colCapability {
				field = "answers." + c.id
			}
			it.problem(Problem{Row: row, Pointer: c.name, Field: field, Rule: RuleInvalidUTF8, Value: quoteBytes(v),
				Message: "the cell is not valid UTF-8"})
			continue
		}
		v = strings.TrimSpace(v)
		switch c.kind {
		case colCapability:
			if v == "" {
				continue // unanswered: validation reports it as required, at this cell
			}
			it.answers++
			a, err := model.ParseAnswer(v)
			if err != nil {
				it.problem(Problem{Row: row, Pointer: c.name, Field: "answers." + c.id, Rule: RuleNotANumber, Value: clip(v),
					Message: c.id + " " + err.Error()})
				continue
			}
			answers[c.id] = a
		case colIgnored:
			if v != "" {
				it.problem(Problem{Row: row, Rule: RuleColumnCount, Value: clip(v),
					Message: fmt.Sprintf("field %d has a value but its column has no name", i+1)})
			}
		default:
			d.profileCell(&it, c, v, row)
		}
	}
	return it
}

// profileCell sets one profile value from a CSV cell (wide or long).
func (d *decodeCtx) profileCell(it *item, c *column, v string, row int) {
	s := &it.sub
	switch c.kind {
	case colOrgID:
		s.Organisation.ID = v
	case colOrgName:
		s.Organisation.Name = v
	case colState:
		s.Organisation.State = v
	case colOrgType:
		s.Organisation.Type = v
	case colCycle:
		s.Cycle = v
	case colModelVersion:
		s.ModelVersion = v
	case colBeds:
		if v == "" {
			it.problem(Problem{Row: row, Pointer: c.name, Field: "organisation.beds", Rule: RuleRequired, Message: "organisation.beds is required"})
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			f, ferr := strconv.ParseFloat(v, 64)
			if ferr != nil || f != float64(int(f)) || f > 1e15 || f < -1e15 {
				it.problem(Problem{Row: row, Pointer: c.name, Field: "organisation.beds", Rule: RuleNotANumber, Value: clip(v),
					Message: fmt.Sprintf("organisation.beds %q is not a whole number", clip(v))})
				return
			}
			n = int(f)
		}
		s.Organisation.Beds = n
	case colSubmittedAt:
		if v == "" {
			return
		}
		t, err := workbook.ParseTime(v)
		if err != nil {
			it.problem(Problem{Row: row, Pointer: c.name, Field: "submitted_at", Rule: RuleInvalidTime, Value: clip(v),
				Message: fmt.Sprintf("submitted_at %q is not a date (YYYY-MM-DD) or an RFC 3339 time", clip(v))})
			return
		}
		s.SubmittedAt = t
	}
}
