package privacy

import (
	"fmt"
	"math"
	"regexp"
	"sort"

	"github.com/hcztmm/warehouse/model"
)

// Family is a metric family: a group of mechanisms that one budget entry pays for in
// each partitioning. Within a family an organisation contributes to one cell per subject
// (one posture bucket; one bucket per domain; one bucket per capability), and the
// mechanisms are calibrated for all of those contributions together.
type Family string

// The metric families, in canonical order.
const (
	// FamilyCount is the noisy number of organisations per cohort. It decides
	// suppression and is the denominator of every share and mean, so every released
	// partitioning must include it.
	FamilyCount Family = "count"
	// FamilyPosture is the overall posture histogram (one count per posture level).
	FamilyPosture Family = "posture"
	// FamilyOverallMean is the noisy sum of the overall index; mean = sum / count.
	FamilyOverallMean Family = "overall_mean"
	// FamilyOverallQuantiles is the quantile tree of the overall index.
	FamilyOverallQuantiles Family = "overall_quantiles"
	// FamilyDomainPosture is one posture histogram per domain.
	FamilyDomainPosture Family = "domain_posture"
	// FamilyDomainMean is one noisy index sum per domain; mean = sum / count.
	FamilyDomainMean Family = "domain_mean"
	// FamilyDomainQuantiles is one quantile tree per domain.
	FamilyDomainQuantiles Family = "domain_quantiles"
	// FamilyCapability is one answer-level histogram per capability.
	FamilyCapability Family = "capability"
)

// Families lists every metric family in canonical order.
func Families() []Family {
	return []Family{FamilyCount, FamilyPosture, FamilyOverallMean, FamilyOverallQuantiles,
		FamilyDomainPosture, FamilyDomainMean, FamilyDomainQuantiles, FamilyCapability}
}

func (f Family) rank() int {
	for i, g := range Families() {
		if f == g {
			return i
		}
	}
	return -1
}

// NoiseKind names the library noise distribution a release uses.
type NoiseKind string

// The noise kinds production accepts. Anything else is refused, because the library
// relaxes its own parameter checks for unrecognised noise.
const (
	// Laplace is pure ε-DP (δ must be 0); noise scales with l0 per family.
	Laplace NoiseKind = "laplace"
	// Gaussian is (ε,δ)-DP (0 < δ); noise scales with √l0, which pays off for the
	// 40-capability family.
	Gaussian NoiseKind = "gaussian"
)

// Defaults and limits of a Request.
const (
	// DefaultPublicationThreshold is the number of peers a cohort must have (with
	// confidence 1-SuppressionRisk, judged on the noisy count) to be published.
	DefaultPublicationThreshold = 10
	// DefaultSuppressionRisk bounds the probability that a cohort with fewer true
	// members than the publication threshold is published. One in a million: a cohort
	// of 3 must not show up however often a release is rebuilt.
	DefaultSuppressionRisk = 1e-6
	// DefaultConfidence is the coverage of published intervals.
	DefaultConfidence = 0.95
	// DefaultUtilityMean is the noisy count below which means are withheld
	// (research/dp.md §1.9: at ε≈1 a cohort of 50 gets about ±6 points).
	DefaultUtilityMean = 50
	// DefaultUtilityQuantiles is the noisy count below which quantiles are withheld
	// (research/dp.md §1.9: a median of 50 at ε≈1 is about ±7 points; of 20, ±14).
	DefaultUtilityQuantiles = 50
	// DefaultUtilityShares is the noisy count below which domain posture histograms
	// and capability shares are withheld.
	DefaultUtilityShares = 30
	// MaxEpsilon caps one release: beyond it the guarantee is meaningless.
	MaxEpsilon = 10.0
	// MaxDelta caps δ well below 1/population (about 1/6,000).
	MaxDelta = 1e-4
	// MinCellEpsilon is the smallest ε one partitioning × family entry may receive; a
	// split finer than this buys nothing but noise.
	MinCellEpsilon = 1e-4
)

