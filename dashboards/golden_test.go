package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// update rewrites the golden files of chart options (the go/printer idiom):
//
//	go test -tags duckdb_arrow ./dashboards -update
var update = flag.Bool("update", false, "rewrite testdata/golden")

// The golden files hold every chart option of a page, by chart ID, built from the stored
// fixture releases and the fixture organisation: what the browser is handed, exactly.
// A change to a builder shows up as a reviewable diff of option JSON.
func TestChartOptionsGolden(t *testing.T) {
	cases := []struct {
		name   string
		viewer *Viewer
		path   string
		ids    []string
		charts []string // the charts the page must have
	}{
		{"benchmark", provider(), "/dashboards/benchmark", mainReleases,
			[]string{"chart-posture", "chart-radar", "chart-domain-percentiles", "chart-trend"}},
		{"benchmark-2024", provider(), "/dashboards/benchmark?cycle=2024", mainReleases,
			[]string{"chart-posture", "chart-radar", "chart-domain-percentiles", "chart-trend"}},
		{"findings", researcher(), "/dashboards/findings", mainReleases,
			[]string{"chart-posture-national", "chart-posture-size", "chart-posture-region", "chart-domain-heatmap", "chart-gaps", "chart-trend-posture", "chart-trend-mean"}},
		{"explorer", analyst(), "/dashboards/explorer?release=rel-2026-a&partitioning=national&cohort=0", mainReleases,
			[]string{"chart-x-posture", "chart-x-quantiles", "chart-x-domains", "chart-x-capabilities"}},
		{"explorer-size-region", analyst(), "/dashboards/explorer?release=rel-2026-a&partitioning=size_region&cohort=3", mainReleases,
			[]string{"chart-x-posture"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestPages(t, defaultName, tc.ids...)
			rec := e.get(t, tc.viewer, tc.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			opts := chartOptions(t, rec.Body.String())
			var got []string
			for id := range opts {
				got = append(got, id)
			}
			sort.Strings(got)
			want := append([]string(nil), tc.charts...)
			sort.Strings(want)
			if !equalStrings(got, want) {
				t.Fatalf("charts %v, want %v", got, want)
			}
			doc := map[string]any{}
			for id, raw := range opts {
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("chart %s: option is not JSON: %v", id, err)
				}
				doc[id] = v
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", " ")
			if err := enc.Encode(doc); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tc.name+".json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantBytes, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), wantBytes) {
				t.Errorf("chart options differ from %s; run with -update and review the diff", path)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
