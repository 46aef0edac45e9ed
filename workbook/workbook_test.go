package workbook

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/model"
)

func testModel(t testing.TB) (*model.Registry, *model.Model) {
	t.Helper()
	reg := model.MustBuiltin()
	return reg, reg.Latest()
}

// sample is a valid submission using every answer kind the model allows.
func sample(m *model.Model) *model.Submission {
	s := &model.Submission{
		SchemaVersion: model.SchemaVersion,
		ModelVersion:  m.Version,
		Cycle:         "2026",
		Organisation:  model.Profile{ID: "org-0042", Name: "St. Example's, \"North\"", State: "OH", Beds: 250, Type: "community"},
		SubmittedAt:   time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
		Answers:       map[string]model.Answer{},
	}
	for i, id := range m.CapabilityIDs() {
		s.Answers[id] = model.Answer(i % 5)
	}
	ids := m.CapabilityIDs()
	s.Answers[ids[1]] = model.Unknown
	for _, id := range ids {
		if c, _ := m.Capability(id); c.NAAllowed {
			s.Answers[id] = model.NotApplicable
			break
		}
	}
	return s
}

func write(t *testing.T, m *model.Model, s *model.Submission) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, m, s); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	reg, m := testModel(t)
	want := sample(m)
	got, problems := Read(bytes.NewReader(write(t, m, want)), reg)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
}

func TestBlankWorkbook(t *testing.T) {
	reg, m := testModel(t)
	data := write(t, m, nil)
	got, problems := Read(bytes.NewReader(data), reg)
	if got == nil || got.ModelVersion != m.Version {
		t.Fatalf("model_version not prefilled: %+v", got)
	}
	// Every capability is required, so a blank workbook names each answer cell.
	var required int
	for _, p := range problems {
		if p.Rule == RuleRequired && strings.HasPrefix(p.Field, "answers.") {
			required++
			if want := AnswerCell(m, strings.TrimPrefix(p.Field, "answers.")); p.Cell != want {
				t.Errorf("%s: cell %s, want %s", p.Field, p.Cell, want)
			}
		}
	}
	if required != len(m.CapabilityIDs()) {
		t.Errorf("required answers reported: %d, want %d (%v)", required, len(m.CapabilityIDs()), problems)
	}
}

