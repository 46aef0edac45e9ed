package warehouse

// This file exists for benchmarks only (cmd/hcztmm-bench): it runs DuckDB's own bulk
// loads, the ceilings our ingest path is compared with in the same run. Nothing in the
// product calls it. It lives here because this is the only package that speaks SQL.

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/hcztmm/warehouse/model"
)

// CeilingTable is the table the ceiling loads fill: one column per column of the CSV
// file being loaded.
const CeilingTable = "answers"

// CeilingLoad is what one ceiling load measured inside its process.
type CeilingLoad struct {
	// Rows loaded, as DuckDB reports them.
	Rows int64 `json:"rows"`
	// Load is the COPY or INSERT ... SELECT statement, committed.
	Load time.Duration `json:"load_ns"`
	// Checkpoint is the CHECKPOINT after it (data moved into the database file).
	Checkpoint time.Duration `json:"checkpoint_ns"`
}

// CeilingPrepare exists for benchmarks. It creates the DuckDB file dbPath (which must not
// exist) holding an empty table CeilingTable with one column per column of the header of
// the CSV file csvPath: the beds column INTEGER, submitted_at TIMESTAMP, every other
// column VARCHAR (answers are text: "unknown" and "na" are answers). Preparing is left out
// of the timed load, as creating the cycle is left out of the timed ingest.
func CeilingPrepare(ctx context.Context, dbPath, csvPath string) error {
	if _, err := os.Stat(dbPath); err == nil {
		return fmt.Errorf("warehouse: ceiling: %s exists; a ceiling loads into a fresh file", dbPath)
	}
	ddl, err := ceilingDDL(csvPath)
	if err != nil {
		return err
	}
	return withCeilingDB(ctx, dbPath, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, ddl)
		return err
	})
}

// CeilingCopyCSV exists for benchmarks. It loads the CSV file csvPath into CeilingTable of
// the DuckDB file dbPath made by CeilingPrepare with DuckDB's own COPY ... FROM (autocommit),
// then CHECKPOINTs: DuckDB's bulk CSV load, the ceiling of any CSV ingest.
func CeilingCopyCSV(ctx context.Context, dbPath, csvPath string) (CeilingLoad, error) {
	return ceilingLoad(ctx, dbPath, `COPY `+CeilingTable+` FROM `+quoteLiteral(csvPath)+` (FORMAT csv, HEADER true)`)
}

// CeilingInsertParquet exists for benchmarks. It loads the Parquet file parquetPath (made
// by CeilingWriteParquet) into CeilingTable of the DuckDB file dbPath made by
// CeilingPrepare with INSERT ... SELECT * FROM read_parquet, then CHECKPOINTs: the fastest
// bulk load DuckDB has, the absolute ceiling.
func CeilingInsertParquet(ctx context.Context, dbPath, parquetPath string) (CeilingLoad, error) {
	return ceilingLoad(ctx, dbPath, `INSERT INTO `+CeilingTable+` SELECT * FROM read_parquet(`+quoteLiteral(parquetPath)+`)`)
}

