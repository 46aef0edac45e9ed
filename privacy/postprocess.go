package privacy

import (
	"math"
	"sort"
)

// Post-processing: everything here works on noisy outputs and public parameters only,
// so it costs no budget (the post-processing property of differential privacy). Raw
// noisy values are kept beside every processed value.

// interval is a confidence interval [lo, hi].
type interval struct{ lo, hi float64 }

// measured is one noisy value with the interval function of its mechanism: ci(α) holds
// the true value with probability ≥ 1-α. Library aggregators provide ci for counts and
// sums; derived values combine them with union bounds.
type measured struct {
	raw float64
	ci  func(alpha float64) (interval, error)
}

// difference is a - b for independent noisy values; its interval at α combines the
// parts' intervals at α/2 each (union bound).
func difference(a, b measured) measured {
	return measured{raw: a.raw - b.raw, ci: func(alpha float64) (interval, error) {
		ia, err := a.ci(alpha / 2)
		if err != nil {
			return interval{}, err
		}
		ib, err := b.ci(alpha / 2)
		if err != nil {
			return interval{}, err
		}
		return interval{ia.lo - ib.hi, ia.hi - ib.lo}, nil
	}}
}

// numeratorAlpha is the part of α a ratio's numerator gets; the denominator, a count of
// the whole cohort, is measured far more precisely relative to its size and needs less.
// The split is fixed in advance (never chosen after seeing the data), so the union bound
// stays valid.
const numeratorAlpha = 0.8

// ratioInterval bounds num/den for a non-negative numerator and a denominator of at least
// one organisation, from the numerator's interval at 0.8α and the denominator's at 0.2α:
// if both hold (probability ≥ 1-α by the union bound, whatever their dependence) the
// ratio lies in the result.
func ratioInterval(num, den measured, alpha float64) (interval, error) {
	in, err := num.ci(numeratorAlpha * alpha)
	if err != nil {
		return interval{}, err
	}
	id, err := den.ci((1 - numeratorAlpha) * alpha)
	if err != nil {
		return interval{}, err
	}
	lo, hi := math.Max(in.lo, 0), math.Max(in.hi, 0)
	dlo, dhi := math.Max(id.lo, 1), math.Max(id.hi, 1)
	return interval{lo / dhi, hi / dlo}, nil
}

// meanInterval bounds 50 + S/(SumScale·D) from the centred sum's interval at 0.8α and the
// count's at 0.2α (union bound), then clamps to the index range. The bounds on S are the
// library's; clamping inputs cannot bias here because every index already lies in [0,100].
func meanInterval(sum, den measured, alpha float64) (interval, error) {
	is, err := sum.ci(numeratorAlpha * alpha)
	if err != nil {
		return interval{}, err
	}
	id, err := den.ci((1 - numeratorAlpha) * alpha)
	if err != nil {
		return interval{}, err
	}
	dlo, dhi := math.Max(id.lo, 1), math.Max(id.hi, 1)
	lo := math.Min(is.lo/dlo, is.lo/dhi)
	hi := math.Max(is.hi/dlo, is.hi/dhi)
	return interval{clampIndex(50 + lo/SumScale), clampIndex(50 + hi/SumScale)}, nil
}

// meanValue is the post-processed mean: the noisy sum over the (post-processed, at least
// one) count, clamped to the index range.
func meanValue(rawSum, den float64) float64 {
	return clampIndex(50 + rawSum/SumScale/math.Max(den, 1))
}

// projectSimplex returns the histogram closest (in Euclidean distance) to x among those
// with non-negative buckets adding up to total: the consistent, non-negative version of
// a noisy histogram. It subtracts one common θ and clips at zero (Held et al. / Duchi et
// al. simplex projection).
func projectSimplex(x []float64, total float64) []float64 {
	out := make([]float64, len(x))
	if total <= 0 || len(x) == 0 {
		return out
	}
	u := append([]float64(nil), x...)
	sort.Sort(sort.Reverse(sort.Float64Slice(u)))
	var cum, theta float64
	for j, v := range u {
		cum += v
		t := (cum - total) / float64(j+1)
		if v-t > 0 {
			theta = t
		}
	}
	for i, v := range x {
		out[i] = math.Max(v-theta, 0)
	}
	return out
}

// The rank-error derivation below is for a one-level tree; this line stops the build if
// TreeHeight changes without it.
var _ = [1]struct{}{}[TreeHeight-1]

