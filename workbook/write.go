package workbook

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/model"
)

// maxLevels is how many level-description columns fit between ColFirstLevel and ColAnswer.
// The layout is fixed so that answer cells have stable addresses; a model with a longer
// scale needs a new layout, and Write refuses it rather than overwrite the answer column.
const maxLevels = 5

// Write produces the assessment workbook for model m. With a non-nil prefill its profile
// values and answers are written into the value and answer cells (fixtures use this to
// make filled workbooks; a provider's portal could use it to pre-fill last cycle's
// answers). Answers in prefill for capabilities the model lacks are appended as extra
// rows so that deliberately broken fixtures survive the trip through a workbook.
func Write(w io.Writer, m *model.Model, prefill *model.Submission) error {
	if m.Scale.Max-m.Scale.Min+1 > maxLevels {
		return fmt.Errorf("workbook: model %s has %d answer levels; the layout has room for %d",
			m.Version, m.Scale.Max-m.Scale.Min+1, maxLevels)
	}
	f := excelize.NewFile()
	defer f.Close()
	wb := &writer{f: f, m: m, prefill: prefill}
	steps := []func() error{wb.sheets, wb.styles, wb.about, wb.lists, wb.profile, wb.assessment}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("workbook: %w", err)
		}
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	return nil
}

type writer struct {
	f       *excelize.File
	m       *model.Model
	prefill *model.Submission

	header, wrap, input, inputText, locked int
}

func (wb *writer) sheets() error {
	if err := wb.f.SetSheetName("Sheet1", SheetAbout); err != nil {
		return err
	}
	for _, s := range []string{SheetProfile, SheetAssessment, SheetLists} {
		if _, err := wb.f.NewSheet(s); err != nil {
			return err
		}
	}
	wb.f.SetActiveSheet(0)
	// Hidden, not deleted: the drop-downs reference it.
	return wb.f.SetSheetVisible(SheetLists, false)
}

func (wb *writer) styles() error {
	var err error
	top := &excelize.Alignment{Vertical: "top", WrapText: true}
	if wb.header, err = wb.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"#D9E1F2"}}, Alignment: top}); err != nil {
		return err
	}
	if wb.wrap, err = wb.f.NewStyle(&excelize.Style{Alignment: top}); err != nil {
		return err
	}
	// Input cells are tinted so the provider sees at a glance what to fill in, and unlocked
	// so that they stay editable on the protected Assessment sheet.
	inputFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"#FFF2CC"}}
	unlocked := &excelize.Protection{Locked: false}
	if wb.input, err = wb.f.NewStyle(&excelize.Style{Fill: inputFill, Alignment: top, Protection: unlocked}); err != nil {
		return err
	}
	// Text format (49 = "@") keeps Excel from turning a cycle such as "2026-1" into a date
	// or an org ID such as "00123" into a number.
	if wb.inputText, err = wb.f.NewStyle(&excelize.Style{Fill: inputFill, Alignment: top, Protection: unlocked, NumFmt: 49}); err != nil {
		return err
	}
	wb.locked, err = wb.f.NewStyle(&excelize.Style{Alignment: top, Font: &excelize.Font{Color: "#595959"}, NumFmt: 49})
	return err
}

