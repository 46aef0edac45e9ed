package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hcztmm/warehouse/model"
)

// SubmissionSummary describes one stored submission without its answers: a line of an
// organisation's history.
type SubmissionSummary struct {
	ID           int64     `json:"id"`
	OrgID        string    `json:"org_id"`
	Cycle        string    `json:"cycle"`
	ModelVersion string    `json:"model_version"`
	Source       string    `json:"source"`
	ContentHash  string    `json:"content_hash"`
	ReceivedAt   time.Time `json:"received_at"`
	SubmittedAt  time.Time `json:"submitted_at,omitzero"`
	// Replaces is the submission this one superseded (0 if none).
	Replaces int64 `json:"replaces,omitempty"`
	// SupersededBy is the submission that replaced this one (0 while it is current).
	SupersededBy int64   `json:"superseded_by,omitempty"`
	Posture      int     `json:"posture"`
	Index        float64 `json:"index"`
}

// Current reports whether the submission is its organisation's current one in its cycle.
func (s SubmissionSummary) Current() bool { return s.SupersededBy == 0 }

// StoredSubmission is a submission as stored: the document rebuilt from its rows, the
// cohort keys and scorecard it was stored with, and its place in the history.
type StoredSubmission struct {
	SubmissionSummary
	Submission model.Submission `json:"submission"`
	Keys       model.CohortKeys `json:"cohort_keys"`
	Score      model.Scorecard  `json:"scorecard"`
}

const summaryColumns = `submission_id, org_id, cycle_id, model_version, source, content_hash, received_at,
	submitted_at, coalesce(replaces, 0), coalesce(superseded_by, 0), posture, overall_index`

func scanSummary(sc interface{ Scan(...any) error }, extra ...any) (SubmissionSummary, error) {
	var s SubmissionSummary
	var submitted sql.NullTime
	dest := append([]any{&s.ID, &s.OrgID, &s.Cycle, &s.ModelVersion, &s.Source, &s.ContentHash, &s.ReceivedAt,
		&submitted, &s.Replaces, &s.SupersededBy, &s.Posture, &s.Index}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return s, err
	}
	s.SubmittedAt = submitted.Time
	return s, nil
}

// GetSubmission returns one stored submission by ID, current or not (KindNotFound if none).
func (db *DB) GetSubmission(ctx context.Context, id int64) (*StoredSubmission, error) {
	s, err := db.loadSubmission(ctx, `submission_id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		err = model.Errorf(model.KindNotFound, "submission %d does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: get submission: %w", err)
	}
	return s, nil
}

// CurrentSubmission returns an organisation's current submission in a cycle (KindNotFound
// if it has none).
func (db *DB) CurrentSubmission(ctx context.Context, orgID, cycleID string) (*StoredSubmission, error) {
	s, err := db.loadSubmission(ctx, `org_id = ? AND cycle_id = ? AND superseded_by IS NULL`, orgID, cycleID)
	if errors.Is(err, sql.ErrNoRows) {
		err = model.Errorf(model.KindNotFound, "organisation %q has no submission in cycle %q", orgID, cycleID)
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: current submission: %w", err)
	}
	return s, nil
}

// loadSubmission reads one submission and its answers in one read transaction, so the two
// queries see the same snapshot.
func (db *DB) loadSubmission(ctx context.Context, where string, args ...any) (*StoredSubmission, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // only read
	var out StoredSubmission
	var schemaVersion int
	p := &out.Submission.Organisation
	out.SubmissionSummary, err = scanSummary(tx.QueryRowContext(ctx, `SELECT `+summaryColumns+`,
		schema_version, org_name, state, beds, org_type, size_band, region
		FROM submissions WHERE `+where, bindable(args)...),
		&schemaVersion, &p.Name, &p.State, &p.Beds, &p.Type, &out.Keys.SizeBand, &out.Keys.Region)
	if err != nil {
		return nil, err
	}
	out.Keys.OrgType = p.Type
	p.ID = out.OrgID
	out.Submission.SchemaVersion = schemaVersion
	out.Submission.ModelVersion = out.ModelVersion
	out.Submission.Cycle = out.Cycle
	out.Submission.SubmittedAt = out.SubmittedAt
	rows, err := tx.QueryContext(ctx, `SELECT capability_id, answer FROM answers WHERE submission_id = ?`, out.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out.Submission.Answers = map[string]model.Answer{}
	for rows.Next() {
		var id string
		var a int8
		if err := rows.Scan(&id, &a); err != nil {
			return nil, err
		}
		out.Submission.Answers[id] = model.Answer(a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The scorecard is not stored: scoring is pure, so the stored answers and model
	// version give back exactly the scorecard computed at ingest, wording included.
	m, err := db.reg.Get(out.ModelVersion)
	if err != nil {
		return nil, fmt.Errorf("submission %d: %w", out.ID, err)
	}
	out.Score = m.Score(out.Submission.Answers)
	return &out, nil
}

// ListSubmissions returns an organisation's own history in every cycle, oldest first.
func (db *DB) ListSubmissions(ctx context.Context, orgID string) ([]SubmissionSummary, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+summaryColumns+` FROM submissions WHERE org_id = ? ORDER BY submission_id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("warehouse: list submissions: %w", err)
	}
	defer rows.Close()
	out := []SubmissionSummary{}
	for rows.Next() {
		s, err := scanSummary(rows)
		if err != nil {
			return nil, fmt.Errorf("warehouse: list submissions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: list submissions: %w", err)
	}
	return out, nil
}

// CountSubmissions returns how many organisations have a current submission in a cycle and
// how many submissions it holds in all, superseded ones included (KindNotFound for an
// unknown cycle).
func (db *DB) CountSubmissions(ctx context.Context, cycleID string) (current, total int, err error) {
	var cycles int
	err = db.sql.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM cycles WHERE cycle_id = $1),
		count(*) FILTER (WHERE superseded_by IS NULL), count(*) FROM submissions WHERE cycle_id = $1`, cycleID).
		Scan(&cycles, &current, &total)
	if err == nil && cycles == 0 {
		err = model.Errorf(model.KindNotFound, "cycle %q does not exist", cycleID)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("warehouse: count submissions: %w", err)
	}
	return current, total, nil
}

// Organisation is an organisation's latest stored profile. CSV-long files may omit the
// profile; ingest then takes it from here.
type Organisation struct {
	Profile   model.Profile    `json:"profile"`
	Keys      model.CohortKeys `json:"cohort_keys"`
	FirstSeen time.Time        `json:"first_seen"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// Organisation returns the stored profile of an organisation (KindNotFound if it never
// submitted).
func (db *DB) Organisation(ctx context.Context, orgID string) (Organisation, error) {
	var o Organisation
	p := &o.Profile
	err := db.sql.QueryRowContext(ctx, `SELECT org_id, name, state, beds, org_type, size_band, region, first_seen, updated_at
		FROM organisations WHERE org_id = ?`, orgID).
		Scan(&p.ID, &p.Name, &p.State, &p.Beds, &p.Type, &o.Keys.SizeBand, &o.Keys.Region, &o.FirstSeen, &o.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		err = model.Errorf(model.KindNotFound, "organisation %q is not known", orgID)
	}
	if err != nil {
		return Organisation{}, fmt.Errorf("warehouse: organisation: %w", err)
	}
	o.Keys.OrgType = p.Type
	return o, nil
}
