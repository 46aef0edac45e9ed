// Package report builds the researchers' findings report from stored differentially
// private releases: statements worded from the data (never hard-coded), each with the
// release values it came from, rendered as self-contained HTML (inline CSS and SVG, no
// script, no external URL) or Markdown.
//
// Only published release figures are read; nothing here touches row-level data, so the
// report spends no privacy budget (it is post-processing).
package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// Trace is one release value a statement rests on, named as in the release's long form
// (privacy.Row / release_values): partitioning, cohort key, metric, subject, bucket.
type Trace struct {
	Release      string  `json:"release"`
	Partitioning string  `json:"partitioning"`
	Cohort       string  `json:"cohort"` // privacy.Key.String(): "all", "size_band=25-99", ...
	Metric       string  `json:"metric"`
	Subject      string  `json:"subject,omitempty"`
	Bucket       string  `json:"bucket,omitempty"`
	Value        float64 `json:"value"`
	Low          float64 `json:"ci_low"`
	High         float64 `json:"ci_high"`
	Suppressed   bool    `json:"suppressed,omitempty"` // the value is a suppressed cohort row
}

// String renders a trace for a reader: "R · national/all · posture_share[overall,1] = 0.72 [0.68, 0.76]".
func (t Trace) String() string {
	where := t.Metric
	if t.Subject != "" || t.Bucket != "" {
		where += "[" + strings.Trim(t.Subject+","+t.Bucket, ",") + "]"
	}
	s := fmt.Sprintf("release %s · %s/%s · %s", t.Release, t.Partitioning, t.Cohort, where)
	if t.Suppressed {
		return s + " = " + privacy.ReasonNotEnoughPeers
	}
	return s + fmt.Sprintf(" = %s [%s, %s]", num(t.Value), num(t.Low), num(t.High))
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// Statement is one sentence of the report with the release values it came from.
type Statement struct {
	ID     string  `json:"id"` // stable, e.g. "posture.headline", "finding.dynamic_trust"
	Text   string  `json:"text"`
	Traces []Trace `json:"traces"`
}

// Bar is one bar of a chart: a value with its interval, in the chart's unit.
type Bar struct {
	Label            string
	Value, Low, High float64
}

// Chart is a horizontal bar chart with interval whiskers.
type Chart struct {
	Title   string
	Percent bool    // values are shares in [0,1]; else an index in [0,100]
	Max     float64 // axis maximum in the values' unit
	Bars    []Bar
}

// Section is a heading with its statements and an optional chart.
type Section struct {
	Title      string
	Intro      string
	Statements []Statement
	Charts     []Chart
}

// Report is the findings report of one release.
type Report struct {
	Title         string
	ReleaseID     string
	Cycle         string
	ModelVersion  string
	ModelTitle    string
	CreatedAt     time.Time
	Epsilon       float64
	Delta         float64
	Noise         string
	Confidence    float64
	PreviousID    string // empty when no previous cycle's release is compared
	PreviousCycle string
	Sections      []Section
}

// Statements lists every statement of the report in order.
func (r *Report) Statements() []Statement {
	var out []Statement
	for _, s := range r.Sections {
		out = append(out, s.Statements...)
	}
	return out
}

// Load reads a published release (and the previous one when previousID is not empty)
// from the warehouse and builds the report. A missing release is a KindNotFound error.
func Load(ctx context.Context, db *warehouse.DB, reg *model.Registry, releaseID, previousID string) (*Report, error) {
	cur, err := loadRelease(ctx, db, releaseID)
	if err != nil {
		return nil, err
	}
	m, err := reg.Get(cur.ModelVersion)
	if err != nil {
		return nil, err
	}
	var prev *privacy.Release
	if previousID != "" {
		if prev, err = loadRelease(ctx, db, previousID); err != nil {
			return nil, fmt.Errorf("previous release: %w", err)
		}
	}
	return Build(m, cur, prev)
}

func loadRelease(ctx context.Context, db *warehouse.DB, id string) (*privacy.Release, error) {
	body, err := db.ReleaseBody(ctx, id)
	if err != nil {
		return nil, err
	}
	return privacy.Decode(body)
}

// PreviousRelease returns the newest published release of the cycle before the given
// release's cycle (cycles in creation order), or "" when there is none.
func PreviousRelease(ctx context.Context, db *warehouse.DB, releaseID string) (string, error) {
	info, err := db.GetRelease(ctx, releaseID)
	if err != nil {
		return "", err
	}
	cycles, err := db.ListCycles(ctx)
	if err != nil {
		return "", err
	}
	idx := -1
	for i, c := range cycles {
		if c.ID == info.Cycle {
			idx = i
		}
	}
	for i := idx - 1; i >= 0; i-- {
		rels, err := db.ListReleases(ctx, cycles[i].ID)
		if err != nil {
			return "", err
		}
		for j := len(rels) - 1; j >= 0; j-- {
			if rels[j].Status == warehouse.ReleasePublished {
				return rels[j].ID, nil
			}
		}
	}
	return "", nil
}

// ErrNoNational is returned when a release publishes no national cohort to report on.
var ErrNoNational = errors.New("report: the release publishes no national cohort")

// Build assembles the report of rel, comparing with prev when it is not nil.
func Build(m *model.Model, rel, prev *privacy.Release) (*Report, error) {
	if rel == nil {
		return nil, errors.New("report: nil release")
	}
	conf := rel.Request.Confidence
	if conf <= 0 {
		conf = privacy.DefaultConfidence
	}
	r := &Report{
		Title:        fmt.Sprintf("Zero Trust maturity findings, cycle %s", rel.Cycle),
		ReleaseID:    rel.ID,
		Cycle:        rel.Cycle,
		ModelVersion: rel.ModelVersion,
		ModelTitle:   m.Title,
		CreatedAt:    rel.CreatedAt,
		Epsilon:      rel.Cost.Epsilon,
		Delta:        rel.Cost.Delta,
		Noise:        string(rel.Request.Noise),
		Confidence:   conf,
	}
	b := &builder{m: m, rel: rel, conf: conf, ci: fmt.Sprintf("%.0f%% CI", conf*100)}
	nat, ok := rel.Cohort(privacy.National, privacy.Key{})
	if !ok {
		return nil, ErrNoNational
	}
	r.Sections = append(r.Sections, b.postureSection(nat))
	r.Sections = append(r.Sections, b.findingsSection(nat))
	r.Sections = append(r.Sections, b.differenceSection(privacy.BySize, "By size", "size"))
	r.Sections = append(r.Sections, b.differenceSection(privacy.ByRegion, "By region", "region"))
	r.Sections = append(r.Sections, b.suppressedSection())
	if prev != nil {
		r.PreviousID, r.PreviousCycle = prev.ID, prev.Cycle
		r.Sections = append(r.Sections, b.changeSection(nat, prev))
	}
	return r, nil
}

type builder struct {
	m    *model.Model
	rel  *privacy.Release
	conf float64
	ci   string
}

func (b *builder) trace(rel *privacy.Release, c *privacy.Cohort, metric, subject, bucket string, f privacy.Figure) Trace {
	return Trace{Release: rel.ID, Partitioning: string(c.Partitioning), Cohort: c.Key.String(),
		Metric: metric, Subject: subject, Bucket: bucket, Value: f.Value, Low: f.Low, High: f.High}
}

// pct renders a share as a whole percentage; intervals as "68–76%".
func pct(x float64) string { return fmt.Sprintf("%.0f%%", math.Round(x*100)) }
func pctRange(lo, hi float64) string {
	return fmt.Sprintf("%.0f–%.0f%%", math.Round(lo*100), math.Round(hi*100))
}
func idx(x float64) string { return fmt.Sprintf("%.1f", x) }

func overlap(aLo, aHi, bLo, bHi float64) bool { return aLo <= bHi && bLo <= aHi }

func (b *builder) postureName(level string) string {
	l, err := strconv.Atoi(level)
	if err != nil {
		return level
	}
	return fmt.Sprintf("Posture %d, %s", l, b.m.PostureName(l))
}

// postureBuckets returns the numeric posture buckets of a histogram.
func postureBuckets(h *privacy.Histogram) []privacy.Bucket {
	if h == nil || h.Withheld {
		return nil
	}
	var out []privacy.Bucket
	for _, bk := range h.Buckets {
		if _, err := strconv.Atoi(bk.Level); err == nil {
			out = append(out, bk)
		}
	}
	return out
}

func modal(bs []privacy.Bucket) int {
	best := -1
	for i, bk := range bs {
		if best < 0 || bk.Share.Value > bs[best].Share.Value {
			best = i
		}
	}
	return best
}

func (b *builder) postureSection(nat *privacy.Cohort) Section {
	s := Section{Title: "Posture distribution", Intro: "Share of all organisations at each overall posture, nationally."}
	bs := postureBuckets(nat.Posture)
	if nat.Suppressed || len(bs) == 0 {
		reason := nat.Reason
		if reason == "" && nat.Posture != nil {
			reason = nat.Posture.Reason
		}
		if reason == "" {
			reason = "not published in this release"
		}
		s.Statements = append(s.Statements, Statement{ID: "posture.missing",
			Text: "The national posture distribution is not available: " + reason + "."})
		return s
	}
	top := modal(bs)
	tb := bs[top]
	st := Statement{ID: "posture.headline",
		Text: fmt.Sprintf("%s [%s %s] of organisations are at %s, the most common posture.",
			pct(tb.Share.Value), b.ci, pctRange(tb.Share.Low, tb.Share.High), b.postureName(tb.Level)),
		Traces: []Trace{b.trace(b.rel, nat, privacy.MetricPostureShare, privacy.SubjectOverall, tb.Level, tb.Share)}}
	// Say so when the runner-up cannot be told apart.
	for i, bk := range bs {
		if i != top && overlap(bk.Share.Low, bk.Share.High, tb.Share.Low, tb.Share.High) {
			st.Text += fmt.Sprintf(" Its lead over %s (%s [%s %s]) is not clear.", b.postureName(bk.Level), pct(bk.Share.Value), b.ci, pctRange(bk.Share.Low, bk.Share.High))
			st.Traces = append(st.Traces, b.trace(b.rel, nat, privacy.MetricPostureShare, privacy.SubjectOverall, bk.Level, bk.Share))
		}
	}
	s.Statements = append(s.Statements, st)
	ch := Chart{Title: "Share of organisations by posture (national)", Percent: true, Max: 1}
	for i, bk := range bs {
		ch.Bars = append(ch.Bars, Bar{Label: b.postureName(bk.Level), Value: bk.Share.Value, Low: bk.Share.Low, High: bk.Share.High})
		if i == top {
			continue
		}
		s.Statements = append(s.Statements, Statement{ID: "posture.level." + bk.Level,
			Text:   fmt.Sprintf("%s [%s %s] are at %s.", pct(bk.Share.Value), b.ci, pctRange(bk.Share.Low, bk.Share.High), b.postureName(bk.Level)),
			Traces: []Trace{b.trace(b.rel, nat, privacy.MetricPostureShare, privacy.SubjectOverall, bk.Level, bk.Share)}})
	}
	if nat.Count != nil {
		s.Statements = append(s.Statements, Statement{ID: "posture.count",
			Text:   fmt.Sprintf("The release describes about %.0f organisations [%s %.0f–%.0f].", nat.Count.Value, b.ci, nat.Count.Low, nat.Count.High),
			Traces: []Trace{b.trace(b.rel, nat, privacy.MetricCount, "", "", *nat.Count)}})
	}
	s.Charts = append(s.Charts, ch)
	return s
}

// gapResult is one finding's gap share in a cohort.
type gapResult struct {
	f      model.Finding
	share  privacy.GapShare
	traces []Trace
}

func (b *builder) gaps(rel *privacy.Release, c *privacy.Cohort, conf float64) []gapResult {
	var out []gapResult
	for _, f := range b.m.Findings {
		g := privacy.FindingShare(b.m, c, f, conf)
		res := gapResult{f: f, share: g}
		if g.Withheld == "" {
			if cs, ok := c.Capability(f.Capability); ok {
				in := map[string]bool{}
				for _, l := range g.Buckets {
					in[l] = true
				}
				for _, bk := range cs.Answers.Buckets {
					if in[bk.Level] || bk.Level == "na" {
						res.traces = append(res.traces, b.trace(rel, c, privacy.MetricCapabilityShare, f.Capability, bk.Level, bk.Share))
					}
				}
			}
			if c.Count != nil {
				res.traces = append(res.traces, b.trace(rel, c, privacy.MetricCount, "", "", *c.Count))
			}
		}
		out = append(out, res)
	}
	return out
}

func (b *builder) findingLabel(f model.Finding) string {
	name := f.Capability
	if c, ok := b.m.Capability(f.Capability); ok {
		name = c.Name
	}
	return fmt.Sprintf("%s (%s %s at level %d or below)", f.Label, f.Capability, name, f.AtOrBelow)
}

func (b *builder) findingsSection(nat *privacy.Cohort) Section {
	s := Section{Title: "Capability gaps",
		Intro: "Share of organisations (among those the capability applies to) answering at or below each finding's level; \"unknown\" counts as a gap. Intervals come from the release's own noise parameters."}
	gs := b.gaps(b.rel, nat, b.conf)
	var ok []gapResult
	for _, g := range gs {
		if g.share.Withheld != "" {
			s.Statements = append(s.Statements, Statement{ID: "finding." + g.f.ID,
				Text: fmt.Sprintf("%s: no estimate (%s).", g.f.Label, g.share.Withheld)})
			continue
		}
		ok = append(ok, g)
	}
	if len(ok) == 0 {
		return s
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].share.Value > ok[j].share.Value })
	top := ok[0]
	lead := fmt.Sprintf("The biggest gap is %s: %s [%s %s] of organisations.", lowerFirst(top.f.Label),
		pct(top.share.Value), b.ci, pctRange(top.share.Low, top.share.High))
	traces := append([]Trace(nil), top.traces...)
	var tied []string
	for _, g := range ok[1:] {
		if overlap(g.share.Low, g.share.High, top.share.Low, top.share.High) {
			tied = append(tied, fmt.Sprintf("%s (%s)", lowerFirst(g.f.Label), pct(g.share.Value)))
			traces = append(traces, g.traces...)
		}
	}
	if len(tied) > 0 {
		lead += " It is not clearly ahead of " + strings.Join(tied, ", ") + "."
	}
	s.Statements = append(s.Statements, Statement{ID: "finding.biggest", Text: lead, Traces: dedupe(traces)})
	ch := Chart{Title: "Capability gaps (national), largest first", Percent: true, Max: 1}
	for rank, g := range ok {
		text := fmt.Sprintf("Rank %d: %s: %s [%s %s].", rank+1, b.findingLabel(g.f), pct(g.share.Value), b.ci, pctRange(g.share.Low, g.share.High))
		if g.f.ID == "dynamic_trust" || strings.HasPrefix(g.f.Capability, "VDT-02") {
			text += fmt.Sprintf(" This is the dynamic-trust blind spot: trust is not re-evaluated during sessions for %s of organisations.", pct(g.share.Value))
		}
		s.Statements = append(s.Statements, Statement{ID: "finding." + g.f.ID, Text: text, Traces: g.traces})
		ch.Bars = append(ch.Bars, Bar{Label: g.f.Label, Value: g.share.Value, Low: g.share.Low, High: g.share.High})
	}
	s.Charts = append(s.Charts, ch)
	return s
}