// Request asks for one release. Zero values mean the documented defaults; Plan records
// the request with the defaults filled in, so a release says exactly what it used.
type Request struct {
	// Cycle is the assessment cycle the release describes.
	Cycle string `json:"cycle"`
	// Epsilon is the release's total ε, split over Split.
	Epsilon float64 `json:"epsilon"`
	// Delta is the release's total δ: 0 with Laplace noise, in (0, MaxDelta] with Gaussian.
	Delta float64 `json:"delta"`
	// Noise is the noise kind; empty means Laplace.
	Noise NoiseKind `json:"noise"`
	// Split lists the released (partitioning, family) cells with relative weights; the
	// total ε and δ are divided in proportion. A partitioning is released when it appears
	// here, and must then include FamilyCount. Nil means DefaultSplit().
	Split []Allocation `json:"split"`
	// PublicationThreshold is the number of peers below which a cohort shows only
	// "not enough peers". Default 10.
	PublicationThreshold int `json:"publication_threshold"`
	// SuppressionRisk is the largest probability that a cohort with fewer true members
	// than PublicationThreshold is published; below 0.5 (close to 0.5 is the plain rule
	// "noisy count ≥ threshold"). Default 1e-6.
	SuppressionRisk float64 `json:"suppression_risk"`
	// Utility sets the noisy counts below which estimates are withheld as unreliable.
	Utility Utility `json:"utility"`
	// Confidence is the coverage of published intervals. Default 0.95.
	Confidence float64 `json:"confidence"`
}

// Allocation gives one (partitioning, family) cell a relative share of the budget.
type Allocation struct {
	Partitioning Partitioning `json:"partitioning"` // the partitioning released
	Family       Family       `json:"family"`       // the metric family released in it
	Weight       float64      `json:"weight"`       // relative share of the release ε and δ; positive
}

// Utility holds the noisy-count thresholds below which estimates are withheld. They are
// judged on noisy counts (post-processing); a zero field means its default.
type Utility struct {
	Mean      int `json:"mean"`      // means (overall and per domain); default 50
	Quantiles int `json:"quantiles"` // quantiles (overall and per domain); default 50
	Shares    int `json:"shares"`    // domain posture and capability histograms; default 30
}

// defaultSplit is the default allocation matrix, in per-mille of the release ε (it adds
// up to 1000). It is shaped by what a release of ε = 1 can carry for about 6,000
// organisations under pure ε-DP with sequential composition (measured; see the package
// tests' utility report):
//
//   - Every partitioning gets the peer-view essentials: the count (which decides
//     suppression: the publication floor is about threshold + 13/ε_count organisations
//     at the default risk), the posture histogram, and the overall index's mean and
//     quantiles (the provider's percentile).
//   - Domain and capability families cost an organisation 8 and 40 contributions per
//     cohort; at ε = 1 they are informative only for the national cohort, so only it
//     gets them. Finer peer groups fall back to national for the domain radar
//     (PeerCohort with FamilyDomainQuantiles).
//
// Requests that want domain or capability figures for finer cohorts name them in Split
// with a larger ε, or spend a separate release of the cycle budget on them.
var defaultSplit = []Allocation{
	{National, FamilyCount, 10},
	{National, FamilyPosture, 25},
	{National, FamilyOverallMean, 15},
	{National, FamilyOverallQuantiles, 25},
	{National, FamilyDomainPosture, 50},
	{National, FamilyDomainMean, 55},
	{National, FamilyDomainQuantiles, 85},
	{National, FamilyCapability, 160},

	{BySize, FamilyCount, 55},
	{BySize, FamilyPosture, 50},
	{BySize, FamilyOverallMean, 20},
	{BySize, FamilyOverallQuantiles, 90},

	{ByRegion, FamilyCount, 20},
	{ByRegion, FamilyPosture, 45},
	{ByRegion, FamilyOverallMean, 25},
	{ByRegion, FamilyOverallQuantiles, 50},

	{BySizeRegion, FamilyCount, 80},
	{BySizeRegion, FamilyPosture, 45},
	{BySizeRegion, FamilyOverallMean, 15},

	{ByType, FamilyCount, 45},
	{ByType, FamilyPosture, 25},
	{ByType, FamilyOverallMean, 10},
}

// DefaultSplit returns the default allocation (defaultSplit) restricted to the given
// partitionings, or all of it when none is given. Weights are relative: a subset keeps
// its proportions and is rescaled to the whole release ε.
func DefaultSplit(parts ...Partitioning) []Allocation {
	if len(parts) == 0 {
		parts = Partitionings()
	}
	var out []Allocation
	for _, a := range defaultSplit {
		for _, p := range parts {
			if a.Partitioning == p {
				out = append(out, a)
			}
		}
	}
	return out
}

