package privacy

import (
	"fmt"
	"math"
	"sort"

	"github.com/hcztmm/warehouse/model"
)

// Budget units. ε and δ are accounted as integers so that the entries of a cost add up
// to its total exactly, in Go and in SQL alike (sum the *_units columns, not the floats).
const (
	// EpsilonUnit is the ε of one unit in CostEntry.EpsilonUnits.
	EpsilonUnit = 1e-9
	// DeltaUnit is the δ of one unit in CostEntry.DeltaUnits.
	DeltaUnit = 1e-18
)

// Plan is a validated request with its cost. The warehouse reserves Cost in the budget
// ledger, in the same transaction that records the release, before Build runs.
type Plan struct {
	// Request is the request with every default filled in and the split in canonical order.
	Request Request `json:"request"`
	// ModelVersion is the model the plan was made for; Build refuses any other.
	ModelVersion string `json:"model_version"`
	// Cost is what the release spends, per partitioning × family.
	Cost Cost `json:"cost"`
}

// Cost is the privacy loss of one release. Entries compose sequentially (their sum is
// the total); inside an entry the cohorts of its partitioning compose in parallel.
type Cost struct {
	Epsilon      float64     `json:"epsilon"`       // total ε (EpsilonUnits × EpsilonUnit)
	Delta        float64     `json:"delta"`         // total δ (DeltaUnits × DeltaUnit)
	EpsilonUnits int64       `json:"epsilon_units"` // total ε in units: the exact figure to add up
	DeltaUnits   int64       `json:"delta_units"`   // total δ in units
	Entries      []CostEntry `json:"entries"`       // canonical order; units add up to the totals
}

// CostEntry is the budget of one metric family in one partitioning: every aggregator of
// the family in every cohort of the partitioning is built with exactly this ε and δ,
// and with MaxPartitionsContributed = L0, the number of cells per cohort one
// organisation contributes to (so the family as a whole costs ε, not L0·ε).
type CostEntry struct {
	Partitioning Partitioning `json:"partitioning"`  // the partitioning paid for
	Family       Family       `json:"family"`        // the metric family paid for
	Epsilon      float64      `json:"epsilon"`       // the ε every aggregator of the cell gets
	Delta        float64      `json:"delta"`         // the δ every aggregator of the cell gets
	EpsilonUnits int64        `json:"epsilon_units"` // Epsilon in units of EpsilonUnit
	DeltaUnits   int64        `json:"delta_units"`   // Delta in units of DeltaUnit
	// L0 is MaxPartitionsContributed as passed to the aggregators.
	L0 int64 `json:"l0"`
	// Cohorts is the number of disjoint cohorts sharing the entry.
	Cohorts int `json:"cohorts"`
}

// NewPlan validates a request against a model and computes its cost. Every problem is
// reported as a model.Error of KindInvalid whose details name the field.
func NewPlan(m *model.Model, req Request) (*Plan, error) {
	if m == nil {
		return nil, model.Errorf(model.KindInternal, "privacy: nil model")
	}
	r := req.withDefaults()
	if errs := r.validate(m); len(errs) > 0 {
		return nil, model.Invalid("invalid release request", errs...)
	}
	order := canonicalOrder(r.Split)
	sorted := make([]Allocation, len(order))
	for i, j := range order {
		sorted[i] = r.Split[j]
	}
	r.Split = sorted
	cost, errs := allocate(m, r, order)
	if len(errs) > 0 {
		return nil, model.Invalid("invalid release request", errs...)
	}
	return &Plan{Request: r, ModelVersion: m.Version, Cost: cost}, nil
}

// entry returns the cost entry of a cell.
func (c *Cost) entry(p Partitioning, f Family) (CostEntry, bool) {
	for _, e := range c.Entries {
		if e.Partitioning == p && e.Family == f {
			return e, true
		}
	}
	return CostEntry{}, false
}

// Partitionings lists the partitionings the cost pays for, in canonical order.
func (c *Cost) Partitionings() []Partitioning {
	var out []Partitioning
	for _, e := range c.Entries {
		if len(out) == 0 || out[len(out)-1] != e.Partitioning {
			out = append(out, e.Partitioning)
		}
	}
	return out
}

// allocate splits the request's ε and δ over its (canonically ordered) split in integer
// units; order maps each entry back to the caller's index for error messages.
func allocate(m *model.Model, r Request, order []int) (Cost, []model.FieldError) {
	epsUnits := int64(math.Round(r.Epsilon / EpsilonUnit))
	deltaUnits := int64(math.Round(r.Delta / DeltaUnit))
	weights := make([]float64, len(r.Split))
	for i, a := range r.Split {
		weights[i] = a.Weight
	}
	epsShares := largestRemainder(epsUnits, weights)
	deltaShares := largestRemainder(deltaUnits, weights)
	g := newGrid(m)
	cost := Cost{EpsilonUnits: epsUnits, DeltaUnits: deltaUnits,
		Epsilon: float64(epsUnits) * EpsilonUnit, Delta: float64(deltaUnits) * DeltaUnit}
	var errs []model.FieldError
	for i, a := range r.Split {
		e := CostEntry{Partitioning: a.Partitioning, Family: a.Family,
			EpsilonUnits: epsShares[i], DeltaUnits: deltaShares[i],
			Epsilon: float64(epsShares[i]) * EpsilonUnit, Delta: float64(deltaShares[i]) * DeltaUnit,
			L0: familyL0(m, a.Family), Cohorts: len(g.keys(a.Partitioning))}
		if e.Epsilon < MinCellEpsilon {
			errs = append(errs, model.FieldError{Field: fmt.Sprintf("split[%d].weight", order[i]), Rule: "epsilon_too_small",
				Value: fmt.Sprint(a.Weight),
				Message: fmt.Sprintf("%s/%s would get ε=%v, below the minimum %v: raise its weight or the release epsilon",
					a.Partitioning, a.Family, e.Epsilon, MinCellEpsilon)})
		}
		if r.Noise == Gaussian && e.DeltaUnits == 0 {
			errs = append(errs, model.FieldError{Field: fmt.Sprintf("split[%d].weight", order[i]), Rule: "delta_too_small",
				Value: fmt.Sprint(a.Weight), Message: fmt.Sprintf("%s/%s would get δ=0, which gaussian noise cannot use", a.Partitioning, a.Family)})
		}
		cost.Entries = append(cost.Entries, e)
	}
	return cost, errs
}

// largestRemainder divides total units in proportion to weights so that the parts add
// up to total exactly (Hamilton's method; ties go to the earlier entry).
func largestRemainder(total int64, weights []float64) []int64 {
	out := make([]int64, len(weights))
	var sum float64
	for _, w := range weights {
		sum += w
	}
	if sum <= 0 || total <= 0 {
		return out
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(weights))
	var given int64
	for i, w := range weights {
		q := float64(total) * w / sum
		f := math.Floor(q)
		out[i] = int64(f)
		given += out[i]
		rems[i] = rem{i, q - f}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; given < total; k = (k + 1) % len(rems) {
		out[rems[k].i]++
		given++
	}
	for given > total { // float rounding can overshoot by a unit; take it back from the largest
		j := 0
		for i := range out {
			if out[i] > out[j] {
				j = i
			}
		}
		out[j]--
		given--
	}
	return out
}
