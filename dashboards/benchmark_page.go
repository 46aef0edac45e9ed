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

// The peer benchmark: a provider executive's page. It leads with one sentence (where the
// organisation stands, what to do next), then the evidence: the cohort's posture
// distribution with "you are here", the domain radar against the peer median and
// interquartile band, the percentile per domain, what holds the organisation back, and
// the trend of its own index.
//
// Privacy: the organisation's own figures are exact and come from its OwnOrgReader,
// which is fixed to the signed-in provider's organisation; every peer figure comes from
// the cycle's newest stored release, read through privacy.PeerCohort (which falls back
// from size × region to size to national and says why) and privacy.PeerPosition (which
// places the organisation's own exact index among the released quantiles). Nothing in the
// query string but the cycle is read.

// benchmarkData is the peer benchmark's page data.
type benchmarkData struct {
	OrgName      string // the organisation's own name (its own data; escaped in HTML, never in charts)
	OrgID        string
	Cycle        string
	Cycles       []option
	NoSubmission bool
	Notes        []string // page-level notes: cycle fallback, no release yet
	Summary      string   // the one-sentence lead
	Cards        []card
	PeerNote     string // which cohort the distribution uses, and why
	Release      *releaseMeta
	Posture      *figure
	Radar        *figure
	DomainNote   string
	Percentiles  *figure
	Level        int // the organisation's overall posture
	Target       int // the next posture, 0 at the top
	Binding      []string
	NextSteps    []string
	AtTop        bool
	Unknown      string
	Trend        *figure
}

// card is one headline number.
type card struct{ Key, Value, Detail string }

func (d *benchmarkData) scripts() []string {
	var figs []figure
	for _, f := range []*figure{d.Posture, d.Radar, d.Percentiles, d.Trend} {
		if f != nil {
			figs = append(figs, *f)
		}
	}
	return scriptsFor(figs)
}

func (p *Pages) benchmarkPage(ctx context.Context, v Viewer, q url.Values) (string, string, any, error) {
	// Only the cycle is read from the query: the organisation is the viewer's, whatever
	// else the request carries.
	d, err := p.buildBenchmark(ctx, p.deps.Orgs(v.OrgID), q.Get("cycle"))
	return "benchmark", "Peer benchmark", d, err
}