// quantileRankError returns how far below (lower) and above (upper) the rank the interval
// of a released quantile reaches. Quantiles have no library interval, so this is derived
// from the public noise scale. The one-level tree estimates the distribution function at
// a leaf boundary t with k leaves to its left as F̃(t) = Σ_{i≤k} c̃_i / Σ_i c̃_i, where every
// leaf count carries independent noise e_i of standard deviation sd. Three terms:
//
//   - Noise, to first order: F̃(t) − F(t) ≈ [(1−F)·Σ_{i≤k} e_i − F·Σ_{i>k} e_i] / N, of
//     variance sd²·[k(1−F)² + (B−k)·F²] / N² (B leaves), taken at F = rank with the
//     normal quantile at 1−α/4 per side; the count's lower bound at α/2 stands in for N
//     (union bound). With Gaussian noise the sum is exactly normal.
//   - The library's filter: a leaf whose noisy count is under 0.75% of the total is
//     dropped from the walk. Dropped leaves on the left make F̃ too low by at most
//     (1−F)·0.0075 each (the estimate drifts up: the lower end must reach further);
//     dropped leaves on the right make it too high by at most F·0.0075 each. Which leaves
//     were dropped is read off the tree's own answers (droppedLeaves), so the allowance
//     is paid only where the filter acted.
//   - Empty leaves whose noise came out positive are kept as phantom mass (negative
//     ones are clipped or dropped), about E[e⁺] ≤ 0.4·sd each. Phantom mass on the
//     right makes F̃ too low by at most F·(B−k)·0.4·sd/N; on the left, too high by
//     (1−F)·k·0.4·sd/N.
//
// The biases are bounded for the worst case (every leaf on a side affected) and added to
// the noise term; the tests check by simulation that the intervals cover the true
// quantile at least as often as promised.
func quantileRankError(nodeSD, countLow, alpha, rank float64, leavesLeft, droppedLeft, droppedRight int) (lower, upper float64) {
	const filter, phantom = 0.0075, 0.4
	n := math.Max(countLow, 1)
	k, r := float64(leavesLeft), rank
	right := BranchingFactor - k
	noiseTerm := normalQuantile(1-alpha/4) * nodeSD * math.Sqrt(k*(1-r)*(1-r)+right*r*r) / n
	lower = noiseTerm + (1-r)*float64(droppedLeft)*filter + r*right*phantom*nodeSD/n
	upper = noiseTerm + r*float64(droppedRight)*filter + (1-r)*k*phantom*nodeSD/n
	return lower, upper
}

// probeRanks is how finely droppedLeaves scans the tree's ranks. A leaf the walk keeps
// has a noisy count of at least 0.75% of the total of positive counts, which is no smaller
// than the kept total, so it spans at least 0.0075 of the ranks; a step of 1/150 lands in
// every kept leaf, and a leaf never landed in was dropped.
const probeRanks = 150

// droppedLeaves reports the leaves the tree's walk never lands in: those the library's
// filter dropped (or so thin they do not matter). It reads only the tree's answers, which
// are post-processing of the noisy tree.
func droppedLeaves(result func(rank float64) (float64, error)) ([BranchingFactor]bool, error) {
	var hit, dropped [BranchingFactor]bool
	for i := 0; i <= probeRanks; i++ {
		v, err := result(float64(i) / probeRanks)
		if err != nil {
			return dropped, err
		}
		hit[min(int(v/leafWidth), BranchingFactor-1)] = true
	}
	for i := range hit {
		dropped[i] = !hit[i]
	}
	return dropped, nil
}

// leafFloor and leafCeil round an index to the quantile tree's leaf boundaries: the tree
// knows its distribution function only there, so an interval for a quantile ends on them.
func leafFloor(x float64) float64 { return clampIndex(math.Floor(x/leafWidth+1e-9) * leafWidth) }
func leafCeil(x float64) float64  { return clampIndex(math.Ceil(x/leafWidth-1e-9) * leafWidth) }

// normalQuantile is the standard normal quantile function.
func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// monotone makes values non-decreasing by carrying the running maximum forward.
func monotone(xs []float64) {
	for i := 1; i < len(xs); i++ {
		if xs[i] < xs[i-1] {
			xs[i] = xs[i-1]
		}
	}
}

func clampIndex(x float64) float64 { return math.Min(math.Max(x, IndexMin), IndexMax) }

func clamp01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

// roundTo rounds to d decimals and turns -0 into 0, so that encodings are canonical.
func roundTo(x float64, d int) float64 {
	p := math.Pow(10, float64(d))
	r := math.Round(x*p) / p
	if r == 0 {
		return 0
	}
	return r
}

// figure assembles a published figure, rounding to 4 decimals and widening the interval
// to contain the value if clamping moved the value outside it (widening keeps coverage).
func figure(value, raw float64, ci interval) *Figure {
	lo, hi := math.Min(ci.lo, value), math.Max(ci.hi, value)
	return &Figure{Value: roundTo(value, 4), Raw: roundTo(raw, 4), Low: roundTo(lo, 4), High: roundTo(hi, 4)}
}
