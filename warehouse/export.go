package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/model"
)

// ExportFormat is the file format of an analyst export of a release.
type ExportFormat string

// Export formats.
const (
	ExportCSV     ExportFormat = "csv"     // CSV with a header row; metadata in a sidecar or the release itself
	ExportParquet ExportFormat = "parquet" // Parquet (zstd); metadata in the file's key/value metadata
	ExportArrow   ExportFormat = "arrow"   // Arrow IPC stream; metadata on the schema
	ExportXLSX    ExportFormat = "xlsx"    // Excel workbook: a "values" sheet and a "metadata" sheet
)

// ExportFormats lists the formats in documentation order.
var ExportFormats = []ExportFormat{ExportCSV, ExportParquet, ExportArrow, ExportXLSX}

// ParseExportFormat checks a format name (KindInvalid for an unknown one).
func ParseExportFormat(s string) (ExportFormat, error) {
	for _, f := range ExportFormats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", &model.Error{Kind: model.KindInvalid, Message: fmt.Sprintf("unknown export format %q (want csv, parquet, arrow or xlsx)", s),
		Details: []model.FieldError{{Field: "format", Rule: "enum", Value: s, Message: "format must be csv, parquet, arrow or xlsx"}}}
}

// ContentType is the media type of the format.
func (f ExportFormat) ContentType() string {
	switch f {
	case ExportCSV:
		return "text/csv; charset=utf-8"
	case ExportParquet:
		return "application/vnd.apache.parquet"
	case ExportArrow:
		return "application/vnd.apache.arrow.stream"
	case ExportXLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/octet-stream"
}

// Ext is the usual file extension of the format, without the dot.
func (f ExportFormat) Ext() string {
	if f == ExportArrow {
		return "arrows"
	}
	return string(f)
}

// ExportColumns are the columns of every export, in order: the stored release values in
// tidy long form (see privacy.Row). There is no row-level data and no exact count: count
// metrics hold noisy values, and suppressed cohorts or withheld estimates have no value.
var ExportColumns = []string{
	"release_id", "partitioning", "size_band", "region", "org_type", "metric", "subject", "bucket",
	"value", "raw", "ci_low", "ci_high", "suppressed", "withheld", "reason",
	"family", "noise", "epsilon", "delta", "l0", "linf", "noise_scale",
}

// ExportMeta describes an exported release: what every export carries as metadata
// (Parquet key/value metadata, Arrow schema metadata, the XLSX "metadata" sheet, the CSV
// JSON sidecar). Everything comes from the stored release, nothing is recomputed.
type ExportMeta struct {
	ReleaseID    string `json:"release_id"`
	Cycle        string `json:"cycle"`
	ModelVersion string `json:"model_version"`
	// Noise is the release's noise kind (laplace or gaussian).
	Noise string `json:"noise"`
	// EpsilonSpent and DeltaSpent are what the release charged to its cycle's budget.
	EpsilonSpent float64 `json:"epsilon_spent"`
	DeltaSpent   float64 `json:"delta_spent"`
	// PublicationThreshold is the number of peers below which a cohort is suppressed;
	// SuppressionRisk the probability bound of publishing a smaller one.
	PublicationThreshold int     `json:"publication_threshold"`
	SuppressionRisk      float64 `json:"suppression_risk"`
	// Confidence is the coverage of the ci_low..ci_high intervals.
	Confidence  float64   `json:"confidence"`
	CreatedAt   time.Time `json:"created_at"`
	PublishedAt time.Time `json:"published_at"`
	// Library is the DP library that produced every noised value.
	Library string `json:"library"`
	// BodySHA256 is the digest of the stored canonical release the values derive from.
	BodySHA256 string `json:"body_sha256"`
	// Rows is the number of value rows exported.
	Rows int `json:"rows"`
	// Columns are the exported columns (ExportColumns).
	Columns []string `json:"columns"`
}

// Pairs returns the metadata as ordered key/value strings, the form embedded in Parquet,
// Arrow and XLSX.
func (m ExportMeta) Pairs() [][2]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return [][2]string{
		{"release_id", m.ReleaseID},
		{"cycle", m.Cycle},
		{"model_version", m.ModelVersion},
		{"noise", m.Noise},
		{"epsilon_spent", f(m.EpsilonSpent)},
		{"delta_spent", f(m.DeltaSpent)},
		{"publication_threshold", strconv.Itoa(m.PublicationThreshold)},
		{"suppression_risk", f(m.SuppressionRisk)},
		{"confidence", f(m.Confidence)},
		{"created_at", m.CreatedAt.UTC().Format(time.RFC3339Nano)},
		{"published_at", m.PublishedAt.UTC().Format(time.RFC3339Nano)},
		{"library", m.Library},
		{"body_sha256", m.BodySHA256},
		{"rows", strconv.Itoa(m.Rows)},
	}
}