// buildBenchmark assembles the page for the organisation behind own.
func (p *Pages) buildBenchmark(ctx context.Context, own OwnOrgReader, wantCycle string) (*benchmarkData, error) {
	history, err := own.ListSubmissions(ctx)
	if err != nil {
		return nil, err
	}
	current := map[string]warehouse.SubmissionSummary{}
	for _, s := range history {
		if s.Current() {
			current[s.Cycle] = s
		}
	}
	d := &benchmarkData{}
	if len(current) == 0 {
		d.NoSubmission = true
		return d, nil
	}
	cycles := make([]string, 0, len(current))
	for c := range current {
		cycles = append(cycles, c)
	}
	sort.Strings(cycles)
	infos, err := p.rel.published(ctx)
	if err != nil {
		return nil, err
	}
	releaseOf := map[string]warehouse.ReleaseInfo{}
	for _, r := range latestPerCycle(infos) {
		releaseOf[r.Cycle] = r
	}
	// Default: the newest cycle with both a submission and a release.
	cycle := cycles[len(cycles)-1]
	for i := len(cycles) - 1; i >= 0; i-- {
		if _, ok := releaseOf[cycles[i]]; ok {
			cycle = cycles[i]
			break
		}
	}
	if wantCycle != "" {
		if _, ok := current[wantCycle]; ok {
			cycle = wantCycle
		} else if safeID.MatchString(wantCycle) {
			d.Notes = append(d.Notes, fmt.Sprintf("Your organisation has no submission in cycle %s; showing cycle %s.", wantCycle, cycle))
		}
	}
	d.Cycle = cycle
	for _, c := range cycles {
		d.Cycles = append(d.Cycles, option{Value: c, Label: "Cycle " + c, Selected: c == cycle})
	}
	sub, err := own.CurrentSubmission(ctx, cycle)
	if err != nil {
		return nil, err
	}
	m, err := p.deps.Models.Get(sub.ModelVersion)
	if err != nil {
		return nil, err
	}
	d.OrgName, d.OrgID = sub.Submission.Organisation.Name, sub.OrgID
	sc := sub.Score
	if n := len(sc.Unknown); n > 0 {
		d.Unknown = fmt.Sprintf("%d of your answers were \"unknown\"; each scores as level %d and counts against its domain.", n, m.Scale.UnknownScoresAs)
	}
	d.Level = sc.Posture
	d.AtTop = sc.Posture >= m.MaxPosture()
	if !d.AtTop {
		d.Target = sc.Posture + 1
	}
	for _, b := range sc.Binding {
		d.Binding = append(d.Binding, b.Message+".")
	}
	for _, s := range sc.NextSteps {
		d.NextSteps = append(d.NextSteps, s.Message)
	}

	var rel *privacy.Release
	if info, ok := releaseOf[cycle]; ok {
		if rel, err = p.rel.load(ctx, info); err != nil {
			return nil, err
		}
		meta := metaOf(info, rel)
		d.Release = &meta
		if rel.ModelVersion != sub.ModelVersion {
			d.Notes = append(d.Notes, fmt.Sprintf("The release for cycle %s was computed with model %s, your submission with model %s; peer comparisons are not shown.",
				cycle, rel.ModelVersion, sub.ModelVersion))
			rel = nil
		}
	} else {
		d.Notes = append(d.Notes, fmt.Sprintf("No peer statistics have been published for cycle %s yet: your own scores are shown, peer comparisons will appear once a release is published.", cycle))
	}

	var postureView, quantView *privacy.PeerView
	var position *privacy.Position
	if rel != nil {
		needs := []privacy.Family{privacy.FamilyPosture}
		if v, err := privacy.PeerCohort(rel, sub.Keys, needs...); err == nil {
			postureView = &v
			d.PeerNote = fallbackSentence(m, v, needs)
			fig, err := benchmarkPostureFigure(m, v, sc.Posture)
			if err != nil {
				return nil, err
			}
			d.Posture = &fig
		} else {
			d.PeerNote = noPeerSentence(m, v, needs) + " No posture distribution can be shown."
		}
		qneeds := []privacy.Family{privacy.FamilyOverallQuantiles}
		if v, err := privacy.PeerCohort(rel, sub.Keys, qneeds...); err == nil {
			quantView = &v
			if pos, err := privacy.PeerPosition(v.Cohort, sc.Index); err == nil {
				position = &pos
			}
		}
		dneeds := []privacy.Family{privacy.FamilyDomainQuantiles}
		if v, err := privacy.PeerCohort(rel, sub.Keys, dneeds...); err == nil {
			d.DomainNote = fallbackSentence(m, v, dneeds)
			radarFig, pctFig, err := benchmarkDomainFigures(m, v, sc)
			if err != nil {
				return nil, err
			}
			d.Radar, d.Percentiles = radarFig, pctFig
		} else {
			d.DomainNote = noPeerSentence(m, v, dneeds) + " Domain comparisons need domain percentiles, which this release does not publish for any of your peer groups."
		}
	}
	d.Cards = benchmarkCards(m, sc, postureView, quantView, position)
	d.Summary = benchmarkSummary(m, sc, postureView, quantView, position, rel != nil)

	trendFig, err := p.benchmarkTrend(ctx, own, m, cycles, current, releaseOf, cycle, sub)
	if err != nil {
		return nil, err
	}
	d.Trend = trendFig
	return d, nil
}

// peerPhrase names a peer group inside a sentence: "providers with 300 to 499 beds in
// the South".
func peerPhrase(m *model.Model, p privacy.Partitioning, k privacy.Key) string {
	switch p {
	case privacy.National:
		return "all providers nationally"
	case privacy.BySize:
		return "providers with " + lowerFirst(sizeLabel(m, k.SizeBand))
	case privacy.ByRegion:
		return "providers in the " + regionLabel(m, k.Region)
	case privacy.BySizeRegion:
		return "providers with " + lowerFirst(sizeLabel(m, k.SizeBand)) + " in the " + regionLabel(m, k.Region)
	case privacy.ByType:
		return "providers of type " + lowerFirst(typeLabel(m, k.OrgType))
	}
	return "peers"
}

