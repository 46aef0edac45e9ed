package warehouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuditEntry records who did what to which object, for administrative actions.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Object string    `json:"object"`
	Detail string    `json:"detail"`
}

// RecordAudit appends an entry to the audit log through the writer (ID and, if zero, At
// are filled in). Callers record after the action succeeded.
func (db *DB) RecordAudit(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("warehouse: audit: actor and action are required")
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	err := db.do(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(context.Background(), `INSERT INTO `+w.t("audit_log")+` VALUES (?, ?, ?, ?, ?, ?)`,
			w.nextAud, e.At.UTC(), e.Actor, e.Action, e.Object, e.Detail)
		if err == nil {
			w.nextAud++
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("warehouse: audit: %w", err)
	}
	return nil
}

// RecordAudits appends many entries in one write of the single writer. The API batches
// the audit lines of concurrent requests through it, so that auditing every submission
// does not cost a writer round trip per request.
func (db *DB) RecordAudits(ctx context.Context, es []AuditEntry) error {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if e.Actor == "" || e.Action == "" {
			return fmt.Errorf("warehouse: audit: actor and action are required")
		}
	}
	err := db.do(ctx, func(w *writer) error {
		var sb strings.Builder
		args := make([]any, 0, 6*len(es))
		sb.WriteString(`INSERT INTO ` + w.t("audit_log") + ` VALUES `)
		now := time.Now()
		for i, e := range es {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?)")
			if e.At.IsZero() {
				e.At = now
			}
			args = append(args, w.nextAud+int64(i), e.At.UTC(), e.Actor, e.Action, e.Object, e.Detail)
		}
		_, err := w.conn.ExecContext(context.Background(), sb.String(), args...)
		if err == nil {
			w.nextAud += int64(len(es))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("warehouse: audit: %w", err)
	}
	return nil
}

// ListAudit returns the newest audit entries first, at most limit of them.
func (db *DB) ListAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, "at", actor, action, object, detail FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("warehouse: list audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Object, &e.Detail); err != nil {
			return nil, fmt.Errorf("warehouse: list audit: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: list audit: %w", err)
	}
	return out, nil
}
