package privacy

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// utilityStats summarises a release's figures per partitioning: suppression rate and
// median interval widths of the figures a reader looks at.
type utilityStats struct {
	cohorts, suppressed                            int
	postureShare, domainMean, domainMedian, capShr []float64
	overallMedian, overallMean, count              []float64
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func releaseUtility(r *Release) map[Partitioning]*utilityStats {
	out := map[Partitioning]*utilityStats{}
	for i := range r.Cohorts {
		c := &r.Cohorts[i]
		s := out[c.Partitioning]
		if s == nil {
			s = &utilityStats{}
			out[c.Partitioning] = s
		}
		s.cohorts++
		if c.Suppressed {
			s.suppressed++
			continue
		}
		s.count = append(s.count, c.Count.High-c.Count.Low)
		if c.Posture != nil && !c.Posture.Withheld {
			for _, b := range c.Posture.Buckets {
				s.postureShare = append(s.postureShare, b.Share.High-b.Share.Low)
			}
		}
		if mn := c.OverallMean; mn != nil && !mn.Withheld {
			s.overallMean = append(s.overallMean, mn.Estimate.High-mn.Estimate.Low)
		}
		if q := c.OverallQuantiles; q != nil && !q.Withheld {
			s.overallMedian = append(s.overallMedian, q.Points[2].High-q.Points[2].Low)
		}
		for _, d := range c.Domains {
			if d.Mean != nil && !d.Mean.Withheld {
				s.domainMean = append(s.domainMean, d.Mean.Estimate.High-d.Mean.Estimate.Low)
			}
			if d.Quantiles != nil && !d.Quantiles.Withheld {
				s.domainMedian = append(s.domainMedian, d.Quantiles.Points[2].High-d.Quantiles.Points[2].Low)
			}
		}
		for _, cs := range c.Capabilities {
			if cs.Answers != nil && !cs.Answers.Withheld {
				for _, b := range cs.Answers.Buckets {
					s.capShr = append(s.capShr, b.Share.High-b.Share.Low)
				}
			}
		}
	}
	return out
}

// TestUtilityReport prints the typical 95% interval widths and suppression rates of a
// release on a 6,000-organisation population. It measures, it does not assert: run it
// with PRIVACY_REPORT=1 go test -run UtilityReport -v ./privacy/.
func TestUtilityReport(t *testing.T) {
	if os.Getenv("PRIVACY_REPORT") == "" {
		t.Skip("set PRIVACY_REPORT=1 to print the utility report")
	}
	m := testModel()
	recs := population(m, 6000, 1)
	eps := 1.0
	if v := os.Getenv("PRIVACY_EPS"); v != "" {
		fmt.Sscan(v, &eps)
	}
	req := Request{Cycle: "2025", Epsilon: eps}
	if os.Getenv("PRIVACY_GAUSS") != "" {
		req.Noise, req.Delta = Gaussian, 1e-6
	}
	if os.Getenv("PRIVACY_FULL") != "" {
		req.Split = FullSplit()
	}
	plan, err := NewPlan(m, req)
	if err != nil {
		t.Fatal(err)
	}
	runs := 10
	agg := map[Partitioning]*utilityStats{}
	var took time.Duration
	for range runs {
		st := time.Now()
		rel, err := Build(m, plan, recs)
		took += time.Since(st)
		if err != nil {
			t.Fatal(err)
		}
		for p, s := range releaseUtility(rel) {
			a := agg[p]
			if a == nil {
				a = &utilityStats{}
				agg[p] = a
			}
			a.cohorts += s.cohorts
			a.suppressed += s.suppressed
			a.postureShare = append(a.postureShare, s.postureShare...)
			a.domainMean = append(a.domainMean, s.domainMean...)
			a.domainMedian = append(a.domainMedian, s.domainMedian...)
			a.capShr = append(a.capShr, s.capShr...)
			a.overallMedian = append(a.overallMedian, s.overallMedian...)
			a.overallMean = append(a.overallMean, s.overallMean...)
			a.count = append(a.count, s.count...)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "release ε=%v noise=%s, %d orgs, %d runs, %v per build\n", plan.Cost.Epsilon, plan.Request.Noise, len(recs), runs, took/time.Duration(runs))
	for _, p := range Partitionings() {
		sizes := cohortSizes(m, p, recs)
		var ns []int
		for _, n := range sizes {
			ns = append(ns, n)
		}
		sort.Ints(ns)
		fmt.Fprintf(&b, "  %-12s sizes %v\n", p, ns)
	}
	fmt.Fprintf(&b, "median 95%% interval widths over published cohorts (shares in percentage points, index figures in points; -1 = not published)\n")
	fmt.Fprintf(&b, "%-12s %7s %8s %11s %8s %9s %9s %10s %9s\n", "partition", "suppr%", "count", "postureShr", "ovMean", "ovMedian", "domMean", "domMedian", "capShare")
	for _, p := range Partitionings() {
		s := agg[p]
		if s == nil {
			continue
		}
		fmt.Fprintf(&b, "%-12s %6.0f%% %8.0f %9.1fpp %8.1f %9.1f %9.1f %10.1f %7.1fpp\n", p,
			100*float64(s.suppressed)/float64(s.cohorts), median(s.count), 100*median(s.postureShare),
			median(s.overallMean), median(s.overallMedian), median(s.domainMean), median(s.domainMedian), 100*median(s.capShr))
	}
	for _, e := range plan.Cost.Entries {
		fmt.Fprintf(&b, "  %-12s %-18s ε=%.4f l0=%d\n", e.Partitioning, e.Family, e.Epsilon, e.L0)
	}
	t.Log("\n" + b.String())
}