// benchmarkSummary is the lead sentence: where the organisation stands and the first
// thing to do. It uses only the organisation's own scorecard and released figures.
func benchmarkSummary(m *model.Model, sc model.Scorecard, pv, qv *privacy.PeerView, pos *privacy.Position, hasRelease bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "You are at Posture %d (%s) with an index of %s", sc.Posture, sc.PostureName, idx(sc.Index))
	switch {
	case pos != nil && qv != nil:
		fmt.Fprintf(&b, ", ahead of about %.0f%% of %s (between %.0f%% and %.0f%%)", pos.Percentile, peerPhrase(m, qv.Level, qv.Cohort.Key), pos.Low, pos.High)
	case pv != nil && pv.Cohort.Posture != nil:
		for _, bk := range pv.Cohort.Posture.Buckets {
			if bk.Level == strconv.Itoa(sc.Posture) {
				fmt.Fprintf(&b, ", a posture shared by about %.0f%% of %s", bk.Share.Value*100, peerPhrase(m, pv.Level, pv.Cohort.Key))
			}
		}
	case !hasRelease:
		b.WriteString(" (no peer figures published for this cycle yet)")
	}
	if sc.Posture >= m.MaxPosture() {
		b.WriteString("; you are at the model's highest posture, so keep every domain there.")
		return b.String()
	}
	if len(sc.NextSteps) > 0 {
		s := sc.NextSteps[0]
		from := "level " + s.From
		if s.From == model.Unknown.String() {
			from = "unknown"
		}
		fmt.Fprintf(&b, "; to reach Posture %d, start by raising %s (%s) from %s to level %d", sc.Posture+1,
			lowerFirst(capabilityName(m, s.Capability)), s.Capability, from, s.To)
		if n := len(sc.NextSteps) - 1; n == 1 {
			b.WriteString(", then the one further step below")
		} else if n > 1 {
			fmt.Fprintf(&b, ", then the %d further steps below", n)
		}
	}
	b.WriteString(".")
	return b.String()
}

// benchmarkCards are the headline numbers beside the summary.
func benchmarkCards(m *model.Model, sc model.Scorecard, pv, qv *privacy.PeerView, pos *privacy.Position) []card {
	cards := []card{
		{Key: "Overall posture", Value: fmt.Sprintf("Posture %d", sc.Posture), Detail: sc.PostureName},
		{Key: "Overall index", Value: idx(sc.Index) + " / 100", Detail: "Your exact score"},
	}
	if pos != nil && qv != nil {
		cards = append(cards, card{Key: "Peer percentile", Value: ordinal(pos.Percentile),
			Detail: fmt.Sprintf("Range %s–%s among %s", ordinal(pos.Low), ordinal(pos.High), cohortLabel(m, qv.Level, qv.Cohort.Key))})
		if q := qv.Cohort.OverallQuantiles; q != nil {
			for _, pt := range q.Points {
				if pt.Rank == 0.5 {
					cards[1].Detail = fmt.Sprintf("Peer median %s (95%% interval %s)", idx(pt.Value), idxRange(pt.Low, pt.High))
				}
			}
		}
	} else {
		cards = append(cards, card{Key: "Peer percentile", Value: "Not available", Detail: "No peer group of yours has published index percentiles in this release"})
	}
	if pv != nil && pv.Cohort.Count != nil {
		c := pv.Cohort.Count
		cards = append(cards, card{Key: "Peer group", Value: cohortLabel(m, pv.Level, pv.Cohort.Key),
			Detail: fmt.Sprintf("About %s organisations (95%% interval %s)", count(c.Value), countRange(c.Low, c.High))})
	}
	return cards
}

// benchmarkPostureFigure is the cohort's posture distribution with the organisation's
// posture marked.
func benchmarkPostureFigure(m *model.Model, v privacy.PeerView, own int) (figure, error) {
	h := v.Cohort.Posture
	label := cohortLabel(m, v.Level, v.Cohort.Key)
	t := table{Caption: "Posture distribution of " + label,
		Head: []string{"Posture", "Share of peers", "95% interval", "Organisations (noisy)"}, Num: []bool{false, true, true, true}}
	var pts []barPoint
	for _, b := range h.Buckets {
		lvl, err := strconv.Atoi(b.Level)
		if err != nil {
			continue
		}
		you := lvl == own
		v, lo, hi := figureShare(b.Share)
		pts = append(pts, barPoint{Label: postureAxisLabel(m, lvl), Value: v, Low: lo, High: hi, Highlight: you})
		r := row{Cells: []string{postureAxisLabel(m, lvl), pct(b.Share.Value), pctRange(b.Share.Low, b.Share.High), count(b.Count.Value)}}
		if you {
			r.Class = "you"
			r.Cells[0] += " (you)"
		}
		t.Rows = append(t.Rows, r)
	}
	c, err := errorBars(barSpec{ID: "chart-posture", Title: "Where you sit among your peers",
		Caption: fmt.Sprintf("Share of %s at each posture, with 95%% intervals; your posture is marked.", label),
		Series:  "Share of peers", Points: pts, Percent: true, Mark: "You"})
	return figure{Chart: c, Table: t}, err
}

