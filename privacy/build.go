package privacy

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/google/differential-privacy/go/v3/noise"
	"github.com/hcztmm/warehouse/model"
)

// Build computes a release from one cycle's records under a plan. Every noised value
// comes from a library aggregator with the plan's noise; the plan's cost is exactly what
// the aggregators are given. The caller must have reserved plan.Cost in the ledger and
// must store the result once (Encode) and never build the same data again.
func Build(m *model.Model, plan *Plan, records []Record) (*Release, error) {
	if plan == nil {
		return nil, model.Errorf(model.KindInternal, "privacy: nil plan")
	}
	src, err := productionNoise(plan.Request.Noise)
	if err != nil {
		return nil, err
	}
	return build(m, plan, records, buildOptions{noise: src, checkNoise: true, now: time.Now()})
}

// buildOptions carry what production fixes and tests vary.
type buildOptions struct {
	noise noiseSource
	// checkNoise refuses any noise but the library's Laplace and Gaussian. Only tests
	// that record the parameters passed to the noise turn it off.
	checkNoise bool
	now        time.Time
}

// builder holds one build's state.
type builder struct {
	m     *model.Model
	plan  *Plan
	req   Request
	g     *grid
	l     *layout
	data  *prepared
	opts  buildOptions
	alpha float64
}

func build(m *model.Model, plan *Plan, records []Record, opts buildOptions) (*Release, error) {
	if m == nil {
		return nil, model.Errorf(model.KindInternal, "privacy: nil model")
	}
	if plan.ModelVersion != m.Version {
		return nil, model.Invalid("plan is for another model", model.FieldError{Field: "model_version", Rule: "mismatch",
			Value: plan.ModelVersion, Message: fmt.Sprintf("plan was made for model %s, not %s", plan.ModelVersion, m.Version)})
	}
	// The plan's cost is what the ledger reserved; recompute it from the request so that
	// an edited plan cannot make the aggregators spend something else.
	fresh, err := NewPlan(m, plan.Request)
	if err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(fresh, plan) {
		return nil, model.Invalid("plan does not match its request", model.FieldError{Field: "cost", Rule: "mismatch",
			Message: "the plan's cost or request was changed after NewPlan; make a new plan"})
	}
	b := &builder{m: m, plan: plan, req: plan.Request, g: newGrid(m), l: newLayout(m), opts: opts,
		alpha: 1 - plan.Request.Confidence}
	if b.data, err = prepare(m, b.g, b.l, records); err != nil {
		return nil, err
	}
	rel := &Release{Cycle: b.req.Cycle, ModelVersion: m.Version, CreatedAt: opts.now.UTC().Truncate(time.Microsecond),
		Library: Library, Request: b.req, Cost: plan.Cost}
	for _, part := range plan.Cost.Partitionings() {
		cells := map[Family]*cell{}
		for _, e := range plan.Cost.Entries {
			if e.Partitioning != part {
				continue
			}
			n := opts.noise(part, e.Family)
			if opts.checkNoise {
				if err := checkLibraryNoise(n, b.req.Noise); err != nil {
					return nil, err
				}
			}
			c := newCell(e, b.req.Noise, n)
			cells[e.Family] = &c
		}
		keys := b.g.keys(part)
		members := make([][]int32, len(keys))
		for i, r := range records {
			ci := b.g.cohortOf(part, r.Keys)
			members[ci] = append(members[ci], int32(i))
		}
		for ci, k := range keys {
			c, err := b.cohort(part, k, cells, members[ci])
			if err != nil {
				return nil, err
			}
			rel.Cohorts = append(rel.Cohorts, c)
		}
	}
	return rel, nil
}

// libErr wraps a library error: with validated parameters it means a bug.
func libErr(err error) error {
	return &model.Error{Kind: model.KindInternal, Message: "privacy: dp library", Err: err}
}

