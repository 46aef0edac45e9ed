package dashboards

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// Industry findings: what a researcher publishes about the sector, from releases only.
// Posture distributions nationally, by size and by region; the domain × posture heatmap;
// the capability gaps the model's findings name, as shares with honest intervals (see
// stats.go); and the trend across cycles, one release per cycle (its newest).

// findingsData is the findings page's data.
type findingsData struct {
	Cycle      string
	Cycles     []option
	Release    *releaseMeta
	NoRelease  bool
	Headline   string
	National   *figure
	BySize     *figure
	ByRegion   *figure
	Heatmap    *figure
	Gaps       *figure
	GapMethod  string
	TrendMix   *figure
	TrendMean  *figure
	Missing    []string // sections this release cannot fill, in words
	Confidence string
}

func (d *findingsData) scripts() []string {
	var figs []figure
	for _, f := range []*figure{d.National, d.BySize, d.ByRegion, d.Heatmap, d.Gaps, d.TrendMix, d.TrendMean} {
		if f != nil {
			figs = append(figs, *f)
		}
	}
	return scriptsFor(figs)
}

func (p *Pages) findingsPage(ctx context.Context, _ Viewer, q url.Values) (string, string, any, error) {
	d, err := p.buildFindings(ctx, q.Get("cycle"))
	return "findings", "Industry findings", d, err
}

// buildFindings assembles the findings of one cycle's newest release (default: the
// newest cycle with a release).
func (p *Pages) buildFindings(ctx context.Context, wantCycle string) (*findingsData, error) {
	infos, err := p.rel.published(ctx)
	if err != nil {
		return nil, err
	}
	latest := latestPerCycle(infos)
	d := &findingsData{}
	if len(latest) == 0 {
		d.NoRelease = true
		return d, nil
	}
	sel := latest[len(latest)-1]
	for _, r := range latest {
		if r.Cycle == wantCycle {
			sel = r
		}
	}
	d.Cycle = sel.Cycle
	for _, r := range latest {
		d.Cycles = append(d.Cycles, option{Value: r.Cycle, Label: "Cycle " + r.Cycle, Selected: r.Cycle == sel.Cycle})
	}
	rel, m, meta, err := p.show(ctx, sel)
	if err != nil {
		return nil, err
	}
	d.Release = meta
	conf := rel.Request.Confidence
	if conf <= 0 {
		conf = privacy.DefaultConfidence
	}
	d.Confidence = fmt.Sprintf("%.0f%%", conf*100)

	nat, _ := rel.Cohort(privacy.National, privacy.Key{})
	if nat != nil && nat.Has(privacy.FamilyPosture) {
		fig, headline, err := nationalPostureFigure(m, nat, rel.Cycle)
		if err != nil {
			return nil, err
		}
		d.National, d.Headline = &fig, headline
	} else {
		d.Missing = append(d.Missing, "The national posture distribution is not published in this release.")
	}
	if d.BySize, err = postureByFigure(m, rel, privacy.BySize, "chart-posture-size", "Posture distribution by size band"); err != nil {
		return nil, err
	}
	if d.ByRegion, err = postureByFigure(m, rel, privacy.ByRegion, "chart-posture-region", "Posture distribution by Census region"); err != nil {
		return nil, err
	}
	if nat != nil && nat.Has(privacy.FamilyDomainPosture) {
		fig, err := domainHeatmapFigure(m, nat)
		if err != nil {
			return nil, err
		}
		d.Heatmap = &fig
	} else {
		d.Missing = append(d.Missing, "Domain posture distributions are not published nationally in this release, so there is no domain heatmap.")
	}
	if nat != nil && nat.Has(privacy.FamilyCapability) && len(m.Findings) > 0 {
		fig, err := gapFigure(m, nat, conf)
		if err != nil {
			return nil, err
		}
		d.Gaps = &fig
		d.GapMethod = "Each gap share adds up the release's answer buckets at or below the finding's level (\"unknown\" counts, as it scores as level " +
			strconv.Itoa(m.Scale.UnknownScoresAs) + "), among organisations the capability applies to. Its interval comes from the noise itself: the exact distribution of the summed bucket noise for the numerator, the cohort count's noise for the denominator, joined by a union bound at " +
			d.Confidence + " overall; adding up the buckets' own intervals would be needlessly wide."
	} else {
		d.Missing = append(d.Missing, "Capability answer shares are not published nationally in this release, so there are no gap shares.")
	}
	if d.TrendMix, d.TrendMean, err = p.findingsTrend(ctx, latest); err != nil {
		return nil, err
	}
	return d, nil
}

