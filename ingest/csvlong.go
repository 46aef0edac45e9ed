package ingest

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hcztmm/warehouse/model"
)

// longProfileNeeded are the profile columns that, all together, make a CSV-long file
// self-contained; without any of them the stored profile is used.
var longProfileNeeded = []string{model.ColState, model.ColBeds, model.ColOrgType}

// longGroup is one submission being assembled from CSV-long rows.
type longGroup struct {
	it    item
	loc   *longLoc
	given map[colKind]string // profile and model_version values as first given
}

// longLoc locates fields of a CSV-long submission: each answer at its own row, profile
// fields at the row that gave them, everything else at the submission's first row.
type longLoc struct {
	first      int
	answerRows map[string]int
	fieldRows  map[string]int
}

func (l *longLoc) locate(fe *model.FieldError) (int, string) {
	if id, ok := strings.CutPrefix(fe.Field, "answers."); ok {
		row, found := l.answerRows[id]
		switch {
		case !found:
			return l.first, model.ColCapability // not answered at all: no row holds it
		case fe.Rule == RuleUnknownCapability:
			return row, model.ColCapability
		}
		return row, model.ColAnswer
	}
	if row, ok := l.fieldRows[fe.Field]; ok {
		return row, columnOfField[fe.Field]
	}
	return l.first, columnOfField[fe.Field]
}

