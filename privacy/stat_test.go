package privacy

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/google/differential-privacy/go/v3/noise"
)

// Statistical tests. The library draws from crypto/rand and cannot be seeded, so these
// tests run the production path many times on fixed data and compare the distribution of
// the noise with what the ledger says it must be. Tolerances follow the library's own
// tests (research/dp.md §5): 4.41717 standard errors for mean and variance, and the
// Kolmogorov-Smirnov critical value 2.23/√n (α ≈ 1e-4). Each test also shows that the same
// assertions fail for noise that is missing or calibrated for 2ε.

const zTol = 4.41717

// exactQuantile is the smallest x with F(x) ≥ r (test reference).
func exactQuantile(xs []float64, r float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(r*float64(len(s)))) - 1
	return s[max(k, 0)]
}

// intNoise describes the distribution of the integer noise a count or an integer sum
// gets: the library rounds a (finely discretised) Laplace or Gaussian sample.
type intNoise struct {
	cdf      func(k float64) float64 // P(noise ≤ k) for integer k
	variance float64
	kurtosis float64 // E[X⁴]/σ⁴: 6 for Laplace, 3 for Gaussian
}

func laplaceIntNoise(b float64) intNoise {
	cdf := func(x float64) float64 { // continuous Laplace CDF
		if x < 0 {
			return 0.5 * math.Exp(x/b)
		}
		return 1 - 0.5*math.Exp(-x/b)
	}
	return intNoise{cdf: func(k float64) float64 { return cdf(k + 0.5) }, variance: 2*b*b + 1.0/12, kurtosis: 6}
}

func gaussianIntNoise(sigma float64) intNoise {
	return intNoise{cdf: func(k float64) float64 { return 0.5 * math.Erfc(-(k+0.5)/(sigma*math.Sqrt2)) },
		variance: sigma*sigma + 1.0/12, kurtosis: 3}
}

// checkNoise returns the assertions the residuals (noisy − true) fail.
func checkNoise(res []float64, want intNoise) []string {
	n := float64(len(res))
	var mean, m2 float64
	for _, x := range res {
		mean += x
	}
	mean /= n
	for _, x := range res {
		m2 += (x - mean) * (x - mean)
	}
	v := m2 / (n - 1)
	var fails []string
	if math.Abs(mean) > zTol*math.Sqrt(want.variance/n) {
		fails = append(fails, fmt.Sprintf("mean %.3f, tolerance %.3f", mean, zTol*math.Sqrt(want.variance/n)))
	}
	if tol := zTol * math.Sqrt(want.kurtosis-1) * want.variance / math.Sqrt(n); math.Abs(v-want.variance) > tol {
		fails = append(fails, fmt.Sprintf("variance %.1f, want %.1f ± %.1f", v, want.variance, tol))
	}
	// Kolmogorov-Smirnov against the discrete distribution: compare both sides of every
	// jump of the empirical CDF.
	s := append([]float64(nil), res...)
	sort.Float64s(s)
	var d float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		below, upto := float64(i)/n, float64(j)/n
		d = math.Max(d, math.Max(math.Abs(upto-want.cdf(s[i])), math.Abs(below-want.cdf(s[i]-1))))
		i = j
	}
	if d > 2.23/math.Sqrt(n) {
		fails = append(fails, fmt.Sprintf("KS distance %.4f > %.4f", d, 2.23/math.Sqrt(n)))
	}
	return fails
}

