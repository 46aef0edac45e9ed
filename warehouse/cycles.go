package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hcztmm/warehouse/model"
)

// cycleIDPattern matches what model.ValidateSubmission accepts in a submission's cycle
// field, so every cycle that can be created can also be submitted to.
var cycleIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// validateCycle checks a new cycle and names every problem.
// Caps on a cycle's privacy budget, the total over all of its releases. Beyond ε = 20 the
// guarantee no longer means anything (e^20 is a likelihood ratio of about 5·10^8), and
// the ledger counts in integer units of EpsilonUnit and DeltaUnit, which a careless
// budget such as 1e20 would overflow. δ stays far below one in the population size.
const (
	MaxCycleEpsilon = 20.0
	MaxCycleDelta   = 1e-3
)

func (db *DB) validateCycle(c Cycle) error {
	var errs []model.FieldError
	if !cycleIDPattern.MatchString(c.ID) {
		errs = append(errs, model.FieldError{Field: "id", Rule: "format", Value: c.ID,
			Message: fmt.Sprintf("cycle id %q must be 1-32 letters, digits, '-', '_' or '.', starting with a letter or digit", c.ID)})
	}
	if _, err := db.reg.Get(c.ModelVersion); err != nil {
		errs = append(errs, model.FieldError{Field: "model_version", Rule: "unknown", Value: c.ModelVersion, Message: err.Error()})
	}
	if !(c.Epsilon > 0 && c.Epsilon <= MaxCycleEpsilon) {
		errs = append(errs, model.FieldError{Field: "epsilon", Rule: "out_of_range", Value: fmt.Sprint(c.Epsilon),
			Message: fmt.Sprintf("epsilon must be above 0 and at most %g: it bounds what every release of the cycle together may reveal about one organisation", MaxCycleEpsilon)})
	}
	if !(c.Delta >= 0 && c.Delta <= MaxCycleDelta) {
		errs = append(errs, model.FieldError{Field: "delta", Rule: "out_of_range", Value: fmt.Sprint(c.Delta),
			Message: fmt.Sprintf("delta must be at least 0 and at most %g", MaxCycleDelta)})
	}
	if c.Status != "" && c.Status != CycleOpen {
		errs = append(errs, model.FieldError{Field: "status", Rule: "invalid", Value: c.Status,
			Message: "a new cycle is always open"})
	}
	if len(errs) > 0 {
		return model.Invalid("invalid cycle", errs...)
	}
	return nil
}

// CreateCycle adds an open assessment cycle. It fails with KindInvalid for a bad ID, an
// unknown model version or an impossible budget, and with KindConflict when the ID exists.
// CreatedAt defaults to now.
func (db *DB) CreateCycle(ctx context.Context, c Cycle) error {
	if err := db.validateCycle(c); err != nil {
		return fmt.Errorf("warehouse: create cycle: %w", err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	err := db.do(ctx, func(w *writer) error {
		if _, dup := w.cycles[c.ID]; dup {
			return model.Errorf(model.KindConflict, "cycle %q already exists", c.ID)
		}
		_, err := w.conn.ExecContext(context.Background(), `INSERT INTO `+w.t("cycles")+
			` (cycle_id, model_version, epsilon_total, delta_total, status, created_at) VALUES (?, ?, ?, ?, 'open', ?)`,
			c.ID, c.ModelVersion, c.Epsilon, c.Delta, c.CreatedAt.UTC())
		if err != nil {
			return err
		}
		w.cycles[c.ID] = cycleState{modelVersion: c.ModelVersion, open: true}
		return nil
	})
	if err != nil {
		return fmt.Errorf("warehouse: create cycle %s: %w", c.ID, err)
	}
	return nil
}

// CloseCycle closes a cycle to submissions (KindNotFound if it does not exist,
// KindConflict if it is already closed). Commits queued before it are still stored.
func (db *DB) CloseCycle(ctx context.Context, id string) error {
	err := db.do(ctx, func(w *writer) error {
		c, ok := w.cycles[id]
		switch {
		case !ok:
			return model.Errorf(model.KindNotFound, "cycle %q does not exist", id)
		case !c.open:
			return model.Errorf(model.KindConflict, "cycle %q is already closed", id)
		}
		_, err := w.conn.ExecContext(context.Background(), `UPDATE `+w.t("cycles")+
			` SET status = 'closed', closed_at = ? WHERE cycle_id = ?`, time.Now().UTC(), id)
		if err != nil {
			return err
		}
		c.open = false
		w.cycles[id] = c
		return nil
	})
	if err != nil {
		return fmt.Errorf("warehouse: close cycle %q: %w", id, err)
	}
	return nil
}

const cycleColumns = `cycle_id, model_version, epsilon_total, delta_total, status, created_at, closed_at`

func scanCycle(sc interface{ Scan(...any) error }) (Cycle, error) {
	var c Cycle
	var closed sql.NullTime
	if err := sc.Scan(&c.ID, &c.ModelVersion, &c.Epsilon, &c.Delta, &c.Status, &c.CreatedAt, &closed); err != nil {
		return Cycle{}, err
	}
	if closed.Valid {
		t := closed.Time
		c.ClosedAt = &t
	}
	return c, nil
}

// GetCycle returns one cycle, or a KindNotFound error.
func (db *DB) GetCycle(ctx context.Context, id string) (Cycle, error) {
	c, err := scanCycle(db.sql.QueryRowContext(ctx, `SELECT `+cycleColumns+` FROM cycles WHERE cycle_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Cycle{}, fmt.Errorf("warehouse: get cycle: %w", model.Errorf(model.KindNotFound, "cycle %q does not exist", id))
	}
	if err != nil {
		return Cycle{}, fmt.Errorf("warehouse: get cycle %s: %w", id, err)
	}
	return c, nil
}

// ListCycles returns every cycle, oldest first.
func (db *DB) ListCycles(ctx context.Context) ([]Cycle, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+cycleColumns+` FROM cycles ORDER BY created_at, cycle_id`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: list cycles: %w", err)
	}
	defer rows.Close()
	out := []Cycle{}
	for rows.Next() {
		c, err := scanCycle(rows)
		if err != nil {
			return nil, fmt.Errorf("warehouse: list cycles: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: list cycles: %w", err)
	}
	return out, nil
}