// nationalPostureFigure is the national posture distribution and the sentence that
// leads the page.
func nationalPostureFigure(m *model.Model, c *privacy.Cohort, cycle string) (figure, string, error) {
	t := table{Caption: "National posture distribution", Head: []string{"Posture", "Share", "95% interval", "Organisations (noisy)"},
		Num: []bool{false, true, true, true}}
	var pts []barPoint
	best, bestShare := -1, -1.0
	for _, b := range c.Posture.Buckets {
		lvl, err := strconv.Atoi(b.Level)
		if err != nil {
			continue
		}
		v, lo, hi := figureShare(b.Share)
		pts = append(pts, barPoint{Label: postureAxisLabel(m, lvl), Value: v, Low: lo, High: hi})
		t.Rows = append(t.Rows, row{Cells: []string{postureAxisLabel(m, lvl), pct(b.Share.Value), pctRange(b.Share.Low, b.Share.High), count(b.Count.Value)}})
		if b.Share.Value > bestShare {
			best, bestShare = lvl, b.Share.Value
		}
	}
	headline := ""
	if best >= 0 {
		headline = fmt.Sprintf("In cycle %s, the most common posture nationally is Posture %d (%s): about %.0f%% of providers.",
			cycle, best, m.PostureName(best), bestShare*100)
		if c.Count != nil {
			headline += fmt.Sprintf(" The release counts about %s organisations (95%% interval %s).", count(c.Count.Value), countRange(c.Count.Low, c.Count.High))
		}
	}
	ch, err := errorBars(barSpec{ID: "chart-posture-national", Title: "Posture distribution nationally",
		Caption: "Share of all providers at each posture, with 95% intervals.", Series: "Share of providers", Points: pts, Percent: true})
	return figure{Chart: ch, Table: t}, headline, err
}

