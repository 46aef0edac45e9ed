package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// viewStatements are the writer's statements that scan its Arrow views, prepared once
// on its connection. Binding a statement that scans an Arrow view costs DuckDB memory it
// never gives back (a few hundred bytes per column, in the arrow scan's bind); prepared
// once and executed many times, they are bound once. See feed for the other half.
type viewStatements struct {
	insertSubmissions, insertAnswers, insertDomains *sql.Stmt
	insertNewOrgs, updateChangedOrgs                *sql.Stmt
	insertReleaseValues                             *sql.Stmt
}

// prepareViewStatements prepares the statements; the views must be registered.
func (w *writer) prepareViewStatements(ctx context.Context) error {
	prep := func(dst **sql.Stmt, query string) error {
		s, err := w.conn.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
		*dst = s
		return nil
	}
	s := &w.stmts
	return errors.Join(
		prep(&s.insertSubmissions, `INSERT INTO `+w.t("submissions")+` (`+submissionColumns+`) SELECT * FROM `+viewSubmissions),
		prep(&s.insertAnswers, `INSERT INTO `+w.t("answers")+` (submission_id, capability_id, answer) SELECT * FROM `+viewAnswers),
		prep(&s.insertDomains, `INSERT INTO `+w.t("domain_scores")+` (submission_id, domain_id, assessed, domain_index, posture, unknown_count, na_count)
			SELECT * FROM `+viewDomains),
		prep(&s.insertNewOrgs, `INSERT INTO `+w.t("organisations")+` SELECT * FROM `+viewNewOrgs),
		// first_seen stays as it was.
		prep(&s.updateChangedOrgs, `UPDATE `+w.t("organisations")+` AS o SET name = v.name, state = v.state,
			beds = v.beds, org_type = v.org_type, size_band = v.size_band, region = v.region, updated_at = v.updated_at
			FROM `+viewChangedOrgs+` AS v WHERE o.org_id = v.org_id`),
		prep(&s.insertReleaseValues, `INSERT INTO `+w.t("release_values")+` SELECT * FROM `+viewReleaseValues),
	)
}

// close closes every prepared statement.
func (s *viewStatements) close() error {
	var err error
	for _, st := range []*sql.Stmt{s.insertSubmissions, s.insertAnswers, s.insertDomains, s.insertNewOrgs, s.updateChangedOrgs, s.insertReleaseValues} {
		if st != nil {
			err = errors.Join(err, st.Close())
		}
	}
	*s = viewStatements{}
	return err
}

// inTx runs fn between BEGIN and COMMIT on the writer's connection, and rolls back when
// fn or the commit fails. Not database/sql's Tx: it would prepare the writer's prepared
// statements again for every transaction (it does for statements prepared on a Conn),
// which is the binding viewStatements exists to avoid.
func (w *writer) inTx(ctx context.Context, fn func() error) error {
	if _, err := w.conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return err
	}
	err := fn()
	if err == nil {
		if _, err = w.conn.ExecContext(ctx, `COMMIT`); err == nil {
			return nil
		}
	}
	// After a failed statement or commit DuckDB holds an aborted transaction until it is
	// rolled back; a commit that failed may already have ended it, so that error is moot.
	_, _ = w.conn.ExecContext(ctx, `ROLLBACK`)
	return err
}

// write stores a plan in one transaction. The batches are loaded into the writer's
// Arrow views first, then the statements run inside BEGIN ... COMMIT and write the file
// catalog only (DuckDB refuses a transaction that writes two attached databases), and
// whatever was not scanned is released after.
func (w *writer) write(p *plan) error {
	ctx := context.Background() // one caller's cancellation must not abort a shared group
	views, err := w.loadViews(p)
	if err != nil {
		return err
	}
	defer views.unload()
	return w.inTx(ctx, func() error { return w.statements(ctx, p) })
}

// statements are the writes of one plan, in dependency order.
func (w *writer) statements(ctx context.Context, p *plan) error {
	for _, s := range []*sql.Stmt{w.stmts.insertSubmissions, w.stmts.insertAnswers, w.stmts.insertDomains} {
		if _, err := s.ExecContext(ctx); err != nil {
			return err
		}
	}
	if len(p.replaced) > 0 {
		// One set-based UPDATE links every replaced submission to its successor, which
		// may be in this very transaction. (Writing the IDs into the statement, to go
		// through the primary key, measured no faster.)
		_, err := w.conn.ExecContext(ctx, `UPDATE `+w.t("submissions")+` AS s SET superseded_by = n.submission_id
			FROM `+w.t("submissions")+` AS n
			WHERE n.submission_id BETWEEN ? AND ? AND n.replaces = s.submission_id`, p.firstID, p.nextID-1)
		if err != nil {
			return err
		}
	}
	if len(p.newOrgs) > 0 {
		if _, err := w.stmts.insertNewOrgs.ExecContext(ctx); err != nil {
			return err
		}
	}
	if len(p.changedOrgs) > 0 {
		if _, err := w.stmts.updateChangedOrgs.ExecContext(ctx); err != nil {
			return err
		}
	}
	return nil
}
