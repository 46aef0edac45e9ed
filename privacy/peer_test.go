package privacy

import (
	"math"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// quantiles builds published quantiles with intervals value ± spread.
func testQuantiles(values []float64, spread float64) *Quantiles {
	q := &Quantiles{}
	for i, v := range values {
		q.Points = append(q.Points, QuantilePoint{Rank: QuantileRanks[i],
			Figure: Figure{Value: v, Raw: v, Low: math.Max(v-spread, 0), High: math.Min(v+spread, 100)}})
	}
	return q
}

func published(p Partitioning, k Key, q *Quantiles) Cohort {
	return Cohort{Partitioning: p, Key: k, Count: &Figure{Value: 100, Raw: 100, Low: 90, High: 110}, OverallQuantiles: q}
}

func suppressed(p Partitioning, k Key) Cohort {
	return Cohort{Partitioning: p, Key: k, Suppressed: true, Reason: ReasonNotEnoughPeers}
}

func TestPeerCohortFallback(t *testing.T) {
	keys := model.CohortKeys{SizeBand: "lt25", Region: "west", OrgType: "fqhc"}
	sr, sz, nat := Key{SizeBand: "lt25", Region: "west"}, Key{SizeBand: "lt25"}, Key{}
	q := testQuantiles([]float64{20, 30, 50, 60, 80}, 5)
	withheld := &Quantiles{Withheld: true, Reason: ReasonTooFewForEstimate}
	tests := []struct {
		name    string
		cohorts []Cohort
		needs   []Family
		level   Partitioning
		skipped []string
		missing bool
	}{
		{"own cell", []Cohort{published(BySizeRegion, sr, q), published(BySize, sz, q), published(National, nat, q)}, nil, BySizeRegion, nil, false},
		{"cell suppressed", []Cohort{suppressed(BySizeRegion, sr), published(BySize, sz, q), published(National, nat, q)}, nil, BySize, []string{ReasonNotEnoughPeers}, false},
		{"cell and size suppressed", []Cohort{suppressed(BySizeRegion, sr), suppressed(BySize, sz), published(National, nat, q)}, nil, National,
			[]string{ReasonNotEnoughPeers, ReasonNotEnoughPeers}, false},
		{"cell not released", []Cohort{published(BySize, sz, q), published(National, nat, q)}, nil, BySize, []string{ReasonNotReleased}, false},
		{"cell without quantiles", []Cohort{published(BySizeRegion, sr, withheld), published(BySize, sz, q)}, []Family{FamilyOverallQuantiles},
			BySize, []string{"overall_quantiles not published for this cohort"}, false},
		{"cell without quantiles, not needed", []Cohort{published(BySizeRegion, sr, withheld), published(BySize, sz, q)}, nil, BySizeRegion, nil, false},
		{"other cells do not count", []Cohort{published(BySizeRegion, Key{SizeBand: "lt25", Region: "south"}, q), suppressed(BySizeRegion, sr), published(National, nat, q)},
			nil, National, []string{ReasonNotEnoughPeers, ReasonNotReleased}, false},
		{"nothing published", []Cohort{suppressed(BySizeRegion, sr), suppressed(BySize, sz), suppressed(National, nat)}, nil, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := &Release{ID: "r", Cohorts: tt.cohorts}
			v, err := PeerCohort(rel, keys, tt.needs...)
			if tt.missing {
				if model.ErrorKind(err) != model.KindNotFound || len(v.Skipped) != 3 {
					t.Fatalf("got %+v, %v; want not found after three levels", v, err)
				}
				return
			}
			if err != nil || v.Level != tt.level || v.Cohort == nil || v.Cohort.Partitioning != tt.level || v.Cohort.Key != keyOf(tt.level, keys) {
				t.Fatalf("got %+v, %v; want level %s", v, err, tt.level)
			}
			if len(v.Skipped) != len(tt.skipped) || v.FellBack() != (len(tt.skipped) > 0) {
				t.Fatalf("skipped %+v, want %v", v.Skipped, tt.skipped)
			}
			for i, s := range v.Skipped {
				if s.Reason != tt.skipped[i] || s.Level != PeerLevels[i] || s.Key != keyOf(PeerLevels[i], keys) {
					t.Fatalf("skipped[%d] = %+v, want reason %q", i, s, tt.skipped[i])
				}
			}
		})
	}
}

