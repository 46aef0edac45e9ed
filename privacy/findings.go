package privacy

import (
	"math"
	"strconv"

	"github.com/hcztmm/warehouse/model"
)

// Gap shares: the share of organisations whose answer to a finding's capability is at or
// below the finding's level ("trust evaluated only at login or periodically" is VDT-02 at
// level 1 or below). A release publishes one noisy count per answer bucket, so the share
// is a sum of buckets, and its interval has to be built from the noise itself: adding up
// the buckets' own 95% intervals would be far too wide, and joining k of them by a union
// bound would only promise 1 - k·5%.
//
// How the interval is made (everything here is post-processing of published numbers and
// public noise parameters, so it costs no privacy budget):
//
//   - The gap buckets are the answer levels 0..at_or_below, plus "unknown" when the model
//     scores unknown at or below that level (it scores as level 0: not knowing whether
//     trust is re-evaluated is a gap). "na" is excluded from both sides: the share is
//     among the organisations the capability applies to.
//   - Numerator G = Σ raw noisy bucket counts. Each bucket carries independent library
//     noise of the capability mechanism's scale, so G's error is the sum of k independent
//     draws: for Laplace(b) its exact distribution is a difference of two Gamma(k, b)
//     variables, whose tail laplaceSumTail gives in closed form; for Gaussian(σ) it is
//     Gaussian(σ√k). G's interval is taken at 0.8α.
//   - Denominator A = the cohort's raw noisy count (count mechanism), minus the raw "na"
//     count when the capability allows "na"; its interval is taken at 0.2α (split α/2
//     between the two parts when there are two).
//   - If both intervals hold (probability ≥ 1-α by the union bound, whatever their
//     dependence), G/A lies in [G_low / A_high, G_high / A_low]. This is the same
//     construction as every published share (ratioInterval), with the same 0.8/0.2
//     split (numeratorAlpha) fixed in advance.
//   - Integer counts are noised by the library on a grid; like the library's own count
//     intervals, the bounds are rounded outward to whole organisations.
//   - The point value is G/A itself (clamped to [0,1]), so it always lies inside its
//     interval. (Summing the simplex-projected bucket shares instead gave values outside
//     the raw-count interval when the noise is large, e.g. "58% [5-58%]".)

// GapShare is a finding's share with its interval, all in [0,1].
type GapShare struct {
	Value, Low, High float64
	// Raw is the unprocessed ratio of raw noisy counts, for analysts.
	Raw float64
	// Buckets are the answer buckets summed into the gap.
	Buckets []string
	// Withheld says why no share can be given (empty when there is one).
	Withheld string
}

