package model

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Scorecard is the result of scoring one submission with one model version.
type Scorecard struct {
	ModelVersion string        `json:"model_version"`
	Posture      int           `json:"posture"`
	PostureName  string        `json:"posture_name"`
	Index        float64       `json:"index"`
	Domains      []DomainScore `json:"domains"`
	Families     []FamilyScore `json:"families"`
	// Binding lists every rule that stops the organisation reaching the next posture;
	// empty at the top posture.
	Binding []Constraint `json:"binding_constraints"`
	// NextSteps are the concrete capability raises that would lift the binding constraints.
	NextSteps []NextStep `json:"next_steps"`
	// Unknown lists capabilities answered "unknown" (scored as the unknown level, flagged).
	Unknown []string `json:"unknown"`
	// NotApplicable lists capabilities answered "na" (excluded from scoring).
	NotApplicable []string `json:"not_applicable"`
}

// DomainScore is one domain's continuous index (0-100) and categorical posture.
type DomainScore struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Assessed    bool    `json:"assessed"`
	Index       float64 `json:"index"`
	Posture     int     `json:"posture"`
	PostureName string  `json:"posture_name"`
	Answered    int     `json:"answered"`
	Unknown     int     `json:"unknown"`
	NA          int     `json:"not_applicable"`
	// LowConfidence is set when more answers are "na" than the model tolerates.
	LowConfidence bool `json:"low_confidence"`
}

// FamilyScore rolls domains up into the HC-ZTMM families.
type FamilyScore struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Assessed bool    `json:"assessed"`
	Index    float64 `json:"index"`
	Posture  int     `json:"posture"`
}

// Constraint rules, as stable identifiers.
const (
	RuleDomainShare   = "domain_share"
	RuleWeakestDomain = "weakest_domain"
	RuleGate          = "gate"
)

// Constraint is one rule that holds the organisation below TargetPosture.
type Constraint struct {
	Rule          string   `json:"rule"`
	TargetPosture int      `json:"target_posture"`
	Domains       []string `json:"domains,omitempty"`
	Capability    string   `json:"capability,omitempty"`
	Required      int      `json:"required"`
	Actual        int      `json:"actual"`
	Message       string   `json:"message"`
}

// NextStep is one capability to raise, with the description of the level to reach.
type NextStep struct {
	Capability string `json:"capability"`
	Domain     string `json:"domain"`
	From       string `json:"from"`
	To         int    `json:"to"`
	Message    string `json:"message"`
}

// maxNextSteps keeps the advice short enough for an executive to read.
const maxNextSteps = 6

// Score computes the full scorecard of a set of answers: Assess plus Explain. It assumes
// the answers passed ValidateAnswers; missing capabilities are treated as unknown so that
// scoring never panics.
func (m *Model) Score(answers map[string]Answer) Scorecard {
	sc := m.Assess(answers)
	m.Explain(&sc, answers)
	return sc
}

