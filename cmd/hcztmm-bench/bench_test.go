package main

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("median reordered its input: %v", c.in)
			}
		}
	}
}

func TestRatioIsAThroughputRatio(t *testing.T) {
	rate := Row{Ours: Figure{Value: 1e6}, Ceiling: Figure{Value: 3e6}}
	cost := Row{Ours: Figure{Value: 4}, Ceiling: Figure{Value: 1}, LowerIsBetter: true}
	none := Row{Ours: Figure{Value: 4}}
	if got := rate.Ratio(); got != 1.0/3 {
		t.Errorf("rate ratio %v", got)
	}
	if got := cost.Ratio(); got != 0.25 {
		t.Errorf("cost ratio %v", got)
	}
	if got := none.Ratio(); got != 0 {
		t.Errorf("no ceiling: ratio %v", got)
	}
}

func TestAggregateTakesMediansPerRow(t *testing.T) {
	run := func(ours, ceil, rss float64) []Row {
		return []Row{{Path: "p", Ours: Figure{Value: ours, Unit: "rows/s"}, Ceiling: Figure{Value: ceil},
			Extras: []Extra{{Name: "peak RSS", Value: rss}}}}
	}
	got, err := aggregate([][]Row{run(1, 30, 300), run(3, 10, 100), run(2, 20, 200)})
	if err != nil {
		t.Fatal(err)
	}
	if r := got[0]; r.Ours.Value != 2 || r.Ceiling.Value != 20 || r.Extras[0].Value != 200 || r.Ours.Unit != "rows/s" {
		t.Errorf("aggregate = %+v", r)
	}
	if _, err := aggregate([][]Row{run(1, 1, 1), {{Path: "other"}}}); err == nil {
		t.Error("runs with different rows were aggregated")
	}
}

func TestFormatNumber(t *testing.T) {
	for in, want := range map[float64]string{
		1_180_000: "1.18 M",
		952_000:   "952 k",
		3709.6:    "3,710",
		3709:      "3,709",
		25_000:    "25,000",
		2.514:     "2.51",
		0.0252:    "0.0252",
		0:         "0",
	} {
		if got := formatNumber(in); got != want {
			t.Errorf("formatNumber(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	m := Machine{CPU: "Test CPU", Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26", DuckDB: "v9", Load: "0.5", Runs: 3, Date: "today"}
	rows := []Row{
		{Path: "ingest | wide", Ours: Figure{Value: 1e6, Unit: "answers/s"}, Ceiling: Figure{Value: 2e6, Unit: "rows/s", Label: "COPY"},
			Target: 1.0 / 3, Extras: []Extra{{Name: "peak RSS", Value: 300, Unit: "MiB", Note: "target < 500 MB"}}, Note: "child"},
		{Path: "slow", Ours: Figure{Value: 1, Unit: "rows/s"}, Ceiling: Figure{Value: 10, Unit: "rows/s"}, Target: 0.5},
		{Path: "scoring", Ours: Figure{Value: 2.5, Unit: "µs"}},
	}
	var b strings.Builder
	if err := writeTable(&b, m, rows); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"Machine: Test CPU, 2 cores, GOMAXPROCS=2, go1.26, DuckDB v9, load average 0.5 at start. Medians of 3 runs, today.",
		"| path | ours | ceiling (same run) | ratio | notes |\n|---|---:|---:|---:|---|\n",
		`| ingest \| wide | 1.00 M answers/s | COPY: 2.00 M rows/s | 0.500× (target ≥ 0.333: met) | peak RSS 300 MiB (target < 500 MB); child |`,
		"| slow | 1 rows/s | 10 rows/s | 0.100× (target ≥ 0.500: MISSED) |  |",
		"| scoring | 2.50 µs | – | – |  |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n| "); n != 1+len(rows) {
		t.Errorf("%d table lines, want header and %d rows:\n%s", n, len(rows), got)
	}
}

func TestParseScales(t *testing.T) {
	got, err := parseScales("1k, 10k,100000,1M")
	if err != nil || len(got) != 4 || got[0] != 1000 || got[1] != 10000 || got[2] != 100000 || got[3] != 1_000_000 {
		t.Errorf("parseScales = %v, %v", got, err)
	}
	for _, bad := range []string{"", "k", "-1k", "ten"} {
		if _, err := parseScales(bad); err == nil {
			t.Errorf("parseScales(%q) accepted", bad)
		}
	}
}

func TestSelectScenarios(t *testing.T) {
	all := scenarios()
	got, err := selectScenarios(all, "scoring,ingest")
	if err != nil || len(got) != 2 || got[0].Name() != "ingest" || got[1].Name() != "scoring" {
		t.Errorf("selected %v, %v", got, err)
	}
	if _, err := selectScenarios(all, "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown scenario: %v", err)
	}
	names := map[string]bool{}
	for _, s := range all {
		if names[s.Name()] || strings.ContainsAny(s.Name(), " ,") {
			t.Errorf("scenario name %q is duplicated or not a -only key", s.Name())
		}
		names[s.Name()] = true
	}
}