func TestLayoutAndValidations(t *testing.T) {
	_, m := testModel(t)
	f, err := excelize.OpenReader(bytes.NewReader(write(t, m, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{SheetAbout, SheetProfile, SheetAssessment, SheetLists}) {
		t.Errorf("sheets %v", got)
	}
	ids := m.CapabilityIDs()
	for i, id := range ids {
		v, _ := f.GetCellValue(SheetAssessment, ColID+itoa(AssessFirst+i))
		if v != id {
			t.Fatalf("row %d: ID %q, want %q", AssessFirst+i, v, id)
		}
	}
	if v, _ := f.GetCellValue(SheetAssessment, ColAnswer+itoa(AssessHeader)); v != TitleAnswer {
		t.Errorf("answer title %q", v)
	}
	dvs, err := f.GetDataValidations(SheetAssessment)
	if err != nil {
		t.Fatal(err)
	}
	// Two lists: with and without "na". Each answer cell is covered by exactly one.
	var withNA, withoutNA string
	for _, dv := range dvs {
		if strings.Contains(dv.Formula1, "na") {
			withNA = dv.Sqref
		} else {
			withoutNA = dv.Sqref
		}
		if !strings.Contains(dv.Formula1, "unknown") {
			t.Errorf("answer list without unknown: %s", dv.Formula1)
		}
	}
	for i, id := range ids {
		c, _ := m.Capability(id)
		cell := ColAnswer + itoa(AssessFirst+i)
		inNA := containsCell(withNA, cell)
		if inNA != c.NAAllowed || containsCell(withoutNA, cell) == c.NAAllowed {
			t.Errorf("%s (%s): na allowed %v but in na list %v", id, cell, c.NAAllowed, inNA)
		}
	}
	pdvs, _ := f.GetDataValidations(SheetProfile)
	var cells []string
	for _, dv := range pdvs {
		cells = append(cells, dv.Sqref)
	}
	for _, field := range []string{model.ColState, model.ColOrgType, model.ColBeds} {
		cell := strings.TrimPrefix(ProfileCell(field), SheetProfile+"!")
		if !containsCell(strings.Join(cells, " "), cell) {
			t.Errorf("no validation on %s (%s): %v", field, cell, cells)
		}
	}
}

func containsCell(sqref, cell string) bool {
	for _, c := range strings.Fields(sqref) {
		if c == cell {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }

// edit writes a workbook, changes cells, and reads it back.
func edit(t *testing.T, m *model.Model, s *model.Submission, change func(f *excelize.File)) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(write(t, m, s)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	change(f)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadProblems(t *testing.T) {
	reg, m := testModel(t)
	ids := m.CapabilityIDs()
	set := func(sheet, cell string, v any) func(*excelize.File) {
		return func(f *excelize.File) { _ = f.SetCellValue(sheet, cell, v) }
	}
	cellOf := func(c string) string { return strings.SplitN(c, "!", 2)[1] }
	var noNA string
	for _, id := range ids {
		if c, _ := m.Capability(id); !c.NAAllowed {
			noNA = id
			break
		}
	}
	tests := []struct {
		name   string
		change func(*excelize.File)
		want   []string
	}{
		{"out of range", set(SheetAssessment, cellOf(AnswerCell(m, ids[6])), 7),
			[]string{AnswerCell(m, ids[6]) + ": out_of_range: " + ids[6] + " answer 7 is outside 0..4"}},
		{"not a number", set(SheetAssessment, cellOf(AnswerCell(m, ids[0])), "lots"),
			[]string{AnswerCell(m, ids[0]) + `: not_a_number: ` + ids[0] + ` answer "lots" is not a level, "unknown" or "na"`}},
		{"na not allowed", set(SheetAssessment, cellOf(AnswerCell(m, noNA)), "na"),
			[]string{AnswerCell(m, noNA) + ": na_not_allowed: "}},
		{"blank answer", set(SheetAssessment, cellOf(AnswerCell(m, ids[3])), ""),
			[]string{AnswerCell(m, ids[3]) + ": required: "}},
		{"bad state", set(SheetProfile, cellOf(ProfileCell(model.ColState)), "ZZ"),
			[]string{ProfileCell(model.ColState) + `: unknown_state: organisation.state "ZZ"`}},
		{"beds text", set(SheetProfile, cellOf(ProfileCell(model.ColBeds)), "many"),
			[]string{ProfileCell(model.ColBeds) + `: not_a_number: beds "many" is not a whole number`}},
		{"bad version", set(SheetProfile, cellOf(ProfileCell(model.ColModelVersion)), "9.9"),
			[]string{ProfileCell(model.ColModelVersion) + `: unknown_model_version: unknown model version "9.9"`}},
		{"bad date", set(SheetProfile, cellOf(ProfileCell(model.ColSubmittedAt)), "yesterday"),
			[]string{ProfileCell(model.ColSubmittedAt) + `: invalid_time: submitted_at "yesterday"`}},
		{"unknown capability row", func(f *excelize.File) {
			row := AssessFirst + len(ids)
			_ = f.SetCellValue(SheetAssessment, ColID+itoa(row), "ZZZ-99")
			_ = f.SetCellValue(SheetAssessment, ColAnswer+itoa(row), 2)
		}, []string{SheetAssessment + "!" + ColAnswer + itoa(AssessFirst+len(ids)) + `: unknown_capability: capability "ZZZ-99"`}},
		{"duplicate capability row", func(f *excelize.File) {
			row := AssessFirst + len(ids)
			_ = f.SetCellValue(SheetAssessment, ColID+itoa(row), ids[0])
			_ = f.SetCellValue(SheetAssessment, ColAnswer+itoa(row), 2)
		}, []string{SheetAssessment + "!" + ColID + itoa(AssessFirst+len(ids)) + ": duplicate_answer: " + ids[0] + " appears again (first in row 2)"}},
		{"renamed sheet", func(f *excelize.File) { _ = f.SetSheetName(SheetAssessment, "Answers") },
			[]string{`Assessment: missing_sheet: the workbook has no "Assessment" sheet`}},
		{"moved answer column", set(SheetAssessment, ColAnswer+"1", "Notes"),
			[]string{"Assessment!J1: missing_column: column J must be titled \"Answer\""}},
		{"unknown profile field", set(SheetProfile, "A20", "favourite_colour"),
			[]string{`Profile!A20: unknown_field: "favourite_colour" is not a profile field`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Read(bytes.NewReader(edit(t, m, sample(m), tc.change)), reg)
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant prefix %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestNotAWorkbook(t *testing.T) {
	reg, _ := testModel(t)
	s, problems := Read(strings.NewReader("org_id,cycle\n"), reg)
	if s != nil || len(problems) != 1 || problems[0].Rule != RuleInvalidXLSX {
		t.Fatalf("got %v %v", s, problems)
	}
}
