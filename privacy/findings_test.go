package privacy

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// Test-only samplers: these check our interval arithmetic against simulation. No
// production code draws noise (privacy does, with the library).
func laplace(r *rand.Rand, b float64) float64 {
	u := r.Float64() - 0.5
	return -b * math.Copysign(math.Log(1-2*math.Abs(u)), u)
}

func TestLaplaceSumTailOfOneIsTheLaplaceTail(t *testing.T) {
	for _, u := range []float64{0, 0.5, 1, 3, 7.2} {
		if got, want := laplaceSumTail(1, u), math.Exp(-u)/2; math.Abs(got-want) > 1e-12 {
			t.Errorf("tail(1, %v) = %v, want %v", u, got, want)
		}
	}
	// k = 1 at α = 0.05 is the library's own count interval: b·ln(1/α).
	if got, want := laplaceSumQuantile(1, 0.05), math.Log(20); math.Abs(got-want) > 1e-9 {
		t.Errorf("quantile(1, 0.05) = %v, want %v", got, want)
	}
}

func TestLaplaceSumTailMatchesSimulation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 400000
	for _, k := range []int{2, 3, 5} {
		for _, alpha := range []float64{0.05, 0.01} {
			u := laplaceSumQuantile(k, alpha)
			out := 0
			for range n {
				var s float64
				for range k {
					s += laplace(r, 1)
				}
				if math.Abs(s) > u {
					out++
				}
			}
			got := float64(out) / n
			if math.Abs(got-alpha) > 4*math.Sqrt(alpha*(1-alpha)/n)+1e-4 {
				t.Errorf("k=%d α=%v: simulated tail %.5f", k, alpha, got)
			}
		}
	}
}

// Our half-widths for one bucket reproduce the intervals the library put in the stored
// release (up to its rounding to whole organisations).
func TestNoiseHalfWidthMatchesTheReleasedIntervals(t *testing.T) {
	m := testModel()
	rel := mustBuild(t, m, mustPlan(t, m, Request{Cycle: "2026", Epsilon: 1}), population(m, 3000, 7))
	nat, _ := rel.Cohort(National, Key{})
	alpha := 1 - rel.Request.Confidence
	capMech, _ := nat.Mechanism(FamilyCapability)
	countMech, _ := nat.Mechanism(FamilyCount)
	w := noiseHalfWidth(capMech, 1, alpha)
	checked := 0
	for _, cs := range nat.Capabilities {
		for _, b := range cs.Answers.Buckets {
			if b.Count.Raw < w {
				continue // near zero the library clips its interval at 0; compare only away from it
			}
			if got := b.Count.High - b.Count.Raw; math.Abs(got-w) > 1.01 {
				t.Fatalf("%s bucket %s: library half-width %v, ours %v", cs.Capability, b.Level, got, w)
			}
			checked++
		}
	}
	if got, want := nat.Count.High-nat.Count.Raw, noiseHalfWidth(countMech, 1, alpha); math.Abs(got-want) > 1.01 {
		t.Fatalf("count: library half-width %v, ours %v", got, want)
	}
	if checked < 40 {
		t.Fatalf("only %d buckets checked", checked)
	}
}

// simCohort builds a cohort as a release would publish it: raw noisy counts per answer
// bucket and for the cohort, from true counts and the given noise.
func simCohort(r *rand.Rand, kind NoiseKind, capScale, countScale float64, truth map[string]int) *Cohort {
	n := 0
	for _, c := range truth {
		n += c
	}
	draw := func(b float64) float64 {
		if kind == Gaussian {
			return r.NormFloat64() * b
		}
		return laplace(r, b)
	}
	count := float64(n) + math.Round(draw(countScale))
	var buckets []Bucket
	var sum float64
	for _, lvl := range []string{"0", "1", "2", "3", "4", "unknown", "na"} {
		raw := float64(truth[lvl]) + math.Round(draw(capScale))
		buckets = append(buckets, Bucket{Level: lvl, Count: Figure{Raw: raw, Value: math.Max(raw, 0)}})
		sum += math.Max(raw, 0)
	}
	for i := range buckets {
		buckets[i].Share.Value = buckets[i].Count.Value / math.Max(sum, 1)
	}
	return &Cohort{Partitioning: National,
		Count:        &Figure{Raw: count, Value: math.Max(count, 0)},
		Capabilities: []CapStat{{Capability: "VDT-02", Answers: &Histogram{Buckets: buckets}}},
		Mechanisms: []Mechanism{
			{Family: FamilyCount, Noise: kind, NoiseScale: countScale},
			{Family: FamilyCapability, Noise: kind, NoiseScale: capScale},
		}}
}