// fullFamilyWeights is the family split of FullSplit, in per-mille of one partitioning.
var fullFamilyWeights = []struct {
	f Family
	w float64
}{
	{FamilyCount, 110}, {FamilyPosture, 80}, {FamilyOverallMean, 40}, {FamilyOverallQuantiles, 80},
	{FamilyDomainPosture, 110}, {FamilyDomainMean, 110}, {FamilyDomainQuantiles, 170}, {FamilyCapability, 300},
}

// FullSplit allocates every family in every given partitioning (all when none is given),
// partitionings weighted equally. It is the "everything everywhere" release; at ε = 1
// most of its fine-grained figures are too noisy to use, so it suits larger releases.
func FullSplit(parts ...Partitioning) []Allocation {
	if len(parts) == 0 {
		parts = Partitionings()
	}
	var out []Allocation
	for _, p := range parts {
		for _, fw := range fullFamilyWeights {
			out = append(out, Allocation{Partitioning: p, Family: fw.f, Weight: fw.w})
		}
	}
	return out
}

// canonicalOrder returns the order that sorts a split by partitioning, then family, so
// that equal requests produce equal plans and equal release bytes. Errors keep naming
// the caller's indices.
func canonicalOrder(split []Allocation) []int {
	idx := make([]int, len(split))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := split[idx[i]], split[idx[j]]
		if a.Partitioning.rank() != b.Partitioning.rank() {
			return a.Partitioning.rank() < b.Partitioning.rank()
		}
		return a.Family.rank() < b.Family.rank()
	})
	return idx
}

// withDefaults fills the zero fields with their defaults (the split is copied, never
// shared with the caller).
func (r Request) withDefaults() Request {
	if r.Noise == "" {
		r.Noise = Laplace
	}
	if r.Split == nil {
		r.Split = DefaultSplit()
	} else {
		r.Split = append([]Allocation(nil), r.Split...)
	}
	if r.PublicationThreshold == 0 {
		r.PublicationThreshold = DefaultPublicationThreshold
	}
	if r.SuppressionRisk == 0 {
		r.SuppressionRisk = DefaultSuppressionRisk
	}
	if r.Confidence == 0 {
		r.Confidence = DefaultConfidence
	}
	if r.Utility.Mean == 0 {
		r.Utility.Mean = DefaultUtilityMean
	}
	if r.Utility.Quantiles == 0 {
		r.Utility.Quantiles = DefaultUtilityQuantiles
	}
	if r.Utility.Shares == 0 {
		r.Utility.Shares = DefaultUtilityShares
	}
	return r
}

var cyclePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