// countCI adapts a library aggregator's interval method to measured.ci.
func countCI(f func(float64) (noise.ConfidenceInterval, error)) func(float64) (interval, error) {
	return func(alpha float64) (interval, error) {
		ci, err := f(alpha)
		if err != nil {
			return interval{}, libErr(err)
		}
		return interval{ci.LowerBound, ci.UpperBound}, nil
	}
}

// cohort computes one cohort. The suppression decision looks at the noisy count only;
// a suppressed cohort computes nothing else (its budget share is paid regardless, by
// parallel composition, so skipping costs nothing and leaks nothing).
func (b *builder) cohort(part Partitioning, key Key, cells map[Family]*cell, members []int32) (Cohort, error) {
	out := Cohort{Partitioning: part, Key: key}
	cc := cells[FamilyCount]
	agg, err := cc.count()
	if err != nil {
		return out, libErr(err)
	}
	if err := agg.IncrementBy(int64(len(members))); err != nil {
		return out, libErr(err)
	}
	raw, err := agg.Result()
	if err != nil {
		return out, libErr(err)
	}
	count := measured{raw: float64(raw), ci: countCI(agg.ComputeConfidenceInterval)}
	publish, err := b.publishable(count)
	if err != nil {
		return out, err
	}
	if !publish {
		out.Suppressed, out.Reason = true, ReasonNotEnoughPeers
		return out, nil
	}
	for _, f := range Families() {
		if c, ok := cells[f]; ok {
			out.Mechanisms = append(out.Mechanisms, c.mech)
		}
	}
	n := math.Max(count.raw, 0) // published count; every histogram is made to add up to it
	ci, err := count.ci(b.alpha)
	if err != nil {
		return out, err
	}
	out.Count = figure(n, count.raw, ci)

	if c, ok := cells[FamilyPosture]; ok {
		tallies := make([]int64, len(b.l.postures))
		for _, i := range members {
			tallies[b.data.posture[i]]++
		}
		h, _, err := b.histogram(c, b.l.postures, tallies, count, n)
		if err != nil {
			return out, err
		}
		out.Posture = h
	}
	if c, ok := cells[FamilyOverallMean]; ok {
		if out.OverallMean, err = b.mean(c, members, func(i int32) (int64, bool) { return b.data.centred[i], true }, count, n, b.req.Utility.Mean); err != nil {
			return out, err
		}
	}
	if c, ok := cells[FamilyOverallQuantiles]; ok {
		if out.OverallQuantiles, err = b.quantiles(c, members, func(i int32) (float64, bool) { return b.data.index[i], true }, count, n); err != nil {
			return out, err
		}
	}
	if err := b.domains(&out, cells, members, count, n); err != nil {
		return out, err
	}
	if c, ok := cells[FamilyCapability]; ok {
		C := len(b.l.capIDs)
		for ci, id := range b.l.capIDs {
			cs := CapStat{Capability: id}
			if n < float64(b.req.Utility.Shares) {
				cs.Answers = &Histogram{Withheld: true, Reason: ReasonTooFewForEstimate}
			} else {
				tallies := make([]int64, len(b.l.capBuckets[ci]))
				for _, i := range members {
					tallies[b.data.capBucket[int(i)*C+ci]]++
				}
				if cs.Answers, _, err = b.histogram(c, b.l.capBuckets[ci], tallies, count, n); err != nil {
					return out, err
				}
			}
			out.Capabilities = append(out.Capabilities, cs)
		}
	}
	return out, nil
}

// publishable is the suppression rule: publish when the count's one-sided lower
// confidence bound at level 1-SuppressionRisk reaches the threshold (the two-sided
// library interval at α = 2·risk has that lower end). For a cohort with fewer true
// members than the threshold, publishing needs noise above that bound's margin, which
// happens with probability at most SuppressionRisk. Only the noisy count is looked at.
func (b *builder) publishable(count measured) (bool, error) {
	ci, err := count.ci(2 * b.req.SuppressionRisk)
	if err != nil {
		return false, err
	}
	return ci.lo >= float64(b.req.PublicationThreshold), nil
}

