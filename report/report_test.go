package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// The test warehouse holds two populations with different posture distributions:
//
//   - cycles 2025 and 2026: the fixtures population, where most organisations are at
//     Posture 1;
//   - cycle 2027: the 2026 organisations again, but most of them answer 2 to every
//     capability (gates included), so most are at Posture 2.
//
// Every cycle gets one release of ε = 5, generous enough for the ranking to be clear.
type testWarehouse struct {
	db   *warehouse.DB
	reg  *model.Registry
	m    *model.Model
	rels map[string]string // cycle -> release ID
}

var (
	whOnce sync.Once
	wh     *testWarehouse
	whErr  error
)

const testOrgs = 1500

var tempDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	if wh != nil {
		wh.db.Close()
	}
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func setup(t *testing.T) *testWarehouse {
	t.Helper()
	whOnce.Do(func() { wh, whErr = build(context.Background()) })
	if whErr != nil {
		t.Fatal(whErr)
	}
	return wh
}

func build(ctx context.Context) (*testWarehouse, error) {
	reg := model.MustBuiltin()
	m := reg.Latest()
	dir, err := os.MkdirTemp("", "report-test-")
	if err != nil {
		return nil, err
	}
	tempDirs = append(tempDirs, dir)
	db, err := warehouse.Open(ctx, filepath.Join(dir, "wh.duckdb"), reg, warehouse.Options{})
	if err != nil {
		return nil, err
	}
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: testOrgs, Cycles: 2, Seed: 7, FirstCycle: 2025})
	if err != nil {
		return nil, err
	}
	// The Posture 2 population: 85% of organisations answer 2 everywhere.
	var shifted []model.Submission
	for i, s := range pop.CycleSubmissions("2026") {
		s.Cycle = "2027"
		s.SubmittedAt = s.SubmittedAt.AddDate(1, 0, 0)
		if i%20 < 17 {
			answers := map[string]model.Answer{}
			for _, id := range m.CapabilityIDs() {
				answers[id] = 2
			}
			s.Answers = answers
		}
		shifted = append(shifted, s)
	}
	byCycle := map[string][]model.Submission{"2025": pop.CycleSubmissions("2025"), "2026": pop.CycleSubmissions("2026"), "2027": shifted}
	var inputs []ingest.Input
	for _, c := range []string{"2025", "2026", "2027"} {
		if err := db.CreateCycle(ctx, warehouse.Cycle{ID: c, ModelVersion: m.Version, Epsilon: 10, Delta: 1e-6}); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := fixtures.WriteCSVWide(&buf, m, byCycle[c]); err != nil {
			return nil, err
		}
		inputs = append(inputs, ingest.Input{Name: c + ".csv", Reader: &buf, Format: ingest.FormatCSVWide, Size: int64(buf.Len()), Source: "test"})
	}
	rep, err := ingest.Ingest(ctx, db, reg, inputs, ingest.Options{})
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		return nil, fmt.Errorf("ingest: %s", rep)
	}
	w := &testWarehouse{db: db, reg: reg, m: m, rels: map[string]string{}}
	for _, c := range []string{"2025", "2026", "2027"} {
		p, err := privacy.Publish(ctx, db, reg, privacy.Request{Cycle: c, Epsilon: 5})
		if err != nil {
			return nil, err
		}
		w.rels[c] = p.Release.ID
	}
	return w, nil
}

