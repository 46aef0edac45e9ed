package privacy_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// openWithPopulation stores a synthetic population in a real DuckDB file and returns it.
func openWithPopulation(t *testing.T, orgs int, epsilon float64) (*warehouse.DB, string) {
	t.Helper()
	ctx := context.Background()
	reg := model.MustBuiltin()
	m := reg.Latest()
	db, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "wh.duckdb"), reg, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: orgs, Cycles: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	cycle := pop.Cycles[0]
	if err := db.CreateCycle(ctx, warehouse.Cycle{ID: cycle, ModelVersion: m.Version, Epsilon: epsilon, Delta: 1e-6}); err != nil {
		t.Fatal(err)
	}
	subs, err := warehouse.ScoreAll(m, pop.Submissions, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, subs, true); err != nil {
		t.Fatal(err)
	}
	return db, cycle
}

func TestUnitsAgreeWithLedger(t *testing.T) {
	if privacy.EpsilonUnit != warehouse.EpsilonUnit || privacy.DeltaUnit != warehouse.DeltaUnit {
		t.Fatal("privacy and warehouse must add budgets in the same units")
	}
}

func TestPublishStoresOnceAndCharges(t *testing.T) {
	ctx := context.Background()
	db, cycle := openWithPopulation(t, 1500, 2)
	reg := model.MustBuiltin()

	pub, err := privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: 1})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Release.ID != cycle+"-r001" || pub.Budget.EpsilonLeft < 0.999999 || pub.Budget.EpsilonLeft > 1.000001 {
		t.Fatalf("release %s, budget %+v", pub.Release.ID, pub.Budget)
	}
	// Served byte for byte, every time, and nothing recomputes noise on read.
	for range 3 {
		body, err := db.ReleaseBody(ctx, pub.Release.ID)
		if err != nil || !bytes.Equal(body, pub.Body) {
			t.Fatalf("stored body differs (%v)", err)
		}
	}
	// The ledger adds up to the release's cost.
	entries, err := db.Ledger(ctx, pub.Release.ID)
	if err != nil {
		t.Fatal(err)
	}
	var units int64
	for _, e := range entries {
		units += e.EpsilonUnits
	}
	if units != pub.Release.Cost.EpsilonUnits || len(entries) != len(pub.Release.Cost.Entries) {
		t.Fatalf("ledger %d units in %d entries, cost %d in %d", units, len(entries), pub.Release.Cost.EpsilonUnits, len(pub.Release.Cost.Entries))
	}
	// Publishing the same release again is refused: a correction is a new release.
	if err := db.PublishRelease(ctx, pub.Release.ID, []byte("{}"), nil); model.ErrorKind(err) != model.KindConflict {
		t.Fatalf("republish: %v", err)
	}
	// Late submissions do not change a published release.
	m := reg.Latest()
	late := model.Submission{SchemaVersion: 1, ModelVersion: m.Version, Cycle: cycle,
		Organisation: model.Profile{ID: "LATE-1", State: "VT", Beds: 20, Type: "critical_access"}, Answers: map[string]model.Answer{}}
	for _, id := range m.CapabilityIDs() {
		late.Answers[id] = 4
	}
	keys, _ := m.CohortKeysOf(late.Organisation)
	if _, err := db.Commit(ctx, []warehouse.ScoredSubmission{{Submission: late, Keys: keys, Score: m.Assess(late.Answers)}}, false); err != nil {
		t.Fatal(err)
	}
	if body, _ := db.ReleaseBody(ctx, pub.Release.ID); !bytes.Equal(body, pub.Body) {
		t.Fatal("a late submission changed a published release")
	}
	// The stored body decodes to the same release.
	back, err := privacy.Decode(pub.Body)
	if err != nil || back.ID != pub.Release.ID || len(back.Cohorts) != len(pub.Release.Cohorts) {
		t.Fatalf("decode: %v", err)
	}

	// A second release fits exactly; a third does not, and says what is left.
	if _, err := privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: 0.5})
	if model.ErrorKind(err) != model.KindBudgetExceeded || !strings.Contains(err.Error(), "has only epsilon 0 and delta") {
		t.Fatalf("over budget: %v", err)
	}
	list, err := db.ListReleases(ctx, cycle)
	if err != nil || len(list) != 2 || list[0].Status != warehouse.ReleasePublished || list[0].SHA256 == "" {
		t.Fatalf("list %+v %v", list, err)
	}
}

func TestConcurrentReleasesNeverOverspend(t *testing.T) {
	ctx := context.Background()
	db, cycle := openWithPopulation(t, 400, 1.5)
	reg := model.MustBuiltin()
	const racers = 4
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, errs[i] = privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: 1})
		})
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case model.ErrorKind(err) == model.KindBudgetExceeded:
			refused++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 || refused != racers-1 {
		t.Fatalf("%d published, %d refused; want 1 and %d", ok, refused, racers-1)
	}
	b, err := db.Budget(ctx, cycle)
	if err != nil || b.EpsilonSpent > 1.5 || b.Releases != 1 {
		t.Fatalf("budget %+v %v", b, err)
	}
}
