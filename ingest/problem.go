package ingest

import (
	"strconv"
	"strings"

	"github.com/hcztmm/warehouse/model"
)

// Problem rules. They are stable identifiers: the CLI prints them, the API returns them as
// error details and tests match on them, so a rule is never renamed. Rules that the model
// reports (model.FieldError.Rule) are passed through unchanged and listed here too, so
// that this is the one list of everything an ingest can say.
const (
	// From the model's validation.
	RuleUnknownCapability = "unknown_capability" // an answer to a capability the model does not have
	RuleOutOfRange        = "out_of_range"       // an answer (or bed count) outside the scale
	RuleNANotAllowed      = "na_not_allowed"     // "na" where the model requires an answer
	RuleRequired          = "required"           // a required field or answer is missing
	RuleUnknownState      = "unknown_state"      // a state code with no Census region
	RuleUnknownType       = "unknown_type"       // an organisation type the model does not know
	RuleTypeBedLimit      = "type_bed_limit"     // more beds than the organisation type allows
	RuleFormat            = "format"             // an ID or cycle with characters outside its pattern
	RuleTooLong           = "too_long"           // a name longer than the model allows
	RuleUnsupported       = "unsupported"        // a schema_version this build does not read

	// Ingest's own.
	RuleNotANumber          = "not_a_number"          // an answer or bed count that is not a number (model.ErrAnswerSyntax)
	RuleInvalidJSON         = "invalid_json"          // a JSON document (or NDJSON line) that does not parse
	RuleInvalidCSV          = "invalid_csv"           // a CSV record that does not parse (e.g. a stray quote)
	RuleInvalidXLSX         = "invalid_xlsx"          // an XLSX file that does not open
	RuleInvalidUTF8         = "invalid_utf8"          // bytes that are not UTF-8
	RuleInvalidTime         = "invalid_time"          // a submitted_at that is not RFC 3339 or a date
	RuleWrongType           = "wrong_type"            // a JSON value of the wrong type, e.g. a number for cycle
	RuleUnknownField        = "unknown_field"         // a JSON member (or workbook field) the document does not have
	RuleDuplicateField      = "duplicate_field"       // the same JSON member twice in one object
	RuleEmptyFile           = "empty_file"            // no submission in the file at all
	RuleTooLarge            = "too_large"             // more bytes than Options.MaxBytes
	RuleColumnCount         = "column_count"          // a CSV row with more or fewer fields than the header
	RuleUnknownColumn       = "unknown_column"        // a CSV column that is neither a profile field nor a capability
	RuleMissingColumn       = "missing_column"        // a required CSV column (or workbook column) is absent
	RuleDuplicateColumn     = "duplicate_column"      // the same CSV column twice in the header
	RuleMissingSheet        = "missing_sheet"         // a workbook without one of its sheets
	RuleMissingField        = "missing_field"         // a workbook Profile sheet without a field row
	RuleDuplicateSubmission = "duplicate_submission"  // the same organisation and cycle twice in one file
	RuleDuplicateAnswer     = "duplicate_answer"      // the same capability answered twice in one submission
	RuleUnknownModelVersion = "unknown_model_version" // a model_version the registry does not hold
	RuleUnknownOrganisation = "unknown_organisation"  // CSV long without profile columns, for an organisation the warehouse does not know
	RuleProfileMismatch     = "profile_mismatch"      // CSV long rows of one submission that disagree on profile or model version
	RuleUnknownFormat       = "unknown_format"        // a file whose format cannot be told from its name or content

	// From the warehouse (Outcome.Err). The warehouse reports these as model.FieldError
	// details of a *model.Error; a rejection without details is reported as RuleRejected.
	RuleUnknownCycle       = "unknown_cycle"        // the cycle does not exist
	RuleCycleClosed        = "cycle_closed"         // the cycle no longer takes submissions
	RuleCycleModelMismatch = "cycle_model_mismatch" // the cycle is assessed with another model version
	RuleRejected           = "rejected"             // the warehouse refused the submission for another reason
)

// Problem is one thing wrong with an input, located precisely enough to fix it without
// searching: the file, the row or line, the column or JSON pointer or workbook cell.
type Problem struct {
	// File is the input's name as given.
	File string `json:"file"`
	// Format is the format the file was read as; it says how Row and Pointer are to be read.
	Format Format `json:"format,omitempty"`
	// Row is the 1-based CSV record (the header is row 1) or NDJSON line; 0 when the
	// problem is not tied to one (a JSON document, a workbook cell, the whole file).
	Row int `json:"row,omitempty"`
	// Pointer is the CSV column name, the JSON pointer (RFC 6901) within the document, or
	// the workbook cell ("Assessment!J7"); empty when the whole row or file is meant.
	Pointer string `json:"pointer,omitempty"`
	// Field is the submission field as model.FieldError names it ("answers.VDT-02",
	// "organisation.state"), the same in every format; empty for problems of the file.
	Field string `json:"field,omitempty"`
	// Rule is one of the Rule* identifiers.
	Rule string `json:"rule"`
	// Value is the offending value as written (truncated), empty when missing.
	Value string `json:"value,omitempty"`
	// Message says what is wrong in words a person can act on.
	Message string `json:"message"`
}

// String renders the problem on one line, e.g.
//
//	file.csv row 7 column VDT-02: out_of_range: VDT-02 answer 7 is outside 0..4
//	file.ndjson line 3 /answers/VDT-02: not_a_number: …
//	file.xlsx Assessment!J7: na_not_allowed: …
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.File == "" {
		b.WriteString("input")
	}
	switch p.Format {
	case FormatCSVWide, FormatCSVLong, FormatCSV:
		if p.Row > 0 {
			b.WriteString(" row ")
			b.WriteString(strconv.Itoa(p.Row))
		}
		if p.Pointer != "" {
			b.WriteString(" column ")
			b.WriteString(p.Pointer)
		}
	case FormatXLSX:
		if p.Pointer != "" {
			b.WriteString(" ")
			b.WriteString(p.Pointer)
		}
	default:
		if p.Row > 0 {
			b.WriteString(" line ")
			b.WriteString(strconv.Itoa(p.Row))
		}
		if p.Pointer != "" {
			b.WriteString(" ")
			b.WriteString(p.Pointer)
		}
	}
	b.WriteString(": ")
	b.WriteString(p.Rule)
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// FieldError converts the problem to the model's error detail, for the API's
// {"error":{"details":[…]}} body; the location is folded into Field when there is no
// submission field to name.
func (p Problem) FieldError() model.FieldError {
	field := p.Field
	if field == "" {
		field = p.Pointer
	}
	return model.FieldError{Field: field, Rule: p.Rule, Value: p.Value, Message: p.Message}
}

// clip bounds a value a problem quotes, so that a runaway cell cannot bloat a report.
func clip(s string) string { return model.Clip(s, model.MaxQuoted) }

// maxMessage bounds Message: messages quote values (clipped where they are worded, but
// a workbook's problems and a file's name come from elsewhere), and no message of a
// report may carry a runaway cell or name in full.
const maxMessage = 512

// bound clips what a problem quotes from the input, so that a report (the API's answer,
// the CLI's --json) never repeats a 1 MiB cell, column name or JSON key. It is applied to
// every problem as it goes into a report.
func (p *Problem) bound() {
	p.Pointer, p.Field, p.Value = clip(p.Pointer), clip(p.Field), clip(p.Value)
	p.Message = model.Clip(p.Message, maxMessage)
}

// quoteBytes renders bytes that may not be UTF-8 so that they can be printed and marshalled.
func quoteBytes(s string) string { return clip(strconv.Quote(s)) }
