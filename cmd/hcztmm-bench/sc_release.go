package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// release measures a full DP release (every partitioning, every metric family: 8
// domains, 40 capabilities) for a cycle of env.Orgs organisations (6,000 in the
// headline), end to end through privacy.Publish (reserve, read current scores, noise,
// encode, store), against the exact, noise-free GROUP BY of the same statistics in
// DuckDB on the same database.
type release struct{}

const releaseOrgs = 6000

// releaseFamily is release's series in the Scaling table.
const releaseFamily = "release: privacy.Publish, FullSplit; ceiling exact GROUP BY GROUPING SETS"

func (release) Name() string { return "release" }

// HeadlineOrgs: the headline release is the 6,000-organisation one the README quotes,
// whatever -scale says; other sizes are the Scaling table's.
func (release) HeadlineOrgs([]int) []int { return []int{releaseOrgs} }

func (release) Run(ctx context.Context, env *Env) ([]Row, error) {
	pop, err := env.Population(env.Orgs)
	if err != nil {
		return nil, err
	}
	m := env.Model
	cycle := pop.Cycles[0]
	db, err := warehouse.Open(ctx, filepath.Join(env.RunDir(), "release.duckdb"), env.Reg, warehouse.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// A generous budget: the benchmark measures time, not the ledger.
	if err := db.CreateCycle(ctx, warehouse.Cycle{ID: cycle, ModelVersion: m.Version, Epsilon: 10, Delta: 1e-6}); err != nil {
		return nil, err
	}
	subs, err := warehouse.ScoreAll(m, pop.CycleSubmissions(cycle), "bench")
	if err != nil {
		return nil, err
	}
	if _, err := db.Commit(ctx, subs, true); err != nil {
		return nil, err
	}
	if err := db.Checkpoint(ctx); err != nil {
		return nil, err
	}
	// Warm both paths once (first-query plan and page cache), untimed.
	if _, err := db.CeilingExactCohortStats(ctx, cycle); err != nil {
		return nil, err
	}

	start := time.Now()
	groups, err := db.CeilingExactCohortStats(ctx, cycle)
	exact := time.Since(start)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	pub, err := privacy.Publish(ctx, db, env.Reg, privacy.Request{Cycle: cycle, Epsilon: 1, Split: privacy.FullSplit()})
	ours := time.Since(start)
	if err != nil {
		return nil, err
	}
	cohorts, suppressed := 0, 0
	for _, c := range pub.Release.Cohorts {
		cohorts++
		if c.Suppressed {
			suppressed++
		}
	}
	if cohorts == 0 {
		return nil, errors.New("release has no cohorts")
	}
	return []Row{{
		Family: releaseFamily,
		Orgs:   len(subs),
		Path: fmt.Sprintf("Full DP release, %s organisations: every partitioning, %d domains, %d capabilities (privacy.Publish: reserve, read, noise, encode, store)",
			thousands(int64(len(subs))), len(m.Domains), len(m.CapabilityIDs())),
		Ours:          Figure{Value: ours.Seconds(), Unit: "s"},
		Ceiling:       Figure{Value: exact.Seconds(), Unit: "s", Label: "exact GROUP BY GROUPING SETS of the same statistics in DuckDB"},
		LowerIsBetter: true,
		Extras: []Extra{
			{Name: "cohorts", Value: float64(cohorts), Unit: ""},
			{Name: "suppressed", Value: float64(suppressed), Unit: ""},
			{Name: "release bytes", Value: float64(len(pub.Body)), Unit: "B"},
			{Name: "exact result rows", Value: float64(groups), Unit: ""},
		},
		Note: "epsilon 1, Laplace, FullSplit; the exact query is warmed once first",
	}}, nil
}
