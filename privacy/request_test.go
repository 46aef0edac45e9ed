package privacy

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

func TestInvalidRequests(t *testing.T) {
	m := testModel()
	ok := Request{Cycle: "2025", Epsilon: 1}
	tests := []struct {
		name   string
		mutate func(r *Request)
		field  string
	}{
		{"missing cycle", func(r *Request) { r.Cycle = "" }, "cycle"},
		{"bad cycle", func(r *Request) { r.Cycle = "2025 spring" }, "cycle"},
		{"zero epsilon", func(r *Request) { r.Epsilon = 0 }, "epsilon"},
		{"negative epsilon", func(r *Request) { r.Epsilon = -1 }, "epsilon"},
		{"NaN epsilon", func(r *Request) { r.Epsilon = math.NaN() }, "epsilon"},
		{"infinite epsilon", func(r *Request) { r.Epsilon = math.Inf(1) }, "epsilon"},
		{"epsilon above cap", func(r *Request) { r.Epsilon = MaxEpsilon * 2 }, "epsilon"},
		{"laplace with delta", func(r *Request) { r.Delta = 1e-6 }, "delta"},
		{"gaussian without delta", func(r *Request) { r.Noise = Gaussian }, "delta"},
		{"gaussian negative delta", func(r *Request) { r.Noise, r.Delta = Gaussian, -1e-6 }, "delta"},
		{"gaussian delta too large", func(r *Request) { r.Noise, r.Delta = Gaussian, 0.01 }, "delta"},
		{"gaussian delta one", func(r *Request) { r.Noise, r.Delta = Gaussian, 1 }, "delta"},
		{"unknown noise", func(r *Request) { r.Noise = "uniform" }, "noise"},
		{"empty split", func(r *Request) { r.Split = []Allocation{} }, "split"},
		{"unknown partitioning", func(r *Request) {
			r.Split = []Allocation{{"county", FamilyCount, 1}}
		}, "split[0].partitioning"},
		{"unknown family", func(r *Request) {
			r.Split = []Allocation{{National, FamilyCount, 1}, {National, "median", 1}}
		}, "split[1].family"},
		{"zero weight", func(r *Request) { r.Split = []Allocation{{National, FamilyCount, 0}} }, "split[0].weight"},
		{"negative weight", func(r *Request) { r.Split = []Allocation{{National, FamilyCount, -1}} }, "split[0].weight"},
		{"NaN weight", func(r *Request) { r.Split = []Allocation{{National, FamilyCount, math.NaN()}} }, "split[0].weight"},
		{"duplicate cell", func(r *Request) {
			r.Split = []Allocation{{National, FamilyCount, 1}, {National, FamilyCount, 2}}
		}, "split[1]"},
		{"partitioning without count", func(r *Request) { r.Split = []Allocation{{BySize, FamilyPosture, 1}} }, "split"},
		{"cell epsilon too small", func(r *Request) {
			r.Split = []Allocation{{National, FamilyCount, 1}, {National, FamilyPosture, 1e-6}}
		}, "split[1].weight"},
		{"threshold negative", func(r *Request) { r.PublicationThreshold = -3 }, "publication_threshold"},
		{"risk negative", func(r *Request) { r.SuppressionRisk = -0.1 }, "suppression_risk"},
		{"risk one half", func(r *Request) { r.SuppressionRisk = 0.5 }, "suppression_risk"},
		{"confidence one", func(r *Request) { r.Confidence = 1 }, "confidence"},
		{"confidence low", func(r *Request) { r.Confidence = 0.2 }, "confidence"},
		{"utility negative", func(r *Request) { r.Utility.Mean = -1 }, "utility.mean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.mutate(&r)
			_, err := NewPlan(m, r)
			if err == nil {
				t.Fatal("accepted")
			}
			kind, field := fieldOf(err)
			if kind != model.KindInvalid || field != tt.field {
				t.Fatalf("got kind %v field %q (%v), want invalid %q", kind, field, err, tt.field)
			}
		})
	}
}

func TestPlanDefaults(t *testing.T) {
	m := testModel()
	p := mustPlan(t, m, Request{Cycle: "2025", Epsilon: 1})
	r := p.Request
	if r.Noise != Laplace || r.PublicationThreshold != DefaultPublicationThreshold || r.SuppressionRisk != DefaultSuppressionRisk ||
		r.Confidence != DefaultConfidence || r.Utility != (Utility{DefaultUtilityMean, DefaultUtilityQuantiles, DefaultUtilityShares}) {
		t.Fatalf("defaults not filled: %+v", r)
	}
	if !reflect.DeepEqual(r.Split, DefaultSplit()) {
		t.Fatal("split is not the default split")
	}
	if p.ModelVersion != m.Version {
		t.Fatal("model version not recorded")
	}
	if got := p.Cost.Partitionings(); !reflect.DeepEqual(got, Partitionings()) {
		t.Fatalf("default releases %v, want every partitioning", got)
	}
	var weights float64
	for _, a := range defaultSplit {
		weights += a.Weight
	}
	if weights != 1000 {
		t.Fatalf("default split adds up to %v per mille", weights)
	}
}

