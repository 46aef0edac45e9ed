package dashboards

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// The cohort explorer: an analyst picks a release, a partitioning and a cohort and sees
// every figure the release publishes for it (value, interval, raw noisy value, noise
// parameters), charts of the main metrics, and links to the API's exports. Suppressed
// cohorts show "not enough peers" and nothing else, as the release does.

// exportFormats are the formats the API's release export serves.
var exportFormats = []struct{ Format, Label string }{
	{"csv", "CSV"}, {"parquet", "Parquet"}, {"arrow", "Arrow IPC"}, {"xlsx", "Excel"},
}

// explorerData is the explorer page's data.
type explorerData struct {
	NoRelease  bool
	Releases   []option
	Release    *releaseMeta
	Tabs       []link
	Cohorts    []link
	Title      string
	Suppressed string // the "not enough peers" text of a suppressed cohort
	Cards      []card
	Mechanisms *table
	Figures    []figure
	Groups     []valueGroup
	Exports    []link
}

// link is a navigation entry of the explorer.
type link struct {
	Href, Label, Tag string
	Current          bool
}

// valueGroup is one metric family's figures in long form.
type valueGroup struct {
	Title string
	Open  bool
	Table table
}

func (d *explorerData) scripts() []string { return scriptsFor(d.Figures) }

func (p *Pages) explorerPage(ctx context.Context, _ Viewer, q url.Values) (string, string, any, error) {
	d, err := p.buildExplorer(ctx, q.Get("release"), q.Get("partitioning"), q.Get("cohort"))
	return "explorer", "Cohort explorer", d, err
}

func explorerHref(release string, part privacy.Partitioning, cohort int) string {
	v := url.Values{}
	v.Set("release", release)
	v.Set("partitioning", string(part))
	v.Set("cohort", strconv.Itoa(cohort))
	return pathExplorer + "?" + v.Encode()
}

// buildExplorer assembles the page. Unknown or malformed choices fall back to the
// defaults (newest release, first partitioning, first cohort) rather than failing.
func (p *Pages) buildExplorer(ctx context.Context, wantRelease, wantPart, wantCohort string) (*explorerData, error) {
	infos, err := p.rel.published(ctx)
	if err != nil {
		return nil, err
	}
	d := &explorerData{}
	if len(infos) == 0 {
		d.NoRelease = true
		return d, nil
	}
	// Newest first in the picker.
	sorted := append([]warehouse.ReleaseInfo(nil), infos...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].PublishedAt, sorted[j].PublishedAt
		if a == nil || b == nil {
			return sorted[i].Cycle > sorted[j].Cycle
		}
		return a.After(*b)
	})
	sel := sorted[0]
	for _, r := range sorted {
		if r.ID == wantRelease {
			sel = r
		}
	}
	for _, r := range sorted {
		if !safeID.MatchString(r.ID) {
			continue
		}
		d.Releases = append(d.Releases, option{Value: r.ID, Selected: r.ID == sel.ID,
			Label: fmt.Sprintf("Cycle %s · %s · ε %g", r.Cycle, r.ID, r.Epsilon)})
	}
	rel, m, meta, err := p.show(ctx, sel)
	if err != nil {
		return nil, err
	}
	d.Release = meta
	for _, f := range exportFormats {
		d.Exports = append(d.Exports, link{Href: p.cfg.ExportBase + url.PathEscape(sel.ID) + "/export?format=" + f.Format, Label: f.Label})
	}

	var parts []privacy.Partitioning
	byPart := map[privacy.Partitioning][]*privacy.Cohort{}
	for i := range rel.Cohorts {
		c := &rel.Cohorts[i]
		if _, ok := byPart[c.Partitioning]; !ok {
			parts = append(parts, c.Partitioning)
		}
		byPart[c.Partitioning] = append(byPart[c.Partitioning], c)
	}
	if len(parts) == 0 {
		return d, nil
	}
	part := parts[0]
	if _, ok := byPart[privacy.Partitioning(wantPart)]; ok {
		part = privacy.Partitioning(wantPart)
	}
	for _, pt := range parts {
		d.Tabs = append(d.Tabs, link{Href: explorerHref(sel.ID, pt, 0), Label: partitioningLabel(pt), Current: pt == part})
	}
	cohorts := byPart[part]
	ci, err := strconv.Atoi(wantCohort)
	if err != nil || ci < 0 || ci >= len(cohorts) {
		ci = 0
	}
	for i, c := range cohorts {
		l := link{Href: explorerHref(sel.ID, part, i), Label: shortCohortLabel(m, c.Partitioning, c.Key), Current: i == ci}
		if c.Suppressed {
			l.Tag = "not enough peers"
		}
		d.Cohorts = append(d.Cohorts, l)
	}
	c := cohorts[ci]
	d.Title = partitioningLabel(part) + ": " + cohortLabel(m, c.Partitioning, c.Key)
	if c.Suppressed {
		d.Suppressed = fmt.Sprintf("Not enough peers. This cohort's noisy count does not show at least %d organisations with confidence 1 − %g, so the release publishes nothing else for it; providers in it are compared with a coarser cohort.",
			rel.Request.PublicationThreshold, rel.Request.SuppressionRisk)
		return d, nil
	}
	if c.Count != nil {
		d.Cards = append(d.Cards, card{Key: "Organisations (noisy count)", Value: count(c.Count.Value),
			Detail: fmt.Sprintf("95%% interval %s; raw %s", countRange(c.Count.Low, c.Count.High), raw(c.Count.Raw))})
	}
	if c.Has(privacy.FamilyOverallMean) {
		e := c.OverallMean.Estimate
		d.Cards = append(d.Cards, card{Key: "Mean overall index", Value: idx(e.Value), Detail: "95% interval " + idxRange(e.Low, e.High)})
	}
	d.Mechanisms = mechanismTable(c)
	if d.Figures, err = explorerFigures(m, c); err != nil {
		return nil, err
	}
	d.Groups = valueGroups(m, c)
	return d, nil
}

