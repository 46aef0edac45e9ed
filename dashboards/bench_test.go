package dashboards

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Server render time per page: the whole handler (viewer check, reads through the fake
// stores, peer views, chart building, template) with the decoded releases cached, as in
// a running server after the first request. The cold variant decodes the releases too.
//
//	go test -tags duckdb_arrow ./dashboards -run '^$' -bench . -benchmem

func benchPage(b *testing.B, v *Viewer, path string, cold bool) {
	e := newTestPages(b, defaultName)
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req = req.WithContext(WithViewer(req.Context(), *v))
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req) // warm the release cache
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d", rec.Code)
	}
	size := rec.Body.Len()
	for b.Loop() {
		if cold {
			b.StopTimer()
			e.pages.rel = newReleases(e.releases)
			b.StartTimer()
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(size)/1024, "KiB/page")
}

func BenchmarkBenchmarkPage(b *testing.B) {
	benchPage(b, provider(), "/dashboards/benchmark", false)
}

func BenchmarkBenchmarkPageCold(b *testing.B) {
	benchPage(b, provider(), "/dashboards/benchmark", true)
}

func BenchmarkFindingsPage(b *testing.B) {
	benchPage(b, researcher(), "/dashboards/findings", false)
}

func BenchmarkFindingsPageCold(b *testing.B) {
	benchPage(b, researcher(), "/dashboards/findings", true)
}

func BenchmarkExplorerPage(b *testing.B) {
	benchPage(b, analyst(), "/dashboards/explorer?release=rel-2026-a&partitioning=national&cohort=0", false)
}

func BenchmarkExplorerPageCold(b *testing.B) {
	benchPage(b, analyst(), "/dashboards/explorer?release=rel-2026-a&partitioning=national&cohort=0", true)
}
