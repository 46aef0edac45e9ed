package warehouse_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" driver for reading exports back
	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// exportWorld is a warehouse with one published release, and one reserved only.
type exportWorld struct {
	db       *warehouse.DB
	id       string
	reserved string
	rows     []privacy.Row
	rel      *privacy.Release
}

func newExportWorld(t *testing.T, orgs int) *exportWorld {
	t.Helper()
	ctx := context.Background()
	reg := model.MustBuiltin()
	m := reg.Latest()
	db, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "wh.duckdb"), reg, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: orgs, Cycles: 1, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	cycle := pop.Cycles[0]
	if err := db.CreateCycle(ctx, warehouse.Cycle{ID: cycle, ModelVersion: m.Version, Epsilon: 5, Delta: 1e-6}); err != nil {
		t.Fatal(err)
	}
	subs, err := warehouse.ScoreAll(m, pop.Submissions, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, subs, true); err != nil {
		t.Fatal(err)
	}
	pub, err := privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: 2})
	if err != nil {
		t.Fatal(err)
	}
	body, err := db.ReleaseBody(ctx, pub.Release.ID)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := privacy.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	reserved, _, err := db.ReserveRelease(ctx, warehouse.ReleaseReservation{Cycle: cycle, ModelVersion: m.Version, Noise: "laplace",
		Request: []byte("{}"), Entries: []warehouse.LedgerEntry{{Partitioning: "national", Family: "count", EpsilonUnits: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	return &exportWorld{db: db, id: pub.Release.ID, reserved: reserved, rows: rel.Values(), rel: rel}
}

func (w *exportWorld) export(t *testing.T, f warehouse.ExportFormat) ([]byte, warehouse.ExportMeta) {
	t.Helper()
	var buf bytes.Buffer
	meta, err := w.db.ExportRelease(context.Background(), w.id, f, &buf)
	if err != nil {
		t.Fatalf("export %s: %v", f, err)
	}
	return buf.Bytes(), meta
}

// duckQuery reads an exported file back with a fresh in-memory DuckDB.
func duckQuery(t *testing.T, q string, dest ...any) {
	t.Helper()
	d, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.QueryRow(q).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func optStr(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'g', -1, 64)
}

func near(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestExportFormatsReadBack(t *testing.T) {
	w := newExportWorld(t, 600)
	ctx := context.Background()
	n := len(w.rows)
	if n == 0 {
		t.Fatal("release has no values")
	}
	wantMeta, err := w.db.ExportMetadata(ctx, w.id)
	if err != nil {
		t.Fatal(err)
	}
	if wantMeta.Rows != n || wantMeta.Cycle != w.rel.Cycle || wantMeta.ModelVersion != w.rel.ModelVersion ||
		wantMeta.Library != w.rel.Library || !wantMeta.CreatedAt.Equal(w.rel.CreatedAt) ||
		wantMeta.PublicationThreshold != w.rel.Request.PublicationThreshold || wantMeta.EpsilonSpent != w.rel.Cost.Epsilon {
		t.Fatalf("metadata %+v does not match the release", wantMeta)
	}
	pairs := map[string]string{}
	for _, p := range wantMeta.Pairs() {
		pairs[p[0]] = p[1]
	}

	t.Run("csv", func(t *testing.T) {
		b, _ := w.export(t, warehouse.ExportCSV)
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != n+1 || fmt.Sprint(recs[0]) != fmt.Sprint(warehouse.ExportColumns) {
			t.Fatalf("%d records, header %v", len(recs), recs[0])
		}
		for i, r := range w.rows {
			got := recs[i+1]
			if got[0] != w.id || got[1] != string(r.Partitioning) || got[2] != r.SizeBand || got[5] != r.Metric ||
				got[6] != r.Subject || got[7] != r.Bucket || got[12] != strconv.FormatBool(r.Suppressed) || got[14] != r.Reason {
				t.Fatalf("row %d: %v, want %+v", i, got, r)
			}
			for j, x := range []*float64{r.Value, r.Raw, r.CILow, r.CIHigh} {
				if (x == nil) != (got[8+j] == "") {
					t.Fatalf("row %d col %d: %q, want %s", i, 8+j, got[8+j], optStr(x))
				}
				if x != nil {
					v, err := strconv.ParseFloat(got[8+j], 64)
					if err != nil || !near(v, *x) {
						t.Fatalf("row %d col %d: %q, want %v", i, 8+j, got[8+j], *x)
					}
				}
			}
		}
		// DuckDB reads it as it is.
		p := writeTemp(t, "x.csv", b)
		var cnt, supp int
		duckQuery(t, fmt.Sprintf(`SELECT count(*), count(*) FILTER (suppressed) FROM read_csv('%s')`, p), &cnt, &supp)
		wantSupp := 0
		for _, r := range w.rows {
			if r.Suppressed {
				wantSupp++
			}
		}
		if cnt != n || supp != wantSupp {
			t.Fatalf("duckdb read %d rows (%d suppressed), want %d (%d)", cnt, supp, n, wantSupp)
		}
	})

	t.Run("parquet", func(t *testing.T) {
		b, _ := w.export(t, warehouse.ExportParquet)
		p := writeTemp(t, "x.parquet", b)
		var cnt int
		var sum float64
		duckQuery(t, fmt.Sprintf(`SELECT count(*), coalesce(sum(value), 0) FROM read_parquet('%s')`, p), &cnt, &sum)
		var want float64
		for _, r := range w.rows {
			if r.Value != nil {
				want += *r.Value
			}
		}
		if cnt != n || math.Abs(sum-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("parquet: %d rows sum %v, want %d sum %v", cnt, sum, n, want)
		}
		// Values in order, spot checked.
		for _, i := range []int{0, n / 2, n - 1} {
			r := w.rows[i]
			var metric, bucket string
			var v sql.NullFloat64
			duckQuery(t, fmt.Sprintf(`SELECT metric, bucket, value FROM read_parquet('%s') LIMIT 1 OFFSET %d`, p, i), &metric, &bucket, &v)
			if metric != r.Metric || bucket != r.Bucket || v.Valid != (r.Value != nil) || (v.Valid && !near(v.Float64, *r.Value)) {
				t.Fatalf("parquet row %d: %s %s %v, want %+v", i, metric, bucket, v, r)
			}
		}
		for _, k := range []string{"release_id", "model_version", "epsilon_spent", "created_at", "library", "publication_threshold"} {
			var got string
			duckQuery(t, fmt.Sprintf(`SELECT value::VARCHAR FROM parquet_kv_metadata('%s') WHERE key::VARCHAR = '%s'`, p, k), &got)
			if got != pairs[k] {
				t.Fatalf("parquet metadata %s = %q, want %q", k, got, pairs[k])
			}
		}
	})

	t.Run("arrow", func(t *testing.T) {
		b, _ := w.export(t, warehouse.ExportArrow)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rd, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Release()
		md := rd.Schema().Metadata()
		for k, v := range pairs {
			if got, ok := md.GetValue(k); !ok || got != v {
				t.Fatalf("arrow metadata %s = %q, want %q", k, got, v)
			}
		}
		if names := fieldNames(rd.Schema()); fmt.Sprint(names) != fmt.Sprint(warehouse.ExportColumns) {
			t.Fatalf("arrow columns %v", names)
		}
		// Plain utf8 strings (not string views), which every Arrow reader knows.
		if ty := rd.Schema().Field(5).Type; !arrow.TypeEqual(ty, arrow.BinaryTypes.String) {
			t.Fatalf("arrow metric column is %s, want utf8", ty)
		}
		i := 0
		for rd.Next() {
			rec := rd.RecordBatch()
			metric := rec.Column(5)
			value := rec.Column(8).(*array.Float64)
			for j := 0; j < int(rec.NumRows()); j, i = j+1, i+1 {
				r := w.rows[i]
				if got := metric.ValueStr(j); got != r.Metric {
					t.Fatalf("arrow row %d metric %q, want %q", i, got, r.Metric)
				}
				if value.IsNull(j) != (r.Value == nil) || (r.Value != nil && !near(value.Value(j), *r.Value)) {
					t.Fatalf("arrow row %d value %v, want %s", i, value.ValueStr(j), optStr(r.Value))
				}
			}
		}
		if rd.Err() != nil || i != n {
			t.Fatalf("arrow: %d rows (%v), want %d", i, rd.Err(), n)
		}
	})

	t.Run("xlsx", func(t *testing.T) {
		b, _ := w.export(t, warehouse.ExportXLSX)
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows("values")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n+1 || fmt.Sprint(rows[0]) != fmt.Sprint(warehouse.ExportColumns) {
			t.Fatalf("xlsx: %d rows, header %v", len(rows), rows[0])
		}
		for _, i := range []int{0, n / 3, n - 1} {
			r, got := w.rows[i], rows[i+1]
			if got[5] != r.Metric || got[1] != string(r.Partitioning) {
				t.Fatalf("xlsx row %d: %v, want %+v", i, got, r)
			}
			if r.Value != nil {
				v, err := strconv.ParseFloat(got[8], 64)
				if err != nil || math.Abs(v-*r.Value) > 1e-9*math.Max(1, math.Abs(*r.Value)) {
					t.Fatalf("xlsx row %d value %q, want %v", i, got[8], *r.Value)
				}
			} else if len(got) > 8 && got[8] != "" {
				t.Fatalf("xlsx row %d value %q, want empty", i, got[8])
			}
		}
		meta, err := f.GetRows("metadata")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range meta[1:] {
			got[r[0]] = r[1]
		}
		for k, v := range pairs {
			if got[k] != v {
				t.Fatalf("xlsx metadata %s = %q, want %q", k, got[k], v)
			}
		}
	})

	t.Run("csv metadata json", func(t *testing.T) {
		b, err := json.Marshal(wantMeta)
		if err != nil {
			t.Fatal(err)
		}
		var back warehouse.ExportMeta
		if err := json.Unmarshal(b, &back); err != nil || back.ReleaseID != w.id || back.Rows != n || !back.CreatedAt.Equal(wantMeta.CreatedAt) {
			t.Fatalf("metadata round trip: %+v (%v)", back, err)
		}
	})
}

func fieldNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}

// TestExportOnlyThisRelease: a second release of the same cycle does not leak into the
// first one's export, reserved-only and unknown releases are not found, and a bad format
// is invalid.
func TestExportOnlyThisRelease(t *testing.T) {
	w := newExportWorld(t, 400)
	ctx := context.Background()
	reg := model.MustBuiltin()
	if _, err := privacy.Publish(ctx, w.db, reg, privacy.Request{Cycle: w.rel.Cycle, Epsilon: 1}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.db.ExportRelease(ctx, w.id, warehouse.ExportCSV, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(w.rows)+1 {
		t.Fatalf("%d rows, want %d", len(recs)-1, len(w.rows))
	}
	for _, r := range recs[1:] {
		if r[0] != w.id {
			t.Fatalf("row of release %s in the export of %s", r[0], w.id)
		}
	}
	for _, id := range []string{w.reserved, "nope", "x' OR '1'='1"} {
		for _, f := range warehouse.ExportFormats {
			buf.Reset()
			_, err := w.db.ExportRelease(ctx, id, f, &buf)
			if model.ErrorKind(err) != model.KindNotFound || buf.Len() != 0 {
				t.Fatalf("export %q as %s: %v, %d bytes", id, f, err, buf.Len())
			}
		}
	}
	if _, err := w.db.ExportRelease(ctx, w.id, "pdf", &buf); model.ErrorKind(err) != model.KindInvalid {
		t.Fatalf("pdf: %v", err)
	}
}
