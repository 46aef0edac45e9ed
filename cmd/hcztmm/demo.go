package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// demoReleaseEpsilon is what each demo cycle's first release spends of its budget of 5.
const demoReleaseEpsilon = 1.0

type demoOptions struct {
	orgs, cycles int
	seed         uint64
}

// seedDemo fills a database that has no cycles yet with a synthetic population, through
// the same ingest path real files take (CSV wide, as survey tools export). Earlier
// cycles are closed afterwards, as they would be in real life; the latest stays open.
func (a *app) seedDemo(ctx context.Context, db *warehouse.DB, o demoOptions) error {
	existing, err := db.ListCycles(ctx)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		fmt.Fprintf(a.stdout, "demo: database already has %d cycles; leaving it as it is\n", len(existing))
		return nil
	}
	start := time.Now()
	m := a.models.Latest()
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: o.orgs, Cycles: o.cycles, Seed: o.seed})
	if err != nil {
		return err
	}
	var inputs []ingest.Input
	for _, c := range pop.Cycles {
		if err := db.CreateCycle(ctx, warehouse.Cycle{ID: c, ModelVersion: m.Version, Epsilon: 5, Delta: 1e-6}); err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := fixtures.WriteCSVWide(&buf, m, pop.CycleSubmissions(c)); err != nil {
			return err
		}
		inputs = append(inputs, ingest.Input{Name: "demo-" + c + ".csv", Reader: &buf, Format: ingest.FormatCSVWide,
			Size: int64(buf.Len()), Source: "demo"})
	}
	report, err := ingest.Ingest(ctx, db, a.models, inputs, ingest.Options{})
	if err != nil {
		return err
	}
	if !report.OK() {
		return fmt.Errorf("demo population did not ingest cleanly: %s", report)
	}
	for _, c := range pop.Cycles[:len(pop.Cycles)-1] {
		if err := db.CloseCycle(ctx, c); err != nil {
			return err
		}
	}
	if err := db.Checkpoint(ctx); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "demo: %d organisations, %d submissions over cycles %v ingested in %s\n",
		len(pop.Orgs), report.Total.Accepted+report.Total.Superseded, pop.Cycles, time.Since(start).Round(time.Millisecond))
	// A first release per cycle, at a fifth of the cycle's budget, so that peer views
	// and findings have something to show.
	for _, c := range pop.Cycles {
		pub, err := privacy.Publish(ctx, db, a.models, privacy.Request{Cycle: c, Epsilon: demoReleaseEpsilon})
		if err != nil {
			return fmt.Errorf("release of cycle %s: %w", c, err)
		}
		fmt.Fprintf(a.stdout, "demo: published release %s (epsilon %g; %.4g left in the cycle)\n", pub.Release.ID, demoReleaseEpsilon, pub.Budget.EpsilonLeft)
	}
	return nil
}

// demoKeyLabel marks the keys serve --demo mints, so the next start can revoke them.
const demoKeyLabel = "demo"

// demoProviders is how many demo organisations get a provider key.
const demoProviders = 3

// printDemoKeys mints fresh demo keys (tokens are never stored, so the previous start's
// keys are revoked and replaced) and prints them with curl lines a newcomer can paste.
func (a *app) printDemoKeys(ctx context.Context, db *warehouse.DB, base string) error {
	old, err := db.ListKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range old {
		if k.Label == demoKeyLabel && !k.Revoked() {
			if _, err := db.RevokeKey(ctx, k.ID); err != nil {
				return err
			}
		}
	}
	cycles, err := db.ListCycles(ctx)
	if err != nil || len(cycles) == 0 {
		return err
	}
	latest := cycles[len(cycles)-1].ID
	scores, err := db.CurrentScores(ctx, latest)
	if err != nil {
		return err
	}
	type mint struct {
		role warehouse.Role
		org  string
	}
	mints := []mint{{warehouse.RoleAdmin, ""}, {warehouse.RoleResearcher, ""}, {warehouse.RoleAnalyst, ""}}
	for i := 0; i < demoProviders && i < len(scores); i++ {
		// Spread the providers over the population so their peer groups differ.
		mints = append(mints, mint{warehouse.RoleProvider, scores[i*len(scores)/demoProviders].OrgID})
	}
	fmt.Fprintf(a.stdout, "\ndemo API keys (minted at this start; shown once):\n")
	for _, mk := range mints {
		k, token, err := db.CreateKey(ctx, mk.role, mk.org, demoKeyLabel)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "\n  %s%s: %s\n", k.Role, orgSuffix(k.OrgID), token)
		for _, line := range api.CurlExamples(base, k.Role, token, latest) {
			fmt.Fprintf(a.stdout, "    %s\n", line)
		}
	}
	fmt.Fprintln(a.stdout)
	return nil
}