// The gap share's interval covers the true share at least as often as it promises,
// with Laplace and Gaussian noise, small and large cohorts, with and without "na".
func TestFindingShareIntervalCovers(t *testing.T) {
	m := testModel()
	f := model.Finding{ID: "dynamic_trust", Capability: "VDT-02", AtOrBelow: 1}
	cases := []struct {
		name                 string
		kind                 NoiseKind
		capScale, countScale float64
		truth                map[string]int
	}{
		{"laplace national", Laplace, 250, 100, map[string]int{"0": 900, "1": 2400, "2": 1800, "3": 600, "4": 100, "unknown": 200}},
		{"laplace small", Laplace, 20, 8, map[string]int{"0": 40, "1": 70, "2": 50, "3": 10, "4": 2, "unknown": 8}},
		{"laplace with na", Laplace, 40, 15, map[string]int{"0": 100, "1": 300, "2": 250, "3": 40, "4": 5, "unknown": 20, "na": 120}},
		{"gaussian", Gaussian, 30, 10, map[string]int{"0": 300, "1": 500, "2": 400, "3": 90, "4": 10, "unknown": 30, "na": 60}},
	}
	r := rand.New(rand.NewPCG(3, 4))
	const trials = 4000
	for _, c := range cases {
		applicable, gap := 0, 0
		for lvl, n := range c.truth {
			if lvl != "na" {
				applicable += n
			}
			if lvl == "0" || lvl == "1" || lvl == "unknown" {
				gap += n
			}
		}
		truth := float64(gap) / float64(applicable)
		covered := 0
		var width float64
		for range trials {
			g := FindingShare(m, simCohort(r, c.kind, c.capScale, c.countScale, c.truth), f, 0.95)
			if g.Withheld != "" {
				t.Fatalf("%s: withheld: %s", c.name, g.Withheld)
			}
			if g.Low <= truth && truth <= g.High {
				covered++
			}
			width += g.High - g.Low
		}
		rate := float64(covered) / trials
		if rate < 0.95 {
			t.Errorf("%s: interval covered the true share in %.1f%% of trials, promised 95%%", c.name, rate*100)
		}
		t.Logf("%s: coverage %.1f%%, mean width %.1f points", c.name, rate*100, width/trials*100)
	}
}

func TestFindingShareSaysWhyItIsMissing(t *testing.T) {
	m := testModel()
	f := m.Findings[0]
	for name, c := range map[string]*Cohort{
		"suppressed": {Suppressed: true, Reason: ReasonNotEnoughPeers},
		"no family":  {Count: &Figure{Value: 100}},
		"withheld": {Count: &Figure{Value: 20}, Capabilities: []CapStat{{Capability: f.Capability,
			Answers: &Histogram{Withheld: true, Reason: ReasonTooFewForEstimate}}}},
	} {
		if g := FindingShare(m, c, f, 0.95); g.Withheld == "" {
			t.Errorf("%s: no reason given", name)
		}
	}
	// The buckets summed follow the model: levels 0..at_or_below and unknown.
	r := rand.New(rand.NewPCG(5, 6))
	g := FindingShare(m, simCohort(r, Laplace, 1, 1, map[string]int{"0": 10, "1": 10, "2": 10}), model.Finding{Capability: "VDT-02", AtOrBelow: 2}, 0.95)
	want := []string{"0", "1", "2", "unknown"}
	if len(g.Buckets) != len(want) {
		t.Fatalf("buckets %v, want %v", g.Buckets, want)
	}
	for i := range want {
		if g.Buckets[i] != want[i] {
			t.Fatalf("buckets %v, want %v", g.Buckets, want)
		}
	}
}
