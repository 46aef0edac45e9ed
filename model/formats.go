package model

// Column names of the tabular submission formats. Fixtures write them and ingest reads
// them, so they are defined once, here, next to the document they flatten.
const (
	ColOrgID        = "org_id"
	ColOrgName      = "org_name"
	ColState        = "state"
	ColBeds         = "beds"
	ColOrgType      = "org_type"
	ColCycle        = "cycle"
	ColModelVersion = "model_version"
	ColSubmittedAt  = "submitted_at"
	ColCapability   = "capability"
	ColAnswer       = "answer"
)

// WideProfileColumns are the leading columns of a CSV-wide file, one row per submission;
// one column per capability ID follows, in model order.
var WideProfileColumns = []string{ColOrgID, ColOrgName, ColState, ColBeds, ColOrgType, ColCycle, ColModelVersion, ColSubmittedAt}

// WideColumns returns the full CSV-wide header for this model.
func (m *Model) WideColumns() []string {
	return append(append([]string(nil), WideProfileColumns...), m.capOrder...)
}

// LongRequiredColumns must appear in a CSV-long file (one row per answer). The profile
// columns in LongProfileColumns are optional: without them the organisation must already
// be known to the warehouse and its stored profile is used.
var LongRequiredColumns = []string{ColOrgID, ColCycle, ColModelVersion, ColCapability, ColAnswer}

// LongProfileColumns are the optional profile columns of a CSV-long file, repeated on
// every row of a submission (they must agree within it).
var LongProfileColumns = []string{ColOrgName, ColState, ColBeds, ColOrgType, ColSubmittedAt}