// benchmarkDomainFigures are the radar (your domain indices against the peer median and
// interquartile band) and the percentile per domain.
func benchmarkDomainFigures(m *model.Model, v privacy.PeerView, sc model.Scorecard) (*figure, *figure, error) {
	label := cohortLabel(m, v.Level, v.Cohort.Key)
	var axes []string
	var you, p25, p50, p75 []float64
	complete := true
	dt := table{Caption: "Your domain indices and " + label,
		Head: []string{"Domain", "You", "Posture", "Peer 25th", "Peer median (95% int.)", "Peer 75th"},
		Num:  []bool{false, true, true, true, true, true}}
	pt := table{Caption: "Your percentile per domain among " + label,
		Head: []string{"Domain", "Your percentile", "Range"}, Num: []bool{false, true, true}}
	var pts []barPoint
	var notes []string
	for _, ds := range sc.Domains {
		name := domainName(m, ds.ID)
		axes = append(axes, name)
		you = append(you, ds.Index)
		stat, _ := v.Cohort.Domain(ds.ID)
		var q map[float64]privacy.QuantilePoint
		if stat != nil && stat.Quantiles != nil && !stat.Quantiles.Withheld {
			q = map[float64]privacy.QuantilePoint{}
			for _, p := range stat.Quantiles.Points {
				q[p.Rank] = p
			}
		}
		a, mid, b := q[0.25], q[0.5], q[0.75]
		_, okA := q[0.25]
		_, okM := q[0.5]
		_, okB := q[0.75]
		r := row{Cells: []string{name, idx(ds.Index), strconv.Itoa(ds.Posture)}}
		if !ds.Assessed {
			r.Cells[1], r.Cells[2] = "not assessed", "–"
		}
		if okA && okM && okB {
			p25, p50, p75 = append(p25, a.Value), append(p50, mid.Value), append(p75, b.Value)
			r.Cells = append(r.Cells, idx(a.Value), fmt.Sprintf("%s (%s)", idx(mid.Value), idxRange(mid.Low, mid.High)), idx(b.Value))
		} else {
			complete = false
			p25, p50, p75 = append(p25, 0), append(p50, 0), append(p75, 0)
			reason := "not published"
			if stat != nil && stat.Quantiles != nil && stat.Quantiles.Reason != "" {
				reason = stat.Quantiles.Reason
			}
			r.Cells = append(r.Cells, reason, "", "")
			r.Class = "muted"
		}
		dt.Rows = append(dt.Rows, r)
		pos, err := privacy.PeerDomainPosition(v.Cohort, ds.ID, ds.Index)
		if err != nil || !ds.Assessed {
			pts = append(pts, barPoint{Label: name, Missing: true})
			pt.Rows = append(pt.Rows, row{Cells: []string{name, "not available", ""}, Class: "muted"})
			continue
		}
		pts = append(pts, barPoint{Label: name, Value: pos.Percentile, Low: pos.Low, High: pos.High})
		pt.Rows = append(pt.Rows, row{Cells: []string{name, ordinal(pos.Percentile), ordinal(pos.Low) + "–" + ordinal(pos.High)}})
	}
	series := []radarSeries{{Name: "You", Values: you, Color: colorYou, Bold: true}}
	if complete {
		// Drawn in this order: the band (75th filled, 25th filled with the background on
		// top), the median, then you on top of everything.
		series = []radarSeries{
			{Name: "Peer 75th percentile", Values: p75, Color: colorBand, Dashed: true, Fill: "rgba(86,180,233,0.35)"},
			{Name: "Peer 25th percentile", Values: p25, Color: colorBand, Dashed: true, Fill: "#ffffff"},
			{Name: "Peer median", Values: p50, Color: colorMedian},
			series[0],
		}
	} else {
		notes = append(notes, "Some domains have no published percentiles for this peer group, so only your own indices are drawn; the table says which.")
	}
	rc, err := radar(radarSpec{ID: "chart-radar", Title: "Your domains against your peers",
		Caption: "Your index in each domain (0–100) against the peer median, with the band between the peers' 25th and 75th percentiles.",
		Axes:    axes, Series: series})
	if err != nil {
		return nil, nil, err
	}
	rc.Tall = true
	pc, err := errorBars(barSpec{ID: "chart-domain-percentiles", Title: "Your percentile in each domain",
		Caption: "The share of " + label + " at or below your index in each domain, with the range the released percentiles allow.",
		Series:  "Percentile", Points: pts, Horizontal: true, Max: 100, Interval: "range"})
	if err != nil {
		return nil, nil, err
	}
	pc.Tall = true
	// The radar needs the full width for its axis names; its table goes underneath.
	return &figure{Chart: rc, Table: dt, Notes: notes, Wide: true}, &figure{Chart: pc, Table: pt}, nil
}