// postureByFigure draws the posture distribution of every cohort of a partitioning as
// crossbars; suppressed cohorts are left out of the chart and named in its notes.
func postureByFigure(m *model.Model, rel *privacy.Release, part privacy.Partitioning, id, title string) (*figure, error) {
	var cohorts []*privacy.Cohort
	for i := range rel.Cohorts {
		if rel.Cohorts[i].Partitioning == part {
			cohorts = append(cohorts, &rel.Cohorts[i])
		}
	}
	if len(cohorts) == 0 {
		return nil, nil
	}
	levels := postureLevels(m)
	t := table{Caption: title, Head: []string{"Cohort", "Organisations (noisy)"}, Num: []bool{false, true}}
	for _, l := range levels {
		t.Head = append(t.Head, fmt.Sprintf("Posture %d", l))
		t.Num = append(t.Num, true)
	}
	series := make([]crossSeries, len(levels))
	for i, l := range levels {
		series[i] = crossSeries{Name: postureAxisLabel(m, l), Color: postureColors[i%len(postureColors)]}
	}
	var cats []string
	missing := map[string][]string{} // reason -> cohorts, said once per reason
	var reasons []string
	for _, c := range cohorts {
		label := shortCohortLabel(m, c.Partitioning, c.Key)
		if c.Suppressed || !c.Has(privacy.FamilyPosture) {
			reason := c.Reason
			if !c.Suppressed {
				reason = "posture distribution " + reasonOrWithheld(c.Posture)
			}
			if _, seen := missing[reason]; !seen {
				reasons = append(reasons, reason)
			}
			missing[reason] = append(missing[reason], label)
			r := row{Cells: []string{label, reason}, Class: "muted"}
			for range levels {
				r.Cells = append(r.Cells, "")
			}
			t.Rows = append(t.Rows, r)
			continue
		}
		cats = append(cats, label)
		r := row{Cells: []string{label, ""}}
		if c.Count != nil {
			r.Cells[1] = count(c.Count.Value)
		}
		for i, l := range levels {
			b, ok := bucketOf(c.Posture, strconv.Itoa(l))
			if !ok {
				series[i].Points = append(series[i].Points, barPoint{Label: label, Missing: true})
				r.Cells = append(r.Cells, "")
				continue
			}
			v, lo, hi := figureShare(b.Share)
			series[i].Points = append(series[i].Points, barPoint{Label: label, Value: v, Low: lo, High: hi})
			r.Cells = append(r.Cells, fmt.Sprintf("%s (%s)", pct(b.Share.Value), pctRange(b.Share.Low, b.Share.High)))
		}
		t.Rows = append(t.Rows, r)
	}
	var notes []string
	for _, r := range reasons {
		notes = append(notes, upperFirst(r)+": "+joinWords(missing[r])+".")
	}
	if len(cats) == 0 {
		return &figure{Chart: chartBlock{ID: id, Title: title}, Table: t, Wide: true,
			Notes: append(notes, "No cohort of this partitioning is published, so there is nothing to draw.")}, nil
	}
	ch, err := crossbars(crossSpec{ID: id, Title: title,
		Caption:    "Each box spans a share's 95% interval, with a line at the estimate; one colour per posture.",
		Categories: cats, Series: series, Percent: true, AxisName: "Share of cohort"})
	if err != nil {
		return nil, err
	}
	return &figure{Chart: ch, Table: t, Notes: notes, Wide: true}, nil
}

func reasonOrWithheld(h *privacy.Histogram) string {
	if h != nil && h.Reason != "" {
		return h.Reason
	}
	return "not published"
}

func bucketOf(h *privacy.Histogram, level string) (privacy.Bucket, bool) {
	if h == nil {
		return privacy.Bucket{}, false
	}
	for _, b := range h.Buckets {
		if b.Level == level {
			return b, true
		}
	}
	return privacy.Bucket{}, false
}

func postureLevels(m *model.Model) []int {
	out := make([]int, 0, len(m.Postures))
	for _, p := range m.Postures {
		out = append(out, p.Level)
	}
	return out
}

// domainHeatmapFigure is the share of providers at each posture in each domain.
func domainHeatmapFigure(m *model.Model, c *privacy.Cohort) (figure, error) {
	cols := []string{}
	for _, l := range postureLevels(m) {
		cols = append(cols, strconv.Itoa(l))
	}
	// Domains that can be "not assessed" (every capability na) have that bucket too.
	for _, d := range c.Domains {
		if _, ok := bucketOf(d.Posture, "not_assessed"); ok {
			cols = append(cols, "not_assessed")
			break
		}
	}
	xl := make([]string, len(cols))
	t := table{Caption: "Share of providers at each posture, by domain (95% intervals)", Head: []string{"Domain"}, Num: []bool{false}}
	for i, col := range cols {
		if n, err := strconv.Atoi(col); err == nil {
			xl[i] = postureAxisLabel(m, n)
			t.Head = append(t.Head, fmt.Sprintf("Posture %d", n))
		} else {
			xl[i] = bucketLabel(col)
			t.Head = append(t.Head, bucketLabel(col))
		}
		t.Num = append(t.Num, true)
	}
	var yl []string
	var cells []heatCell
	var notes []string
	for y, dom := range m.Domains {
		yl = append(yl, dom.Name)
		stat, _ := c.Domain(dom.ID)
		r := row{Cells: []string{dom.Name}}
		if stat == nil || stat.Posture == nil || stat.Posture.Withheld {
			notes = append(notes, dom.Name+": "+reasonOrWithheld(statPosture(stat))+".")
			r.Class = "muted"
		}
		for x, col := range cols {
			var b privacy.Bucket
			ok := false
			if stat != nil {
				b, ok = bucketOf(stat.Posture, col)
			}
			if !ok {
				cells = append(cells, heatCell{X: x, Y: y, Missing: true})
				r.Cells = append(r.Cells, "")
				continue
			}
			cells = append(cells, heatCell{X: x, Y: y, Value: b.Share.Value * 100})
			r.Cells = append(r.Cells, fmt.Sprintf("%s (%s)", pct(b.Share.Value), pctRange(b.Share.Low, b.Share.High)))
		}
		t.Rows = append(t.Rows, r)
	}
	ch, err := heatmap(heatSpec{ID: "chart-domain-heatmap", Title: "Domains × posture, nationally",
		Caption: "Share of providers at each posture in each domain (percent); darker is more.", XLabels: xl, YLabels: yl, Cells: cells})
	ch.Tall = true
	return figure{Chart: ch, Table: t, Notes: notes, Wide: true}, err
}