// domains computes the per-domain families.
func (b *builder) domains(out *Cohort, cells map[Family]*cell, members []int32, count measured, n float64) error {
	cp, okP := cells[FamilyDomainPosture]
	cm, okM := cells[FamilyDomainMean]
	cq, okQ := cells[FamilyDomainQuantiles]
	if !okP && !okM && !okQ {
		return nil
	}
	D := len(b.l.domainIDs)
	for d, id := range b.l.domainIDs {
		ds := DomainStat{Domain: id}
		// The denominator of the domain's mean and quantile rank error: organisations
		// that assessed the domain. When the model lets a domain be unassessed this is
		// the count minus the noisy not-assessed bucket; otherwise it is the count.
		den, denN := count, n
		if okP {
			tallies := make([]int64, len(b.l.domBuckets[d]))
			for _, i := range members {
				tallies[b.data.domBucket[int(i)*D+d]]++
			}
			h, buckets, err := b.histogram(cp, b.l.domBuckets[d], tallies, count, n)
			if err != nil {
				return err
			}
			if na := b.l.domNA[d]; na >= 0 {
				den = difference(count, buckets[na].m)
				denN = math.Max(n-buckets[na].projected, 0)
			}
			if n < float64(b.req.Utility.Shares) {
				h = &Histogram{Withheld: true, Reason: ReasonTooFewForEstimate}
			}
			ds.Posture = h
		}
		assessed := func(i int32) bool { return b.data.domOK[int(i)*D+d] }
		var err error
		if okM {
			if ds.Mean, err = b.mean(cm, members, func(i int32) (int64, bool) { return b.data.domCentred[int(i)*D+d], assessed(i) }, den, denN, b.req.Utility.Mean); err != nil {
				return err
			}
		}
		if okQ {
			if ds.Quantiles, err = b.quantiles(cq, members, func(i int32) (float64, bool) { return b.data.domIndex[int(i)*D+d], assessed(i) }, den, denN); err != nil {
				return err
			}
		}
		out.Domains = append(out.Domains, ds)
	}
	return nil
}

// bucketResult is one noisy histogram bucket.
type bucketResult struct {
	m         measured
	projected float64
}

// histogram noises one count per bucket (an organisation is in exactly one bucket, so the
// family's l0 covers it), projects the noisy counts onto the non-negative histograms
// adding up to the published count n, and derives shares over n.
func (b *builder) histogram(c *cell, labels []string, tallies []int64, count measured, n float64) (*Histogram, []bucketResult, error) {
	res := make([]bucketResult, len(labels))
	raws := make([]float64, len(labels))
	for k := range labels {
		agg, err := c.count()
		if err != nil {
			return nil, nil, libErr(err)
		}
		if err := agg.IncrementBy(tallies[k]); err != nil {
			return nil, nil, libErr(err)
		}
		r, err := agg.Result()
		if err != nil {
			return nil, nil, libErr(err)
		}
		res[k].m = measured{raw: float64(r), ci: countCI(agg.ComputeConfidenceInterval)}
		raws[k] = float64(r)
	}
	proj := projectSimplex(raws, n)
	h := &Histogram{}
	for k, label := range labels {
		res[k].projected = proj[k]
		bk := Bucket{Level: label}
		ci, err := res[k].m.ci(b.alpha)
		if err != nil {
			return nil, nil, err
		}
		bk.Count = *figure(proj[k], raws[k], interval{math.Max(ci.lo, 0), ci.hi})
		si, err := ratioInterval(res[k].m, count, b.alpha)
		if err != nil {
			return nil, nil, err
		}
		share := 0.0
		if n > 0 {
			share = clamp01(proj[k] / n)
		}
		bk.Share = *figure(share, raws[k]/math.Max(count.raw, 1), interval{clamp01(si.lo), clamp01(si.hi)})
		h.Buckets = append(h.Buckets, bk)
	}
	return h, res, nil
}