func (b *builder) cohortLabel(p privacy.Partitioning, k privacy.Key) string {
	var parts []string
	// An ID the model does not know is shown as it is.
	for _, part := range []struct {
		id     string
		lookup func(string) (string, bool)
	}{{k.SizeBand, b.m.SizeBandLabel}, {k.Region, b.m.RegionLabel}, {k.OrgType, b.m.OrgTypeLabel}} {
		if part.id == "" {
			continue
		}
		if l, ok := part.lookup(part.id); ok {
			parts = append(parts, l)
		} else {
			parts = append(parts, part.id)
		}
	}
	if len(parts) == 0 {
		return "National"
	}
	return strings.Join(parts, ", ")
}

// differenceSection compares the cohorts of a partitioning on the overall index mean and
// on the share at the national modal posture; a difference is stated only when the
// intervals of the highest and lowest cohort do not overlap.
func (b *builder) differenceSection(p privacy.Partitioning, title, noun string) Section {
	s := Section{Title: title}
	var cohorts []*privacy.Cohort
	for i := range b.rel.Cohorts {
		if b.rel.Cohorts[i].Partitioning == p {
			cohorts = append(cohorts, &b.rel.Cohorts[i])
		}
	}
	if len(cohorts) == 0 {
		s.Statements = append(s.Statements, Statement{ID: "diff." + noun + ".missing",
			Text: fmt.Sprintf("This release does not publish cohorts by %s.", noun)})
		return s
	}
	type pt struct {
		c *privacy.Cohort
		f privacy.Figure
	}
	// extremes returns the points with the highest and the lowest value (the first of
	// each on a tie).
	extremes := func(xs []pt) (hi, lo pt) {
		hi, lo = xs[0], xs[0]
		for _, x := range xs[1:] {
			if x.f.Value > hi.f.Value {
				hi = x
			}
			if x.f.Value < lo.f.Value {
				lo = x
			}
		}
		return hi, lo
	}
	var means []pt
	var suppressed []string
	var supTraces []Trace
	for _, c := range cohorts {
		if c.Suppressed {
			suppressed = append(suppressed, b.cohortLabel(p, c.Key))
			supTraces = append(supTraces, Trace{Release: b.rel.ID, Partitioning: string(p), Cohort: c.Key.String(), Metric: privacy.MetricCohort, Suppressed: true})
			continue
		}
		if c.OverallMean != nil && !c.OverallMean.Withheld && c.OverallMean.Estimate != nil {
			means = append(means, pt{c, *c.OverallMean.Estimate})
		}
	}
	if len(means) >= 2 {
		H, L := extremes(means)
		tr := []Trace{b.trace(b.rel, H.c, privacy.MetricOverallMean, privacy.SubjectOverall, "", H.f), b.trace(b.rel, L.c, privacy.MetricOverallMean, privacy.SubjectOverall, "", L.f)}
		var text string
		if overlap(H.f.Low, H.f.High, L.f.Low, L.f.High) {
			text = fmt.Sprintf("No clear difference by %s in the overall index: the highest mean (%s, %s [%s %s–%s]) and the lowest (%s, %s [%s %s–%s]) have overlapping intervals.",
				noun, b.cohortLabel(p, H.c.Key), idx(H.f.Value), b.ci, idx(H.f.Low), idx(H.f.High), b.cohortLabel(p, L.c.Key), idx(L.f.Value), b.ci, idx(L.f.Low), idx(L.f.High))
		} else {
			text = fmt.Sprintf("%s score higher on the overall index (mean %s [%s %s–%s]) than %s (mean %s [%s %s–%s]).",
				b.cohortLabel(p, H.c.Key), idx(H.f.Value), b.ci, idx(H.f.Low), idx(H.f.High), b.cohortLabel(p, L.c.Key), idx(L.f.Value), b.ci, idx(L.f.Low), idx(L.f.High))
		}
		s.Statements = append(s.Statements, Statement{ID: "diff." + noun + ".mean", Text: text, Traces: tr})
		ch := Chart{Title: fmt.Sprintf("Mean overall index by %s (0–100)", noun), Max: 100}
		for _, x := range means {
			ch.Bars = append(ch.Bars, Bar{Label: b.cohortLabel(p, x.c.Key), Value: x.f.Value, Low: x.f.Low, High: x.f.High})
		}
		s.Charts = append(s.Charts, ch)
	} else {
		s.Statements = append(s.Statements, Statement{ID: "diff." + noun + ".mean",
			Text: fmt.Sprintf("Fewer than two cohorts by %s publish an overall mean, so no comparison is made.", noun)})
	}
	// Share at the national modal posture, highest against lowest.
	nat, _ := b.rel.Cohort(privacy.National, privacy.Key{})
	if nat != nil {
		if bs := postureBuckets(nat.Posture); len(bs) > 0 {
			level := bs[modal(bs)].Level
			var shares []pt
			for _, c := range cohorts {
				if c.Suppressed {
					continue
				}
				for _, bk := range postureBuckets(c.Posture) {
					if bk.Level == level {
						shares = append(shares, pt{c, bk.Share})
					}
				}
			}
			if len(shares) >= 2 {
				H, L := extremes(shares)
				tr := []Trace{b.trace(b.rel, H.c, privacy.MetricPostureShare, privacy.SubjectOverall, level, H.f), b.trace(b.rel, L.c, privacy.MetricPostureShare, privacy.SubjectOverall, level, L.f)}
				var text string
				if overlap(H.f.Low, H.f.High, L.f.Low, L.f.High) {
					text = fmt.Sprintf("No clear difference by %s in the share at %s: from %s [%s %s] (%s) to %s [%s %s] (%s), with overlapping intervals.",
						noun, b.postureName(level), pct(L.f.Value), b.ci, pctRange(L.f.Low, L.f.High), b.cohortLabel(p, L.c.Key), pct(H.f.Value), b.ci, pctRange(H.f.Low, H.f.High), b.cohortLabel(p, H.c.Key))
				} else {
					text = fmt.Sprintf("More organisations are at %s among %s (%s [%s %s]) than among %s (%s [%s %s]).",
						b.postureName(level), b.cohortLabel(p, H.c.Key), pct(H.f.Value), b.ci, pctRange(H.f.Low, H.f.High), b.cohortLabel(p, L.c.Key), pct(L.f.Value), b.ci, pctRange(L.f.Low, L.f.High))
				}
				s.Statements = append(s.Statements, Statement{ID: "diff." + noun + ".posture", Text: text, Traces: tr})
			}
		}
	}
	if len(suppressed) > 0 {
		s.Statements = append(s.Statements, Statement{ID: "diff." + noun + ".suppressed",
			Text:   fmt.Sprintf("Not enough peers to publish: %s.", strings.Join(suppressed, "; ")),
			Traces: supTraces})
	}
	return s
}

