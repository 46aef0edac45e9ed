package privacy

import (
	"math"
	"strconv"
	"testing"

	"github.com/google/differential-privacy/go/v3/noise"
	"github.com/hcztmm/warehouse/model"
)

func TestInvalidRecords(t *testing.T) {
	m := testModel()
	base := population(m, 20, 3)
	naCap := -1
	for i, id := range m.CapabilityIDs() {
		if c, _ := m.Capability(id); !c.NAAllowed {
			naCap = i
			break
		}
	}
	tests := []struct {
		name   string
		mutate func(rs []Record)
		field  string
	}{
		{"duplicate organisation", func(rs []Record) { rs[7].OrgID = rs[2].OrgID }, "records[7].org_id"},
		{"missing organisation", func(rs []Record) { rs[1].OrgID = "" }, "records[1].org_id"},
		{"unknown size band", func(rs []Record) { rs[3].Keys.SizeBand = "huge" }, "records[3].keys.size_band"},
		{"unknown region", func(rs []Record) { rs[3].Keys.Region = "mars" }, "records[3].keys.region"},
		{"unknown type", func(rs []Record) { rs[3].Keys.OrgType = "spa" }, "records[3].keys.org_type"},
		{"posture out of range", func(rs []Record) { rs[4].Posture = 9 }, "records[4].posture"},
		{"index above 100", func(rs []Record) { rs[4].Index = 100.5 }, "records[4].index"},
		{"index NaN", func(rs []Record) { rs[4].Index = math.NaN() }, "records[4].index"},
		{"too few domains", func(rs []Record) { rs[5].Domains = rs[5].Domains[:3] }, "records[5].domains"},
		{"domain index negative", func(rs []Record) {
			rs[5].Domains = append([]DomainValue(nil), rs[5].Domains...)
			rs[5].Domains[2].Index = -1
		}, "records[5].domains[2].index"},
		{"domain cannot be unassessed", func(rs []Record) {
			rs[5].Domains = append([]DomainValue(nil), rs[5].Domains...)
			rs[5].Domains[0].Assessed = false
		}, "records[5].domains[0].assessed"},
		{"too many answers", func(rs []Record) { rs[6].Answers = append(append([]model.Answer(nil), rs[6].Answers...), 1) }, "records[6].answers"},
		{"answer out of range", func(rs []Record) {
			rs[6].Answers = append([]model.Answer(nil), rs[6].Answers...)
			rs[6].Answers[0] = 5
		}, "records[6].answers[0]"},
		{"na not allowed", func(rs []Record) {
			rs[6].Answers = append([]model.Answer(nil), rs[6].Answers...)
			rs[6].Answers[naCap] = model.NotApplicable
		}, "records[6].answers[" + strconv.Itoa(naCap) + "]"},
	}
	plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := append([]Record(nil), base...)
			tt.mutate(rs)
			_, err := Build(m, plan, rs)
			kind, field := fieldOf(err)
			if kind != model.KindInvalid || field != tt.field {
				t.Fatalf("got %v %q (%v), want invalid %q", kind, field, err, tt.field)
			}
		})
	}
}

func TestRecordOf(t *testing.T) {
	m := testModel()
	answers := map[string]model.Answer{}
	for i, id := range m.CapabilityIDs() {
		answers[id] = model.Answer(i % 5)
	}
	delete(answers, m.CapabilityIDs()[3]) // missing counts as unknown
	sc := m.Score(answers)
	keys := model.CohortKeys{SizeBand: "lt25", Region: "west", OrgType: "fqhc"}
	r := RecordOf(m, "ORG-1", keys, sc, answers)
	if r.OrgID != "ORG-1" || r.Keys != keys || r.Posture != sc.Posture || r.Index != sc.Index {
		t.Fatalf("record %+v", r)
	}
	if len(r.Domains) != len(m.Domains) || len(r.Answers) != len(m.CapabilityIDs()) {
		t.Fatal("record not in model shape")
	}
	if r.Answers[3] != model.Unknown || r.Answers[4] != 4 {
		t.Fatalf("answers %v", r.Answers[:5])
	}
	for i, d := range sc.Domains {
		if r.Domains[i] != (DomainValue{Assessed: d.Assessed, Index: d.Index, Posture: d.Posture}) {
			t.Fatalf("domain %d: %+v vs %+v", i, r.Domains[i], d)
		}
	}
}