func (w *testWarehouse) report(t *testing.T, cycle string) (*Report, *privacy.Release, *privacy.Release) {
	t.Helper()
	ctx := t.Context()
	id := w.rels[cycle]
	prevID, err := PreviousRelease(ctx, w.db, id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(ctx, w.db, w.reg, id, prevID)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := loadRelease(ctx, w.db, id)
	if err != nil {
		t.Fatal(err)
	}
	var prev *privacy.Release
	if prevID != "" {
		if prev, err = loadRelease(ctx, w.db, prevID); err != nil {
			t.Fatal(err)
		}
	}
	return r, cur, prev
}

func statement(t *testing.T, r *Report, id string) Statement {
	t.Helper()
	for _, s := range r.Statements() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no statement %q in report", id)
	return Statement{}
}

func TestWordingFollowsTheData(t *testing.T) {
	w := setup(t)
	for _, tc := range []struct {
		cycle    string
		posture  int
		prevID   string
		notLevel int
	}{
		{"2026", 1, "2025", 2},
		{"2027", 2, "2026", 1},
	} {
		t.Run(tc.cycle, func(t *testing.T) {
			r, _, _ := w.report(t, tc.cycle)
			if r.PreviousID != w.rels[tc.prevID] {
				t.Fatalf("previous release %q, want the previous cycle's %q", r.PreviousID, w.rels[tc.prevID])
			}
			head := statement(t, r, "posture.headline")
			want := fmt.Sprintf("of organisations are at Posture %d, %s, the most common posture.", tc.posture, w.m.PostureName(tc.posture))
			if !strings.Contains(head.Text, want) {
				t.Fatalf("headline %q does not say %q", head.Text, want)
			}
			if strings.Contains(head.Text, fmt.Sprintf("at Posture %d,", tc.notLevel)) {
				t.Fatalf("headline names the wrong posture: %q", head.Text)
			}
			if !regexp.MustCompile(`^\d+% \[95% CI \d+–\d+%\] of organisations`).MatchString(head.Text) {
				t.Fatalf("headline lacks its interval: %q", head.Text)
			}
			if tr := head.Traces[0]; tr.Metric != privacy.MetricPostureShare || tr.Bucket != fmt.Sprint(tc.posture) || tr.Partitioning != "national" {
				t.Fatalf("headline trace %+v", tr)
			}
			// The biggest gap is named and is the first of the ranking.
			big := statement(t, r, "finding.biggest")
			if !strings.HasPrefix(big.Text, "The biggest gap is ") {
				t.Fatalf("biggest gap: %q", big.Text)
			}
			for _, s := range r.Sections {
				if s.Title == "Capability gaps" {
					if len(s.Charts) != 1 || len(s.Charts[0].Bars) != len(w.m.Findings) {
						t.Fatalf("gap chart %+v", s.Charts)
					}
					top := s.Charts[0].Bars[0].Label
					if !strings.Contains(big.Text, lowerFirst(top)) {
						t.Fatalf("biggest gap %q is not the top of the ranking %q", big.Text, top)
					}
					for i := 1; i < len(s.Charts[0].Bars); i++ {
						if s.Charts[0].Bars[i].Value > s.Charts[0].Bars[i-1].Value {
							t.Fatal("gaps are not ranked")
						}
					}
				}
			}
			statement(t, r, "finding.dynamic_trust")
			statement(t, r, "diff.size.mean")
			statement(t, r, "diff.region.mean")
		})
	}
	// The change from the Posture 1 population to the Posture 2 one is clear.
	r, _, _ := w.report(t, "2027")
	if s := statement(t, r, "change.posture.2"); !strings.HasPrefix(s.Text, "The share at Posture 2, Integrated and Context-Aware rose from") {
		t.Fatalf("change at Posture 2: %q", s.Text)
	}
	if s := statement(t, r, "change.posture.1"); !strings.HasPrefix(s.Text, "The share at Posture 1, Structured but Static fell from") {
		t.Fatalf("change at Posture 1: %q", s.Text)
	}
	// The first cycle has no previous one: no change section.
	r0, _, _ := w.report(t, "2025")
	if r0.PreviousID != "" {
		t.Fatalf("2025 compared with %q", r0.PreviousID)
	}
	for _, s := range r0.Statements() {
		if strings.HasPrefix(s.ID, "change.") {
			t.Fatalf("change statement without a previous cycle: %q", s.Text)
		}
	}
}

// TestEveryNumberIsTraceable checks each statement's traces against the stored
// release's long form: same value and interval, or a suppressed cohort row.
func TestEveryNumberIsTraceable(t *testing.T) {
	w := setup(t)
	r, cur, prev := w.report(t, "2027")
	type key struct{ rel, part, cohort, metric, subject, bucket string }
	rows := map[key]privacy.Row{}
	for _, rel := range []*privacy.Release{cur, prev} {
		for _, row := range rel.Values() {
			k := privacy.Key{SizeBand: row.SizeBand, Region: row.Region, OrgType: row.OrgType}
			rows[key{rel.ID, string(row.Partitioning), k.String(), row.Metric, row.Subject, row.Bucket}] = row
		}
	}
	numbers := regexp.MustCompile(`\d`)
	traced := 0
	for _, s := range r.Statements() {
		if numbers.MatchString(s.Text) && len(s.Traces) == 0 && !strings.HasPrefix(s.ID, "suppressed.") {
			t.Errorf("statement %s has numbers but no trace: %q", s.ID, s.Text)
		}
		for _, tr := range s.Traces {
			row, ok := rows[key{tr.Release, tr.Partitioning, tr.Cohort, tr.Metric, tr.Subject, tr.Bucket}]
			switch {
			case !ok:
				t.Errorf("statement %s: trace %s is not a release value", s.ID, tr)
			case tr.Suppressed:
				if !row.Suppressed || row.Reason != privacy.ReasonNotEnoughPeers {
					t.Errorf("statement %s: %s is not a suppressed cohort", s.ID, tr)
				}
			case row.Value == nil || *row.Value != tr.Value || *row.CILow != tr.Low || *row.CIHigh != tr.High:
				t.Errorf("statement %s: trace %s does not match the release row %+v", s.ID, tr, row)
			}
			traced++
		}
	}
	if traced < 20 {
		t.Fatalf("only %d traces", traced)
	}
}

func TestRenderers(t *testing.T) {
	w := setup(t)
	r, _, _ := w.report(t, "2026")
	h := string(r.HTML())
	for _, bad := range []string{"http://", "https://", "<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(strings.ToLower(h), bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	for _, want := range []string{"<!DOCTYPE html>", "<style>", "<svg", "@media print", "Structured but Static", r.ReleaseID, "posture_share[overall,1]"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	md := string(r.Markdown())
	head := statement(t, r, "posture.headline")
	for _, want := range []string{"# Zero Trust maturity findings, cycle 2026", "## Posture distribution", "## Change since the previous cycle (2025)", head.Text, "release " + r.ReleaseID + " · national/all · posture_share[overall,1]"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if strings.Contains(md, "http") {
		t.Error("Markdown links out")
	}
	// Rendering is deterministic.
	if !bytes.Equal(r.HTML(), r.HTML()) || !bytes.Equal(r.Markdown(), r.Markdown()) {
		t.Fatal("rendering is not deterministic")
	}
}

func TestSuppressedCohortsSayNotEnoughPeers(t *testing.T) {
	w := setup(t)
	r, cur, _ := w.report(t, "2026")
	var want []string
	for _, c := range cur.Cohorts {
		if c.Suppressed {
			want = append(want, c.Key.String())
		}
	}
	if len(want) == 0 {
		t.Skip("no suppressed cohort in this release")
	}
	var got []string
	for _, s := range r.Statements() {
		if strings.HasPrefix(s.ID, "suppressed.") {
			if !strings.Contains(s.Text, "not enough peers") {
				t.Errorf("%q", s.Text)
			}
			for _, tr := range s.Traces {
				got = append(got, tr.Cohort)
			}
		}
	}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("suppressed cohorts named %v, want %v", got, want)
	}
}

func TestUnknownRelease(t *testing.T) {
	w := setup(t)
	_, err := Load(t.Context(), w.db, w.reg, "1999-r001", "")
	if model.ErrorKind(err) != model.KindNotFound {
		t.Fatalf("unknown release: %v", err)
	}
}
