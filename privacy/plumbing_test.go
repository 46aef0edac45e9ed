package privacy

import (
	"fmt"
	"math"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// expectedSensitivity is what every library noise call of a family must receive.
func expectedSensitivity(e CostEntry) (l0 int64, linf float64) {
	switch e.Family {
	case FamilyOverallMean, FamilyDomainMean:
		return e.L0, sumCentre
	case FamilyOverallQuantiles, FamilyDomainQuantiles:
		return e.L0 * TreeHeight, 1
	}
	return e.L0, 1
}

// Every noise call of every aggregator gets exactly its ledger entry's ε and δ, and the
// sensitivities the family is calibrated for; every entry is used and nothing else is.
func TestBudgetPlumbing(t *testing.T) {
	m := testModel()
	recs := population(m, 1500, 5)
	for _, req := range []Request{
		{Cycle: "c", Epsilon: 5, Split: FullSplit()},
		{Cycle: "c", Epsilon: 1},
		{Cycle: "c", Epsilon: 3, Noise: Gaussian, Delta: 1e-6, Split: FullSplit(National, BySize)},
	} {
		t.Run(fmt.Sprintf("%s/eps=%v", req.withDefaults().Noise, req.Epsilon), func(t *testing.T) {
			// Relaxed thresholds so that (nearly) every cohort runs every mechanism.
			plan := mustPlan(t, m, relaxed(req))
			inner, _ := libraryNoise(plan.Request.Noise)
			rs := newRecorders(inner)
			rel := buildRecorded(t, m, plan, recs, rs)
			var units, deltaUnits int64
			for _, e := range plan.Cost.Entries {
				units += e.EpsilonUnits
				deltaUnits += e.DeltaUnits
				r := rs.byKey[Allocation{Partitioning: e.Partitioning, Family: e.Family}]
				if r == nil || len(r.calls) == 0 {
					t.Fatalf("%s/%s: no aggregator used its entry", e.Partitioning, e.Family)
				}
				l0, linf := expectedSensitivity(e)
				for _, c := range r.calls {
					if c.eps != e.Epsilon || c.delta != e.Delta || c.l0 != l0 || c.linf != linf {
						t.Fatalf("%s/%s: call %+v, ledger ε=%v δ=%v l0=%d linf=%v", e.Partitioning, e.Family, c, e.Epsilon, e.Delta, l0, linf)
					}
				}
			}
			if len(rs.byKey) != len(plan.Cost.Entries) {
				t.Fatalf("%d cells drew noise, the ledger has %d entries", len(rs.byKey), len(plan.Cost.Entries))
			}
			if units != plan.Cost.EpsilonUnits || deltaUnits != plan.Cost.DeltaUnits {
				t.Fatalf("entries add up to %d/%d units, ledger total %d/%d", units, deltaUnits, plan.Cost.EpsilonUnits, plan.Cost.DeltaUnits)
			}
			// The mechanisms published with each cohort are the ledger's.
			for _, c := range rel.Cohorts {
				for _, mech := range c.Mechanisms {
					e, ok := plan.Cost.entry(c.Partitioning, mech.Family)
					l0, linf := expectedSensitivity(e)
					if mech.Family == FamilyOverallQuantiles || mech.Family == FamilyDomainQuantiles {
						l0 /= TreeHeight
					}
					if !ok || mech.Epsilon != e.Epsilon || mech.Delta != e.Delta || mech.L0 != l0 || mech.LInf != linf || mech.Noise != plan.Request.Noise {
						t.Fatalf("%s/%s published mechanism %+v for entry %+v", c.Partitioning, c.Key, mech, e)
					}
				}
			}
		})
	}
}

// The privacy loss one organisation actually incurs, added up over every noised value it
// contributes to (ε·|x|/(l0·linf) for each), equals the ledger's total: nothing is charged
// that is not spent, and nothing is spent that is not charged. A single organisation with
// every answer at the top level makes each contribution reach its sensitivity bound, and
// noise-free recorders make every value it touched nonzero and every other value zero.
func TestPerOrganisationLossEqualsCost(t *testing.T) {
	m := testModel()
	top := model.Answer(m.Scale.Max)
	org := uniformRecord(m, "ONLY", model.CohortKeys{SizeBand: "300-499", Region: "midwest", OrgType: "academic"}, top)
	if org.Index != IndexMax || org.Posture != m.MaxPosture() {
		t.Fatalf("top record scored %v / %d", org.Index, org.Posture)
	}
	for _, split := range [][]Allocation{FullSplit(), DefaultSplit()} {
		plan := mustPlan(t, m, relaxed(Request{Cycle: "c", Epsilon: 1, Split: split}))
		rs := newRecorders(nil)
		rel := buildRecorded(t, m, plan, []Record{org}, rs)
		published := 0
		for _, c := range rel.Cohorts {
			if !c.Suppressed {
				published++
			}
		}
		if published != len(plan.Cost.Partitionings()) {
			t.Fatalf("%d cohorts published, want the organisation's one per partitioning", published)
		}
		var total float64
		for _, e := range plan.Cost.Entries {
			var loss float64
			for _, c := range rs.byKey[Allocation{Partitioning: e.Partitioning, Family: e.Family}].calls {
				if c.x != 0 {
					loss += c.eps * math.Abs(c.x) / (float64(c.l0) * c.linf)
				}
			}
			if math.Abs(loss-e.Epsilon) > 1e-12 {
				t.Errorf("%s/%s: the organisation loses ε=%v, the ledger charges %v", e.Partitioning, e.Family, loss, e.Epsilon)
			}
			total += loss
		}
		if math.Abs(total-plan.Cost.Epsilon) > 1e-9 {
			t.Fatalf("the organisation loses ε=%v in total, the ledger charges %v", total, plan.Cost.Epsilon)
		}
	}
}

// The noise-free build is exact: it checks the build's arithmetic (tallies, sums, shares,
// means, quantiles) separately from the noise.
func TestNoiseFreeBuildIsExact(t *testing.T) {
	m := testModel()
	recs := population(m, 400, 9)
	plan := mustPlan(t, m, relaxed(Request{Cycle: "c", Epsilon: 1, Split: FullSplit(National)}))
	rel := buildRecorded(t, m, plan, recs, newRecorders(nil))
	c := rel.Cohorts[0]
	if c.Count.Value != 400 || c.Count.Low != 400 || c.Count.High != 400 {
		t.Fatalf("count %+v", c.Count)
	}
	var posture [5]float64
	var sum float64
	for _, r := range recs {
		posture[r.Posture]++
		sum += math.Round(r.Index*100) / 100
	}
	for k, b := range c.Posture.Buckets {
		if b.Count.Value != posture[k] || math.Abs(b.Share.Value-posture[k]/400) > 1e-4 {
			t.Fatalf("posture %d: %+v, want %v", k, b, posture[k])
		}
	}
	if got := c.OverallMean.Estimate.Value; math.Abs(got-sum/400) > 1e-4 {
		t.Fatalf("mean %v, want %v", got, sum/400)
	}
	// Capability shares add up to one and match the tallies.
	for ci, cs := range c.Capabilities {
		tally := map[string]float64{}
		for _, r := range recs {
			tally[newLayout(m).capBuckets[ci][newLayout(m).answerBucket(r.Answers[ci])]]++
		}
		var s float64
		for _, b := range cs.Answers.Buckets {
			s += b.Share.Value
			if b.Count.Value != tally[b.Level] {
				t.Fatalf("%s %s: %v, want %v", cs.Capability, b.Level, b.Count.Value, tally[b.Level])
			}
		}
		if math.Abs(s-1) > 1e-3 {
			t.Fatalf("%s shares add up to %v", cs.Capability, s)
		}
	}
	// Quantiles from a noise-free tree sit within one leaf of the exact quantile.
	xs := make([]float64, len(recs))
	for i, r := range recs {
		xs[i] = r.Index
	}
	for _, p := range c.OverallQuantiles.Points {
		if q := exactQuantile(xs, p.Rank); math.Abs(p.Value-q) > leafWidth {
			t.Fatalf("p%v = %v, exact %v", p.Rank, p.Value, q)
		}
	}
}
