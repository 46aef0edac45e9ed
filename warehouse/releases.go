package warehouse

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hcztmm/warehouse/model"
)

// Budget units: the ledger adds integers, so that a thousand small entries never drift
// past a total by rounding. privacy uses the same units (and tests that they agree).
const (
	EpsilonUnit = 1e-9
	DeltaUnit   = 1e-18
)

// Release statuses.
const (
	ReleaseReserved  = "reserved"
	ReleasePublished = "published"
)

// LedgerEntry is one line of a cycle's privacy budget ledger: what one release spends on
// one metric family in one partitioning.
type LedgerEntry struct {
	Partitioning string `json:"partitioning"`
	Family       string `json:"family"`
	EpsilonUnits int64  `json:"epsilon_units"`
	DeltaUnits   int64  `json:"delta_units"`
	L0           int64  `json:"l0"`
	Cohorts      int    `json:"cohorts"`
}

// ReleaseReservation asks to charge a release's cost to its cycle's budget.
type ReleaseReservation struct {
	Cycle        string
	ModelVersion string
	Noise        string
	// Request is the release request as JSON, kept for the record.
	Request []byte
	Entries []LedgerEntry
}

// Budget is a cycle's privacy budget and what releases have spent of it.
type Budget struct {
	Cycle        string  `json:"cycle"`
	EpsilonTotal float64 `json:"epsilon_total"`
	DeltaTotal   float64 `json:"delta_total"`
	EpsilonSpent float64 `json:"epsilon_spent"`
	DeltaSpent   float64 `json:"delta_spent"`
	EpsilonLeft  float64 `json:"epsilon_left"`
	DeltaLeft    float64 `json:"delta_left"`
	Releases     int     `json:"releases"`
}

// ReleaseInfo describes a stored release without its body.
type ReleaseInfo struct {
	ID           string     `json:"id"`
	Cycle        string     `json:"cycle"`
	ModelVersion string     `json:"model_version"`
	Noise        string     `json:"noise"`
	Epsilon      float64    `json:"epsilon"`
	Delta        float64    `json:"delta"`
	Status       string     `json:"status"`
	ReservedAt   time.Time  `json:"reserved_at"`
	PublishedAt  *time.Time `json:"published_at,omitempty"`
	Bytes        int        `json:"bytes"`
	SHA256       string     `json:"sha256,omitempty"`
}

// ReleaseValue is one published figure in long form (see privacy.Row). Pointers are nil
// where nothing is published.
type ReleaseValue struct {
	Partitioning, SizeBand, Region, OrgType string
	Metric, Subject, Bucket                 string
	Value, Raw, CILow, CIHigh               *float64
	Suppressed, Withheld                    bool
	Reason, Family, Noise                   string
	Epsilon, Delta                          float64
	L0                                      int64
	LInf, NoiseScale                        float64
}

func units(x, unit float64) int64 { return int64(math.Round(x / unit)) }