// Assess computes the numbers of a scorecard (indices, postures, families, flags) without
// the wording of the binding constraints and next steps. Bulk ingest and releases need
// only the numbers, and the words can be rebuilt from the answers at any time because
// scoring is pure.
func (m *Model) Assess(answers map[string]Answer) Scorecard {
	sc := Scorecard{ModelVersion: m.Version, Unknown: []string{}, NotApplicable: []string{},
		Binding: []Constraint{}, NextSteps: []NextStep{}, Domains: make([]DomainScore, len(m.Domains))}
	nd := len(m.Domains)
	weights := make([]float64, 0, nd)
	indices := make([]float64, 0, nd)
	postures := make([]int, 0, nd)
	var ls []int
	var ws []float64
	for di := range m.Domains {
		d := &m.Domains[di]
		ds := DomainScore{ID: d.ID, Name: d.Name}
		ls, ws = ls[:0], ws[:0]
		var sum, wsum float64
		for ci := range d.Capabilities {
			c := &d.Capabilities[ci]
			a, answered := answers[c.ID]
			var l int
			switch {
			case answered && a == NotApplicable:
				ds.NA++
				sc.NotApplicable = append(sc.NotApplicable, c.ID)
				continue
			case !answered || a == Unknown:
				ds.Unknown++
				sc.Unknown = append(sc.Unknown, c.ID)
				l = m.Scale.UnknownScoresAs
			default:
				ds.Answered++
				l = clampInt(int(a), m.Scale.Min, m.Scale.Max)
			}
			ls = append(ls, l)
			ws = append(ws, c.Weight)
			sum += float64(l) * c.Weight
			wsum += c.Weight
		}
		ds.LowConfidence = ds.NA > m.Rules.MaxNAPerDomain
		if len(ls) == 0 {
			// Every capability "na": the domain does not apply and is left out of the overall rules.
			ds.PostureName = "Not assessed"
		} else {
			ds.Assessed = true
			ds.Index = round2(sum / wsum / float64(m.Scale.Max) * 100)
			ds.Posture = weakestLinkPosture(ls, ws, m.Rules.Domain.ShareThreshold, m.Rules.Domain.MaxGapToWeakest, m.Scale.Max)
			ds.PostureName = m.Postures[ds.Posture].Name
			weights = append(weights, d.Weight)
			indices = append(indices, ds.Index)
			postures = append(postures, ds.Posture)
		}
		sc.Domains[di] = ds
	}
	sc.Index = round2(weightedMean(indices, weights))
	sc.Posture = m.overallPosture(postures, weights, answers)
	sc.PostureName = m.Postures[sc.Posture].Name
	sc.Families = make([]FamilyScore, 0, len(m.Families))
	for _, f := range m.Families {
		sc.Families = append(sc.Families, m.scoreFamily(f, sc.Domains))
	}
	return sc
}

// Explain fills in the binding constraints and next steps of a scorecard made by Assess
// from the same answers.
func (m *Model) Explain(sc *Scorecard, answers map[string]Answer) {
	sc.Binding, sc.NextSteps = []Constraint{}, []NextStep{}
	if sc.Posture >= m.Scale.Max {
		return
	}
	levels := m.effectiveLevels(answers)
	var weights []float64
	for di, ds := range sc.Domains {
		if ds.Assessed {
			weights = append(weights, m.Domains[di].Weight)
		}
	}
	sc.Binding = m.bindingConstraints(sc.Posture+1, sc.Domains, weights, levels)
	sc.NextSteps = m.nextSteps(sc.Posture+1, sc.Binding, sc.Domains, answers, levels)
}

// effectiveLevels turns answers into scored levels: unknown scores as the model says,
// "na" is left out.
func (m *Model) effectiveLevels(answers map[string]Answer) map[string]int {
	levels := make(map[string]int, len(m.capOrder))
	for _, id := range m.capOrder {
		a, ok := answers[id]
		switch {
		case !ok || a == Unknown:
			levels[id] = m.Scale.UnknownScoresAs
		case a == NotApplicable:
		default:
			levels[id] = clampInt(int(a), m.Scale.Min, m.Scale.Max)
		}
	}
	return levels
}

// weakestLinkPosture is the highest k such that at least `share` of the weight sits at k
// or above and no item is more than maxGap below k.
func weakestLinkPosture(levels []int, weights []float64, share float64, maxGap, max int) int {
	for k := max; k >= 1; k-- {
		if meetsLevel(levels, weights, k, share, maxGap) {
			return k
		}
	}
	return 0
}

func meetsLevel(levels []int, weights []float64, k int, share float64, maxGap int) bool {
	var total, atK float64
	for i, l := range levels {
		total += weights[i]
		if l >= k {
			atK += weights[i]
		}
		if l < k-maxGap {
			return false
		}
	}
	return total > 0 && atK/total >= share-1e-9
}

func (m *Model) gatesMet(k int, answers map[string]Answer) bool {
	if k < m.Rules.Overall.Gates.AppliesFromLevel {
		return true
	}
	for _, g := range m.Rules.Overall.Gates.Capabilities {
		a, ok := answers[g]
		l := m.Scale.UnknownScoresAs
		switch {
		case ok && a == NotApplicable:
			continue // validation forbids it; scoring stays total
		case ok && a != Unknown:
			l = clampInt(int(a), m.Scale.Min, m.Scale.Max)
		}
		if l < k {
			return false
		}
	}
	return true
}

