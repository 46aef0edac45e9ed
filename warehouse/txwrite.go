package warehouse

import (
	"context"
	"database/sql"
)

// write stores a plan in one transaction. The Arrow views are registered first (DuckDB
// cannot commit a transaction that registered one), then the statements run inside
// BEGIN ... COMMIT and write the file catalog only (DuckDB refuses a transaction that
// writes two attached databases), and the views are dropped after.
func (w *writer) write(p *plan) error {
	ctx := context.Background() // one caller's cancellation must not abort a shared group
	views, err := w.registerViews(p)
	if err != nil {
		return err
	}
	// A failed DROP must not make a committed transaction look failed (it would be
	// retried and stored twice); it leaves only a view name that the next registration
	// replaces and nothing scans, so its error is dropped.
	defer views.drop(ctx, w) //nolint:errcheck // see above

	tx, err := w.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := w.statements(ctx, tx, p); err != nil {
		return joinErr(err, tx.Rollback())
	}
	return tx.Commit()
}

// statements are the writes of one plan, in dependency order.
func (w *writer) statements(ctx context.Context, tx *sql.Tx, p *plan) error {
	stmts := []string{
		`INSERT INTO ` + w.t("submissions") + ` (` + submissionColumns + `) SELECT * FROM ` + viewSubmissions,
		`INSERT INTO ` + w.t("answers") + ` (submission_id, capability_id, answer) SELECT * FROM ` + viewAnswers,
		`INSERT INTO ` + w.t("domain_scores") + ` (submission_id, domain_id, assessed, domain_index, posture, unknown_count, na_count)
			SELECT * FROM ` + viewDomains,
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	if len(p.replaced) > 0 {
		// One set-based UPDATE links every replaced submission to its successor, which
		// may be in this very transaction. (Writing the IDs into the statement, to go
		// through the primary key, measured no faster.)
		_, err := tx.ExecContext(ctx, `UPDATE `+w.t("submissions")+` AS s SET superseded_by = n.submission_id
			FROM `+w.t("submissions")+` AS n
			WHERE n.submission_id BETWEEN ? AND ? AND n.replaces = s.submission_id`, p.firstID, p.nextID-1)
		if err != nil {
			return err
		}
	}
	if len(p.newOrgs) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+w.t("organisations")+` SELECT * FROM `+viewNewOrgs); err != nil {
			return err
		}
	}
	if len(p.changedOrgs) > 0 {
		// first_seen stays as it was.
		_, err := tx.ExecContext(ctx, `UPDATE `+w.t("organisations")+` AS o SET name = v.name, state = v.state,
			beds = v.beds, org_type = v.org_type, size_band = v.size_band, region = v.region, updated_at = v.updated_at
			FROM `+viewChangedOrgs+` AS v WHERE o.org_id = v.org_id`)
		if err != nil {
			return err
		}
	}
	return nil
}