// TestNoiseIsCorrectlyScaled runs the production Build on fixed data and checks that the
// raw noisy counts and sums of every family are unbiased and have exactly the spread the
// ledger's ε implies. Mutation checks: with the noise removed, or calibrated for 2ε, the
// same assertions fail.
func TestNoiseIsCorrectlyScaled(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical test")
	}
	m := testModel()
	recs := population(m, 600, 11)
	var split []Allocation
	for _, f := range []Family{FamilyCount, FamilyPosture, FamilyOverallMean, FamilyDomainPosture, FamilyDomainMean, FamilyCapability} {
		split = append(split, Allocation{National, f, 1})
	}
	for _, kind := range []NoiseKind{Laplace, Gaussian} {
		t.Run(string(kind), func(t *testing.T) {
			req := Request{Cycle: "c", Epsilon: 3, Split: split}
			runs := 80
			if kind == Gaussian {
				req.Noise, req.Delta, runs = Gaussian, 1e-6, 40
			}
			plan := mustPlan(t, m, req)
			l := newLayout(m)
			D, C := len(m.Domains), len(l.capIDs)
			truth := map[string]float64{}
			var overallSum float64
			domSum := make([]float64, D)
			for _, r := range recs {
				truth[fmt.Sprint("p", r.Posture)]++
				overallSum += float64(centred(r.Index))
				for d, dv := range r.Domains {
					truth[fmt.Sprint("d", d, "/", dv.Posture)]++
					domSum[d] += float64(centred(dv.Index))
				}
				for c, a := range r.Answers {
					truth[fmt.Sprint("c", c, "/", l.capBuckets[c][l.answerBucket(a)])]++
				}
			}
			res := map[Family][]float64{}
			for range runs {
				c := mustBuild(t, m, plan, recs).Cohorts[0]
				if c.Suppressed {
					t.Fatal("national cohort of 600 suppressed")
				}
				res[FamilyCount] = append(res[FamilyCount], c.Count.Raw-float64(len(recs)))
				for k, b := range c.Posture.Buckets {
					res[FamilyPosture] = append(res[FamilyPosture], b.Count.Raw-truth[fmt.Sprint("p", k)])
				}
				res[FamilyOverallMean] = append(res[FamilyOverallMean], *c.OverallMean.RawSum-overallSum)
				for d, ds := range c.Domains {
					res[FamilyDomainMean] = append(res[FamilyDomainMean], *ds.Mean.RawSum-domSum[d])
					for _, b := range ds.Posture.Buckets {
						res[FamilyDomainPosture] = append(res[FamilyDomainPosture], b.Count.Raw-truth[fmt.Sprint("d", d, "/", b.Level)])
					}
				}
				for ci, cs := range c.Capabilities {
					for _, b := range cs.Answers.Buckets {
						res[FamilyCapability] = append(res[FamilyCapability], b.Count.Raw-truth[fmt.Sprint("c", ci, "/", b.Level)])
					}
				}
				_ = C
			}
			for f, r := range res {
				e, _ := plan.Cost.entry(National, f)
				l0, linf := expectedSensitivity(e)
				want := func(eps float64) intNoise {
					if kind == Gaussian {
						return gaussianIntNoise(noise.SigmaForGaussian(l0, linf, eps, e.Delta))
					}
					return laplaceIntNoise(float64(l0) * linf / eps)
				}
				if fails := checkNoise(r, want(e.Epsilon)); len(fails) > 0 {
					t.Errorf("%s (%d samples): %v", f, len(r), fails)
				}
				if len(r) < 2000 {
					continue // too few samples for the mutation checks to be sure to fail
				}
				if fails := checkNoise(make([]float64, len(r)), want(e.Epsilon)); len(fails) == 0 {
					t.Errorf("%s: a series without noise passes the checks", f)
				}
				n, _ := libraryNoise(kind)
				mut := make([]float64, len(r))
				for i := range mut {
					v, err := n.AddNoiseInt64(0, l0, int64(linf), 2*e.Epsilon, e.Delta)
					if err != nil {
						t.Fatal(err)
					}
					mut[i] = float64(v)
				}
				if fails := checkNoise(mut, want(e.Epsilon)); len(fails) == 0 {
					t.Errorf("%s: a series calibrated for 2ε passes the checks", f)
				}
			}
		})
	}
}

// TestCountPrivacyLossBound is a distinguisher on neighbouring cohorts (10 and 11
// organisations) through the production count constructor: for the tail event
// {output ≥ 12}, where Laplace noise meets the bound exactly, the probability ratio must
// stay within e^ε (10% slack: 4.4 standard errors at 20,000 samples). A count calibrated
// for 2ε (ratio e^2ε), or a count without noise, breaks the bound.
func TestCountPrivacyLossBound(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical test")
	}
	const eps, slack = 1.0, 1.10
	ratio := func(c cell, samples int) float64 {
		hits := func(n int64) float64 {
			k := 0
			for range samples {
				agg, err := c.count()
				if err != nil {
					t.Fatal(err)
				}
				agg.IncrementBy(n)
				v, _ := agg.Result()
				if v >= 12 {
					k++
				}
			}
			return float64(k)
		}
		a, b := hits(11), hits(10)
		if b == 0 {
			return math.Inf(1)
		}
		return a / b
	}
	entry := CostEntry{Family: FamilyCount, Epsilon: eps, L0: 1}
	if r := ratio(newCell(entry, Laplace, noise.Laplace()), 20000); r > math.Exp(eps)*slack {
		t.Errorf("privacy loss ratio %.3f exceeds e^ε = %.3f", r, math.Exp(eps))
	}
	over := entry
	over.Epsilon = 2 * eps
	if r := ratio(newCell(over, Laplace, noise.Laplace()), 5000); r <= math.Exp(eps)*slack {
		t.Errorf("a count calibrated for 2ε passes: ratio %.3f", r)
	}
	if r := ratio(newCell(entry, Laplace, &recorder{}), 100); r <= math.Exp(eps)*slack {
		t.Errorf("a count without noise passes: ratio %.3f", r)
	}
}

