package dashboards

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
)

// regen rewrites the stored releases and the test organisation's submissions in
// testdata. Releases carry real library noise (privacy exposes no test noise), so a
// regeneration changes every figure: run the tests with -update afterwards.
//
//	go test -tags duckdb_arrow ./dashboards -run TestRegenerateFixtures -regen
//	go test -tags duckdb_arrow ./dashboards -update
var regen = flag.Bool("regen", false, "regenerate testdata releases and submissions (then run -update)")

// Fixture shape: the demo's population and release (6,000 organisations, 3 cycles, a
// default release of ε = 1 per cycle), a second release of the newest cycle that also
// publishes domain percentiles by size and by size × region (so the radar can use a
// finer peer group than national), and a release of a 150-organisation population where
// every cohort is suppressed.
const (
	fixtureOrgs      = 6000
	fixtureCycles    = 3
	fixtureSeed      = 1
	smallOrgs        = 150
	fixtureEpsilon   = 1.0
	extraEpsilon     = 2.0
	fixtureOwnOrgDir = "testdata/own"
	fixtureRelDir    = "testdata/releases"
)

func TestRegenerateFixtures(t *testing.T) {
	if !*regen {
		t.Skip("run with -regen to rewrite testdata")
	}
	m := model.MustBuiltin().Latest()
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: fixtureOrgs, Cycles: fixtureCycles, Seed: fixtureSeed})
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(fixtureRelDir, 0o755))
	must(t, os.MkdirAll(fixtureOwnOrgDir, 0o755))
	var latest *privacy.Release
	for _, c := range pop.Cycles {
		recs := recordsOf(t, m, pop.CycleSubmissions(c))
		latest = buildFixtureRelease(t, m, recs, privacy.Request{Cycle: c, Epsilon: fixtureEpsilon}, "rel-"+c+"-a")
		if c == pop.Cycles[len(pop.Cycles)-1] {
			split := append(privacy.DefaultSplit(),
				privacy.Allocation{Partitioning: privacy.BySize, Family: privacy.FamilyDomainQuantiles, Weight: 150},
				privacy.Allocation{Partitioning: privacy.BySizeRegion, Family: privacy.FamilyDomainQuantiles, Weight: 150})
			latest = buildFixtureRelease(t, m, recs, privacy.Request{Cycle: c, Epsilon: extraEpsilon, Split: split}, "rel-"+c+"-b")
		}
	}
	small, err := fixtures.Generate(m, fixtures.Options{Orgs: smallOrgs, Cycles: 1, Seed: fixtureSeed + 1, FirstCycle: 2030})
	if err != nil {
		t.Fatal(err)
	}
	buildFixtureRelease(t, m, recordsOf(t, m, small.CycleSubmissions(small.Cycles[0])),
		privacy.Request{Cycle: small.Cycles[0], Epsilon: fixtureEpsilon}, "rel-"+small.Cycles[0]+"-small")

	// The test organisation: one in every cycle whose size × region cohort is suppressed
	// in the newest release while its size band is published, so the fallback wording is
	// exercised; the first such organisation in ID order.
	var pick string
	for _, o := range pop.Orgs {
		keys, err := m.CohortKeysOf(o)
		if err != nil {
			continue
		}
		sr, _ := latest.Cohort(privacy.BySizeRegion, privacy.Key{SizeBand: keys.SizeBand, Region: keys.Region})
		sz, _ := latest.Cohort(privacy.BySize, privacy.Key{SizeBand: keys.SizeBand})
		if sr != nil && sr.Suppressed && sz != nil && !sz.Suppressed && submittedEvery(pop, o.ID) {
			pick = o.ID
			break
		}
	}
	if pick == "" {
		t.Fatal("no organisation with a suppressed size × region cohort; change the fixture shape")
	}
	var subs []model.Submission
	for _, s := range pop.Submissions {
		if s.Organisation.ID == pick {
			subs = append(subs, s)
		}
	}
	writeJSON(t, filepath.Join(fixtureOwnOrgDir, "org.json"), subs)
	t.Logf("test organisation %s", pick)
}

func submittedEvery(pop *fixtures.Population, id string) bool {
	n := 0
	for _, s := range pop.Submissions {
		if s.Organisation.ID == id {
			n++
		}
	}
	return n == len(pop.Cycles)
}

func recordsOf(t *testing.T, m *model.Model, subs []model.Submission) []privacy.Record {
	recs := make([]privacy.Record, 0, len(subs))
	for _, s := range subs {
		keys, err := m.CohortKeysOf(s.Organisation)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, privacy.RecordOf(m, s.Organisation.ID, keys, m.Assess(s.Answers), s.Answers))
	}
	return recs
}

func buildFixtureRelease(t *testing.T, m *model.Model, recs []privacy.Record, req privacy.Request, id string) *privacy.Release {
	plan, err := privacy.NewPlan(m, req)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := privacy.Build(m, plan, recs)
	if err != nil {
		t.Fatal(err)
	}
	rel.ID = id
	body, err := rel.Encode()
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(fixtureRelDir, id+".json"), body, 0o644))
	sup := 0
	for _, c := range rel.Cohorts {
		if c.Suppressed {
			sup++
		}
	}
	t.Logf("%s: %d bytes, %d cohorts, %d suppressed", id, len(body), len(rel.Cohorts), sup)
	return rel
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(path, append(b, '\n'), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("%w", err))
	}
}