func statPosture(s *privacy.DomainStat) *privacy.Histogram {
	if s == nil {
		return nil
	}
	return s.Posture
}

// gapFigure is the share of providers with each of the model's findings (capability gaps).
func gapFigure(m *model.Model, c *privacy.Cohort, conf float64) (figure, error) {
	t := table{Caption: "Capability gaps nationally", Head: []string{"Finding", "Capability", "Share", "Interval", "Raw ratio", "Answers counted"},
		Num: []bool{false, false, true, true, true, false}}
	var pts []barPoint
	var notes []string
	for _, f := range m.Findings {
		g := privacy.FindingShare(m, c, f, conf)
		capText := fmt.Sprintf("%s (%s) at level %d or below", capabilityName(m, f.Capability), f.Capability, f.AtOrBelow)
		if g.Withheld != "" {
			pts = append(pts, barPoint{Label: f.Label, Missing: true})
			t.Rows = append(t.Rows, row{Cells: []string{f.Label, capText, g.Withheld, "", "", ""}, Class: "muted"})
			notes = append(notes, f.Label+": "+g.Withheld+".")
			continue
		}
		pts = append(pts, barPoint{Label: f.Label, Value: g.Value * 100, Low: g.Low * 100, High: g.High * 100})
		var buckets []string
		for _, b := range g.Buckets {
			buckets = append(buckets, bucketLabel(b))
		}
		t.Rows = append(t.Rows, row{Cells: []string{f.Label, capText, pct(g.Value), pctRange(g.Low, g.High), raw(g.Raw), joinWords(buckets)}})
	}
	ch, err := errorBars(barSpec{ID: "chart-gaps", Title: "Capability gaps the findings track",
		Caption: fmt.Sprintf("Share of providers (among those the capability applies to) at or below each finding's level, with %.0f%% intervals.", conf*100),
		Series:  "Share of providers", Points: pts, Horizontal: true, Percent: true, Max: 100})
	ch.Tall = true
	return figure{Chart: ch, Table: t, Notes: notes, Wide: true}, err
}

func joinWords(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	out := ""
	for i, x := range xs {
		switch {
		case i == 0:
			out = x
		case i == len(xs)-1:
			out += " and " + x
		default:
			out += ", " + x
		}
	}
	return out
}

