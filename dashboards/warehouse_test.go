package dashboards

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// The pages over a real warehouse: submissions ingested through the real path, releases
// published and stored by privacy.Publish, read back through the narrow interfaces that
// *warehouse.DB satisfies (OrgScoped for the provider, the release reader for the rest).
func TestPagesOverARealWarehouse(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests a population into DuckDB")
	}
	ctx := context.Background()
	db, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "wh.duckdb"), testModels, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := testModels.Latest()
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: 2000, Cycles: 2, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []ingest.Input
	for _, c := range pop.Cycles {
		if err := db.CreateCycle(ctx, warehouse.Cycle{ID: c, ModelVersion: m.Version, Epsilon: 5, Delta: 1e-6}); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := fixtures.WriteCSVWide(&buf, m, pop.CycleSubmissions(c)); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, ingest.Input{Name: c + ".csv", Reader: &buf, Format: ingest.FormatCSVWide, Size: int64(buf.Len()), Source: "test"})
	}
	report, err := ingest.Ingest(ctx, db, testModels, inputs, ingest.Options{})
	if err != nil || !report.OK() {
		t.Fatalf("ingest: %v %s", err, report)
	}
	for _, c := range pop.Cycles {
		if _, err := privacy.Publish(ctx, db, testModels, privacy.Request{Cycle: c, Epsilon: 1}); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := New(Config{}, Deps{Models: testModels, Releases: db, Orgs: OrgScoped(db),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := pages.Handler()
	get := func(v Viewer, path string) string {
		req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(WithViewer(ctx, v))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
		}
		return html.UnescapeString(rec.Body.String())
	}
	me, other := pop.Orgs[0], pop.Orgs[1]
	body := get(Viewer{Role: RoleProvider, OrgID: me.ID}, "/dashboards/benchmark?org="+other.ID)
	if !strings.Contains(body, me.ID) || !strings.Contains(body, me.Name) || strings.Contains(body, other.ID) || strings.Contains(body, other.Name) {
		t.Fatal("the provider's page is not exactly its own")
	}
	if !strings.Contains(body, `id="chart-posture"`) || !strings.Contains(body, `id="chart-trend"`) {
		t.Fatal("benchmark charts missing")
	}
	if body := get(Viewer{Role: RoleResearcher}, "/dashboards/findings"); !strings.Contains(body, `id="chart-posture-national"`) {
		t.Fatal("findings: national posture chart missing")
	}
	if body := get(Viewer{Role: RoleAnalyst}, "/dashboards/explorer"); !strings.Contains(body, "/export?format=csv") {
		t.Fatal("explorer: export links missing")
	}
}
