package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
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
	got, err := parseScales("-scale", "1k, 10k,100000,1M")
	if err != nil || len(got) != 4 || got[0] != 1000 || got[1] != 10000 || got[2] != 100000 || got[3] != 1_000_000 {
		t.Errorf("parseScales = %v, %v", got, err)
	}
	for _, bad := range []string{"", "k", "-1k", "ten"} {
		if _, err := parseScales("-scale", bad); err == nil {
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

func TestRowSeconds(t *testing.T) {
	for _, c := range []struct {
		name string
		row  Row
		f    Figure
		want float64
	}{
		{"time", Row{}, Figure{Value: 0.25, Unit: "s"}, 0.25},
		{"rate back to time", Row{Work: 1e6}, Figure{Value: 4e5, Unit: "answers/s"}, 2.5},
		{"rate without work", Row{}, Figure{Value: 4e5, Unit: "rows/s"}, 0},
		{"per-operation cost", Row{Work: 10}, Figure{Value: 3, Unit: "ms/page"}, 0},
		{"nothing measured", Row{Work: 1e6}, Figure{Unit: "rows/s"}, 0},
	} {
		if got := c.row.Seconds(c.f); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Seconds = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestGrowthExponent(t *testing.T) {
	for _, c := range []struct {
		name    string
		orgs    []int
		seconds []float64
		want    float64
		ok      bool
	}{
		{"linear", []int{1_000, 10_000, 100_000}, []float64{0.1, 1, 10}, 1, true},
		{"quadratic", []int{1_000, 10_000}, []float64{1, 100}, 2, true},
		{"square root", []int{100, 10_000}, []float64{1, 10}, 0.5, true},
		{"constant", []int{1_000, 100_000}, []float64{3, 3}, 0, true},
		// log10: x = 0, 1, 3 and y = 0, 2, 3: the least-squares slope is 13/14, not the
		// endpoints' 1, so a fit that only looked at the ends would fail here.
		{"least squares, not the endpoints", []int{1, 10, 1000}, []float64{1, 100, 1000}, 13.0 / 14, true},
		{"unsorted sizes", []int{100_000, 1_000, 10_000}, []float64{10, 0.1, 1}, 1, true},
		{"one size", []int{1_000}, []float64{1}, 0, false},
		{"one size twice", []int{1_000, 1_000}, []float64{1, 2}, 0, false},
		{"nothing measured", []int{1_000, 10_000}, []float64{1, 0}, 0, false},
		{"lengths differ", []int{1_000, 10_000}, []float64{1}, 0, false},
		{"none", nil, nil, 0, false},
	} {
		got, ok := growthExponent(c.orgs, c.seconds)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: growthExponent = %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestGrowthWords(t *testing.T) {
	for _, c := range []struct {
		b    float64
		want string
	}{
		{1.02, "linear (b = 1.02)"},
		{0.91, "linear (b = 0.91)"},
		{1.09, "linear (b = 1.09)"},
		{1.25, "super-linear (b = 1.25)"},
		{2, "super-linear (b = 2.00)"},
		{0.8, "sub-linear (b = 0.80)"},
	} {
		if got := growthWords(c.b); got != c.want {
			t.Errorf("growthWords(%v) = %q, want %q", c.b, got, c.want)
		}
	}
}

// scalingRows are an ingest series (rates, three sizes given out of order, a repeated
// size, a companion row without a family), a release series (times) and a family with
// one size only.
func scalingRows() []Row {
	ingest := func(orgs int, secs, ceilSecs float64) Row {
		work := float64(orgs * 40)
		return Row{Family: "ingest", Orgs: orgs, Work: work, Path: fmt.Sprintf("ingest %d", orgs),
			Ours: Figure{Value: work / secs, Unit: "answers/s"}, Ceiling: Figure{Value: work / ceilSecs, Unit: "rows/s"}}
	}
	release := func(orgs int, secs, ceilSecs float64) Row {
		return Row{Family: "release", Orgs: orgs, Path: fmt.Sprintf("release %d", orgs), LowerIsBetter: true,
			Ours: Figure{Value: secs, Unit: "s"}, Ceiling: Figure{Value: ceilSecs, Unit: "s"}}
	}
	return []Row{
		ingest(25_000, 1, 0.5),
		{Path: "… against parquet", Orgs: 25_000, Work: 1e6, Ours: Figure{Value: 1e6, Unit: "answers/s"}},
		release(6_000, 0.24, 0.06),
		{Path: "scoring", Ours: Figure{Value: 2.4, Unit: "µs/submission"}},
		ingest(1_000, 0.1, 0.05),
		ingest(100_000, 4, 2),
		ingest(1_000, 99, 99), // the same size again: the first row stands
		release(1_000, 0.04, 0.01),
		{Family: "lonely", Orgs: 1_000, Ours: Figure{Value: 1, Unit: "s"}},
	}
}

func TestScalingSeries(t *testing.T) {
	got := scalingSeries(scalingRows())
	want := []scaleSeries{
		{Family: "ingest", Points: []scalePoint{
			{Orgs: 1_000, Seconds: 0.1, CeilingSeconds: 0.05, Ratio: 0.5},
			{Orgs: 25_000, Seconds: 1, CeilingSeconds: 0.5, Ratio: 0.5},
			{Orgs: 100_000, Seconds: 4, CeilingSeconds: 2, Ratio: 0.5},
		}},
		{Family: "release", Points: []scalePoint{
			{Orgs: 1_000, Seconds: 0.04, CeilingSeconds: 0.01, Ratio: 0.25},
			{Orgs: 6_000, Seconds: 0.24, CeilingSeconds: 0.06, Ratio: 0.25},
		}},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if len(got) != len(want) {
		t.Fatalf("scalingSeries = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Family != w.Family || len(g.Points) != len(w.Points) {
			t.Fatalf("series %d = %+v, want %+v", i, g, w)
		}
		for j, p := range w.Points {
			q := g.Points[j]
			if q.Orgs != p.Orgs || !near(q.Seconds, p.Seconds) || !near(q.CeilingSeconds, p.CeilingSeconds) || !near(q.Ratio, p.Ratio) {
				t.Errorf("%s point %d = %+v, want %+v", w.Family, j, q, p)
			}
		}
	}
	if got := scalingSeries([]Row{{Path: "no family", Orgs: 1000}}); len(got) != 0 {
		t.Errorf("rows without a family made series %+v", got)
	}
}

func TestWriteScaling(t *testing.T) {
	var b strings.Builder
	if err := writeScaling(&b, scalingRows()); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	// ingest: least squares over 1k, 25k, 100k gives b = 0.786 (the endpoints alone
	// would say ln 40 / ln 100 = 0.80); 25k–100k alone ln 4 / ln 4 = 1.
	for _, want := range []string{
		"| path | organisations | time | per organisation | ceiling per organisation | ratio | growth |\n|---|---:|---:|---:|---:|---:|---|\n",
		"| ingest | 1,000 | 0.100 s | 100 µs | 50 µs | 0.500× | sub-linear (b = 0.79), 25,000–100,000 linear (b = 1.00); ceiling sub-linear (b = 0.79), 25,000–100,000 linear (b = 1.00) |\n",
		"| … | 25,000 | 1.00 s | 40 µs | 20 µs | 0.500× |  |\n",
		"| … | 100,000 | 4.00 s | 40 µs | 20 µs | 0.500× |  |\n",
		// two sizes: one fit, no second over the two largest
		"| release | 1,000 | 0.0400 s | 40 µs | 10 µs | 0.250× | linear (b = 1.00); ceiling linear (b = 1.00) |\n",
		"| … | 6,000 | 0.240 s | 40 µs | 10 µs | 0.250× |  |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Scaling table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "lonely") || strings.Contains(got, "scoring") {
		t.Errorf("Scaling table shows a row with no second size or no family:\n%s", got)
	}
	if n := strings.Count(got, "\n| "); n != 1+5 {
		t.Errorf("%d table lines, want header and 5 rows:\n%s", n, got)
	}

	b.Reset()
	if err := writeScaling(&b, []Row{{Path: "scoring"}}); err != nil || b.Len() != 0 {
		t.Errorf("no series: wrote %q, %v", b.String(), err)
	}
}

func TestWriteReportHasBothTables(t *testing.T) {
	m := Machine{CPU: "Test CPU", Runs: 3}
	for _, c := range []struct {
		name    string
		rows    []Row
		scaling bool
	}{
		{"with sizes", scalingRows(), true},
		{"headline only", []Row{{Path: "scoring", Ours: Figure{Value: 2.4, Unit: "µs"}}}, false},
	} {
		var b strings.Builder
		if err := writeReport(&b, m, c.rows); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		if !strings.Contains(got, "| path | ours | ceiling (same run) | ratio | notes |") {
			t.Errorf("%s: no main table:\n%s", c.name, got)
		}
		if has := strings.Contains(got, "\n\nScaling: "); has != c.scaling {
			t.Errorf("%s: Scaling table shown %v, want %v:\n%s", c.name, has, c.scaling, got)
		}
	}
}

func TestScalingFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []int
		err  bool
	}{
		{nil, []int{1_000, 10_000, 100_000}, false},
		{[]string{"-scaling", "1k,10k"}, []int{1_000, 10_000}, false},
		{[]string{"-scaling", ""}, nil, false},
		{[]string{"-scaling", "none"}, nil, false},
		{[]string{"-scaling", "ten"}, nil, true},
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if (err != nil) != c.err || !slices.Equal(cfg.scaling, c.want) {
			t.Errorf("parseFlags(%q): scaling %v, %v; want %v (error %v)", c.args, cfg.scaling, err, c.want, c.err)
		}
		if !c.err && !slices.Equal(cfg.scales, []int{25_000}) {
			t.Errorf("parseFlags(%q): -scale %v, want the 25k default untouched", c.args, cfg.scales)
		}
	}
}

// sizeRecorder is a scenario that records the population size of every run.
type sizeRecorder struct {
	name     string
	headline []int // nil: not Scaled
	got      *[]int
}

func (s sizeRecorder) Name() string { return s.name }

func (s sizeRecorder) Run(_ context.Context, env *Env) ([]Row, error) {
	*s.got = append(*s.got, env.Orgs)
	return []Row{{Path: fmt.Sprintf("%s %d", s.name, env.Orgs), Family: s.name, Orgs: env.Orgs}}, nil
}

type scaledRecorder struct{ sizeRecorder }

func (s scaledRecorder) HeadlineOrgs([]int) []int { return s.headline }

func TestRunScaling(t *testing.T) {
	var ingest, release, scoring []int
	selected := []Scenario{
		scaledRecorder{sizeRecorder{name: "ingest", headline: []int{25_000}, got: &ingest}},
		sizeRecorder{name: "scoring", got: &scoring},
		scaledRecorder{sizeRecorder{name: "release", headline: []int{6_000}, got: &release}},
	}
	env := &Env{work: t.TempDir(), logw: io.Discard, pops: map[int]*fixtures.Population{}, files: map[int]*Files{}}
	cfg := config{runs: 2, scales: []int{25_000}, scaling: []int{10_000, 1_000, 6_000, 1_000}}
	rows, err := runScaling(context.Background(), env, selected, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Sizes smallest first, each once, two runs each; release's headline 6,000 is not
	// measured again; scoring does not scale.
	if want := []int{1_000, 1_000, 6_000, 6_000, 10_000, 10_000}; !slices.Equal(ingest, want) {
		t.Errorf("ingest ran at %v, want %v", ingest, want)
	}
	if want := []int{1_000, 1_000, 10_000, 10_000}; !slices.Equal(release, want) {
		t.Errorf("release ran at %v, want %v", release, want)
	}
	if len(scoring) != 0 {
		t.Errorf("scoring ran at %v", scoring)
	}
	var paths []string
	for _, r := range rows {
		paths = append(paths, r.Path)
	}
	if want := []string{"ingest 1000", "ingest 6000", "ingest 10000", "release 1000", "release 10000"}; !slices.Equal(paths, want) {
		t.Errorf("rows %q, want %q (grouped by scenario)", paths, want)
	}

	cfg.scaling = nil
	ingest = nil
	if rows, err := runScaling(context.Background(), env, selected, cfg); err != nil || len(rows) != 0 || len(ingest) != 0 {
		t.Errorf("-scaling none ran %v: %v, %v", ingest, rows, err)
	}
}
