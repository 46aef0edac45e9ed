package privacy

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/differential-privacy/go/v3/noise"
	"github.com/hcztmm/warehouse/model"
)

// groupRecords makes n organisations sharing one set of cohort keys, with answers spread
// over the levels so that no histogram bucket holds the whole group.
func groupRecords(m *model.Model, prefix string, n int, keys model.CohortKeys) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = uniformRecord(m, fmt.Sprintf("%s-%04d", prefix, i), keys, model.Answer(i%(m.Scale.Max+1)))
	}
	return out
}

// A cohort of three organisations is never published: not under the default plan, not
// under plans that spend far more on the count, and not in 100,000 decisions of the
// production suppression rule at a large ε. Large cohorts in the same releases are
// published, so the test does not pass by suppressing everything.
func TestCohortOfThreeNeverPublished(t *testing.T) {
	m := testModel()
	small := model.CohortKeys{SizeBand: "300-499", Region: "northeast", OrgType: "academic"}
	big := model.CohortKeys{SizeBand: "100-299", Region: "south", OrgType: "community"}
	recs := append(groupRecords(m, "S", 3, small), groupRecords(m, "B", 600, big)...)
	runs := 30
	if testing.Short() {
		runs = 10
	}
	for _, eps := range []float64{1, 5, 10} {
		plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: eps})
		bigPublished := 0
		for range runs {
			rel := mustBuild(t, m, plan, recs)
			for _, c := range rel.Cohorts {
				switch {
				case c.Partitioning == National:
				case c.Key == keyOf(c.Partitioning, small):
					if !c.Suppressed || c.Reason != ReasonNotEnoughPeers || c.Count != nil {
						t.Fatalf("ε=%v: cohort of 3 (%s/%s) published: %+v", eps, c.Partitioning, c.Key, c)
					}
				case c.Partitioning == BySizeRegion && c.Key == keyOf(BySizeRegion, big):
					if !c.Suppressed {
						bigPublished++
					}
				}
			}
		}
		if bigPublished < runs*9/10 {
			t.Fatalf("ε=%v: the cohort of 600 was published in only %d of %d runs", eps, bigPublished, runs)
		}
	}
	// The rule itself, at a count ε of 1 (noise scale 1): P(publish | n=3) ≈ 1e-6·e^-7.
	decisions := 30000
	if testing.Short() {
		decisions = 3000
	}
	b := &builder{req: Request{PublicationThreshold: DefaultPublicationThreshold, SuppressionRisk: DefaultSuppressionRisk}}
	c := newCell(CostEntry{Family: FamilyCount, Epsilon: 1, L0: 1}, Laplace, noise.Laplace())
	for i := range decisions {
		agg, err := c.count()
		if err != nil {
			t.Fatal(err)
		}
		agg.IncrementBy(3)
		raw, _ := agg.Result()
		ok, err := b.publishable(measured{raw: float64(raw), ci: countCI(agg.ComputeConfidenceInterval)})
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Fatalf("decision %d: a cohort of 3 with noisy count %d was published", i, raw)
		}
	}
}

// The suppression risk means what it says: for a cohort just below the threshold the
// rule publishes about as rarely as SuppressionRisk allows, and for a cohort far above it
// almost always. Checked at a risk large enough to measure.
func TestSuppressionRiskIsCalibrated(t *testing.T) {
	const risk, runs = 0.05, 4000
	b := &builder{req: Request{PublicationThreshold: 10, SuppressionRisk: risk}}
	c := newCell(CostEntry{Family: FamilyCount, Epsilon: 0.5, L0: 1}, Laplace, noise.Laplace())
	rate := func(n int64) float64 {
		k := 0
		for range runs {
			agg, _ := c.count()
			agg.IncrementBy(n)
			raw, _ := agg.Result()
			if ok, _ := b.publishable(measured{raw: float64(raw), ci: countCI(agg.ComputeConfidenceInterval)}); ok {
				k++
			}
		}
		return float64(k) / runs
	}
	if r := rate(9); r > risk+3*math.Sqrt(risk*(1-risk)/runs) {
		t.Errorf("a cohort of 9 was published in %.1f%% of runs, risk %v", 100*r, risk)
	}
	if r := rate(40); r < 0.95 {
		t.Errorf("a cohort of 40 was published in only %.1f%% of runs", 100*r)
	}
}

