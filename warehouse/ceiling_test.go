package warehouse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The ceilings load what they are given, with the types the header implies, into a
// fresh file only.
func TestCeilingLoads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "it's long.csv") // a quote in the path must not break the SQL
	data := "org_id,cycle,model_version,capability,answer,beds,submitted_at\n" +
		"ORG-1,2026,1.0,IDN-01,2,57,2026-03-14T09:26:53Z\n" +
		"ORG-1,2026,1.0,IDN-02,unknown,57,2026-03-14T09:26:53Z\n" +
		"ORG-2,2026,1.0,IDN-01,na,300,2026-04-01T10:00:00Z\n"
	if err := os.WriteFile(csvPath, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	copyDB := filepath.Join(dir, "copy.duckdb")
	if err := CeilingPrepare(ctx, copyDB, csvPath); err != nil {
		t.Fatal(err)
	}
	if err := CeilingPrepare(ctx, copyDB, csvPath); err == nil || !strings.Contains(err.Error(), "fresh") {
		t.Errorf("prepare into an existing file: %v", err)
	}
	got, err := CeilingCopyCSV(ctx, copyDB, csvPath)
	if err != nil || got.Rows != 3 {
		t.Fatalf("copy: %+v, %v", got, err)
	}

	pq := filepath.Join(dir, "long.parquet")
	if err := CeilingWriteParquet(ctx, csvPath, pq); err != nil {
		t.Fatal(err)
	}
	pqDB := filepath.Join(dir, "parquet.duckdb")
	if err := CeilingPrepare(ctx, pqDB, csvPath); err != nil {
		t.Fatal(err)
	}
	if got, err := CeilingInsertParquet(ctx, pqDB, pq); err != nil || got.Rows != 3 {
		t.Fatalf("parquet: %+v, %v", got, err)
	}
	if _, err := CeilingCopyCSV(ctx, filepath.Join(dir, "missing.duckdb"), csvPath); err == nil {
		t.Error("a load without prepare succeeded")
	}
	if v, err := DuckDBVersion(ctx); err != nil || !strings.HasPrefix(v, "v") {
		t.Errorf("DuckDB version %q, %v", v, err)
	}
}
