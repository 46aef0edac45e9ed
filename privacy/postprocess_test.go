package privacy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestProjectSimplex(t *testing.T) {
	tests := []struct {
		x     []float64
		total float64
		want  []float64
	}{
		{[]float64{3, 4, 3}, 10, []float64{3, 4, 3}},      // already consistent
		{[]float64{5, -2, 7}, 10, []float64{4, 0, 6}},     // negative bucket clipped, rest shifted
		{[]float64{1, 1, 1, 1}, 8, []float64{2, 2, 2, 2}}, // scaled up evenly
		{[]float64{-5, -1, -3}, 6, []float64{0, 4, 2}},    // all negative
		{[]float64{4, 2}, 0, []float64{0, 0}},
		{[]float64{4, 2}, -3, []float64{0, 0}},
	}
	for _, tt := range tests {
		got := projectSimplex(tt.x, tt.total)
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-9 {
				t.Errorf("projectSimplex(%v, %v) = %v, want %v", tt.x, tt.total, got, tt.want)
				break
			}
		}
	}
	// Properties on random inputs: non-negative, adds up, and no other feasible point is
	// closer (checked against random feasible points).
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		k := 2 + r.IntN(7)
		x := make([]float64, k)
		for i := range x {
			x[i] = r.NormFloat64() * 50
		}
		total := r.Float64() * 300
		p := projectSimplex(x, total)
		var s, d float64
		for i, v := range p {
			if v < 0 {
				t.Fatalf("negative bucket %v", p)
			}
			s += v
			d += (v - x[i]) * (v - x[i])
		}
		if math.Abs(s-total) > 1e-6*math.Max(1, total) {
			t.Fatalf("projection adds up to %v, want %v", s, total)
		}
		for range 20 {
			q := make([]float64, k)
			var qs float64
			for i := range q {
				q[i] = r.Float64()
				qs += q[i]
			}
			var dq float64
			for i := range q {
				q[i] *= total / qs
				dq += (q[i] - x[i]) * (q[i] - x[i])
			}
			if dq < d-1e-6 {
				t.Fatalf("feasible %v is closer to %v than the projection %v", q, x, p)
			}
		}
	}
}

func TestIntervalsArithmetic(t *testing.T) {
	fixed := func(raw, lo, hi float64) measured {
		return measured{raw: raw, ci: func(float64) (interval, error) { return interval{lo, hi}, nil }}
	}
	// Share: numerator in [10, 30], denominator in [90, 110].
	got, _ := ratioInterval(fixed(20, 10, 30), fixed(100, 90, 110), 0.05)
	if math.Abs(got.lo-10.0/110) > 1e-12 || math.Abs(got.hi-30.0/90) > 1e-12 {
		t.Errorf("ratio interval %+v", got)
	}
	// Negative numerator bound clips at zero; a denominator bound below one counts as one.
	got, _ = ratioInterval(fixed(2, -5, 8), fixed(3, -2, 9), 0.05)
	if got.lo != 0 || got.hi != 8 {
		t.Errorf("clipped ratio interval %+v", got)
	}
	// Mean: centred sum in [-1000, 500] hundredths over 10..20 organisations.
	got, _ = meanInterval(fixed(0, -1000, 500), fixed(15, 10, 20), 0.05)
	if math.Abs(got.lo-(50-1)) > 1e-12 || math.Abs(got.hi-(50+0.5)) > 1e-12 {
		t.Errorf("mean interval %+v", got)
	}
	got, _ = meanInterval(fixed(0, -1e7, 1e7), fixed(15, 10, 20), 0.05)
	if got.lo != 0 || got.hi != 100 {
		t.Errorf("mean interval not clamped: %+v", got)
	}
	d := difference(fixed(100, 90, 110), fixed(5, 0, 12))
	if iv, _ := d.ci(0.05); d.raw != 95 || iv.lo != 78 || iv.hi != 110 {
		t.Errorf("difference %v %+v", d.raw, iv)
	}
	if meanValue(-2500, 10) != 47.5 || meanValue(1e9, 1) != 100 || meanValue(0, 0) != 50 {
		t.Error("meanValue")
	}
	if roundTo(-0.00001, 4) != 0 || math.Signbit(roundTo(-0.00001, 4)) {
		t.Error("roundTo keeps a negative zero")
	}
	if leafFloor(47.3) != 45 || leafCeil(47.3) != 50 || leafFloor(50) != 50 || leafCeil(50) != 50 || leafCeil(99.9) != 100 {
		t.Error("leaf rounding")
	}
}

// Post-processing invariants over realistic releases (every family, several ε): counts
// non-negative and consistent with the published count, shares in [0,1] adding up to 1,
// means and quantiles in [0,100], quantiles monotone, every interval holding its value,
// and withheld or suppressed entries carrying nothing.
func TestPostProcessingInvariants(t *testing.T) {
	m := testModel()
	recs := population(m, 3000, 21)
	for _, eps := range []float64{0.5, 2, 10} {
		plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: eps, Split: FullSplit()})
		rel := mustBuild(t, m, plan, recs)
		checkInvariants(t, rel)
	}
}