// ExportMetadata describes a published release for export. An unknown or only reserved
// release is KindNotFound.
func (db *DB) ExportMetadata(ctx context.Context, id string) (ExportMeta, error) {
	info, err := db.GetRelease(ctx, id)
	if err != nil {
		return ExportMeta{}, err
	}
	if info.Status != ReleasePublished || info.PublishedAt == nil {
		return ExportMeta{}, model.Errorf(model.KindNotFound, "release %s was reserved but never published", id)
	}
	body, err := db.ReleaseBody(ctx, id)
	if err != nil {
		return ExportMeta{}, err
	}
	// warehouse cannot import privacy (privacy stores through it): read just the fields
	// the metadata needs from the canonical body.
	var b struct {
		CreatedAt time.Time `json:"created_at"`
		Library   string    `json:"library"`
		Request   struct {
			PublicationThreshold int     `json:"publication_threshold"`
			SuppressionRisk      float64 `json:"suppression_risk"`
			Confidence           float64 `json:"confidence"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return ExportMeta{}, fmt.Errorf("warehouse: export %s: stored body: %w", id, err)
	}
	m := ExportMeta{
		ReleaseID: info.ID, Cycle: info.Cycle, ModelVersion: info.ModelVersion, Noise: info.Noise,
		EpsilonSpent: info.Epsilon, DeltaSpent: info.Delta,
		PublicationThreshold: b.Request.PublicationThreshold, SuppressionRisk: b.Request.SuppressionRisk,
		Confidence: b.Request.Confidence, CreatedAt: b.CreatedAt.UTC(), PublishedAt: info.PublishedAt.UTC(),
		Library: b.Library, BodySHA256: info.SHA256, Columns: ExportColumns,
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM release_values WHERE release_id = ?`, id).Scan(&m.Rows); err != nil {
		return ExportMeta{}, fmt.Errorf("warehouse: export %s: %w", id, err)
	}
	return m, nil
}

// ExportRelease writes a published release's stored values to w in the given format,
// ordered as stored (the release's canonical order), and returns the metadata it
// embedded. Only release_values rows of this release appear. Unknown or only reserved
// releases are KindNotFound; nothing is written then.
//
// CSV and Parquet are written by DuckDB (COPY ... TO) into a private temporary directory
// and copied to w; Arrow IPC streams DuckDB's Arrow result; XLSX is built with excelize.
func (db *DB) ExportRelease(ctx context.Context, id string, format ExportFormat, w io.Writer) (ExportMeta, error) {
	if _, err := ParseExportFormat(string(format)); err != nil {
		return ExportMeta{}, err
	}
	m, err := db.ExportMetadata(ctx, id)
	if err != nil {
		return ExportMeta{}, err
	}
	switch format {
	case ExportCSV, ExportParquet:
		err = db.exportCopy(ctx, m, format, w)
	case ExportArrow:
		err = db.exportArrow(ctx, m, w)
	case ExportXLSX:
		err = db.exportXLSX(ctx, m, w)
	}
	if err != nil {
		return ExportMeta{}, fmt.Errorf("warehouse: export %s as %s: %w", id, format, err)
	}
	return m, nil
}

// sqlString quotes s as a SQL string literal. COPY takes no parameters, so the release ID,
// the path and the metadata are literals; quoting doubles every quote.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func exportSelect(idExpr string) string {
	return `SELECT ` + strings.Join(ExportColumns, ", ") + ` FROM release_values WHERE release_id = ` + idExpr + ` ORDER BY ordinal`
}