// The cost's entries add up to the total exactly (integer units), whatever the weights,
// and each entry carries the L0 the aggregators get.
func TestCostAddsUpExactly(t *testing.T) {
	m := testModel()
	for _, eps := range []float64{1, 0.3, 0.29, 0.123456789, 5, 7.77} {
		for _, split := range [][]Allocation{nil, FullSplit(), DefaultSplit(BySize, ByType),
			{{National, FamilyCount, 1}, {National, FamilyPosture, 1}, {National, FamilyCapability, 1}}} {
			p := mustPlan(t, m, Request{Cycle: "c", Epsilon: eps, Split: split})
			var units int64
			var sum float64
			for _, e := range p.Cost.Entries {
				units += e.EpsilonUnits
				sum += e.Epsilon
				if e.Epsilon != float64(e.EpsilonUnits)*EpsilonUnit || e.Delta != 0 || e.DeltaUnits != 0 {
					t.Fatalf("entry %+v inconsistent", e)
				}
				if e.L0 != familyL0(m, e.Family) || e.Cohorts != len(newGrid(m).keys(e.Partitioning)) {
					t.Fatalf("entry %+v has wrong l0 or cohorts", e)
				}
			}
			if units != p.Cost.EpsilonUnits || math.Abs(sum-p.Cost.Epsilon) > 1e-12 {
				t.Fatalf("ε=%v: entries add up to %d units (%v), total %d (%v)", eps, units, sum, p.Cost.EpsilonUnits, p.Cost.Epsilon)
			}
			if math.Abs(p.Cost.Epsilon-eps) > EpsilonUnit {
				t.Fatalf("total %v for requested %v", p.Cost.Epsilon, eps)
			}
		}
	}
	// Gaussian: δ splits the same way.
	p := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1, Noise: Gaussian, Delta: 1e-6})
	var du int64
	for _, e := range p.Cost.Entries {
		du += e.DeltaUnits
		if e.DeltaUnits <= 0 {
			t.Fatalf("entry %+v has no δ", e)
		}
	}
	if du != p.Cost.DeltaUnits || p.Cost.DeltaUnits != int64(math.Round(1e-6/DeltaUnit)) {
		t.Fatalf("δ units %d, total %d", du, p.Cost.DeltaUnits)
	}
}

func TestLargestRemainder(t *testing.T) {
	tests := []struct {
		total   int64
		weights []float64
		want    []int64
	}{
		{10, []float64{1, 1, 1}, []int64{4, 3, 3}},
		{1000, []float64{0.2, 0.3, 0.5}, []int64{200, 300, 500}},
		{7, []float64{1, 2}, []int64{2, 5}},
		{0, []float64{1, 2}, []int64{0, 0}},
		{5, []float64{0.1}, []int64{5}},
	}
	for _, tt := range tests {
		got := largestRemainder(tt.total, tt.weights)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("largestRemainder(%d, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
		}
	}
}

// The request is stored in canonical order so equal requests give equal plans.
func TestSplitCanonicalOrder(t *testing.T) {
	m := testModel()
	a := []Allocation{{ByType, FamilyPosture, 1}, {National, FamilyCapability, 3}, {ByType, FamilyCount, 2}, {National, FamilyCount, 1}}
	b := []Allocation{{National, FamilyCount, 1}, {ByType, FamilyCount, 2}, {National, FamilyCapability, 3}, {ByType, FamilyPosture, 1}}
	pa := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1, Split: a})
	pb := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1, Split: b})
	if !reflect.DeepEqual(pa, pb) {
		t.Fatal("same split in another order gives another plan")
	}
	if pa.Request.Split[0] != (Allocation{National, FamilyCount, 1}) || pa.Request.Split[3] != (Allocation{ByType, FamilyPosture, 1}) {
		t.Fatalf("not canonical: %v", pa.Request.Split)
	}
	if a[0].Partitioning != ByType {
		t.Fatal("NewPlan reordered the caller's slice")
	}
}

func TestErrorMessagesNameFields(t *testing.T) {
	_, err := NewPlan(testModel(), Request{Epsilon: -1, Noise: "foo"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"cycle", "epsilon", "noise"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