// ReserveRelease charges a release's cost to its cycle's budget and records the release
// as reserved, in one transaction of the single writer, so two concurrent requests can
// never overspend together. It fails with KindBudgetExceeded, saying what is left, when
// the cost does not fit, and with KindNotFound for an unknown cycle. The returned ID
// names the release; the budget is the state after the reservation.
func (db *DB) ReserveRelease(ctx context.Context, r ReleaseReservation) (string, Budget, error) {
	var eps, del int64
	for _, e := range r.Entries {
		if e.EpsilonUnits < 0 || e.DeltaUnits < 0 {
			return "", Budget{}, model.Errorf(model.KindInvalid, "ledger entry %s/%s has a negative cost", e.Partitioning, e.Family)
		}
		eps += e.EpsilonUnits
		del += e.DeltaUnits
	}
	if eps <= 0 {
		return "", Budget{}, model.Errorf(model.KindInvalid, "a release must cost some epsilon")
	}
	var id string
	var budget Budget
	err := db.do(ctx, func(w *writer) error {
		ctx := context.Background()
		tx, err := w.conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
		b, seq, err := w.budget(ctx, tx, r.Cycle)
		if err != nil {
			return err
		}
		totalE, totalD := units(b.EpsilonTotal, EpsilonUnit), units(b.DeltaTotal, DeltaUnit)
		spentE, spentD := units(b.EpsilonSpent, EpsilonUnit), units(b.DeltaSpent, DeltaUnit)
		if spentE+eps > totalE || spentD+del > totalD {
			return &model.Error{Kind: model.KindBudgetExceeded, Message: fmt.Sprintf(
				"release needs epsilon %.6g and delta %.6g but cycle %s has only epsilon %.6g and delta %.6g left (of %.6g and %.6g)",
				float64(eps)*EpsilonUnit, float64(del)*DeltaUnit, r.Cycle,
				float64(totalE-spentE)*EpsilonUnit, float64(totalD-spentD)*DeltaUnit, b.EpsilonTotal, b.DeltaTotal)}
		}
		id = fmt.Sprintf("%s-r%03d", r.Cycle, seq)
		now := time.Now().UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+w.t("releases")+`
			(release_id, cycle_id, seq, model_version, noise, epsilon_units, delta_units, request, status, reserved_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'reserved', ?)`,
			id, r.Cycle, seq, r.ModelVersion, r.Noise, eps, del, string(r.Request), now); err != nil {
			return err
		}
		for _, e := range r.Entries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+w.t("budget_ledger")+`
				(release_id, cycle_id, partitioning, family, epsilon_units, delta_units, l0, cohorts, reserved_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, r.Cycle, e.Partitioning, e.Family, e.EpsilonUnits, e.DeltaUnits, e.L0, e.Cohorts, now); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		b.EpsilonSpent = float64(spentE+eps) * EpsilonUnit
		b.DeltaSpent = float64(spentD+del) * DeltaUnit
		b.EpsilonLeft = float64(totalE-spentE-eps) * EpsilonUnit
		b.DeltaLeft = float64(totalD-spentD-del) * DeltaUnit
		b.Releases++
		budget = b
		return nil
	})
	if err != nil {
		return "", Budget{}, fmt.Errorf("warehouse: reserve release: %w", err)
	}
	return id, budget, nil
}

// budget reads a cycle's budget and the next release sequence inside the writer's tx.
func (w *writer) budget(ctx context.Context, tx *sql.Tx, cycle string) (Budget, int, error) {
	b := Budget{Cycle: cycle}
	cycle = bindableKey(cycle)
	err := tx.QueryRowContext(ctx, `SELECT epsilon_total, delta_total FROM `+w.t("cycles")+` WHERE cycle_id = ?`, cycle).
		Scan(&b.EpsilonTotal, &b.DeltaTotal)
	if errors.Is(err, sql.ErrNoRows) {
		return b, 0, model.Errorf(model.KindNotFound, "cycle %q does not exist", b.Cycle)
	}
	if err != nil {
		return b, 0, err
	}
	var e, d int64
	var seq int
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(epsilon_units), 0)::BIGINT, coalesce(sum(delta_units), 0)::BIGINT,
		(SELECT count(*) FROM `+w.t("releases")+` WHERE cycle_id = ?),
		(SELECT coalesce(max(seq), 0) + 1 FROM `+w.t("releases")+` WHERE cycle_id = ?)
		FROM `+w.t("budget_ledger")+` WHERE cycle_id = ?`, cycle, cycle, cycle).Scan(&e, &d, &b.Releases, &seq)
	if err != nil {
		return b, 0, err
	}
	b.EpsilonSpent, b.DeltaSpent = float64(e)*EpsilonUnit, float64(d)*DeltaUnit
	b.EpsilonLeft = float64(units(b.EpsilonTotal, EpsilonUnit)-e) * EpsilonUnit
	b.DeltaLeft = float64(units(b.DeltaTotal, DeltaUnit)-d) * DeltaUnit
	return b, seq, nil
}

