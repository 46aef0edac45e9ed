package model

import (
	"fmt"
	"sort"
	"time"
)

// SchemaVersion is the version of the submission document format this build writes and reads.
const SchemaVersion = 1

// Submission is one organisation's answers for one assessment cycle.
type Submission struct {
	SchemaVersion int               `json:"schema_version"`
	ModelVersion  string            `json:"model_version"`
	Cycle         string            `json:"cycle"`
	Organisation  Profile           `json:"organisation"`
	SubmittedAt   time.Time         `json:"submitted_at,omitzero"`
	Answers       map[string]Answer `json:"answers"`
}

// ValidateAnswers checks every answer against the model and returns all problems:
// unknown capabilities, out-of-range levels, "na" where the model forbids it, and
// capabilities left unanswered (every capability is required; "unknown" is a valid answer).
func (m *Model) ValidateAnswers(answers map[string]Answer) []FieldError {
	if m.answersValid(answers) {
		return nil // the common case, without sorting or building field names
	}
	var errs []FieldError
	ids := make([]string, 0, len(answers))
	for id := range answers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := answers[id]
		field := "answers." + id
		c, ok := m.capByID[id]
		if !ok {
			errs = append(errs, FieldError{Field: field, Rule: "unknown_capability", Value: truncate(id),
				Message: fmt.Sprintf("capability %q is not in model %s", truncate(id), m.Version)})
			continue
		}
		switch {
		case a == NotApplicable && !c.NAAllowed:
			errs = append(errs, FieldError{Field: field, Rule: "na_not_allowed", Value: "na",
				Message: fmt.Sprintf("%s (%s) must be answered; \"na\" is not allowed for it", id, c.Name)})
		case a.IsLevel() && (int(a) < m.Scale.Min || int(a) > m.Scale.Max), a < NotApplicable:
			errs = append(errs, FieldError{Field: field, Rule: "out_of_range", Value: a.String(),
				Message: fmt.Sprintf("%s answer %s is outside %d..%d", id, a, m.Scale.Min, m.Scale.Max)})
		}
	}
	for _, id := range m.capOrder {
		if _, ok := answers[id]; !ok {
			errs = append(errs, FieldError{Field: "answers." + id, Rule: "required",
				Message: fmt.Sprintf("%s (%s) is not answered; use \"unknown\" if you do not know", id, m.capByID[id].Name)})
		}
	}
	return errs
}

// answersValid is the allocation-free check that every capability is answered once with
// an allowed value and nothing else is.
func (m *Model) answersValid(answers map[string]Answer) bool {
	if len(answers) != len(m.capOrder) {
		return false
	}
	for id, a := range answers {
		c, ok := m.capByID[id]
		if !ok {
			return false
		}
		switch {
		case a == NotApplicable:
			if !c.NAAllowed {
				return false
			}
		case a == Unknown:
		case int(a) < m.Scale.Min || int(a) > m.Scale.Max:
			return false
		}
	}
	return true
}

// ValidateSubmission checks the document fields this model owns: schema and model
// version, profile and answers. Cycle existence is the warehouse's to check.
func (m *Model) ValidateSubmission(s *Submission) []FieldError {
	var errs []FieldError
	if s.SchemaVersion != SchemaVersion {
		errs = append(errs, FieldError{Field: "schema_version", Rule: "unsupported", Value: fmt.Sprint(s.SchemaVersion),
			Message: fmt.Sprintf("schema_version %d is not supported (this build reads %d)", s.SchemaVersion, SchemaVersion)})
	}
	if s.ModelVersion != m.Version {
		errs = append(errs, FieldError{Field: "model_version", Rule: "mismatch", Value: truncate(s.ModelVersion),
			Message: fmt.Sprintf("model_version %q does not match model %s", truncate(s.ModelVersion), m.Version)})
	}
	if s.Cycle == "" {
		errs = append(errs, FieldError{Field: "cycle", Rule: "required", Message: "cycle is required"})
	} else if len(s.Cycle) > 32 || !idPattern.MatchString(s.Cycle) {
		errs = append(errs, FieldError{Field: "cycle", Rule: "format", Value: truncate(s.Cycle),
			Message: fmt.Sprintf("cycle %q must be 1-32 letters, digits, '-', '_' or '.'", truncate(s.Cycle))})
	}
	errs = append(errs, m.ValidateProfile(s.Organisation)...)
	errs = append(errs, m.ValidateAnswers(s.Answers)...)
	return errs
}