// findingsTrend is the national posture mix and mean index across cycles, each from its
// cycle's newest release.
func (p *Pages) findingsTrend(ctx context.Context, latest []warehouse.ReleaseInfo) (*figure, *figure, error) {
	var m *model.Model
	var cycles []string
	var nats []*privacy.Cohort
	for _, info := range latest {
		if !safeID.MatchString(info.Cycle) {
			continue
		}
		rel, err := p.rel.load(ctx, info)
		if err != nil {
			return nil, nil, err
		}
		rm, err := p.deps.Models.Get(rel.ModelVersion)
		if err != nil {
			return nil, nil, err
		}
		if m == nil {
			m = rm
		}
		nat, _ := rel.Cohort(privacy.National, privacy.Key{})
		cycles = append(cycles, info.Cycle)
		nats = append(nats, nat)
	}
	if m == nil || len(cycles) < 1 {
		return nil, nil, nil
	}
	levels := postureLevels(m)
	series := make([]crossSeries, len(levels))
	for i, l := range levels {
		series[i] = crossSeries{Name: postureAxisLabel(m, l), Color: postureColors[i%len(postureColors)]}
	}
	mix := table{Caption: "National posture mix by cycle", Head: []string{"Cycle"}, Num: []bool{false}}
	for _, l := range levels {
		mix.Head = append(mix.Head, fmt.Sprintf("Posture %d", l))
		mix.Num = append(mix.Num, true)
	}
	mean := table{Caption: "National mean index by cycle", Head: []string{"Cycle", "Mean index", "95% interval", "Organisations (noisy)"},
		Num: []bool{false, true, true, true}}
	var mv, ml, mh []*float64
	for ci, c := range nats {
		r := row{Cells: []string{cycles[ci]}}
		for i, l := range levels {
			b, ok := bucketOf(postureOf(c), strconv.Itoa(l))
			if !ok {
				series[i].Points = append(series[i].Points, barPoint{Label: cycles[ci], Missing: true})
				r.Cells = append(r.Cells, "not published")
				continue
			}
			v, lo, hi := figureShare(b.Share)
			series[i].Points = append(series[i].Points, barPoint{Label: cycles[ci], Value: v, Low: lo, High: hi})
			r.Cells = append(r.Cells, fmt.Sprintf("%s (%s)", pct(b.Share.Value), pctRange(b.Share.Low, b.Share.High)))
		}
		mix.Rows = append(mix.Rows, r)
		mr := row{Cells: []string{cycles[ci], "not published", "", ""}, Class: "muted"}
		var v, lo, hi *float64
		if c != nil && c.Has(privacy.FamilyOverallMean) {
			e := c.OverallMean.Estimate
			v, lo, hi = ptr(e.Value), ptr(e.Low), ptr(e.High)
			mr = row{Cells: []string{cycles[ci], idx(e.Value), idxRange(e.Low, e.High), ""}}
			if c.Count != nil {
				mr.Cells[3] = count(c.Count.Value)
			}
		}
		mv, ml, mh = append(mv, v), append(ml, lo), append(mh, hi)
		mean.Rows = append(mean.Rows, mr)
	}
	mixChart, err := crossbars(crossSpec{ID: "chart-trend-posture", Title: "National posture mix across cycles",
		Caption:    "Share of providers at each posture in each cycle's newest release, with 95% intervals.",
		Categories: cycles, Series: series, Percent: true, AxisName: "Share of providers"})
	if err != nil {
		return nil, nil, err
	}
	meanChart, err := trend(trendSpec{ID: "chart-trend-mean", Title: "National mean index across cycles",
		Caption: "Mean overall index of all providers in each cycle's newest release, with its 95% interval.",
		Cycles:  cycles, Lines: []trendLine{{Name: "Mean index", Values: mv, Color: colorPeer}},
		Bands: []trendBand{{Name: "95% interval", Low: ml, High: mh, Color: colorBand}}, Max: 100, AxisName: "Index"})
	if err != nil {
		return nil, nil, err
	}
	return &figure{Chart: mixChart, Table: mix, Wide: true}, &figure{Chart: meanChart, Table: mean}, nil
}

func postureOf(c *privacy.Cohort) *privacy.Histogram {
	if c == nil || c.Suppressed || c.Posture == nil || c.Posture.Withheld {
		return nil
	}
	return c.Posture
}