// TestIntervalsCover checks by simulation that published intervals hold the true value
// at least as often as promised (95%, with three binomial standard errors of slack): the
// library intervals combined by union bounds for means and shares, and the derived
// rank-error intervals for quantiles.
func TestIntervalsCover(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical test")
	}
	m := testModel()
	recs := population(m, 6000, 1)
	const runs = 120
	maxMiss := 0.05 + 3*math.Sqrt(0.05*0.95/runs)
	for _, tc := range []struct {
		n   int
		eps float64
	}{{400, 0.3}, {1300, 0.05}, {6000, 0.02}} {
		data := recs[:tc.n]
		members := make([]int32, tc.n)
		for i := range members {
			members[i] = int32(i)
		}
		b := &builder{req: Request{Utility: Utility{1, 1, 1}}, alpha: 0.05, l: newLayout(m)}
		cnt := newCell(CostEntry{Family: FamilyCount, Epsilon: tc.eps, L0: 1}, Laplace, noise.Laplace())
		quant := newCell(CostEntry{Family: FamilyOverallQuantiles, Epsilon: tc.eps, L0: 1}, Laplace, noise.Laplace())
		sum := newCell(CostEntry{Family: FamilyOverallMean, Epsilon: tc.eps, L0: 1}, Laplace, noise.Laplace())
		hist := newCell(CostEntry{Family: FamilyPosture, Epsilon: tc.eps, L0: 1}, Laplace, noise.Laplace())
		subjects := map[string]func(Record) float64{
			"overall": func(r Record) float64 { return r.Index },
			"IDN":     func(r Record) float64 { return r.Domains[0].Index },
			"VDT":     func(r Record) float64 { return r.Domains[6].Index },
		}
		tallies := make([]int64, 5)
		var exactMean float64
		for _, r := range data {
			tallies[r.Posture]++
			exactMean += math.Round(r.Index*100) / 100
		}
		exactMean /= float64(tc.n)
		qMiss := map[string][]int{}
		var meanMiss, shareMiss int
		for range runs {
			agg, _ := cnt.count()
			agg.IncrementBy(int64(tc.n))
			raw, _ := agg.Result()
			count := measured{raw: float64(raw), ci: countCI(agg.ComputeConfidenceInterval)}
			n := math.Max(count.raw, 0)
			for name, f := range subjects {
				xs := make([]float64, tc.n)
				for i, r := range data {
					xs[i] = f(r)
				}
				q, err := b.quantiles(&quant, members, func(i int32) (float64, bool) { return xs[i], true }, count, n)
				if err != nil {
					t.Fatal(err)
				}
				if qMiss[name] == nil {
					qMiss[name] = make([]int, len(QuantileRanks))
				}
				for j, p := range q.Points {
					if e := exactQuantile(xs, p.Rank); e < p.Low || e > p.High {
						qMiss[name][j]++
					}
				}
			}
			mean, err := b.mean(&sum, members, func(i int32) (int64, bool) { return centred(data[i].Index), true }, count, n, 1)
			if err != nil {
				t.Fatal(err)
			}
			if e := mean.Estimate; exactMean < e.Low || exactMean > e.High {
				meanMiss++
			}
			h, _, err := b.histogram(&hist, b.l.postures, tallies, count, n)
			if err != nil {
				t.Fatal(err)
			}
			for k, bk := range h.Buckets {
				if s := float64(tallies[k]) / float64(tc.n); s < bk.Share.Low || s > bk.Share.High {
					shareMiss++
				}
			}
		}
		for name, miss := range qMiss {
			for j, k := range miss {
				if rate := float64(k) / runs; rate > maxMiss {
					t.Errorf("n=%d ε=%v %s p%v: interval missed %.1f%% of runs", tc.n, tc.eps, name, QuantileRanks[j]*100, 100*rate)
				}
			}
		}
		if rate := float64(meanMiss) / runs; rate > maxMiss {
			t.Errorf("n=%d ε=%v mean interval missed %.1f%%", tc.n, tc.eps, 100*rate)
		}
		if rate := float64(shareMiss) / (5 * runs); rate > maxMiss {
			t.Errorf("n=%d ε=%v share intervals missed %.1f%%", tc.n, tc.eps, 100*rate)
		}
	}
}