func (db *DB) exportCopy(ctx context.Context, m ExportMeta, format ExportFormat, w io.Writer) error {
	dir, err := os.MkdirTemp("", "hcztmm-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "export."+format.Ext())
	var opts string
	switch format {
	case ExportCSV:
		opts = "FORMAT csv, HEADER true"
	case ExportParquet:
		kv := make([]string, 0, 16)
		for _, p := range m.Pairs() {
			kv = append(kv, sqlString(p[0])+": "+sqlString(p[1]))
		}
		opts = "FORMAT parquet, COMPRESSION zstd, KV_METADATA {" + strings.Join(kv, ", ") + "}"
	}
	q := `COPY (` + exportSelect(sqlString(m.ReleaseID)) + `) TO ` + sqlString(path) + ` (` + opts + `)`
	if _, err := db.sql.ExecContext(ctx, q); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func (db *DB) exportArrow(ctx context.Context, m ExportMeta, w io.Writer) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	keys, vals := make([]string, 0, 16), make([]string, 0, 16)
	for _, p := range m.Pairs() {
		keys, vals = append(keys, p[0]), append(vals, p[1])
	}
	md := arrow.NewMetadata(keys, vals)
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err := a.QueryContext(ctx, exportSelect("?"), m.ReleaseID)
		if err != nil {
			return err
		}
		defer rr.Release()
		schema := arrow.NewSchema(rr.Schema().Fields(), &md)
		iw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(db.opts.Allocator))
		for rr.Next() {
			rec := rr.RecordBatch()
			out := array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
			err := iw.Write(out)
			out.Release()
			if err != nil {
				iw.Close()
				return err
			}
		}
		if err := rr.Err(); err != nil {
			iw.Close()
			return err
		}
		return iw.Close()
	})
}

func (db *DB) exportXLSX(ctx context.Context, m ExportMeta, w io.Writer) (err error) {
	f := excelize.NewFile()
	defer func() { err = errors.Join(err, f.Close()) }()
	if err := f.SetSheetName("Sheet1", "values"); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter("values")
	if err != nil {
		return err
	}
	header := make([]any, len(ExportColumns))
	for i, c := range ExportColumns {
		header[i] = c
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	rows, err := db.sql.QueryContext(ctx, exportSelect("?"), m.ReleaseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 1
	for rows.Next() {
		var v ReleaseValue
		var rid string
		var val, raw, lo, hi sql.NullFloat64
		if err := rows.Scan(&rid, &v.Partitioning, &v.SizeBand, &v.Region, &v.OrgType, &v.Metric, &v.Subject, &v.Bucket,
			&val, &raw, &lo, &hi, &v.Suppressed, &v.Withheld, &v.Reason, &v.Family, &v.Noise,
			&v.Epsilon, &v.Delta, &v.L0, &v.LInf, &v.NoiseScale); err != nil {
			return err
		}
		opt := func(x sql.NullFloat64) any {
			if x.Valid {
				return x.Float64
			}
			return nil
		}
		n++
		cell, _ := excelize.CoordinatesToCellName(1, n)
		if err := sw.SetRow(cell, []any{rid, v.Partitioning, v.SizeBand, v.Region, v.OrgType, v.Metric, v.Subject, v.Bucket,
			opt(val), opt(raw), opt(lo), opt(hi), v.Suppressed, v.Withheld, v.Reason, v.Family, v.Noise,
			v.Epsilon, v.Delta, v.L0, v.LInf, v.NoiseScale}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if _, err := f.NewSheet("metadata"); err != nil {
		return err
	}
	if err := f.SetSheetRow("metadata", "A1", &[]any{"key", "value"}); err != nil {
		return err
	}
	for i, p := range m.Pairs() {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow("metadata", cell, &[]any{p[0], p[1]}); err != nil {
			return err
		}
	}
	_, err = f.WriteTo(w)
	return err
}