func (wb *writer) about() error {
	m := wb.m
	lines := []string{
		m.Title,
		fmt.Sprintf("Model %s, version %s. This workbook was generated from the model; do not rename sheets or move columns.", m.Name, m.Version),
		"",
		"How to fill it in",
		"1. On the Profile sheet, fill in the yellow value cells: your organisation ID, name, state, staffed beds, organisation type and the assessment cycle. Leave model_version as it is.",
		fmt.Sprintf("2. On the Assessment sheet, read each capability's question and the %d level descriptions, and pick the level that describes your organisation today in the yellow Answer column.", m.Scale.Max-m.Scale.Min+1),
		fmt.Sprintf("3. Answer every capability. Levels run from %d to %d. If you do not know, answer \"unknown\" (it scores as level %d and is flagged). Where the drop-down offers \"na\", the capability may be marked not applicable and is left out of scoring.",
			m.Scale.Min, m.Scale.Max, m.Scale.UnknownScoresAs),
		"4. Save the file as .xlsx and upload it, or ingest it with the command-line tool. Every problem is reported with its sheet and cell, e.g. Assessment!J7.",
		"",
		"Postures",
	}
	for _, p := range m.Postures {
		lines = append(lines, fmt.Sprintf("Posture %d, %s: %s", p.Level, p.Name, p.Summary))
	}
	lines = append(lines, "", "Your exact answers and scores stay private to your organisation; peers see only differentially private cohort statistics.")
	for i, l := range lines {
		if err := wb.f.SetCellStr(SheetAbout, fmt.Sprintf("A%d", i+1), l); err != nil {
			return err
		}
	}
	if err := wb.f.SetColWidth(SheetAbout, "A", "A", 120); err != nil {
		return err
	}
	if err := wb.f.SetColStyle(SheetAbout, "A", wb.wrap); err != nil {
		return err
	}
	return wb.f.SetCellStyle(SheetAbout, "A1", "A1", wb.header)
}

func (wb *writer) lists() error {
	for i, s := range wb.m.States() {
		if err := wb.f.SetCellStr(SheetLists, fmt.Sprintf("%s%d", ListStateCol, i+1), s); err != nil {
			return err
		}
	}
	for i, t := range wb.m.Cohorts.OrgTypes {
		if err := wb.f.SetCellStr(SheetLists, fmt.Sprintf("%s%d", ListTypeCol, i+1), t.ID); err != nil {
			return err
		}
		if err := wb.f.SetCellStr(SheetLists, fmt.Sprintf("%s%d", ListTypeLabelCol, i+1), t.Label); err != nil {
			return err
		}
	}
	return nil
}

// profileHelp explains each profile field next to its value cell.
func (wb *writer) profileHelp(field string) string {
	switch field {
	case model.ColOrgID:
		return "Your organisation's identifier as registered with the warehouse (letters, digits, '-', '_', '.', '+')."
	case model.ColOrgName:
		return "Optional: the organisation's name."
	case model.ColState:
		return "Two-letter US state code (or DC) of the organisation; pick from the list."
	case model.ColBeds:
		return fmt.Sprintf("Staffed beds, a whole number from 0 to %d (0 for providers without beds).", model.MaxBeds)
	case model.ColOrgType:
		var parts []string
		for _, t := range wb.m.Cohorts.OrgTypes {
			parts = append(parts, t.ID+" = "+t.Label)
		}
		return "Organisation type; pick from the list: " + strings.Join(parts, "; ") + "."
	case model.ColCycle:
		return "The assessment cycle you answer for, e.g. 2026."
	case model.ColModelVersion:
		return "Do not change: the model version this workbook was generated from."
	case model.ColSubmittedAt:
		return "Optional: the date of the assessment, YYYY-MM-DD."
	}
	return ""
}

func (wb *writer) profileValue(field string) any {
	p := wb.prefill
	if p == nil {
		if field == model.ColModelVersion {
			return wb.m.Version
		}
		return nil
	}
	switch field {
	case model.ColOrgID:
		return p.Organisation.ID
	case model.ColOrgName:
		return p.Organisation.Name
	case model.ColState:
		return p.Organisation.State
	case model.ColBeds:
		return p.Organisation.Beds
	case model.ColOrgType:
		return p.Organisation.Type
	case model.ColCycle:
		return p.Cycle
	case model.ColModelVersion:
		if p.ModelVersion == "" {
			return wb.m.Version
		}
		return p.ModelVersion
	case model.ColSubmittedAt:
		if p.SubmittedAt.IsZero() {
			return nil
		}
		return p.SubmittedAt.Format(time.RFC3339Nano)
	}
	return nil
}

