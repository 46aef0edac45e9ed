package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/privacy"
)

func init() {
	// The binary export formats are checked as opaque files by kin-openapi.
	for _, ct := range []string{"application/vnd.apache.parquet", "application/vnd.apache.arrow.stream",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

func TestExportRelease(t *testing.T) {
	w := getWorld(t)
	body, err := w.db.ReleaseBody(context.Background(), w.release)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := privacy.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	want := rel.Values()
	path := "/api/v1/releases/" + w.release + "/export"

	get := func(t *testing.T, format string) resp {
		t.Helper()
		q := ""
		if format != "" {
			q = "?format=" + format
		}
		r := w.do(t, w.base, req{method: "GET", path: path + q, principal: pAnalyst})
		if r.status != 200 {
			t.Fatalf("%s: %s", format, r)
		}
		return r
	}
	checkHeaders := func(t *testing.T, r resp, ctype, ext string) {
		t.Helper()
		if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, ctype) {
			t.Errorf("Content-Type %q, want %q", got, ctype)
		}
		if got := r.header.Get("Content-Disposition"); got != `attachment; filename="hcztmm-release-`+w.release+`.`+ext+`"` {
			t.Errorf("Content-Disposition %q", got)
		}
		if r.header.Get("X-Release-SHA256") == "" || !strings.Contains(r.header.Get("Link"), "/api/v1/releases/"+w.release+">") {
			t.Errorf("headers %v", r.header)
		}
	}

	t.Run("csv is the default", func(t *testing.T) {
		r := get(t, "")
		checkHeaders(t, r, "text/csv", "csv")
		recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(want)+1 {
			t.Fatalf("%d rows, want %d", len(recs)-1, len(want))
		}
		for i, row := range want {
			if recs[i+1][0] != w.release || recs[i+1][5] != row.Metric || recs[i+1][7] != row.Bucket {
				t.Fatalf("row %d: %v, want %+v", i, recs[i+1], row)
			}
		}
	})
	t.Run("arrow", func(t *testing.T) {
		r := get(t, "arrow")
		checkHeaders(t, r, "application/vnd.apache.arrow.stream", "arrows")
		rd, err := ipc.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Release()
		if id, _ := rd.Schema().Metadata().GetValue("release_id"); id != w.release {
			t.Errorf("arrow metadata release_id %q", id)
		}
		n := 0
		for rd.Next() {
			n += int(rd.RecordBatch().NumRows())
		}
		if n != len(want) {
			t.Fatalf("arrow %d rows, want %d", n, len(want))
		}
	})
	t.Run("xlsx", func(t *testing.T) {
		r := get(t, "xlsx")
		checkHeaders(t, r, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
		f, err := excelize.OpenReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, _ := f.GetRows("values")
		if len(rows) != len(want)+1 {
			t.Fatalf("xlsx %d rows, want %d", len(rows)-1, len(want))
		}
	})
	t.Run("parquet", func(t *testing.T) {
		r := get(t, "parquet")
		checkHeaders(t, r, "application/vnd.apache.parquet", "parquet")
		if len(r.body) < 8 || string(r.body[:4]) != "PAR1" || string(r.body[len(r.body)-4:]) != "PAR1" {
			t.Fatalf("not a parquet file (%d bytes)", len(r.body))
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			path      string
			principal string
			status    int
		}{
			{path + "?format=pdf", pAnalyst, 400},
			{path + "?format=", pAnalyst, 400},
			{"/api/v1/releases/1999-r001/export", pAnalyst, 404},
			{"/api/v1/releases/..%2F..%2Fetc%2Fpasswd/export", pAnalyst, 404},
			{"/api/v1/releases/%2E%2E/export?format=csv", pAnalyst, 404},
			{"/api/v1/releases/x%22%3B%20filename%3Devil/export", pAnalyst, 404},
			{"/api/v1/releases/x'%20OR%20'1'='1/export", pAnalyst, 404},
			{path, pResearcher, 403},
			{path, pProvider, 403},
		} {
			r := w.do(t, w.base, req{method: "GET", path: tc.path, principal: tc.principal})
			if r.status != tc.status {
				t.Errorf("%s as %s: %s, want %d", tc.path, tc.principal, r, tc.status)
			}
			if r.header.Get("Content-Disposition") != "" {
				t.Errorf("%s: a refusal with a file name", tc.path)
			}
		}
	})
}