// Budget returns a cycle's budget and what its releases have reserved.
func (db *DB) Budget(ctx context.Context, cycle string) (Budget, error) {
	var b Budget
	err := db.do(ctx, func(w *writer) error {
		ctx := context.Background()
		tx, err := w.conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // read only
		b, _, err = w.budget(ctx, tx, cycle)
		return err
	})
	if err != nil {
		return Budget{}, fmt.Errorf("warehouse: budget of %s: %w", cycle, err)
	}
	return b, nil
}

// PublishRelease stores a reserved release's canonical body and its figures in long form,
// in one transaction. A release is published once: publishing again is KindConflict, so
// the bytes first served are the bytes served forever.
func (db *DB) PublishRelease(ctx context.Context, id string, body []byte, values []ReleaseValue) error {
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	err := db.do(ctx, func(w *writer) error {
		ctx := context.Background()
		var status string
		err := w.conn.QueryRowContext(ctx, `SELECT status FROM `+w.t("releases")+` WHERE release_id = ?`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return model.Errorf(model.KindNotFound, "release %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if status != ReleaseReserved {
			return model.Errorf(model.KindConflict, "release %s is already published; a correction is a new release", id)
		}
		rec, err := valuesRecord(w, id, values)
		if err != nil {
			return err
		}
		rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			return err
		}
		views, err := w.loadFeeds([]namedReader{{viewReleaseValues, rr}})
		if err != nil {
			return err
		}
		defer views.unload()
		return w.inTx(ctx, func() error {
			if _, err := w.stmts.insertReleaseValues.ExecContext(ctx); err != nil {
				return err
			}
			_, err := w.conn.ExecContext(ctx, `UPDATE `+w.t("releases")+` SET status = 'published', published_at = ?, body = ?, body_sha256 = ?
				WHERE release_id = ?`, time.Now().UTC(), body, digest, id)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("warehouse: publish release %s: %w", id, err)
	}
	return nil
}

var releaseValueSchema = arrow.NewSchema([]arrow.Field{
	{Name: "release_id", Type: arrow.BinaryTypes.String},
	{Name: "ordinal", Type: arrow.PrimitiveTypes.Int32},
	{Name: "partitioning", Type: arrow.BinaryTypes.String},
	{Name: "size_band", Type: arrow.BinaryTypes.String},
	{Name: "region", Type: arrow.BinaryTypes.String},
	{Name: "org_type", Type: arrow.BinaryTypes.String},
	{Name: "metric", Type: arrow.BinaryTypes.String},
	{Name: "subject", Type: arrow.BinaryTypes.String},
	{Name: "bucket", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "raw", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ci_low", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ci_high", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "suppressed", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "withheld", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "reason", Type: arrow.BinaryTypes.String},
	{Name: "family", Type: arrow.BinaryTypes.String},
	{Name: "noise", Type: arrow.BinaryTypes.String},
	{Name: "epsilon", Type: arrow.PrimitiveTypes.Float64},
	{Name: "delta", Type: arrow.PrimitiveTypes.Float64},
	{Name: "l0", Type: arrow.PrimitiveTypes.Int64},
	{Name: "linf", Type: arrow.PrimitiveTypes.Float64},
	{Name: "noise_scale", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// valuesRecord builds one Arrow batch of a release's figures (a few thousand rows).
func valuesRecord(w *writer, id string, values []ReleaseValue) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(w.opts.Allocator, releaseValueSchema)
	defer b.Release()
	str := func(i int, s string) { b.Field(i).(*array.StringBuilder).Append(s) }
	f64 := func(i int, x float64) { b.Field(i).(*array.Float64Builder).Append(x) }
	opt := func(i int, x *float64) {
		if x == nil {
			b.Field(i).(*array.Float64Builder).AppendNull()
		} else {
			f64(i, *x)
		}
	}
	for n, v := range values {
		str(0, id)
		b.Field(1).(*array.Int32Builder).Append(int32(n))
		str(2, v.Partitioning)
		str(3, v.SizeBand)
		str(4, v.Region)
		str(5, v.OrgType)
		str(6, v.Metric)
		str(7, v.Subject)
		str(8, v.Bucket)
		opt(9, v.Value)
		opt(10, v.Raw)
		opt(11, v.CILow)
		opt(12, v.CIHigh)
		b.Field(13).(*array.BooleanBuilder).Append(v.Suppressed)
		b.Field(14).(*array.BooleanBuilder).Append(v.Withheld)
		str(15, v.Reason)
		str(16, v.Family)
		str(17, v.Noise)
		f64(18, v.Epsilon)
		f64(19, v.Delta)
		b.Field(20).(*array.Int64Builder).Append(v.L0)
		f64(21, v.LInf)
		f64(22, v.NoiseScale)
	}
	return b.NewRecordBatch(), nil
}

// ReleaseBody returns the stored canonical body of a published release, byte for byte.
// Nothing is recomputed: serving fresh noise on the same data would let a reader average
// it away.
func (db *DB) ReleaseBody(ctx context.Context, id string) ([]byte, error) {
	var status string
	var body []byte
	err := db.sql.QueryRowContext(ctx, `SELECT status, body FROM releases WHERE release_id = ?`, id).Scan(&status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.Errorf(model.KindNotFound, "release %q does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: release %s: %w", id, err)
	}
	if status != ReleasePublished {
		return nil, model.Errorf(model.KindNotFound, "release %s was reserved but never published", id)
	}
	return body, nil
}

const releaseInfoColumns = `release_id, cycle_id, model_version, noise, epsilon_units, delta_units, status,
	reserved_at, published_at, coalesce(octet_length(body), 0), coalesce(body_sha256, '')`

func scanReleaseInfo(sc interface{ Scan(...any) error }) (ReleaseInfo, error) {
	var r ReleaseInfo
	var e, d int64
	var published sql.NullTime
	if err := sc.Scan(&r.ID, &r.Cycle, &r.ModelVersion, &r.Noise, &e, &d, &r.Status, &r.ReservedAt, &published, &r.Bytes, &r.SHA256); err != nil {
		return r, err
	}
	r.Epsilon, r.Delta = float64(e)*EpsilonUnit, float64(d)*DeltaUnit
	r.ReservedAt = r.ReservedAt.UTC()
	if published.Valid {
		t := published.Time.UTC()
		r.PublishedAt = &t
	}
	return r, nil
}

// GetRelease describes one release (KindNotFound if there is none).
func (db *DB) GetRelease(ctx context.Context, id string) (ReleaseInfo, error) {
	r, err := scanReleaseInfo(db.sql.QueryRowContext(ctx, `SELECT `+releaseInfoColumns+` FROM releases WHERE release_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, model.Errorf(model.KindNotFound, "release %q does not exist", id)
	}
	if err != nil {
		return r, fmt.Errorf("warehouse: release %s: %w", id, err)
	}
	return r, nil
}

// ListReleases lists the releases of a cycle ("" for every cycle), oldest first.
func (db *DB) ListReleases(ctx context.Context, cycle string) ([]ReleaseInfo, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+releaseInfoColumns+` FROM releases
		WHERE ? = '' OR cycle_id = ? ORDER BY cycle_id, seq`, cycle, cycle)
	if err != nil {
		return nil, fmt.Errorf("warehouse: list releases: %w", err)
	}
	defer rows.Close()
	out := []ReleaseInfo{}
	for rows.Next() {
		r, err := scanReleaseInfo(rows)
		if err != nil {
			return nil, fmt.Errorf("warehouse: list releases: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Ledger lists the budget entries of one release.
func (db *DB) Ledger(ctx context.Context, releaseID string) ([]LedgerEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT partitioning, family, epsilon_units, delta_units, l0, cohorts
		FROM budget_ledger WHERE release_id = ? ORDER BY rowid`, releaseID)
	if err != nil {
		return nil, fmt.Errorf("warehouse: ledger of %s: %w", releaseID, err)
	}
	defer rows.Close()
	out := []LedgerEntry{}
	for rows.Next() {
		var e LedgerEntry
		if err := rows.Scan(&e.Partitioning, &e.Family, &e.EpsilonUnits, &e.DeltaUnits, &e.L0, &e.Cohorts); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
