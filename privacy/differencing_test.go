package privacy_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// TestDifferencingAttackPaysTwice plays the differencing attack: publish a release,
// add (or change) one organisation, and obtain a second release so that the difference
// of the two isolates the target. Every way of getting the second set of figures must
// be charged to the cycle's budget in full, so that the target's total privacy loss
// over all releases of the cycle never exceeds the budget the cycle was opened with:
//
//   - re-reading the first release returns the same bytes (no fresh noise to average,
//     and the late organisation is not in it);
//   - a second full release is refused when it does not fit, and a refused request
//     leaves no release, no ledger entry and no spent budget behind;
//   - a cheaper, narrower second release (national count only) fits and is charged;
//   - a release that was reserved but never published (a crash after noise was drawn)
//     keeps its charge, so re-rolling the noise is not free either.
func TestDifferencingAttackPaysTwice(t *testing.T) {
	ctx := context.Background()
	const budget = 1.5
	db, cycle := openWithPopulation(t, 600, budget)
	reg := model.MustBuiltin()
	m := reg.Latest()

	first, err := privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: 1})
	if err != nil {
		t.Fatal(err)
	}
	spent := func() warehouse.Budget {
		t.Helper()
		b, err := db.Budget(ctx, cycle)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := spent()
	if math.Abs(before.EpsilonSpent-1) > 1e-9 {
		t.Fatalf("first release charged %v, want 1", before.EpsilonSpent)
	}

	// The target joins the cycle after the first release: an extreme organisation, so
	// that an exact difference would be obvious.
	target := model.Submission{SchemaVersion: 1, ModelVersion: m.Version, Cycle: cycle,
		Organisation: model.Profile{ID: "TARGET-1", Name: "Target Hospital", State: "VT", Beds: 20, Type: "critical_access"},
		Answers:      map[string]model.Answer{}}
	for _, id := range m.CapabilityIDs() {
		target.Answers[id] = 4
	}
	keys, err := m.CohortKeysOf(target.Organisation)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, []warehouse.ScoredSubmission{{Submission: target, Keys: keys, Score: m.Assess(target.Answers), Source: "test"}}, false); err != nil {
		t.Fatal(err)
	}

	t.Run("re-reading the first release gives the same bytes", func(t *testing.T) {
		for range 5 {
			body, err := db.ReleaseBody(ctx, first.Release.ID)
			if err != nil || !bytes.Equal(body, first.Body) {
				t.Fatalf("release %s changed on re-read (%v)", first.Release.ID, err)
			}
		}
		if b := spent(); b != before {
			t.Fatalf("reading charged the budget: %+v, was %+v", b, before)
		}
	})

	t.Run("a second full release that does not fit is refused and leaves nothing", func(t *testing.T) {
		ledgerBefore := ledgerUnits(t, db, cycle)
		for _, req := range []privacy.Request{
			{Cycle: cycle, Epsilon: 1},
			{Cycle: cycle, Epsilon: 0.6, Split: privacy.DefaultSplit(privacy.National)},
			{Cycle: cycle, Epsilon: 0.6, Noise: privacy.Gaussian, Delta: 1e-7},
		} {
			_, err := privacy.Publish(ctx, db, reg, req)
			if model.ErrorKind(err) != model.KindBudgetExceeded {
				t.Fatalf("request %+v: %v, want a budget refusal", req, err)
			}
		}
		if b := spent(); b != before {
			t.Fatalf("refused requests changed the budget: %+v, was %+v", b, before)
		}
		if got := ledgerUnits(t, db, cycle); got != ledgerBefore {
			t.Fatalf("refused requests wrote ledger entries: %d units, was %d", got, ledgerBefore)
		}
		list, err := db.ListReleases(ctx, cycle)
		if err != nil || len(list) != 1 {
			t.Fatalf("releases after refusals: %+v %v", list, err)
		}
	})

	t.Run("a narrower second release is charged in full", func(t *testing.T) {
		narrow := []privacy.Allocation{{Partitioning: privacy.National, Family: privacy.FamilyCount, Weight: 1}}
		second, err := privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: 0.25, Split: narrow})
		if err != nil {
			t.Fatal(err)
		}
		b := spent()
		if math.Abs(b.EpsilonSpent-1.25) > 1e-9 || b.Releases != 2 {
			t.Fatalf("after the second release %+v, want 1.25 spent over 2 releases", b)
		}
		// The two national counts differ by the target plus noise of both releases; the
		// attacker learnt at most the sum of what both cost, which the ledger holds.
		n1, n2 := nationalCount(t, first.Release), nationalCount(t, second.Release)
		t.Logf("national noisy counts: %.1f without the target, %.1f with it (true difference 1)", n1, n2)
	})

	t.Run("a reserved but unpublished release keeps its charge", func(t *testing.T) {
		// The store fails after the noise is drawn, as a crash before publishing would.
		crashing := failingPublish{DB: db}
		_, err := privacy.Publish(ctx, crashing, reg, privacy.Request{Cycle: cycle, Epsilon: 0.25, Split: privacy.DefaultSplit(privacy.National)})
		if err == nil {
			t.Fatal("publishing through a failing store succeeded")
		}
		b := spent()
		if math.Abs(b.EpsilonLeft) > 1e-9 {
			t.Fatalf("after a release failed past its reservation the budget is %+v, want none left", b)
		}
		// Nothing remains for another try, however small.
		_, err = privacy.Publish(ctx, db, reg, privacy.Request{Cycle: cycle, Epsilon: privacy.MinCellEpsilon * 10,
			Split: []privacy.Allocation{{Partitioning: privacy.National, Family: privacy.FamilyCount, Weight: 1}}})
		if model.ErrorKind(err) != model.KindBudgetExceeded {
			t.Fatalf("a tiny release after the budget is gone: %v", err)
		}
	})

	// Whatever happened, the target's loss over every release is bounded by the budget.
	var total float64
	list, err := db.ListReleases(ctx, cycle)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		total += r.Epsilon
	}
	if total > budget+1e-9 {
		t.Fatalf("releases of the cycle add up to epsilon %v, above its budget %v", total, budget)
	}
}

// ledgerUnits adds up the ε units of every ledger entry of the cycle's releases.
func ledgerUnits(t *testing.T, db *warehouse.DB, cycle string) int64 {
	t.Helper()
	ctx := context.Background()
	list, err := db.ListReleases(ctx, cycle)
	if err != nil {
		t.Fatal(err)
	}
	var units int64
	for _, r := range list {
		entries, err := db.Ledger(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			units += e.EpsilonUnits
		}
	}
	return units
}

// nationalCount is the noisy organisation count of a release's national cohort, NaN
// when the cohort is suppressed.
func nationalCount(t *testing.T, r *privacy.Release) float64 {
	t.Helper()
	for _, c := range r.Cohorts {
		if c.Partitioning == privacy.National {
			if c.Count == nil { // suppressed: the count did not show enough peers
				return math.NaN()
			}
			return c.Count.Raw
		}
	}
	t.Fatalf("release %s has no national cohort", r.ID)
	return 0
}

// failingPublish is the warehouse with a PublishRelease that always fails, standing in
// for a process that dies between drawing the noise and storing the release.
type failingPublish struct{ *warehouse.DB }

func (failingPublish) PublishRelease(context.Context, string, []byte, []warehouse.ReleaseValue) error {
	return errors.New("simulated crash before the release is stored")
}