// decodeCSVLong reads one answer per row and groups rows into submissions by (org_id,
// cycle); the rows of a submission need not be adjacent. Submissions are emitted at the
// end of the file, in order of their first row, since a later row may still belong to any
// of them.
func (d *decodeCtx) decodeCSVLong(r io.Reader) error {
	cr := newCSVReader(r)
	header, ok, err := d.readHeader(cr)
	if err != nil || header == nil {
		return err
	}
	cols := make([]column, len(header))
	idx := map[colKind]int{}
	for i, h := range header {
		switch {
		case h == model.ColCapability:
			cols[i] = column{kind: colCapability, name: h}
		case h == model.ColAnswer:
			cols[i] = column{kind: colAnswer, name: h}
		case profileColKinds[h] != colIgnored:
			cols[i] = column{kind: profileColKinds[h], name: h}
		case h == "":
			continue
		default:
			d.fileProblem(Problem{Row: 1, Pointer: clip(h), Rule: RuleUnknownColumn, Value: clip(h),
				Message: fmt.Sprintf("column %q is not a CSV-long column (%s, optionally %s)", clip(h),
					strings.Join(model.LongRequiredColumns, ", "), strings.Join(model.LongProfileColumns, ", "))})
			ok = false
			continue
		}
		idx[cols[i].kind] = i
	}
	for _, c := range model.LongRequiredColumns {
		if !slices.Contains(header, c) {
			d.fileProblem(Problem{Row: 1, Pointer: c, Rule: RuleMissingColumn, Message: fmt.Sprintf("the header has no %s column", c)})
			ok = false
		}
	}
	present := 0
	for _, c := range longProfileNeeded {
		if slices.Contains(header, c) {
			present++
		}
	}
	if present > 0 && present < len(longProfileNeeded) {
		for _, c := range longProfileNeeded {
			if !slices.Contains(header, c) {
				d.fileProblem(Problem{Row: 1, Pointer: c, Rule: RuleMissingColumn,
					Message: fmt.Sprintf("the header has no %s column; give all of %s or none (to use the stored profile)", c, strings.Join(longProfileNeeded, ", "))})
			}
		}
		ok = false
	}
	if !ok {
		return d.drain(cr)
	}
	orgCol, cycleCol := idx[colOrgID], idx[colCycle]
	groups := map[subKey]*longGroup{}
	var order []*longGroup
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
			d.fileProblem(Problem{Row: row, Rule: RuleInvalidCSV, Message: "the row is not valid CSV: " + broken.Err.Error()})
			continue
		}
		if blankRecord(rec) {
			continue
		}
		rows++
		// A row belongs to the submission its org_id and cycle name; without them (or
		// with a broken row) it belongs to none and is a problem of the file.
		var org, cycle string
		if orgCol < len(rec) && cycleCol < len(rec) {
			org, cycle = strings.TrimSpace(rec[orgCol]), strings.TrimSpace(rec[cycleCol])
		}
		keyOK := org != "" && cycle != "" && utf8.ValidString(org) && utf8.ValidString(cycle)
		if !keyOK {
			p := Problem{Row: row, Pointer: model.ColOrgID, Field: "organisation.id", Rule: RuleRequired,
				Message: "the row has no org_id; it belongs to no submission"}
			switch {
			case len(rec) != len(cols):
				p = Problem{Row: row, Rule: RuleColumnCount, Value: strconv.Itoa(len(rec)),
					Message: fmt.Sprintf("the row has %d fields; the header has %d", len(rec), len(cols))}
			case !utf8.ValidString(org):
				p = Problem{Row: row, Pointer: model.ColOrgID, Field: "organisation.id", Rule: RuleInvalidUTF8, Value: quoteBytes(org),
					Message: "the cell is not valid UTF-8; the row belongs to no submission"}
			case !utf8.ValidString(cycle):
				p = Problem{Row: row, Pointer: model.ColCycle, Field: "cycle", Rule: RuleInvalidUTF8, Value: quoteBytes(cycle),
					Message: "the cell is not valid UTF-8; the row belongs to no submission"}
			case org != "":
				p = Problem{Row: row, Pointer: model.ColCycle, Field: "cycle", Rule: RuleRequired,
					Message: "the row has no cycle; it belongs to no submission"}
			}
			d.fileProblem(p)
			continue
		}
		k := subKey{org, cycle}
		g := groups[k]
		if g == nil {
			loc := &longLoc{first: row, answerRows: make(map[string]int, 48), fieldRows: map[string]int{}}
			g = &longGroup{loc: loc, given: map[colKind]string{}}
			g.it = item{row: row, loc: loc}
			g.it.sub = model.Submission{SchemaVersion: model.SchemaVersion, Cycle: cycle,
				Organisation: model.Profile{ID: org}, Answers: make(map[string]model.Answer, 48)}
			groups[k] = g
			order = append(order, g)
		}
		if len(rec) != len(cols) {
			g.it.problem(Problem{Row: row, Rule: RuleColumnCount, Value: strconv.Itoa(len(rec)),
				Message: fmt.Sprintf("the row has %d fields; the header has %d", len(rec), len(cols))})
			continue
		}
		d.longRow(g, rec, cols, row)
	}
	if rows == 0 {
		d.fileProblem(Problem{Rule: RuleEmptyFile, Message: "the file has a header but no rows"})
		return nil
	}
	// Look stored profiles up before emitting anything, so that every read of the store
	// happens before the first commit of this file.
	if present == 0 {
		if err := d.storedProfiles(order); err != nil {
			return err
		}
	}
	for _, g := range order {
		if e := d.emit(&g.it); e != nil {
			return e
		}
	}
	return nil
}

