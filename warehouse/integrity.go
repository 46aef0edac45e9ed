package warehouse

import (
	"context"
	"fmt"
)

// Integrity is what a consistency check of the stored submissions found. After any crash
// every field but the totals must be zero: a submission is stored whole or not at all.
type Integrity struct {
	// Submissions and Current count every stored submission and the current ones.
	Submissions int `json:"submissions"`
	Current     int `json:"current"`
	// Incomplete lists submissions whose answers or domain scores do not match their model.
	Incomplete []int64 `json:"incomplete"`
	// OrphanAnswers and OrphanDomainScores count rows without their submission.
	OrphanAnswers      int `json:"orphan_answers"`
	OrphanDomainScores int `json:"orphan_domain_scores"`
	// DuplicateCurrent counts (organisation, cycle) pairs with more than one current submission.
	DuplicateCurrent int `json:"duplicate_current"`
	// BrokenLinks counts superseded submissions whose successor is missing.
	BrokenLinks int `json:"broken_links"`
}

// OK reports whether the check found nothing wrong.
func (i Integrity) OK() bool {
	return len(i.Incomplete) == 0 && i.OrphanAnswers == 0 && i.OrphanDomainScores == 0 &&
		i.DuplicateCurrent == 0 && i.BrokenLinks == 0
}

// CheckIntegrity verifies that every stored submission is whole: the answers and domain
// scores its model requires, no rows left without a submission, one current submission
// per organisation and cycle, and intact supersession links. Operators run it after a
// crash (hcztmm check); the crash tests run it after killing the process.
func (db *DB) CheckIntegrity(ctx context.Context) (Integrity, error) {
	var out Integrity
	out.Incomplete = []int64{}
	err := db.sql.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE superseded_by IS NULL) FROM submissions`).
		Scan(&out.Submissions, &out.Current)
	if err != nil {
		return out, fmt.Errorf("warehouse: integrity: %w", err)
	}
	expected := map[string][2]int{}
	for _, v := range db.reg.Versions() {
		m, _ := db.reg.Get(v)
		expected[v] = [2]int{len(m.CapabilityIDs()), len(m.Domains)}
	}
	rows, err := db.sql.QueryContext(ctx, `
		SELECT s.submission_id, s.model_version,
		       (SELECT count(*) FROM answers a WHERE a.submission_id = s.submission_id),
		       (SELECT count(*) FROM domain_scores d WHERE d.submission_id = s.submission_id)
		FROM submissions s ORDER BY s.submission_id`)
	if err != nil {
		return out, fmt.Errorf("warehouse: integrity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var version string
		var answers, domains int
		if err := rows.Scan(&id, &version, &answers, &domains); err != nil {
			return out, fmt.Errorf("warehouse: integrity: %w", err)
		}
		if want, ok := expected[version]; !ok || answers != want[0] || domains != want[1] {
			out.Incomplete = append(out.Incomplete, id)
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("warehouse: integrity: %w", err)
	}
	err = db.sql.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM answers a WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.submission_id = a.submission_id)),
		(SELECT count(*) FROM domain_scores d WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.submission_id = d.submission_id)),
		(SELECT count(*) FROM (SELECT org_id, cycle_id FROM submissions WHERE superseded_by IS NULL
		                       GROUP BY org_id, cycle_id HAVING count(*) > 1)),
		(SELECT count(*) FROM submissions s WHERE s.superseded_by IS NOT NULL
		   AND NOT EXISTS (SELECT 1 FROM submissions n WHERE n.submission_id = s.superseded_by))`).
		Scan(&out.OrphanAnswers, &out.OrphanDomainScores, &out.DuplicateCurrent, &out.BrokenLinks)
	if err != nil {
		return out, fmt.Errorf("warehouse: integrity: %w", err)
	}
	return out, nil
}