func (m *Model) overallPosture(postures []int, weights []float64, answers map[string]Answer) int {
	if len(postures) == 0 {
		return 0
	}
	r := m.Rules.Overall
	for k := m.Scale.Max; k >= 1; k-- {
		if meetsLevel(postures, weights, k, r.DomainShareThreshold, r.MaxGapToWeakest) && m.gatesMet(k, answers) {
			return k
		}
	}
	return 0
}

func (m *Model) scoreFamily(f Family, domains []DomainScore) FamilyScore {
	fs := FamilyScore{ID: f.ID, Name: f.Name}
	var idx, ws []float64
	var ps []int
	for _, did := range f.Domains {
		for di, ds := range domains {
			if ds.ID == did && ds.Assessed {
				idx = append(idx, ds.Index)
				ws = append(ws, m.Domains[di].Weight)
				ps = append(ps, ds.Posture)
			}
		}
	}
	if len(idx) == 0 {
		return fs
	}
	fs.Assessed = true
	fs.Index = round2(weightedMean(idx, ws))
	fs.Posture = weakestLinkPosture(ps, ws, m.Rules.Overall.DomainShareThreshold, m.Rules.Overall.MaxGapToWeakest, m.Scale.Max)
	return fs
}

// bindingConstraints lists every rule that fails at the target posture, in words a CISO reads.
func (m *Model) bindingConstraints(target int, domains []DomainScore, weights []float64, levels map[string]int) []Constraint {
	out := []Constraint{}
	r := m.Rules.Overall
	var assessed []DomainScore
	for _, ds := range domains {
		if ds.Assessed {
			assessed = append(assessed, ds)
		}
	}
	// Gates first: they are what the HC-ZTMM findings say holds the sector back.
	if target >= r.Gates.AppliesFromLevel {
		for _, g := range r.Gates.Capabilities {
			l, ok := levels[g]
			if !ok || l >= target {
				continue
			}
			p := m.phrases[g]
			out = append(out, Constraint{Rule: RuleGate, TargetPosture: target, Capability: g, Required: target, Actual: l,
				Message: fmt.Sprintf("Posture %d needs %s (%s) at level %d or above; you answered %d (%s)",
					target, p.name, g, target, l, p.levels[l])})
		}
	}
	var below []string
	var totalW, atW float64
	for i, ds := range assessed {
		totalW += weights[i]
		if ds.Posture >= target {
			atW += weights[i]
		} else {
			below = append(below, fmt.Sprintf("%s (%d)", ds.Name, ds.Posture))
		}
	}
	if totalW > 0 && atW/totalW < r.DomainShareThreshold-1e-9 {
		need := int(math.Ceil(r.DomainShareThreshold*float64(len(assessed)) - 1e-9))
		have := len(assessed) - len(below)
		var ids []string
		for _, ds := range assessed {
			if ds.Posture < target {
				ids = append(ids, ds.ID)
			}
		}
		out = append(out, Constraint{Rule: RuleDomainShare, TargetPosture: target, Domains: ids, Required: need, Actual: have,
			Message: fmt.Sprintf("Posture %d needs at least %d of %d domains at Posture %d or above; %d are. Below it: %s",
				target, need, len(assessed), target, have, strings.Join(below, ", "))})
	}
	floor := target - r.MaxGapToWeakest
	for _, ds := range assessed {
		if ds.Posture < floor {
			out = append(out, Constraint{Rule: RuleWeakestDomain, TargetPosture: target, Domains: []string{ds.ID}, Required: floor, Actual: ds.Posture,
				Message: fmt.Sprintf("Posture %d needs every domain at Posture %d or above; %s is at %d", target, floor, ds.Name, ds.Posture)})
		}
	}
	return out
}

