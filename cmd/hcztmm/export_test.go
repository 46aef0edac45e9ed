package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/warehouse"
)

func TestExportCommand(t *testing.T) {
	db := releasedDB(t, 500, 33, "2")
	dir := t.TempDir()

	// CSV with its JSON metadata sidecar.
	out := filepath.Join(dir, "r.csv")
	code, stdout, stderr := run(t, "export", "--db", db, "--release", "2024-r001", "--format", "csv", "--out", out)
	if code != exitOK || !strings.Contains(stdout, "exported release 2024-r001") {
		t.Fatalf("export csv: %d %s %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(out + ".meta.json")
	if err != nil {
		t.Fatal(err)
	}
	var meta warehouse.ExportMeta
	if err := json.Unmarshal(mb, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.ReleaseID != "2024-r001" || meta.Cycle != "2024" || meta.EpsilonSpent != 2 || meta.Rows != len(recs)-1 || meta.Rows == 0 {
		t.Fatalf("sidecar %+v, %d csv rows", meta, len(recs)-1)
	}

	// Arrow and XLSX read back with the same number of rows; overwriting is atomic.
	arrowOut := filepath.Join(dir, "r.arrows")
	for range 2 {
		if code, _, stderr := run(t, "export", "--db", db, "--release", "2024-r001", "--format", "arrow", "--out", arrowOut); code != exitOK {
			t.Fatalf("export arrow: %s", stderr)
		}
	}
	f, err := os.Open(arrowOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ipc.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rd.Next() {
		n += int(rd.RecordBatch().NumRows())
	}
	rd.Release()
	if n != meta.Rows {
		t.Fatalf("arrow %d rows, want %d", n, meta.Rows)
	}
	xlsxOut := filepath.Join(dir, "r.xlsx")
	if code, _, stderr := run(t, "export", "--db", db, "--release", "2024-r001", "--format", "xlsx", "--out", xlsxOut); code != exitOK {
		t.Fatalf("export xlsx: %s", stderr)
	}
	x, err := excelize.OpenFile(xlsxOut)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("values")
	x.Close()
	if len(rows) != meta.Rows+1 {
		t.Fatalf("xlsx %d rows, want %d", len(rows)-1, meta.Rows)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}

	// Refusals: unknown release (1), bad flags (2), directories as --out (2).
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown release", []string{"--release", "2024-r009", "--out", filepath.Join(dir, "u.csv")}, exitFailure, `"2024-r009" does not exist`},
		{"traversal id", []string{"--release", "../../etc/passwd", "--out", filepath.Join(dir, "t.csv")}, exitFailure, "does not exist"},
		{"bad format", []string{"--release", "2024-r001", "--format", "pdf", "--out", filepath.Join(dir, "p.pdf")}, exitUsage, `unknown --format "pdf"`},
		{"no out", []string{"--release", "2024-r001"}, exitUsage, "--out is required"},
		{"out is a directory", []string{"--release", "2024-r001", "--out", sub}, exitUsage, "is a directory"},
		{"out ends in a slash", []string{"--release", "2024-r001", "--out", sub + "/"}, exitUsage, "names a directory"},
		{"out is dot-dot", []string{"--release", "2024-r001", "--out", sub + "/.."}, exitUsage, "names a directory"},
		{"out in a missing directory", []string{"--release", "2024-r001", "--out", filepath.Join(dir, "nope", "x.csv")}, exitUsage, "does not exist"},
		{"missing warehouse", []string{"--db", filepath.Join(dir, "none.duckdb"), "--release", "2024-r001", "--out", filepath.Join(dir, "m.csv")}, exitFailure, "no warehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"export", "--db", db}, tt.args...)
			code, _, stderr := run(t, args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
	if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
		t.Fatal("the directory was replaced")
	}
	for _, p := range []string{"u.csv", "t.csv", "m.csv", "none.duckdb"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s was written by a failed export", p)
		}
	}
}