func checkInvariants(t *testing.T, rel *Release) {
	t.Helper()
	inFig := func(where string, f Figure, lo, hi float64) {
		if f.Value < lo-1e-9 || f.Value > hi+1e-9 || f.Low > f.Value+1e-9 || f.High < f.Value-1e-9 || math.IsNaN(f.Raw) {
			t.Fatalf("%s: figure %+v outside [%v, %v] or not inside its interval", where, f, lo, hi)
		}
	}
	hist := func(where string, h *Histogram, n float64) {
		if h == nil {
			return
		}
		if h.Withheld {
			if len(h.Buckets) != 0 || h.Reason == "" {
				t.Fatalf("%s: withheld histogram carries buckets or no reason", where)
			}
			return
		}
		var cs, ss float64
		for _, b := range h.Buckets {
			inFig(where+" count", b.Count, 0, math.Inf(1))
			inFig(where+" share", b.Share, 0, 1)
			if b.Share.Low < 0 || b.Share.High > 1 {
				t.Fatalf("%s: share interval %+v leaves [0,1]", where, b.Share)
			}
			cs += b.Count.Value
			ss += b.Share.Value
		}
		if math.Abs(cs-n) > 1e-3*float64(len(h.Buckets)) || (n > 0 && math.Abs(ss-1) > 1e-3) {
			t.Fatalf("%s: counts add up to %v (published count %v), shares to %v", where, cs, n, ss)
		}
	}
	quant := func(where string, q *Quantiles) {
		if q == nil || q.Withheld {
			return
		}
		if len(q.Points) != len(QuantileRanks) {
			t.Fatalf("%s: %d quantiles", where, len(q.Points))
		}
		for i, p := range q.Points {
			inFig(where, p.Figure, IndexMin, IndexMax)
			if p.Rank != QuantileRanks[i] || (i > 0 && (p.Value < q.Points[i-1].Value || p.Low < q.Points[i-1].Low || p.High < q.Points[i-1].High)) {
				t.Fatalf("%s: quantiles not monotone: %+v", where, q.Points)
			}
		}
	}
	mean := func(where string, mn *Mean) {
		if mn == nil || mn.Withheld {
			return
		}
		inFig(where, *mn.Estimate, IndexMin, IndexMax)
		if mn.RawSum == nil {
			t.Fatalf("%s: mean without its raw sum", where)
		}
	}
	for _, c := range rel.Cohorts {
		where := string(c.Partitioning) + "/" + c.Key.String()
		if c.Suppressed {
			if c.Reason != ReasonNotEnoughPeers || c.Count != nil || c.Posture != nil || c.OverallMean != nil ||
				c.OverallQuantiles != nil || c.Domains != nil || c.Capabilities != nil || c.Mechanisms != nil {
				t.Fatalf("%s: suppressed cohort publishes something", where)
			}
			continue
		}
		if c.Count.Value < float64(rel.Request.PublicationThreshold) {
			t.Fatalf("%s: published with a count of %v", where, c.Count.Value)
		}
		inFig(where+" count", *c.Count, 0, math.Inf(1))
		n := c.Count.Value
		hist(where+" posture", c.Posture, n)
		mean(where+" overall mean", c.OverallMean)
		quant(where+" overall quantiles", c.OverallQuantiles)
		for _, d := range c.Domains {
			hist(where+" "+d.Domain+" posture", d.Posture, n)
			mean(where+" "+d.Domain+" mean", d.Mean)
			quant(where+" "+d.Domain+" quantiles", d.Quantiles)
		}
		for _, cs := range c.Capabilities {
			hist(where+" "+cs.Capability, cs.Answers, n)
		}
	}
}

// Estimates below their utility threshold are withheld on the noisy count, and carry a
// reason instead of figures.
func TestUtilityThresholdsWithhold(t *testing.T) {
	m := testModel()
	recs := population(m, 2000, 4)
	req := Request{Cycle: "c", Epsilon: 10, Split: FullSplit(BySizeRegion), Utility: Utility{Mean: 100, Quantiles: 150, Shares: 60}}
	rel := mustBuild(t, m, mustPlan(t, m, req), recs)
	var withheld, shown int
	for _, c := range rel.Cohorts {
		if c.Suppressed {
			continue
		}
		n := c.Count.Value
		if got := c.OverallMean.Withheld; got != (n < 100) {
			t.Fatalf("%s: mean withheld=%v at noisy count %v", c.Key, got, n)
		}
		if got := c.OverallQuantiles.Withheld; got != (n < 150) {
			t.Fatalf("%s: quantiles withheld=%v at noisy count %v", c.Key, got, n)
		}
		if got := c.Capabilities[0].Answers.Withheld; got != (n < 60) {
			t.Fatalf("%s: shares withheld=%v at noisy count %v", c.Key, got, n)
		}
		if c.OverallQuantiles.Withheld {
			withheld++
			if c.OverallQuantiles.Reason != ReasonTooFewForEstimate || c.OverallQuantiles.Points != nil {
				t.Fatalf("%s: withheld quantiles %+v", c.Key, c.OverallQuantiles)
			}
		} else {
			shown++
		}
		if c.Posture.Withheld {
			t.Fatalf("%s: the overall posture histogram has no utility threshold", c.Key)
		}
	}
	if withheld == 0 || shown == 0 {
		t.Fatalf("thresholds not exercised: %d withheld, %d shown", withheld, shown)
	}
}