// nextSteps turns constraints into the capability raises that would clear them: gate
// capabilities first, then the cheapest raises that lift each lagging domain.
func (m *Model) nextSteps(target int, binding []Constraint, domains []DomainScore, answers map[string]Answer, levels map[string]int) []NextStep {
	steps := []NextStep{}
	seen := map[string]bool{}
	add := func(capID string, to int) {
		if seen[capID] || len(steps) >= maxNextSteps {
			return
		}
		seen[capID] = true
		p := m.phrases[capID]
		d, _ := m.DomainOf(capID)
		from := fmt.Sprint(levels[capID])
		if a, ok := answers[capID]; !ok || a == Unknown {
			from = Unknown.String()
		}
		steps = append(steps, NextStep{Capability: capID, Domain: d.ID, From: from, To: to,
			Message: fmt.Sprintf("Raise %s (%s) from %s to level %d: %s", p.name, capID, levelWords(from), to, p.levels[to])})
	}
	domainTargets := map[string]int{}
	for _, b := range binding {
		switch b.Rule {
		case RuleGate:
			add(b.Capability, b.Required)
		case RuleWeakestDomain:
			for _, d := range b.Domains {
				domainTargets[d] = max(domainTargets[d], b.Required)
			}
		case RuleDomainShare:
			// Only the domains closest to the target need to move to restore the share.
			lagging := []DomainScore{}
			for _, ds := range domains {
				if ds.Assessed && ds.Posture < target {
					lagging = append(lagging, ds)
				}
			}
			sort.SliceStable(lagging, func(i, j int) bool { return lagging[i].Index > lagging[j].Index })
			for i := 0; i < b.Required-b.Actual && i < len(lagging); i++ {
				domainTargets[lagging[i].ID] = max(domainTargets[lagging[i].ID], target)
			}
		}
	}
	for _, d := range m.Domains {
		if t, ok := domainTargets[d.ID]; ok {
			for _, r := range m.domainRaises(&d, t, levels) {
				add(r.capability, r.to)
			}
		}
	}
	return steps
}

type raise struct {
	capability string
	to         int
}

// domainRaises finds a small set of raises that lifts one domain to posture t: every
// capability below the weakest-link floor first, then the heaviest ones below t until the
// weight share is met.
func (m *Model) domainRaises(d *Domain, t int, levels map[string]int) []raise {
	floor := t - m.Rules.Domain.MaxGapToWeakest
	var out []raise
	var total, atT float64
	type cand struct {
		id  string
		w   float64
		gap int
	}
	var cands []cand
	for _, c := range d.Capabilities {
		l, ok := levels[c.ID]
		if !ok {
			continue
		}
		total += c.Weight
		switch {
		case l >= t:
			atT += c.Weight
		case l < floor:
			out = append(out, raise{c.ID, floor})
			cands = append(cands, cand{c.ID, c.Weight, t - floor})
		default:
			cands = append(cands, cand{c.ID, c.Weight, t - l})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].w != cands[j].w {
			return cands[i].w > cands[j].w
		}
		return cands[i].gap < cands[j].gap
	})
	for _, c := range cands {
		if total == 0 || atT/total >= m.Rules.Domain.ShareThreshold-1e-9 {
			break
		}
		atT += c.w
		replaced := false
		for i := range out {
			if out[i].capability == c.id {
				out[i].to = t
				replaced = true
			}
		}
		if !replaced {
			out = append(out, raise{c.id, t})
		}
	}
	return out
}

// levelWords renders a starting point for advice: "level 1", or "unknown".
func levelWords(from string) string {
	if from == Unknown.String() {
		return "unknown"
	}
	return "level " + from
}

func weightedMean(xs, ws []float64) float64 {
	var s, w float64
	for i, x := range xs {
		s += x * ws[i]
		w += ws[i]
	}
	if w == 0 {
		return 0
	}
	return s / w
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func clampInt(x, lo, hi int) int { return min(max(x, lo), hi) }

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if len(r) > 1 && r[1] >= 'A' && r[1] <= 'Z' { // keep acronyms such as "HR" or "MFA"
		return s
	}
	return strings.ToLower(string(r[:1])) + string(r[1:])
}
