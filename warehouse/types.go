package warehouse

import (
	"fmt"
	"time"

	"github.com/hcztmm/warehouse/model"
)

// ScoredSubmission is a validated submission ready to store: the document, its cohort keys,
// its scorecard (computed with the submission's model version) and where it came from.
type ScoredSubmission struct {
	Submission model.Submission
	Keys       model.CohortKeys
	Score      model.Scorecard
	// ContentHash identifies the submission's content (profile, cycle, model version,
	// answers; not the receive time) so that re-ingesting the same file changes nothing.
	ContentHash string
	// Source says where it came from, e.g. "cli:file.csv" or "api".
	Source string
}

// OutcomeStatus is what happened to one submission handed to the writer.
type OutcomeStatus string

// Outcome statuses.
const (
	// StatusAccepted: stored as the current submission of its organisation and cycle.
	StatusAccepted OutcomeStatus = "accepted"
	// StatusSuperseded: stored and replaced an earlier current submission, kept as history.
	StatusSuperseded OutcomeStatus = "superseded"
	// StatusUnchanged: identical to the current submission (same content hash); nothing written.
	StatusUnchanged OutcomeStatus = "unchanged"
	// StatusRejected: not stored; Err says why (e.g. cycle closed or unknown).
	StatusRejected OutcomeStatus = "rejected"
)

// Outcome reports one submission's fate, in the order the submissions were given.
type Outcome struct {
	Status       OutcomeStatus
	SubmissionID int64
	// Replaced is the ID of the submission this one superseded, when Status is StatusSuperseded.
	Replaced int64
	Err      error
}

// Cycle is an assessment cycle with its model version and privacy budget.
type Cycle struct {
	ID           string     `json:"id"`
	ModelVersion string     `json:"model_version"`
	Epsilon      float64    `json:"epsilon"`
	Delta        float64    `json:"delta"`
	Status       string     `json:"status"`
	CreatedAt    time.Time  `json:"created_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
}

// Cycle statuses.
const (
	CycleOpen   = "open"
	CycleClosed = "closed"
)

// ScoreAll prepares submissions that are already known to be valid (generated demo or
// benchmark data, test populations) for Commit: each gets its cohort keys and numeric
// scorecard from m, and source. Files and API bodies go through package ingest instead,
// which validates and content-hashes them first.
func ScoreAll(m *model.Model, subs []model.Submission, source string) ([]ScoredSubmission, error) {
	out := make([]ScoredSubmission, len(subs))
	for i, s := range subs {
		keys, err := m.CohortKeysOf(s.Organisation)
		if err != nil {
			return nil, fmt.Errorf("score submission of %s: %w", s.Organisation.ID, err)
		}
		out[i] = ScoredSubmission{Submission: s, Keys: keys, Score: m.Assess(s.Answers), Source: source}
	}
	return out, nil
}
