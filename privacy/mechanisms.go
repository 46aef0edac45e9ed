package privacy

import (
	"math"

	"github.com/google/differential-privacy/go/v3/dpagg"
	"github.com/google/differential-privacy/go/v3/noise"
	"github.com/hcztmm/warehouse/model"
)

// Library is the exact differential privacy library every release is computed with; it
// is recorded in each release so that a figure can be traced to the code that noised it.
const Library = "github.com/google/differential-privacy/go/v3 v3.0.0"

// Fixed mechanism parameters. They are public and part of every release.
const (
	// IndexMin and IndexMax bound every index (overall and per domain).
	IndexMin, IndexMax = 0.0, 100.0
	// SumScale is the fixed-point scale of index sums: indices are summed as integer
	// hundredths with BoundedSumInt64, which avoids the float-summation sensitivity
	// problem (Casacuberta et al. 2022) and matches the model's two-decimal indices.
	SumScale = 100
	// sumCentre is the midpoint subtracted before summing: centring halves the
	// sensitivity (max(|L|,|U|) = 50 points instead of 100) and the mean's error.
	sumCentre = 50 * SumScale
	// TreeHeight and BranchingFactor shape the quantile trees: one level of 20 leaves of
	// five index points. Each organisation then touches one node per tree instead of
	// TreeHeight, so the per-node noise is the smallest the tree allows. research/dp.md
	// §1.9 preferred 2 × 10 at ε≈1 per statistic; at the ε·n our cohorts get per tree
	// (about 1 to 300) the flat tree was measured more accurate (p95 error of a median
	// at ε·n = 65: 10.2 points against 12.8; at 300: 2.9 against 3.7), and five-point
	// leaves match the grid most domain indices sit on (multiples of 5 for five equally
	// weighted capabilities).
	TreeHeight      = 1
	BranchingFactor = 20
	// leafWidth is the width of a quantile-tree leaf in index points.
	leafWidth = (IndexMax - IndexMin) / BranchingFactor
)

// QuantileRanks are the ranks released for every index distribution.
var QuantileRanks = []float64{0.10, 0.25, 0.50, 0.75, 0.90}

// Aggregator names as they appear in releases.
const (
	AggCount     = "dpagg.Count"
	AggSum       = "dpagg.BoundedSumInt64"
	AggQuantiles = "dpagg.BoundedQuantiles"
)

// Mechanism records how one family's figures were noised in one cohort: exactly the
// parameters the library aggregators were given, and the resulting noise scale.
type Mechanism struct {
	Family     Family    `json:"family"`     // the budget entry
	Aggregator string    `json:"aggregator"` // AggCount, AggSum or AggQuantiles
	Noise      NoiseKind `json:"noise"`      // Laplace or Gaussian
	Epsilon    float64   `json:"epsilon"`    // the aggregators' ε: the entry's, whole
	Delta      float64   `json:"delta"`      // the aggregators' δ
	// L0 is MaxPartitionsContributed: cells per cohort one organisation contributes to.
	L0 int64 `json:"l0"`
	// LInf bounds one organisation's contribution to one cell, in the aggregator's unit.
	LInf float64 `json:"linf"`
	// Bounds are the clamping bounds of sums and quantile trees.
	Bounds *Bounds `json:"bounds,omitempty"`
	// Tree is the quantile tree's shape; each node is noised with l0 = Height × L0.
	Tree *Tree `json:"tree,omitempty"`
	// NoiseScale is the Laplace scale b or the Gaussian σ added to each noised value
	// (a count, a sum, a tree node), derived from the public parameters above.
	NoiseScale float64 `json:"noise_scale"`
}

// Bounds are an aggregator's clamping bounds and their unit.
type Bounds struct {
	Lower float64 `json:"lower"` // values below are clamped up
	Upper float64 `json:"upper"` // values above are clamped down
	Unit  string  `json:"unit"`  // what the bounds are measured in
}