// suppressedSection names, per partitioning, the cohorts shown only as "not enough peers".
func (b *builder) suppressedSection() Section {
	s := Section{Title: "Cohorts with not enough peers",
		Intro: fmt.Sprintf("A cohort is published only when its noisy count shows at least %d peers with high confidence.", b.rel.Request.PublicationThreshold)}
	for _, p := range privacy.Partitionings() {
		var names []string
		var tr []Trace
		total := 0
		for i := range b.rel.Cohorts {
			c := &b.rel.Cohorts[i]
			if c.Partitioning != p {
				continue
			}
			total++
			if c.Suppressed {
				names = append(names, b.cohortLabel(p, c.Key))
				tr = append(tr, Trace{Release: b.rel.ID, Partitioning: string(p), Cohort: c.Key.String(), Metric: privacy.MetricCohort, Suppressed: true})
			}
		}
		if len(names) == 0 {
			continue
		}
		s.Statements = append(s.Statements, Statement{ID: "suppressed." + string(p),
			Text:   fmt.Sprintf("%s: %d of %d cohorts have not enough peers: %s.", partitionName(p), len(names), total, strings.Join(names, "; ")),
			Traces: tr})
	}
	if len(s.Statements) == 0 {
		s.Statements = append(s.Statements, Statement{ID: "suppressed.none", Text: "Every cohort of this release has enough peers to be published."})
	}
	return s
}