// CeilingWriteParquet exists for benchmarks. It converts the CSV file csvPath into the
// Parquet file parquetPath with the column types of CeilingPrepare, in an in-memory
// database (the untimed preparation of CeilingInsertParquet).
func CeilingWriteParquet(ctx context.Context, csvPath, parquetPath string) error {
	ddl, err := ceilingDDL(csvPath)
	if err != nil {
		return err
	}
	return withCeilingDB(ctx, ":memory:", func(db *sql.DB) error {
		for _, q := range []string{ddl,
			`COPY ` + CeilingTable + ` FROM ` + quoteLiteral(csvPath) + ` (FORMAT csv, HEADER true)`,
			`COPY ` + CeilingTable + ` TO ` + quoteLiteral(parquetPath) + ` (FORMAT parquet)`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// DuckDBVersion exists for benchmarks: the version of the linked DuckDB library (e.g.
// "v1.4.1"), for the machine line of a benchmark report.
func DuckDBVersion(ctx context.Context) (string, error) {
	var v string
	err := withCeilingDB(ctx, ":memory:", func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT library_version FROM pragma_version()`).Scan(&v)
	})
	return v, err
}

// ceilingLoad runs one loading statement and a CHECKPOINT, timing each.
func ceilingLoad(ctx context.Context, dbPath, load string) (CeilingLoad, error) {
	var out CeilingLoad
	if _, err := os.Stat(dbPath); err != nil {
		return out, fmt.Errorf("warehouse: ceiling: %w (run CeilingPrepare first)", err)
	}
	err := withCeilingDB(ctx, dbPath, func(db *sql.DB) error {
		start := time.Now()
		res, err := db.ExecContext(ctx, load)
		if err != nil {
			return err
		}
		out.Load = time.Since(start)
		if out.Rows, err = res.RowsAffected(); err != nil {
			return err
		}
		start = time.Now()
		if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
			return err
		}
		out.Checkpoint = time.Since(start)
		return nil
	})
	return out, err
}

// withCeilingDB opens a bare DuckDB database (no migrations, no writer), runs f and
// closes it.
func withCeilingDB(ctx context.Context, path string, f func(*sql.DB) error) error {
	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return fmt.Errorf("warehouse: ceiling: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector) // closing it closes the connector
	err = f(db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("warehouse: ceiling %s: %w", path, err)
	}
	return nil
}

// ceilingDDL reads the header of csvPath and returns the CREATE TABLE of CeilingTable.
func ceilingDDL(csvPath string) (string, error) {
	f, err := os.Open(csvPath)
	if err != nil {
		return "", fmt.Errorf("warehouse: ceiling: %w", err)
	}
	defer f.Close()
	header, err := csv.NewReader(f).Read()
	if err != nil {
		return "", fmt.Errorf("warehouse: ceiling: header of %s: %w", csvPath, err)
	}
	if len(header) == 0 || (len(header) == 1 && header[0] == "") {
		return "", errors.New("warehouse: ceiling: empty CSV header")
	}
	cols := make([]string, len(header))
	for i, name := range header {
		typ := "VARCHAR"
		switch name {
		case model.ColBeds:
			typ = "INTEGER"
		case model.ColSubmittedAt:
			typ = "TIMESTAMP"
		}
		cols[i] = quoteIdent(name) + " " + typ
	}
	return `CREATE TABLE ` + CeilingTable + ` (` + strings.Join(cols, ", ") + `)`, nil
}

// quoteLiteral quotes a SQL string literal (a file path may hold a quote).
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// CeilingExactCohortStats computes, exactly and without noise, the statistics a full
// release publishes for a cycle: per cohort of every partitioning (national, size,
// region, size x region, type) the count, posture histogram, mean and quantiles of the
// overall index; per domain the same; per capability the count at each answer level. It
// exists only as the benchmark ceiling of a DP release: the same work as a plain GROUP BY.
// Nothing may serve its result, and it returns only the number of result rows.
func (db *DB) CeilingExactCohortStats(ctx context.Context, cycle string) (int, error) {
	const sets = `GROUPING SETS ((), (size_band), (region), (size_band, region), (org_type))`
	const current = `FROM submissions s WHERE s.cycle_id = $1 AND s.superseded_by IS NULL`
	queries := []string{
		`SELECT size_band, region, org_type, count(*),
			count(*) FILTER (WHERE posture = 0), count(*) FILTER (WHERE posture = 1), count(*) FILTER (WHERE posture = 2),
			count(*) FILTER (WHERE posture = 3), count(*) FILTER (WHERE posture = 4),
			avg(overall_index), quantile_cont(overall_index, [0.1, 0.25, 0.5, 0.75, 0.9])::VARCHAR
		` + current + ` GROUP BY ` + sets,
		`SELECT d.domain_id, size_band, region, org_type, count(*),
			count(*) FILTER (WHERE d.posture = 0), count(*) FILTER (WHERE d.posture = 1), count(*) FILTER (WHERE d.posture = 2),
			count(*) FILTER (WHERE d.posture = 3), count(*) FILTER (WHERE d.posture = 4),
			avg(d.domain_index), quantile_cont(d.domain_index, [0.1, 0.25, 0.5, 0.75, 0.9])::VARCHAR
		FROM submissions s JOIN domain_scores d USING (submission_id)
		WHERE s.cycle_id = $1 AND s.superseded_by IS NULL AND d.assessed
		GROUP BY GROUPING SETS ((d.domain_id), (d.domain_id, size_band), (d.domain_id, region),
			(d.domain_id, size_band, region), (d.domain_id, org_type))`,
		`SELECT a.capability_id, a.answer, size_band, region, org_type, count(*)
		FROM submissions s JOIN answers a USING (submission_id)
		WHERE s.cycle_id = $1 AND s.superseded_by IS NULL
		GROUP BY GROUPING SETS ((a.capability_id, a.answer), (a.capability_id, a.answer, size_band),
			(a.capability_id, a.answer, region), (a.capability_id, a.answer, size_band, region),
			(a.capability_id, a.answer, org_type))`,
	}
	total := 0
	for _, q := range queries {
		rows, err := db.sql.QueryContext(ctx, q, cycle)
		if err != nil {
			return total, fmt.Errorf("warehouse: exact cohort stats: %w", err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return total, fmt.Errorf("warehouse: exact cohort stats: %w", err)
			}
			total++
		}
		if err := rows.Close(); err != nil {
			return total, err
		}
	}
	return total, nil
}