func (wb *writer) profile() error {
	f, s := wb.f, SheetProfile
	if err := f.SetSheetRow(s, fmt.Sprintf("%s%d", ProfileFieldCol, ProfileHeader),
		&[]string{ProfileFieldTitle, ProfileValueTitle, ProfileHelpTitle}); err != nil {
		return err
	}
	if err := f.SetCellStyle(s, "A1", "C1", wb.header); err != nil {
		return err
	}
	for i, field := range ProfileFields {
		row := ProfileFirstRow + i
		value := fmt.Sprintf("%s%d", ProfileValueCol, row)
		if err := f.SetCellStr(s, fmt.Sprintf("%s%d", ProfileFieldCol, row), field); err != nil {
			return err
		}
		if err := f.SetCellStr(s, fmt.Sprintf("%s%d", ProfileHelpCol, row), wb.profileHelp(field)); err != nil {
			return err
		}
		style := wb.inputText
		if field == model.ColBeds {
			style = wb.input // a number, so the whole-number validation applies
		}
		if err := f.SetCellStyle(s, value, value, style); err != nil {
			return err
		}
		if v := wb.profileValue(field); v != nil {
			if err := f.SetCellValue(s, value, v); err != nil {
				return err
			}
		}
		if err := wb.profileValidation(field, value); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(s, "A", "A", 16); err != nil {
		return err
	}
	if err := f.SetColWidth(s, "B", "B", 28); err != nil {
		return err
	}
	if err := f.SetColWidth(s, "C", "C", 90); err != nil {
		return err
	}
	return f.SetColStyle(s, "C", wb.wrap)
}

func (wb *writer) profileValidation(field, cell string) error {
	dv := excelize.NewDataValidation(true)
	dv.Sqref = cell
	switch field {
	case model.ColState:
		dv.SetSqrefDropList(fmt.Sprintf("%s!$%s$1:$%s$%d", SheetLists, ListStateCol, ListStateCol, len(wb.m.States())))
		dv.SetError(excelize.DataValidationErrorStyleStop, "Unknown state", "Pick a two-letter state code from the list.")
	case model.ColOrgType:
		dv.SetSqrefDropList(fmt.Sprintf("%s!$%s$1:$%s$%d", SheetLists, ListTypeCol, ListTypeCol, len(wb.m.Cohorts.OrgTypes)))
		dv.SetError(excelize.DataValidationErrorStyleStop, "Unknown organisation type", "Pick an organisation type from the list.")
	case model.ColBeds:
		if err := dv.SetRange(0, model.MaxBeds, excelize.DataValidationTypeWhole, excelize.DataValidationOperatorBetween); err != nil {
			return err
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, "Beds", fmt.Sprintf("Staffed beds must be a whole number from 0 to %d.", model.MaxBeds))
	default:
		return nil
	}
	return wb.f.AddDataValidation(SheetProfile, dv)
}

// answerChoices lists the drop-down values of one capability: levels, "unknown", and
// "na" only where the model allows it, so Excel refuses what validation would reject.
func answerChoices(m *model.Model, c *model.Capability) []string {
	var out []string
	for l := m.Scale.Min; l <= m.Scale.Max; l++ {
		out = append(out, fmt.Sprint(l))
	}
	out = append(out, model.Unknown.String())
	if c.NAAllowed {
		out = append(out, model.NotApplicable.String())
	}
	return out
}

func (wb *writer) assessment() error {
	f, s, m := wb.f, SheetAssessment, wb.m
	titles := []string{TitleDomain, TitleID, TitleName, TitleQuestion}
	for l := m.Scale.Min; l <= m.Scale.Max; l++ {
		titles = append(titles, levelTitle(l))
	}
	answerCol, _ := excelize.ColumnNameToNumber(ColAnswer)
	for len(titles) < answerCol-1 {
		titles = append(titles, "") // room left by a shorter scale
	}
	titles = append(titles, TitleAnswer)
	if err := f.SetSheetRow(s, fmt.Sprintf("A%d", AssessHeader), &titles); err != nil {
		return err
	}
	if err := f.SetCellStyle(s, fmt.Sprintf("A%d", AssessHeader), fmt.Sprintf("%s%d", ColAnswer, AssessHeader), wb.header); err != nil {
		return err
	}
	firstLevel, _ := excelize.ColumnNameToNumber(ColFirstLevel)
	row := AssessFirst
	// One validation per distinct choice list keeps the file small: sqref takes many cells.
	dvs := map[string]*excelize.DataValidation{}
	var dvOrder []string
	for _, d := range m.Domains {
		for ci := range d.Capabilities {
			c := &d.Capabilities[ci]
			vals := []any{d.Name, c.ID, c.Name, c.Question}
			for l := m.Scale.Min; l <= m.Scale.Max; l++ {
				vals = append(vals, c.Levels[l])
			}
			if err := f.SetSheetRow(s, fmt.Sprintf("A%d", row), &vals); err != nil {
				return err
			}
			answer := fmt.Sprintf("%s%d", ColAnswer, row)
			if err := f.SetCellStyle(s, fmt.Sprintf("A%d", row), fmt.Sprintf("I%d", row), wb.locked); err != nil {
				return err
			}
			if err := f.SetCellStyle(s, answer, answer, wb.input); err != nil {
				return err
			}
			if wb.prefill != nil {
				if a, ok := wb.prefill.Answers[c.ID]; ok {
					if err := setAnswer(f, answer, a); err != nil {
						return err
					}
				}
			}
			choices := answerChoices(m, c)
			key := strings.Join(choices, ",")
			dv, ok := dvs[key]
			if !ok {
				dv = excelize.NewDataValidation(true)
				if err := dv.SetDropList(choices); err != nil {
					return err
				}
				dv.SetError(excelize.DataValidationErrorStyleStop, "Answer", "Pick one of: "+strings.Join(choices, ", ")+".")
				dv.SetInput("Answer", "Pick the level that describes your organisation today; \"unknown\" if you do not know.")
				dvs[key] = dv
				dvOrder = append(dvOrder, key)
			}
			dv.SetSqref(answer)
			row++
		}
	}
	if err := wb.extraAnswers(row); err != nil {
		return err
	}
	for _, k := range dvOrder {
		if err := f.AddDataValidation(s, dvs[k]); err != nil {
			return err
		}
	}
	widths := map[string]float64{"A": 18, "B": 10, "C": 28, "D": 50}
	for col, w := range widths {
		if err := f.SetColWidth(s, col, col, w); err != nil {
			return err
		}
	}
	lastLevel, _ := excelize.CoordinatesToCellName(firstLevel+m.Scale.Max-m.Scale.Min, 1)
	if err := f.SetColWidth(s, ColFirstLevel, strings.TrimSuffix(lastLevel, "1"), 36); err != nil {
		return err
	}
	if err := f.SetColWidth(s, ColAnswer, ColAnswer, 12); err != nil {
		return err
	}
	if err := f.SetPanes(s, &excelize.Panes{Freeze: true, YSplit: AssessHeader, XSplit: 2,
		TopLeftCell: fmt.Sprintf("C%d", AssessFirst), ActivePane: "bottomRight"}); err != nil {
		return err
	}
	// Protection without a password only guards against accidental edits of the questions;
	// the answer cells are unlocked.
	return f.ProtectSheet(s, &excelize.SheetProtectionOptions{SelectLockedCells: true, SelectUnlockedCells: true,
		FormatColumns: true, FormatRows: true, AutoFilter: true, Sort: true})
}

// extraAnswers appends prefilled answers whose capability the model lacks, sorted by ID.
func (wb *writer) extraAnswers(row int) error {
	if wb.prefill == nil {
		return nil
	}
	var extra []string
	for id := range wb.prefill.Answers {
		if _, ok := wb.m.Capability(id); !ok {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		if err := wb.f.SetCellStr(SheetAssessment, fmt.Sprintf("%s%d", ColID, row), id); err != nil {
			return err
		}
		answer := fmt.Sprintf("%s%d", ColAnswer, row)
		if err := wb.f.SetCellStyle(SheetAssessment, answer, answer, wb.input); err != nil {
			return err
		}
		if err := setAnswer(wb.f, answer, wb.prefill.Answers[id]); err != nil {
			return err
		}
		row++
	}
	return nil
}

// setAnswer writes levels as numbers (what Excel stores when a provider picks from the
// drop-down) and the special answers as text.
func setAnswer(f *excelize.File, cell string, a model.Answer) error {
	if a.IsLevel() {
		return f.SetCellInt(SheetAssessment, cell, int64(a))
	}
	return f.SetCellStr(SheetAssessment, cell, a.String())
}