// mechanismTable lists how each family of the cohort was noised.
func mechanismTable(c *privacy.Cohort) *table {
	t := &table{Caption: "Noise of each metric family in this cohort",
		Head: []string{"Family", "Aggregator", "Noise", "ε", "δ", "l0", "l∞", "Noise scale"},
		Num:  []bool{false, false, false, true, true, true, true, true}}
	for _, mc := range c.Mechanisms {
		t.Rows = append(t.Rows, row{Cells: []string{familyLabel(mc.Family), mc.Aggregator, string(mc.Noise),
			fmt.Sprintf("%g", mc.Epsilon), fmt.Sprintf("%g", mc.Delta), strconv.FormatInt(mc.L0, 10),
			fmt.Sprintf("%g", mc.LInf), fmt.Sprintf("%.4g", mc.NoiseScale)}})
	}
	return t
}

// explorerFigures charts the cohort's main metrics: posture distribution, overall
// quantiles, domain means and capability answer shares, each where published.
func explorerFigures(m *model.Model, c *privacy.Cohort) ([]figure, error) {
	var figs []figure
	if c.Has(privacy.FamilyPosture) {
		t := table{Caption: "Posture distribution", Head: []string{"Posture", "Share", "95% interval", "Count", "Raw count"},
			Num: []bool{false, true, true, true, true}}
		var pts []barPoint
		for _, b := range c.Posture.Buckets {
			lvl, err := strconv.Atoi(b.Level)
			if err != nil {
				continue
			}
			v, lo, hi := figureShare(b.Share)
			pts = append(pts, barPoint{Label: postureAxisLabel(m, lvl), Value: v, Low: lo, High: hi})
			t.Rows = append(t.Rows, row{Cells: []string{postureAxisLabel(m, lvl), pct(b.Share.Value), pctRange(b.Share.Low, b.Share.High), count(b.Count.Value), raw(b.Count.Raw)}})
		}
		ch, err := errorBars(barSpec{ID: "chart-x-posture", Title: "Posture distribution", Caption: "Share of the cohort at each posture, with 95% intervals.",
			Series: "Share of cohort", Points: pts, Percent: true})
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Chart: ch, Table: t})
	}
	if c.Has(privacy.FamilyOverallQuantiles) {
		t := table{Caption: "Overall index percentiles", Head: []string{"Percentile", "Index", "95% interval", "Raw"}, Num: []bool{false, true, true, true}}
		var pts []barPoint
		for _, q := range c.OverallQuantiles.Points {
			label := ordinal(q.Rank * 100)
			pts = append(pts, barPoint{Label: label, Value: q.Value, Low: q.Low, High: q.High})
			t.Rows = append(t.Rows, row{Cells: []string{label, idx(q.Value), idxRange(q.Low, q.High), raw(q.Raw)}})
		}
		ch, err := errorBars(barSpec{ID: "chart-x-quantiles", Title: "Overall index percentiles",
			Caption: "The overall index at each released percentile, with 95% intervals.", Series: "Index", Points: pts, Max: 100})
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Chart: ch, Table: t})
	}
	if c.Has(privacy.FamilyDomainMean) {
		t := table{Caption: "Mean index by domain", Head: []string{"Domain", "Mean index", "95% interval"}, Num: []bool{false, true, true}}
		var pts []barPoint
		for _, dom := range m.Domains {
			stat, _ := c.Domain(dom.ID)
			if stat == nil || stat.Mean == nil || stat.Mean.Withheld || stat.Mean.Estimate == nil {
				pts = append(pts, barPoint{Label: dom.Name, Missing: true})
				reason := "not published"
				if stat != nil && stat.Mean != nil && stat.Mean.Reason != "" {
					reason = stat.Mean.Reason
				}
				t.Rows = append(t.Rows, row{Cells: []string{dom.Name, reason, ""}, Class: "muted"})
				continue
			}
			e := stat.Mean.Estimate
			pts = append(pts, barPoint{Label: dom.Name, Value: e.Value, Low: e.Low, High: e.High})
			t.Rows = append(t.Rows, row{Cells: []string{dom.Name, idx(e.Value), idxRange(e.Low, e.High)}})
		}
		ch, err := errorBars(barSpec{ID: "chart-x-domains", Title: "Mean index by domain",
			Caption: "Mean domain index over the organisations that assessed the domain, with 95% intervals.",
			Series:  "Mean index", Points: pts, Horizontal: true, Max: 100})
		if err != nil {
			return nil, err
		}
		figs = append(figs, figure{Chart: ch, Table: t})
	}
	if c.Has(privacy.FamilyCapability) {
		fig, err := capabilityHeatmap(m, c)
		if err != nil {
			return nil, err
		}
		figs = append(figs, fig)
	}
	return figs, nil
}