// leakedSizes decodes a stored release and lists the exact cohort sizes it reveals: a
// cohort whose count figure (value, raw, or an interval end) equals its exact size, or
// whose histogram buckets' raw counts add up to it (an un-noised total in disguise).
func leakedSizes(t *testing.T, data []byte, exact map[Partitioning]map[Key]int) map[int]bool {
	t.Helper()
	rel, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]bool{}
	for _, c := range rel.Cohorts {
		n, ok := exact[c.Partitioning][c.Key]
		if !ok || c.Suppressed {
			continue
		}
		f := float64(n)
		if c.Count.Value == f || c.Count.Raw == f || c.Count.Low == f || c.Count.High == f {
			out[n] = true
		}
		hists := []*Histogram{c.Posture}
		for _, d := range c.Domains {
			hists = append(hists, d.Posture)
		}
		for _, cs := range c.Capabilities {
			hists = append(hists, cs.Answers)
		}
		for _, h := range hists {
			if h == nil || h.Withheld {
				continue
			}
			var sum float64
			for _, b := range h.Buckets {
				sum += b.Count.Raw
			}
			if sum == f {
				out[n] = true
			}
		}
	}
	return out
}

// The exact size of a cohort never appears in a release. Cohorts of 37, 113 and 251
// organisations (401 nationally) are built so that every partitioning has cohorts of
// exactly these sizes, and are published. A noisy count equals the exact one by chance
// now and then, so the test counts in how many releases each exact size shows up: a leak
// shows it in every release, the noise in a minority. The detector is first shown to
// catch a planted leak, and runs on the stored bytes, not on the Go value.
func TestExactCountNeverPublished(t *testing.T) {
	m := testModel()
	groups := []struct {
		n    int
		keys model.CohortKeys
	}{
		{37, model.CohortKeys{SizeBand: "lt25", Region: "northeast", OrgType: "critical_access"}},
		{113, model.CohortKeys{SizeBand: "100-299", Region: "south", OrgType: "community"}},
		{251, model.CohortKeys{SizeBand: "500plus", Region: "west", OrgType: "health_system"}},
	}
	var recs []Record
	for i, g := range groups {
		recs = append(recs, groupRecords(m, fmt.Sprint("G", i), g.n, g.keys)...)
	}
	exact := map[Partitioning]map[Key]int{}
	sizes := map[int]bool{}
	for _, p := range Partitionings() {
		exact[p] = map[Key]int{}
		for k, n := range cohortSizes(m, p, recs) {
			if n > 0 {
				exact[p][k] = n
				sizes[n] = true
			}
		}
	}
	if len(sizes) != 4 {
		t.Fatalf("cohort sizes %v, want 37, 113, 251 and 401", sizes)
	}
	// Publish on the plain noisy-count rule so that even the cohort of 37 is published,
	// with noise wide enough that coincidences stay rare.
	// Every family that publishes counts, in every partitioning; the 40-capability family
	// nationally only, and no quantile trees (they hold no counts), to keep the test fast.
	var split []Allocation
	for _, a := range FullSplit() {
		switch {
		case a.Family == FamilyOverallQuantiles, a.Family == FamilyDomainQuantiles:
		case a.Family == FamilyCapability && a.Partitioning != National:
		default:
			split = append(split, a)
		}
	}
	req := relaxed(Request{Cycle: "c", Epsilon: 1, Split: split})
	req.PublicationThreshold = 10
	plan := mustPlan(t, m, req)

	// The detector catches a release that carries an exact count, in the count or as a
	// histogram total.
	rel := mustBuild(t, m, plan, recs)
	for _, plant := range []func(c *Cohort){
		func(c *Cohort) { c.Count = &Figure{Value: 37, Raw: 40, Low: 20, High: 60} },
		func(c *Cohort) {
			c.Posture = &Histogram{Buckets: []Bucket{{Level: "0", Count: Figure{Raw: 30}}, {Level: "1", Count: Figure{Raw: 7}}}}
		},
	} {
		leaky := *rel
		leaky.Cohorts = append([]Cohort(nil), rel.Cohorts...)
		for i := range leaky.Cohorts {
			if c := &leaky.Cohorts[i]; c.Partitioning == BySize && c.Key.SizeBand == "lt25" {
				c.Suppressed, c.Count = false, &Figure{Value: 50}
				plant(c)
			}
		}
		data, err := leaky.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !leakedSizes(t, data, exact)[37] {
			t.Fatal("detector misses a planted exact count")
		}
	}

	runs := 24
	if testing.Short() {
		runs = 8
	}
	seen := map[int]int{}
	published := 0
	for range runs {
		rel := mustBuild(t, m, plan, recs)
		data, err := rel.Encode()
		if err != nil {
			t.Fatal(err)
		}
		for n := range leakedSizes(t, data, exact) {
			seen[n]++
		}
		for _, c := range rel.Cohorts {
			if _, ok := exact[c.Partitioning][c.Key]; ok && !c.Suppressed {
				published++
			}
		}
		for _, row := range rel.Values() {
			if row.Metric == MetricCohort && row.Value != nil {
				t.Fatal("a suppressed cohort row carries a value")
			}
		}
	}
	for n := range sizes {
		if seen[n] > runs/2 {
			t.Errorf("exact size %d shows in %d of %d releases", n, seen[n], runs)
		}
	}
	if published < runs*len(sizes) {
		t.Fatalf("only %d populated cohorts were published in %d runs: the test would be vacuous", published, runs)
	}
}