// FindingShare computes a finding's gap share in a cohort. confidence is the coverage of
// the interval (the release's own, normally 0.95).
func FindingShare(m *model.Model, c *Cohort, f model.Finding, confidence float64) GapShare {
	var out GapShare
	if c == nil || c.Suppressed {
		out.Withheld = ReasonNotEnoughPeers
		return out
	}
	cs, ok := c.Capability(f.Capability)
	switch {
	case !ok || cs.Answers == nil:
		out.Withheld = "capability answer shares are not published for this cohort"
		return out
	case cs.Answers.Withheld:
		out.Withheld = cs.Answers.Reason
		return out
	}
	capMech, ok1 := c.Mechanism(FamilyCapability)
	countMech, ok2 := c.Mechanism(FamilyCount)
	if !ok1 || !ok2 || c.Count == nil {
		out.Withheld = "noise parameters are missing from this release"
		return out
	}
	gap := map[string]bool{"unknown": m.Scale.UnknownScoresAs <= f.AtOrBelow}
	for l := m.Scale.Min; l <= f.AtOrBelow; l++ {
		gap[strconv.Itoa(l)] = true
	}
	var g, naRaw, naShare float64
	hasNA := false
	for _, b := range cs.Answers.Buckets {
		switch {
		case gap[b.Level]:
			out.Buckets = append(out.Buckets, b.Level)
			g += b.Count.Raw
		case b.Level == "na":
			hasNA = true
			naRaw, naShare = b.Count.Raw, b.Share.Value
		}
	}
	if len(out.Buckets) == 0 {
		out.Withheld = "no answer level of the release falls in this finding"
		return out
	}
	if naShare >= 1 {
		out.Withheld = "the capability applies to no organisation of the cohort"
		return out
	}
	alpha := 1 - confidence
	na := numeratorAlpha * alpha
	gw := noiseHalfWidth(capMech, len(out.Buckets), na)
	gLow, gHigh := math.Floor(g-gw), math.Ceil(g+gw)
	a := c.Count.Raw
	var aLow, aHigh float64
	if hasNA {
		cw := noiseHalfWidth(countMech, 1, (1-numeratorAlpha)*alpha/2)
		nw := noiseHalfWidth(capMech, 1, (1-numeratorAlpha)*alpha/2)
		a -= naRaw
		aLow = math.Floor(c.Count.Raw-cw) - math.Ceil(naRaw+nw)
		aHigh = math.Ceil(c.Count.Raw+cw) - math.Floor(naRaw-nw)
	} else {
		cw := noiseHalfWidth(countMech, 1, (1-numeratorAlpha)*alpha)
		aLow, aHigh = math.Floor(a-cw), math.Ceil(a+cw)
	}
	out.Low = clamp01(math.Max(gLow, 0) / math.Max(aHigh, 1))
	out.High = clamp01(math.Max(gHigh, 0) / math.Max(aLow, 1))
	out.Raw = g / math.Max(a, 1)
	out.Value = clamp01(out.Raw)
	return out
}

// noiseHalfWidth is the t with P(|sum of k independent noise draws of the mechanism| > t)
// = alpha.
func noiseHalfWidth(mech Mechanism, k int, alpha float64) float64 {
	if k < 1 || alpha <= 0 || alpha >= 1 || mech.NoiseScale <= 0 {
		return math.Inf(1)
	}
	if mech.Noise == Gaussian {
		return mech.NoiseScale * math.Sqrt(float64(k)) * normalQuantile(1-alpha/2)
	}
	return mech.NoiseScale * laplaceSumQuantile(k, alpha)
}

// laplaceSumQuantile solves P(|S_k| > u) = alpha for the sum S_k of k independent
// standard Laplace variables (scale 1), by bisection on the closed-form tail.
func laplaceSumQuantile(k int, alpha float64) float64 {
	lo, hi := 0.0, 1.0
	for 2*laplaceSumTail(k, hi) > alpha {
		hi *= 2
	}
	for range 200 {
		mid := (lo + hi) / 2
		if 2*laplaceSumTail(k, mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-12*hi {
			break
		}
	}
	return hi
}

// laplaceSumTail is P(S_k > u) for u ≥ 0. A standard Laplace variable is E1 - E2 with
// independent unit exponentials, so S_k = G1 - G2 with independent Gamma(k, 1):
//
//	P(G1 - G2 > u) = ∫ f_k(y) P(G1 > u + y) dy
//	             = e^{-u}/(k-1)! Σ_{i<k} 1/i! Σ_{j≤i} C(i,j) u^{i-j} (k-1+j)! / 2^{k+j}.
//
// For k = 1 it is e^{-u}/2, the Laplace tail the library's own intervals use.
func laplaceSumTail(k int, u float64) float64 {
	fact := func(n int) float64 {
		f := 1.0
		for i := 2; i <= n; i++ {
			f *= float64(i)
		}
		return f
	}
	binom := func(n, r int) float64 { return fact(n) / (fact(r) * fact(n-r)) }
	var s float64
	for i := range k {
		var inner float64
		for j := 0; j <= i; j++ {
			inner += binom(i, j) * math.Pow(u, float64(i-j)) * fact(k-1+j) / math.Pow(2, float64(k+j))
		}
		s += inner / fact(i)
	}
	return math.Exp(-u) * s / fact(k-1)
}

// normalQuantile is the standard normal quantile function.