func TestPeerPosition(t *testing.T) {
	c := published(National, Key{}, testQuantiles([]float64{20, 30, 50, 60, 80}, 0))
	tests := []struct {
		own, want, low, high float64
	}{
		{50, 50, 50, 50},
		{40, 37.5, 37.5, 37.5},
		{10, 5, 5, 5},
		{0, 0, 0, 0},
		{90, 95, 95, 95},
		{100, 100, 100, 100},
		{70, 82.5, 82.5, 82.5},
	}
	for _, tt := range tests {
		p, err := PeerPosition(&c, tt.own)
		if err != nil || p.Percentile != tt.want || p.Low != tt.low || p.High != tt.high || p.Subject != SubjectOverall || p.Index != tt.own {
			t.Errorf("PeerPosition(%v) = %+v, %v; want %v [%v, %v]", tt.own, p, err, tt.want, tt.low, tt.high)
		}
	}
	// Tied quantiles: an index on the flat stretch sits in the middle of it.
	tied := published(National, Key{}, testQuantiles([]float64{20, 40, 40, 40, 80}, 0))
	if p, _ := PeerPosition(&tied, 40); p.Percentile != 50 || p.Low != 25 || p.High != 75 {
		t.Errorf("tied: %+v", p)
	}
	// Intervals widen the range: higher quantiles place the provider lower.
	wide := published(National, Key{}, testQuantiles([]float64{20, 30, 50, 60, 80}, 10))
	p, err := PeerPosition(&wide, 50)
	if err != nil || p.Percentile != 50 || !(p.Low < 50 && p.High > 50) {
		t.Errorf("with intervals: %+v, %v", p, err)
	}
	if p.Low != 37.5 || p.High != 75 { // 50 against highs (30,40,60,..) and lows (..,40,50,70)
		t.Errorf("range [%v, %v], want [37.5, 75]", p.Low, p.High)
	}
	// Domain positions read the domain's quantiles.
	d := published(National, Key{}, nil)
	d.Domains = []DomainStat{{Domain: "IDN", Quantiles: testQuantiles([]float64{10, 20, 30, 40, 50}, 0)}}
	if p, err := PeerDomainPosition(&d, "IDN", 30); err != nil || p.Percentile != 50 || p.Subject != "IDN" {
		t.Errorf("domain: %+v %v", p, err)
	}
	if _, err := PeerDomainPosition(&d, "XYZ", 30); model.ErrorKind(err) != model.KindNotFound {
		t.Errorf("unknown domain: %v", err)
	}
	// Errors.
	if _, err := PeerPosition(&d, 30); model.ErrorKind(err) != model.KindNotFound {
		t.Errorf("no overall quantiles: %v", err)
	}
	w := published(National, Key{}, &Quantiles{Withheld: true, Reason: ReasonTooFewForEstimate})
	if _, err := PeerPosition(&w, 30); model.ErrorKind(err) != model.KindNotFound {
		t.Errorf("withheld: %v", err)
	}
	s := suppressed(BySize, Key{SizeBand: "lt25"})
	if _, err := PeerPosition(&s, 30); model.ErrorKind(err) != model.KindNotFound {
		t.Errorf("suppressed: %v", err)
	}
	for _, bad := range []float64{-1, 101, math.NaN()} {
		if _, err := PeerPosition(&c, bad); model.ErrorKind(err) != model.KindInvalid {
			t.Errorf("index %v: %v", bad, err)
		}
	}
}

// End to end on a real release: the provider's view comes from the release only, and
// its range holds the percentile.
func TestPeerViewOnRelease(t *testing.T) {
	m := testModel()
	recs := population(m, 6000, 1)
	rel := mustBuild(t, m, mustPlan(t, m, Request{Cycle: "c", Epsilon: 1}), recs)
	for _, r := range recs[:200] {
		v, err := PeerCohort(rel, r.Keys, FamilyOverallQuantiles)
		if err != nil {
			t.Fatal(err)
		}
		p, err := PeerPosition(v.Cohort, r.Index)
		if err != nil || p.Low > p.Percentile || p.High < p.Percentile || p.Low < 0 || p.High > 100 {
			t.Fatalf("%+v %v", p, err)
		}
		dv, err := PeerCohort(rel, r.Keys, FamilyDomainQuantiles)
		if err != nil || dv.Level != National {
			t.Fatalf("domain radar cohort %+v %v: the default release has domain figures nationally", dv, err)
		}
		if _, err := PeerDomainPosition(dv.Cohort, m.Domains[0].ID, r.Domains[0].Index); err != nil {
			t.Fatal(err)
		}
	}
}