// benchmarkTrend is the organisation's own index over its cycles, with the peer median
// of each cycle's release (for the peer group its profile fell in that cycle).
func (p *Pages) benchmarkTrend(ctx context.Context, own OwnOrgReader, m *model.Model, cycles []string,
	current map[string]warehouse.SubmissionSummary, releaseOf map[string]warehouse.ReleaseInfo,
	selected string, selectedSub *warehouse.StoredSubmission) (*figure, error) {
	var labels []string
	var mine, med, lo, hi []*float64
	t := table{Caption: "Your overall index by cycle, with the peer median",
		Head: []string{"Cycle", "Your posture", "Your index", "Peer median (95% interval)", "Peer group"},
		Num:  []bool{false, true, true, true, false}}
	anyPeer := false
	for _, c := range cycles {
		if !safeID.MatchString(c) {
			continue
		}
		s := current[c]
		labels = append(labels, c)
		mine = append(mine, ptr(s.Index))
		r := row{Cells: []string{c, strconv.Itoa(s.Posture), idx(s.Index), "not published", ""}}
		if c == selected {
			r.Class = "you"
		}
		var mp, ml, mh *float64
		if info, ok := releaseOf[c]; ok {
			rel, err := p.rel.load(ctx, info)
			if err != nil {
				return nil, err
			}
			sub := selectedSub
			if c != selected {
				if sub, err = own.CurrentSubmission(ctx, c); err != nil {
					return nil, err
				}
			}
			if rel.ModelVersion == sub.ModelVersion {
				if v, err := privacy.PeerCohort(rel, sub.Keys, privacy.FamilyOverallQuantiles); err == nil {
					for _, pt := range v.Cohort.OverallQuantiles.Points {
						if pt.Rank == 0.5 {
							mp, ml, mh = ptr(pt.Value), ptr(pt.Low), ptr(pt.High)
							r.Cells[3] = fmt.Sprintf("%s (%s)", idx(pt.Value), idxRange(pt.Low, pt.High))
							r.Cells[4] = cohortLabel(m, v.Level, v.Cohort.Key)
							anyPeer = true
						}
					}
				}
			}
		}
		med, lo, hi = append(med, mp), append(lo, ml), append(hi, mh)
		t.Rows = append(t.Rows, r)
	}
	spec := trendSpec{ID: "chart-trend", Title: "Your index over time",
		Caption: "Your overall index in each cycle you submitted, with the peer median and its 95% interval where a release publishes it.",
		Cycles:  labels, Lines: []trendLine{{Name: "Your index", Values: mine, Color: colorYou}}, Max: 100, AxisName: "Index"}
	if anyPeer {
		spec.Bands = []trendBand{{Name: "Peer median 95% interval", Low: lo, High: hi, Color: colorBand}}
		spec.Lines = append(spec.Lines, trendLine{Name: "Peer median", Values: med, Color: colorMedian, Dashed: true})
	}
	c, err := trend(spec)
	if err != nil {
		return nil, err
	}
	return &figure{Chart: c, Table: t}, nil
}