// capabilityHeatmap shows each capability's answer shares; the exact figures with their
// intervals are in the value tables below it.
func capabilityHeatmap(m *model.Model, c *privacy.Cohort) (figure, error) {
	cols := []string{}
	for l := m.Scale.Min; l <= m.Scale.Max; l++ {
		cols = append(cols, strconv.Itoa(l))
	}
	cols = append(cols, "unknown", "na")
	xl := make([]string, len(cols))
	t := table{Caption: "Answer shares by capability (percent)", Head: []string{"Capability"}, Num: []bool{false}}
	for i, col := range cols {
		xl[i] = bucketLabel(col)
		t.Head = append(t.Head, bucketLabel(col))
		t.Num = append(t.Num, true)
	}
	var yl []string
	var cells []heatCell
	for y, id := range m.CapabilityIDs() {
		label := id + " " + capabilityName(m, id)
		yl = append(yl, label)
		cs, _ := c.Capability(id)
		r := row{Cells: []string{label}}
		for x, col := range cols {
			var b privacy.Bucket
			ok := false
			if cs != nil && cs.Answers != nil && !cs.Answers.Withheld {
				b, ok = bucketOf(cs.Answers, col)
			}
			if !ok {
				cells = append(cells, heatCell{X: x, Y: y, Missing: true})
				r.Cells = append(r.Cells, "")
				continue
			}
			cells = append(cells, heatCell{X: x, Y: y, Value: b.Share.Value * 100})
			r.Cells = append(r.Cells, strings.TrimSuffix(pct(b.Share.Value), "%"))
		}
		t.Rows = append(t.Rows, r)
	}
	ch, err := heatmap(heatSpec{ID: "chart-x-capabilities", Title: "Answers by capability",
		Caption: "Share of the cohort giving each answer to each capability (percent); intervals are in the capability table below.",
		XLabels: xl, YLabels: yl, Cells: cells, TruncateY: true})
	ch.Tall = true
	ch.XTall = true
	return figure{Chart: ch, Table: t, Wide: true}, err
}