func partitionName(p privacy.Partitioning) string {
	switch p {
	case privacy.National:
		return "National"
	case privacy.BySize:
		return "By size band"
	case privacy.ByRegion:
		return "By Census region"
	case privacy.BySizeRegion:
		return "By size band and region"
	case privacy.ByType:
		return "By organisation type"
	}
	return string(p)
}

// changeSection compares national figures with the previous cycle's release.
func (b *builder) changeSection(nat *privacy.Cohort, prev *privacy.Release) Section {
	s := Section{Title: fmt.Sprintf("Change since the previous cycle (%s)", prev.Cycle),
		Intro: "A change is stated only when the two cycles' intervals do not overlap."}
	pn, ok := prev.Cohort(privacy.National, privacy.Key{})
	if !ok || pn.Suppressed {
		s.Statements = append(s.Statements, Statement{ID: "change.missing", Text: "The previous cycle's release publishes no national figures to compare with."})
		return s
	}
	cmp := func(id, what string, a, c privacy.Figure, share bool, tr []Trace) Statement {
		f := func(x privacy.Figure) string {
			if share {
				return fmt.Sprintf("%s [%s %s]", pct(x.Value), b.ci, pctRange(x.Low, x.High))
			}
			return fmt.Sprintf("%s [%s %s–%s]", idx(x.Value), b.ci, idx(x.Low), idx(x.High))
		}
		var text string
		switch {
		case overlap(a.Low, a.High, c.Low, c.High):
			text = fmt.Sprintf("No clear change in %s: %s in %s, %s in %s.", what, f(a), prev.Cycle, f(c), b.rel.Cycle)
		case c.Value > a.Value:
			text = fmt.Sprintf("%s rose from %s in %s to %s in %s.", upperFirst(what), f(a), prev.Cycle, f(c), b.rel.Cycle)
		default:
			text = fmt.Sprintf("%s fell from %s in %s to %s in %s.", upperFirst(what), f(a), prev.Cycle, f(c), b.rel.Cycle)
		}
		return Statement{ID: id, Text: text, Traces: tr}
	}
	prevBuckets := map[string]privacy.Bucket{}
	for _, bk := range postureBuckets(pn.Posture) {
		prevBuckets[bk.Level] = bk
	}
	for _, bk := range postureBuckets(nat.Posture) {
		pb, ok := prevBuckets[bk.Level]
		if !ok {
			continue
		}
		s.Statements = append(s.Statements, cmp("change.posture."+bk.Level, "the share at "+b.postureName(bk.Level), pb.Share, bk.Share, true,
			[]Trace{b.trace(prev, pn, privacy.MetricPostureShare, privacy.SubjectOverall, bk.Level, pb.Share), b.trace(b.rel, nat, privacy.MetricPostureShare, privacy.SubjectOverall, bk.Level, bk.Share)}))
	}
	if nat.OverallMean != nil && nat.OverallMean.Estimate != nil && pn.OverallMean != nil && pn.OverallMean.Estimate != nil {
		a, c := *pn.OverallMean.Estimate, *nat.OverallMean.Estimate
		s.Statements = append(s.Statements, cmp("change.overall_mean", "the mean overall index", a, c, false,
			[]Trace{b.trace(prev, pn, privacy.MetricOverallMean, privacy.SubjectOverall, "", a), b.trace(b.rel, nat, privacy.MetricOverallMean, privacy.SubjectOverall, "", c)}))
	}
	pconf := prev.Request.Confidence
	if pconf <= 0 {
		pconf = privacy.DefaultConfidence
	}
	cur, old := b.gaps(b.rel, nat, b.conf), b.gaps(prev, pn, pconf)
	for i := range cur {
		if i >= len(old) || cur[i].share.Withheld != "" || old[i].share.Withheld != "" || old[i].f.ID != cur[i].f.ID {
			continue
		}
		fa := privacy.Figure{Value: old[i].share.Value, Low: old[i].share.Low, High: old[i].share.High}
		fc := privacy.Figure{Value: cur[i].share.Value, Low: cur[i].share.Low, High: cur[i].share.High}
		s.Statements = append(s.Statements, cmp("change.finding."+cur[i].f.ID, "the gap \""+lowerFirst(cur[i].f.Label)+"\"", fa, fc, true,
			append(append([]Trace(nil), old[i].traces...), cur[i].traces...)))
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lowerFirst lowers the first letter of a label to sit mid-sentence, leaving acronyms
// ("MFA adopted selectively") alone.
func lowerFirst(s string) string {
	if len(s) < 2 || (s[1] >= 'A' && s[1] <= 'Z') {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// dedupe drops repeated traces (the cohort count shared by several gap shares).
func dedupe(ts []Trace) []Trace {
	seen := map[Trace]bool{}
	var out []Trace
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