// A plan edited after NewPlan (its cost no longer what the ledger would reserve for its
// request) is refused, as is a plan for another model version.
func TestBuildRefusesTamperedPlans(t *testing.T) {
	m := testModel()
	recs := population(m, 50, 3)
	plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1})

	p := *plan
	p.Cost.Entries = append([]CostEntry(nil), plan.Cost.Entries...)
	p.Cost.Entries[0].Epsilon *= 10
	if _, err := Build(m, &p, recs); model.ErrorKind(err) != model.KindInvalid {
		t.Fatalf("inflated entry: %v", err)
	}
	p = *plan
	p.Request.Noise = "none"
	if _, err := Build(m, &p, recs); model.ErrorKind(err) != model.KindInvalid {
		t.Fatalf("unknown noise kind: %v", err)
	}
	p = *plan
	p.Request.Epsilon = 3
	if _, err := Build(m, &p, recs); model.ErrorKind(err) != model.KindInvalid {
		t.Fatalf("request changed under its cost: %v", err)
	}
	p = *plan
	p.ModelVersion = "0.9"
	if _, err := Build(m, &p, recs); model.ErrorKind(err) != model.KindInvalid {
		t.Fatalf("other model: %v", err)
	}
	if _, err := Build(m, nil, recs); err == nil {
		t.Fatal("nil plan accepted")
	}
}

// Production refuses any noise but the library's Laplace and Gaussian, whatever the
// build is handed.
func TestProductionRefusesForeignNoise(t *testing.T) {
	for _, k := range []NoiseKind{"", "uniform", "none", "Laplace"} {
		if _, err := libraryNoise(k); model.ErrorKind(err) != model.KindInvalid {
			t.Errorf("libraryNoise(%q) = %v", k, err)
		}
	}
	for _, k := range []NoiseKind{Laplace, Gaussian} {
		n, err := libraryNoise(k)
		if err != nil || checkLibraryNoise(n, k) != nil {
			t.Errorf("%s refused: %v", k, err)
		}
	}
	if checkLibraryNoise(noise.Gaussian(), Laplace) == nil {
		t.Error("gaussian accepted for a laplace plan")
	}
	if checkLibraryNoise(&recorder{inner: noise.Laplace()}, Laplace) == nil {
		t.Error("a wrapped noise was accepted")
	}
	if checkLibraryNoise(nil, Laplace) == nil {
		t.Error("nil noise accepted")
	}
	// The production build path runs the check on what the source returns.
	m := testModel()
	plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1})
	rs := newRecorders(nil)
	_, err := build(m, plan, population(m, 30, 3), buildOptions{noise: rs.source, checkNoise: true})
	if err == nil {
		t.Fatal("build with checkNoise accepted a recording noise")
	}
}

// An empty cycle is a valid input: every cohort is computed and, the noisy counts being
// near zero, suppressed.
func TestEmptyRelease(t *testing.T) {
	m := testModel()
	plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1})
	rel := mustBuild(t, m, plan, nil)
	want := 0
	for _, p := range plan.Cost.Partitionings() {
		want += len(newGrid(m).keys(p))
	}
	if len(rel.Cohorts) != want {
		t.Fatalf("%d cohorts, want the whole grid (%d)", len(rel.Cohorts), want)
	}
	for _, c := range rel.Cohorts {
		if !c.Suppressed || c.Reason != ReasonNotEnoughPeers || c.Count != nil || c.Posture != nil || len(c.Mechanisms) != 0 {
			t.Fatalf("empty cohort published something: %+v", c)
		}
	}
}

// Every cell of the public grid is in the release, in canonical order, empty cells
// included, and the grid comes from the model alone.
func TestReleaseCoversTheGrid(t *testing.T) {
	m := testModel()
	// Everyone in one cell: the other cells exist in the data only as absences.
	var recs []Record
	for i := range 40 {
		recs = append(recs, uniformRecord(m, "O"+strconv.Itoa(i), model.CohortKeys{SizeBand: "100-299", Region: "west", OrgType: "community"}, 2))
	}
	plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: 1})
	rel := mustBuild(t, m, plan, recs)
	g := newGrid(m)
	i := 0
	for _, p := range Partitionings() {
		for _, k := range g.keys(p) {
			if i >= len(rel.Cohorts) || rel.Cohorts[i].Partitioning != p || rel.Cohorts[i].Key != k {
				t.Fatalf("cohort %d is not %s/%s", i, p, k)
			}
			i++
		}
	}
	if i != len(rel.Cohorts) || i != 1+5+4+20+8 {
		t.Fatalf("%d cohorts", len(rel.Cohorts))
	}
	if rel.Library != Library || rel.Cycle != "c" || rel.ModelVersion != m.Version || rel.CreatedAt.Location().String() != "UTC" {
		t.Fatalf("release header %+v", rel)
	}
}