// longRow adds one answer row to its submission.
func (d *decodeCtx) longRow(g *longGroup, rec []string, cols []column, row int) {
	it := &g.it
	var capID, answer string
	for i, v := range rec {
		c := &cols[i]
		if c.kind == colIgnored && strings.TrimSpace(v) == "" {
			continue
		}
		if !utf8.ValidString(v) {
			it.problem(Problem{Row: row, Pointer: c.name, Field: fieldOfColumn[c.name], Rule: RuleInvalidUTF8, Value: quoteBytes(v),
				Message: "the cell is not valid UTF-8"})
			return
		}
		v = strings.TrimSpace(v)
		switch c.kind {
		case colCapability:
			capID = v
		case colAnswer:
			answer = v
		case colOrgID, colCycle:
			// the group key
		case colIgnored:
			it.problem(Problem{Row: row, Rule: RuleColumnCount, Value: clip(v),
				Message: fmt.Sprintf("field %d has a value but its column has no name", i+1)})
		default:
			d.longProfile(g, c, v, row)
		}
	}
	if capID == "" {
		it.problem(Problem{Row: row, Pointer: model.ColCapability, Rule: RuleRequired, Message: "the row has no capability"})
		return
	}
	id := d.env.capID(capID)
	field := "answers." + id
	if first, dup := g.loc.answerRows[id]; dup {
		it.problem(Problem{Row: row, Pointer: model.ColCapability, Field: field, Rule: RuleDuplicateAnswer, Value: clip(id),
			Message: fmt.Sprintf("%s is answered again (first in row %d)", clip(id), first)})
		return
	}
	g.loc.answerRows[id] = row
	it.answers++
	if answer == "" {
		it.problem(Problem{Row: row, Pointer: model.ColAnswer, Field: field, Rule: RuleRequired,
			Message: fmt.Sprintf("%s has no answer; use \"unknown\" if you do not know", clip(id))})
		return
	}
	a, err := parseAnswer(answer)
	if err != nil {
		it.problem(Problem{Row: row, Pointer: model.ColAnswer, Field: field, Rule: RuleNotANumber, Value: clip(answer),
			Message: clip(id) + " " + err.Error()})
		return
	}
	it.sub.Answers[id] = a
}

// longProfile takes a profile (or model_version) cell. The first non-blank value of a
// column sets it; a different value on a later row of the same submission is a
// profile_mismatch (blank cells are allowed, so a tool may write the profile only once).
func (d *decodeCtx) longProfile(g *longGroup, c *column, v string, row int) {
	if v == "" {
		return
	}
	field := fieldOfColumn[c.name]
	if prev, ok := g.given[c.kind]; ok {
		if prev != v {
			g.it.problem(Problem{Row: row, Pointer: c.name, Field: field, Rule: RuleProfileMismatch, Value: clip(v),
				Message: fmt.Sprintf("%s %q differs from %q given in row %d for the same submission", c.name, clip(v), clip(prev), g.loc.fieldRows[field])})
		}
		return
	}
	g.given[c.kind] = v
	g.loc.fieldRows[field] = row
	d.profileCell(&g.it, c, v, row)
}

// storedProfiles fills in the profile of submissions from a file without profile columns,
// from the warehouse, once per organisation. Values the file did give (org_name,
// submitted_at) are kept.
func (d *decodeCtx) storedProfiles(order []*longGroup) error {
	cache := map[string]*model.Profile{}
	for _, g := range order {
		org := g.it.sub.Organisation.ID
		p, done := cache[org]
		if !done {
			if d.store != nil {
				got, err := d.store.Organisation(d.ctx, org)
				switch {
				case err == nil:
					p = &got.Profile
				case model.ErrorKind(err) != model.KindNotFound:
					return fmt.Errorf("look up organisation %s: %w", org, err)
				}
			}
			cache[org] = p
		}
		if p == nil {
			g.it.problem(Problem{Row: g.loc.first, Pointer: model.ColOrgID, Field: "organisation.id", Rule: RuleUnknownOrganisation, Value: clip(org),
				Message: fmt.Sprintf("organisation %s is not known to the warehouse; give its profile (%s columns)", clip(org), strings.Join(longProfileNeeded, ", "))})
			// The profile is missing as a whole; validation would only repeat that per field.
			g.it.unread = func(field string) bool { return strings.HasPrefix(field, "organisation.") }
			continue
		}
		name := g.it.sub.Organisation.Name
		g.it.sub.Organisation = *p
		g.it.sub.Organisation.ID = org
		if name != "" {
			g.it.sub.Organisation.Name = name
		}
	}
	return nil
}