// Tree is a quantile tree's shape.
type Tree struct {
	Height          int `json:"height"`           // levels below the root
	BranchingFactor int `json:"branching_factor"` // children per node
}

// familyL0 is the number of cells per cohort one organisation contributes to in a
// family: one posture, one bucket per domain, one bucket per capability. Passing it as
// MaxPartitionsContributed makes the family as a whole cost its entry's ε.
func familyL0(m *model.Model, f Family) int64 {
	switch f {
	case FamilyDomainPosture, FamilyDomainMean, FamilyDomainQuantiles:
		return int64(len(m.Domains))
	case FamilyCapability:
		return int64(len(m.CapabilityIDs()))
	}
	return 1
}

// cell builds the aggregators of one (partitioning, family) budget entry. It is the only
// code in the package that constructs library aggregators.
type cell struct {
	mech  Mechanism
	noise noise.Noise
	// nodeSD is the standard deviation of the noise on one noised value, used by the
	// quantile interval (post-processing from public parameters).
	nodeSD float64
}

func newCell(e CostEntry, kind NoiseKind, n noise.Noise) cell {
	mech := Mechanism{Family: e.Family, Noise: kind, Epsilon: e.Epsilon, Delta: e.Delta, L0: e.L0}
	l0 := e.L0
	switch e.Family {
	case FamilyOverallMean, FamilyDomainMean:
		mech.Aggregator = AggSum
		mech.LInf = sumCentre
		mech.Bounds = &Bounds{Lower: -sumCentre, Upper: sumCentre, Unit: "index hundredths, centred on 50"}
	case FamilyOverallQuantiles, FamilyDomainQuantiles:
		mech.Aggregator = AggQuantiles
		mech.LInf = 1
		mech.Bounds = &Bounds{Lower: IndexMin, Upper: IndexMax, Unit: "index points"}
		mech.Tree = &Tree{Height: TreeHeight, BranchingFactor: BranchingFactor}
		l0 *= TreeHeight
	default:
		mech.Aggregator = AggCount
		mech.LInf = 1
	}
	var scale, sd float64
	if kind == Gaussian {
		scale = noise.SigmaForGaussian(l0, mech.LInf, e.Epsilon, e.Delta)
		sd = scale
	} else {
		scale = float64(l0) * mech.LInf / e.Epsilon
		sd = math.Sqrt2 * scale
	}
	mech.NoiseScale = roundTo(scale, 4)
	return cell{mech: mech, noise: n, nodeSD: sd}
}

func (c *cell) count() (*dpagg.Count, error) {
	return dpagg.NewCount(&dpagg.CountOptions{
		Epsilon: c.mech.Epsilon, Delta: c.mech.Delta,
		MaxPartitionsContributed: c.mech.L0,
		Noise:                    c.noise,
	})
}

func (c *cell) sum() (*dpagg.BoundedSumInt64, error) {
	return dpagg.NewBoundedSumInt64(&dpagg.BoundedSumInt64Options{
		Epsilon: c.mech.Epsilon, Delta: c.mech.Delta,
		MaxPartitionsContributed: c.mech.L0,
		Lower:                    -sumCentre, Upper: sumCentre,
		Noise: c.noise,
	})
}

func (c *cell) quantiles() (*dpagg.BoundedQuantiles, error) {
	return dpagg.NewBoundedQuantiles(&dpagg.BoundedQuantilesOptions{
		Epsilon: c.mech.Epsilon, Delta: c.mech.Delta,
		MaxPartitionsContributed:     c.mech.L0,
		MaxContributionsPerPartition: 1,
		Lower:                        IndexMin, Upper: IndexMax,
		TreeHeight: TreeHeight, BranchingFactor: BranchingFactor,
		Noise: c.noise,
	})
}

// centred converts an index to the centred fixed-point value a sum aggregator gets.
func centred(index float64) int64 {
	return int64(math.Round(index*SumScale)) - sumCentre
}