// valueGroups are every figure of the cohort in long form (privacy.Release.Values),
// grouped by metric family: value, interval, raw noisy value, or why it is withheld.
func valueGroups(m *model.Model, c *privacy.Cohort) []valueGroup {
	var groups []valueGroup
	at := map[privacy.Family]int{}
	// Values of this cohort alone: the long form of a one-cohort release.
	one := privacy.Release{Cohorts: []privacy.Cohort{*c}}
	for _, r := range one.Values() {
		i, ok := at[r.Family]
		if !ok {
			i = len(groups)
			at[r.Family] = i
			open := r.Family == privacy.FamilyCount || r.Family == privacy.FamilyPosture ||
				r.Family == privacy.FamilyOverallMean || r.Family == privacy.FamilyOverallQuantiles
			groups = append(groups, valueGroup{Title: upperFirst(familyLabel(r.Family)), Open: open,
				Table: table{Head: []string{"Metric", "Subject", "Bucket", "Value", "95% interval", "Raw noisy value", "Note"},
					Num: []bool{false, false, false, true, true, true, false}}})
		}
		groups[i].Table.Rows = append(groups[i].Table.Rows, valueRow(m, r))
	}
	return groups
}

// valueRow formats one long-form figure for the tables.
func valueRow(m *model.Model, r privacy.Row) row {
	format, formatRange := idx, idxRange
	switch r.Metric {
	case privacy.MetricPostureShare, privacy.MetricDomainPostShare, privacy.MetricCapabilityShare:
		format, formatRange = pct, pctRange
	case privacy.MetricCount, privacy.MetricPostureCount, privacy.MetricDomainPostCount, privacy.MetricCapabilityCount:
		format, formatRange = count, countRange
	}
	out := row{Cells: []string{metricLabel(r.Metric), subjectLabel(m, r.Subject), valueBucketLabel(r.Metric, r.Bucket), "", "", "", r.Reason}}
	if r.Value != nil {
		out.Cells[3] = format(*r.Value)
	}
	if r.CILow != nil && r.CIHigh != nil {
		out.Cells[4] = formatRange(*r.CILow, *r.CIHigh)
	}
	if r.Raw != nil {
		out.Cells[5] = raw(*r.Raw)
	}
	if r.Withheld || r.Suppressed {
		out.Class = "muted"
	}
	return out
}

func metricLabel(metric string) string {
	switch metric {
	case privacy.MetricCount:
		return "Organisations"
	case privacy.MetricPostureCount, privacy.MetricDomainPostCount:
		return "Posture count"
	case privacy.MetricPostureShare, privacy.MetricDomainPostShare:
		return "Posture share"
	case privacy.MetricOverallMean, privacy.MetricDomainMean:
		return "Mean index"
	case privacy.MetricOverallQuantile, privacy.MetricDomainQuantile:
		return "Index percentile"
	case privacy.MetricCapabilityCount:
		return "Answer count"
	case privacy.MetricCapabilityShare:
		return "Answer share"
	}
	return metric
}

func subjectLabel(m *model.Model, subject string) string {
	switch subject {
	case "":
		return ""
	case privacy.SubjectOverall:
		return "Overall"
	}
	if d, ok := m.Domain(subject); ok {
		return d.Name
	}
	if c, ok := m.Capability(subject); ok {
		return subject + " " + c.Name
	}
	return "Unknown subject"
}

func valueBucketLabel(metric, bucket string) string {
	switch {
	case bucket == "":
		return ""
	case metric == privacy.MetricOverallQuantile || metric == privacy.MetricDomainQuantile:
		if n, err := strconv.Atoi(strings.TrimPrefix(bucket, "p")); err == nil {
			return ordinal(float64(n)) + " percentile"
		}
	case strings.HasPrefix(metric, "posture_") || strings.HasPrefix(metric, "domain_posture_"):
		if _, err := strconv.Atoi(bucket); err == nil {
			return "Posture " + bucket
		}
	}
	return bucketLabel(bucket)
}
