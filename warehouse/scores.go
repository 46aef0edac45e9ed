package warehouse

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/hcztmm/warehouse/model"
)

// OrgScore is one organisation's latest submission in a cycle, reduced to what peer
// statistics aggregate. It is private data: only the privacy package may see other
// organisations' rows.
type OrgScore struct {
	SubmissionID int64            `json:"submission_id"`
	OrgID        string           `json:"org_id"`
	Keys         model.CohortKeys `json:"cohort_keys"`
	Posture      int              `json:"posture"`
	Index        float64          `json:"index"`
	// Domains is aligned with the Domains of the cycle's model, in model order.
	Domains []DomainResult `json:"domains"`
	// Answers is aligned with CapabilityIDs() of the cycle's model; a capability without a
	// stored answer reads model.Unknown, as scoring treats it.
	Answers []model.Answer `json:"answers"`
}

// DomainResult is one domain's stored score.
type DomainResult struct {
	ID       string  `json:"id"`
	Assessed bool    `json:"assessed"`
	Index    float64 `json:"index"`
	Posture  int     `json:"posture"`
}

// CurrentScores returns, for every organisation with a submission in the cycle, its latest
// one, ordered by organisation ID (KindNotFound for an unknown cycle). The queries run in
// one transaction on one connection, so they see one snapshot, and are read through Arrow,
// which keeps 6,000 organisations x 40 answers a matter of milliseconds.
func (db *DB) CurrentScores(ctx context.Context, cycleID string) ([]OrgScore, error) {
	var out []OrgScore
	err := db.withRawConn(ctx, func(dc driver.Conn) error {
		ar, err := duckdb.NewArrowFromConn(dc)
		if err != nil {
			return err
		}
		if err := rawExec(ctx, dc, `BEGIN TRANSACTION`); err != nil {
			return err
		}
		out, err = currentScores(ctx, ar, db.reg, cycleID)
		if err != nil {
			return errors.Join(err, rawExec(ctx, dc, `ROLLBACK`))
		}
		return rawExec(ctx, dc, `COMMIT`)
	})
	if err != nil {
		return nil, fmt.Errorf("warehouse: current scores of %s: %w", cycleID, err)
	}
	return out, nil
}

func rawExec(ctx context.Context, dc driver.Conn, query string) error {
	_, err := dc.(driver.ExecerContext).ExecContext(ctx, query, nil)
	return err
}

const currentOfCycle = `SELECT submission_id FROM submissions WHERE cycle_id = ? AND superseded_by IS NULL`

func currentScores(ctx context.Context, ar *duckdb.Arrow, reg *model.Registry, cycleID string) ([]OrgScore, error) {
	var version string
	found := false
	err := scanArrow(ctx, ar, func(rec arrow.RecordBatch) error {
		if rec.NumRows() > 0 {
			version, found = strings.Clone(stringAt(rec.Column(0), 0)), true
		}
		return nil
	}, `SELECT model_version FROM cycles WHERE cycle_id = ?`, cycleID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, model.Errorf(model.KindNotFound, "cycle %q does not exist", cycleID)
	}
	m, err := reg.Get(version)
	if err != nil {
		return nil, err
	}
	capIdx := map[string]int{}
	for i, id := range m.CapabilityIDs() {
		capIdx[id] = i
	}
	domIdx := map[string]int{}
	for i, d := range m.Domains {
		domIdx[d.ID] = i
	}

	out := []OrgScore{}
	byID := map[int64]int{}
	keys := interner{}
	err = scanArrow(ctx, ar, func(rec arrow.RecordBatch) error {
		ids := rec.Column(0).(*array.Int64)
		posture, index := rec.Column(5).(*array.Int8), rec.Column(6).(*array.Float64)
		for i := 0; i < int(rec.NumRows()); i++ {
			s := OrgScore{SubmissionID: ids.Value(i), OrgID: strings.Clone(stringAt(rec.Column(1), i)),
				Keys: model.CohortKeys{SizeBand: keys.get(stringAt(rec.Column(2), i)),
					Region: keys.get(stringAt(rec.Column(3), i)), OrgType: keys.get(stringAt(rec.Column(4), i))},
				Posture: int(posture.Value(i)), Index: index.Value(i),
				Domains: make([]DomainResult, len(m.Domains)), Answers: make([]model.Answer, len(capIdx))}
			for k := range s.Answers {
				s.Answers[k] = model.Unknown
			}
			for k, d := range m.Domains {
				s.Domains[k].ID = d.ID
			}
			byID[s.SubmissionID] = len(out)
			out = append(out, s)
		}
		return nil
	}, `SELECT submission_id, org_id, size_band, region, org_type, posture, overall_index
		FROM submissions WHERE cycle_id = ? AND superseded_by IS NULL ORDER BY org_id`, cycleID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}

	err = scanArrow(ctx, ar, func(rec arrow.RecordBatch) error {
		ids, vals := rec.Column(0).(*array.Int64), rec.Column(2).(*array.Int8)
		for i := 0; i < int(rec.NumRows()); i++ {
			o, ok := byID[ids.Value(i)]
			c, known := capIdx[stringAt(rec.Column(1), i)]
			if ok && known {
				out[o].Answers[c] = model.Answer(vals.Value(i))
			}
		}
		return nil
	}, `SELECT submission_id, capability_id, answer FROM answers WHERE submission_id IN (`+currentOfCycle+`)`, cycleID)
	if err != nil {
		return nil, err
	}

	err = scanArrow(ctx, ar, func(rec arrow.RecordBatch) error {
		ids, assessed := rec.Column(0).(*array.Int64), rec.Column(2).(*array.Boolean)
		index, posture := rec.Column(3).(*array.Float64), rec.Column(4).(*array.Int8)
		for i := 0; i < int(rec.NumRows()); i++ {
			o, ok := byID[ids.Value(i)]
			d, known := domIdx[stringAt(rec.Column(1), i)]
			if ok && known {
				out[o].Domains[d] = DomainResult{ID: m.Domains[d].ID, Assessed: assessed.Value(i),
					Index: index.Value(i), Posture: int(posture.Value(i))}
			}
		}
		return nil
	}, `SELECT submission_id, domain_id, assessed, domain_index, posture FROM domain_scores
		WHERE submission_id IN (`+currentOfCycle+`)`, cycleID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanArrow runs a query through Arrow and hands each record batch to f.
func scanArrow(ctx context.Context, ar *duckdb.Arrow, f func(arrow.RecordBatch) error, query string, args ...any) error {
	rr, err := ar.QueryContext(ctx, query, bindable(args)...)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := f(rr.RecordBatch()); err != nil {
			return err
		}
	}
	return rr.Err()
}

// stringAt reads a string from whichever string layout DuckDB chose to export. The
// result aliases the batch's memory, which DuckDB frees with the batch: copy what is kept.
func stringAt(col arrow.Array, i int) string {
	switch c := col.(type) {
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.StringView:
		return c.Value(i)
	}
	panic(fmt.Sprintf("warehouse: unexpected Arrow string type %s", col.DataType()))
}

// interner copies strings out of Arrow batches once per distinct value: cohort keys repeat
// thousands of times.
type interner map[string]string

func (in interner) get(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}