// mean releases 50 + noisy centred sum / noisy count. Deriving the mean from the
// published count instead of using dpagg.BoundedMean spends the family's whole ε on the
// sum (BoundedMean halves it for its own count) and keeps every figure of a cohort
// consistent with one denominator.
func (b *builder) mean(c *cell, members []int32, value func(int32) (int64, bool), den measured, denN float64, threshold int) (*Mean, error) {
	if denN < float64(threshold) {
		return &Mean{Withheld: true, Reason: ReasonTooFewForEstimate}, nil
	}
	agg, err := c.sum()
	if err != nil {
		return nil, libErr(err)
	}
	for _, i := range members {
		if v, ok := value(i); ok {
			if err := agg.Add(v); err != nil {
				return nil, libErr(err)
			}
		}
	}
	raw, err := agg.Result()
	if err != nil {
		return nil, libErr(err)
	}
	sum := measured{raw: float64(raw), ci: countCI(agg.ComputeConfidenceInterval)}
	ci, err := meanInterval(sum, den, b.alpha)
	if err != nil {
		return nil, err
	}
	rawMean := 50 + sum.raw/SumScale/math.Max(den.raw, 1)
	rs := roundTo(sum.raw, 4)
	return &Mean{Estimate: figure(meanValue(sum.raw, denN), rawMean, ci), RawSum: &rs}, nil
}

// quantiles releases the QuantileRanks of an index from one quantile tree. Any number of
// ranks costs the tree's ε once. The interval of a quantile runs from the leaf boundary
// below the tree's answer at rank − quantileRankError to the boundary above its answer at
// rank + quantileRankError (post-processing on the same noisy tree; see quantileRankError).
func (b *builder) quantiles(c *cell, members []int32, value func(int32) (float64, bool), den measured, denN float64) (*Quantiles, error) {
	if denN < float64(b.req.Utility.Quantiles) {
		return &Quantiles{Withheld: true, Reason: ReasonTooFewForEstimate}, nil
	}
	agg, err := c.quantiles()
	if err != nil {
		return nil, libErr(err)
	}
	for _, i := range members {
		if v, ok := value(i); ok {
			if err := agg.Add(v); err != nil {
				return nil, libErr(err)
			}
		}
	}
	dci, err := den.ci(b.alpha / 2)
	if err != nil {
		return nil, err
	}
	dropped, err := droppedLeaves(agg.Result)
	if err != nil {
		return nil, libErr(err)
	}
	k := len(QuantileRanks)
	raws, los, his := make([]float64, k), make([]float64, k), make([]float64, k)
	for j, r := range QuantileRanks {
		if raws[j], err = agg.Result(r); err != nil {
			return nil, libErr(err)
		}
		leaf := min(int(raws[j]/leafWidth), BranchingFactor-1)
		dl, dr := 0, 0
		for i, d := range dropped {
			switch {
			case d && i < leaf:
				dl++
			case d && i > leaf:
				dr++
			}
		}
		dlo, _ := quantileRankError(c.nodeSD, dci.lo, b.alpha, r, leaf, dl, dr)
		_, dhi := quantileRankError(c.nodeSD, dci.lo, b.alpha, r, leaf+1, dl, dr)
		los[j], his[j] = IndexMin, IndexMax
		if r-dlo > 0 {
			v, err := agg.Result(r - dlo)
			if err != nil {
				return nil, libErr(err)
			}
			los[j] = leafFloor(v)
		}
		if r+dhi < 1 {
			v, err := agg.Result(r + dhi)
			if err != nil {
				return nil, libErr(err)
			}
			his[j] = leafCeil(v)
		}
	}
	vals := append([]float64(nil), raws...)
	for j := range vals {
		vals[j] = clampIndex(vals[j])
	}
	monotone(vals) // the library promises monotone ranks; this keeps the promise explicit
	monotone(los)
	monotone(his)
	q := &Quantiles{}
	for j, r := range QuantileRanks {
		q.Points = append(q.Points, QuantilePoint{Rank: r, Figure: *figure(vals[j], raws[j], interval{los[j], his[j]})})
	}
	return q, nil
}
