// Package workbook generates the assessment workbook (XLSX) a provider fills in offline and
// reads a filled one back into a submission. The workbook is generated from the maturity
// model, so no capability, state or organisation type is written into this package; only
// the sheet names and the cell layout are fixed here, as constants, because Write and Read
// must agree on them and fixtures and ingest point at cells by them.
package workbook

import (
	"fmt"

	"github.com/hcztmm/warehouse/model"
)

// Sheet names. Read looks sheets up by these names, so renaming a sheet in Excel makes
// the workbook unreadable (and Read says so).
const (
	// SheetAbout explains how to fill the workbook in; it is the sheet that opens first.
	SheetAbout = "About"
	// SheetProfile holds one field/value row per organisation profile field.
	SheetProfile = "Profile"
	// SheetAssessment holds one row per capability with its answer cell.
	SheetAssessment = "Assessment"
	// SheetLists is hidden and holds the drop-down sources (states, organisation types),
	// because an inline list is limited to 255 characters and models may outgrow that.
	SheetLists = "Lists"
)

// Profile sheet layout: a header row, then one row per field in ProfileFields order.
// Read finds fields by the name in the field column, so rows may be reordered.
const (
	ProfileFieldCol = "A" // the field name, e.g. "org_id"
	ProfileValueCol = "B" // the value the provider fills in
	ProfileHelpCol  = "C" // what the field means
	ProfileHeader   = 1   // row of the column titles
	ProfileFirstRow = 2   // row of the first field
)

// Profile sheet column titles.
const (
	ProfileFieldTitle = "field"
	ProfileValueTitle = "value"
	ProfileHelpTitle  = "help"
)

// ProfileFields are the Profile sheet's rows in order; the names are the CSV column names
// (model.Col*) so that a person moving between formats sees one vocabulary.
var ProfileFields = []string{
	model.ColOrgID, model.ColOrgName, model.ColState, model.ColBeds, model.ColOrgType,
	model.ColCycle, model.ColModelVersion, model.ColSubmittedAt,
}

// optionalProfileFields may be left out of the sheet or blank without a "missing_field".
var optionalProfileFields = map[string]bool{model.ColOrgName: true, model.ColSubmittedAt: true}

// Assessment sheet layout: a header row, then one row per capability in model order.
// Read finds answers by the capability ID in ColID, so rows may be sorted or filtered.
const (
	ColDomain     = "A" // domain name
	ColID         = "B" // capability ID, the key Read uses
	ColName       = "C" // capability name
	ColQuestion   = "D" // the question
	ColFirstLevel = "E" // description of level 0; levels 1..max follow in F, G, ...
	ColAnswer     = "J" // the answer cell, with a drop-down of allowed answers
	AssessHeader  = 1   // row of the column titles
	AssessFirst   = 2   // row of the first capability
)

// Assessment sheet column titles. Read checks the ID and Answer titles so that a sheet
// whose columns were moved is reported instead of read wrongly.
const (
	TitleDomain   = "Domain"
	TitleID       = "Capability ID"
	TitleName     = "Capability"
	TitleQuestion = "Question"
	TitleAnswer   = "Answer"
)

// levelTitle is the column title of a level description, e.g. "Level 2".
func levelTitle(level int) string { return fmt.Sprintf("Level %d", level) }

// Lists sheet layout (hidden drop-down sources).
const (
	ListStateCol     = "A"
	ListTypeCol      = "B"
	ListTypeLabelCol = "C"
)

// ProfileCell returns the cell of a profile field in a workbook written by Write, e.g.
// "Profile!B4" for "state"; "" for an unknown field.
func ProfileCell(field string) string {
	for i, f := range ProfileFields {
		if f == field {
			return fmt.Sprintf("%s!%s%d", SheetProfile, ProfileValueCol, ProfileFirstRow+i)
		}
	}
	return ""
}

// AnswerCell returns the answer cell of a capability in a workbook written by Write with
// model m, e.g. "Assessment!J7"; "" when the model has no such capability.
func AnswerCell(m *model.Model, capabilityID string) string {
	for i, id := range m.CapabilityIDs() {
		if id == capabilityID {
			return fmt.Sprintf("%s!%s%d", SheetAssessment, ColAnswer, AssessFirst+i)
		}
	}
	return ""
}

// profileFieldOf maps a model.FieldError field to the Profile sheet field name.
var profileFieldOf = map[string]string{
	"organisation.id":    model.ColOrgID,
	"organisation.name":  model.ColOrgName,
	"organisation.state": model.ColState,
	"organisation.beds":  model.ColBeds,
	"organisation.type":  model.ColOrgType,
	"cycle":              model.ColCycle,
	"model_version":      model.ColModelVersion,
	"schema_version":     model.ColModelVersion,
	"submitted_at":       model.ColSubmittedAt,
}