// validate checks a request with defaults filled and names every offending field.
func (r Request) validate(m *model.Model) []model.FieldError {
	var errs []model.FieldError
	bad := func(field, rule string, value any, format string, args ...any) {
		errs = append(errs, model.FieldError{Field: field, Rule: rule, Value: fmt.Sprint(value),
			Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case r.Cycle == "":
		bad("cycle", "required", "", "cycle is required")
	case len(r.Cycle) > 32 || !cyclePattern.MatchString(r.Cycle):
		bad("cycle", "format", r.Cycle, "cycle %q must be 1-32 letters, digits, '-', '_', '.' or '+'", r.Cycle)
	}
	if !(r.Epsilon > 0) || math.IsInf(r.Epsilon, 0) || r.Epsilon > MaxEpsilon {
		bad("epsilon", "out_of_range", r.Epsilon, "epsilon %v must be a number in (0, %v]", r.Epsilon, MaxEpsilon)
	}
	switch r.Noise {
	case Laplace:
		// Laplace is pure ε-DP: a non-zero δ would be recorded in the ledger without
		// buying anything, and usually means the caller meant Gaussian.
		if r.Delta != 0 {
			bad("delta", "laplace_delta", r.Delta, "delta must be 0 with laplace noise (got %v); use gaussian noise for (ε,δ)-DP", r.Delta)
		}
	case Gaussian:
		if !(r.Delta > 0) || r.Delta > MaxDelta {
			bad("delta", "out_of_range", r.Delta, "delta %v must be in (0, %v] with gaussian noise", r.Delta, MaxDelta)
		}
	default:
		bad("noise", "unknown_noise", r.Noise, "noise %q is not one of %q, %q", r.Noise, Laplace, Gaussian)
	}
	if len(r.Split) == 0 {
		bad("split", "required", "", "split must name at least one partitioning and family")
	}
	seen := map[Allocation]bool{}
	hasCount := map[Partitioning]bool{}
	hasFamily := map[Partitioning]map[Family]bool{}
	for i, a := range r.Split {
		field := fmt.Sprintf("split[%d]", i)
		if a.Partitioning.rank() < 0 {
			bad(field+".partitioning", "unknown_partitioning", a.Partitioning, "%s.partitioning %q is not one of %v", field, a.Partitioning, Partitionings())
		}
		if a.Family.rank() < 0 {
			bad(field+".family", "unknown_family", a.Family, "%s.family %q is not one of %v", field, a.Family, Families())
		}
		if !(a.Weight > 0) || math.IsInf(a.Weight, 0) {
			bad(field+".weight", "out_of_range", a.Weight, "%s.weight %v must be a positive number (leave the family out instead of weighting it 0)", field, a.Weight)
		}
		k := Allocation{Partitioning: a.Partitioning, Family: a.Family}
		if seen[k] {
			bad(field, "duplicate", string(a.Partitioning)+"/"+string(a.Family), "%s repeats %s/%s", field, a.Partitioning, a.Family)
		}
		seen[k] = true
		if a.Family == FamilyCount {
			hasCount[a.Partitioning] = true
		}
		if hasFamily[a.Partitioning] == nil {
			hasFamily[a.Partitioning] = map[Family]bool{}
		}
		hasFamily[a.Partitioning][a.Family] = true
	}
	for _, p := range Partitionings() {
		fams := hasFamily[p]
		if fams == nil {
			continue
		}
		if !hasCount[p] {
			bad("split", "count_required", p, "partitioning %s has no %s family: suppression and every denominator need the noisy count", p, FamilyCount)
		}
		// A domain that may be unassessed (every capability "na") needs the
		// domain posture histogram's not-assessed bucket for its mean's denominator.
		if fams[FamilyDomainMean] && !fams[FamilyDomainPosture] && anyDomainMayBeUnassessed(m) {
			bad("split", "domain_posture_required", p, "partitioning %s releases %s without %s, which the model needs for domains that may be unassessed", p, FamilyDomainMean, FamilyDomainPosture)
		}
	}
	if r.PublicationThreshold < 1 || r.PublicationThreshold > 1000 {
		bad("publication_threshold", "out_of_range", r.PublicationThreshold, "publication_threshold %d must be between 1 and 1000", r.PublicationThreshold)
	}
	if !(r.SuppressionRisk > 0) || r.SuppressionRisk >= 0.5 {
		bad("suppression_risk", "out_of_range", r.SuppressionRisk, "suppression_risk %v must be in (0, 0.5)", r.SuppressionRisk)
	}
	if !(r.Confidence >= 0.5) || r.Confidence >= 1 {
		bad("confidence", "out_of_range", r.Confidence, "confidence %v must be in [0.5, 1)", r.Confidence)
	}
	for _, u := range []struct {
		field string
		v     int
	}{{"utility.mean", r.Utility.Mean}, {"utility.quantiles", r.Utility.Quantiles}, {"utility.shares", r.Utility.Shares}} {
		if u.v < 1 || u.v > 100000 {
			bad(u.field, "out_of_range", u.v, "%s %d must be between 1 and 100000", u.field, u.v)
		}
	}
	return errs
}

// anyDomainMayBeUnassessed reports whether some domain has only capabilities that allow
// "na", so that an organisation may leave it unassessed.
func anyDomainMayBeUnassessed(m *model.Model) bool {
	for di := range m.Domains {
		if domainMayBeUnassessed(&m.Domains[di]) {
			return true
		}
	}
	return false
}

func domainMayBeUnassessed(d *model.Domain) bool {
	for _, c := range d.Capabilities {
		if !c.NAAllowed {
			return false
		}
	}
	return true
}
