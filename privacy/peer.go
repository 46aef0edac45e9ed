package privacy

import (
	"fmt"
	"math"

	"github.com/hcztmm/warehouse/model"
)

// Reasons a peer level is skipped.
const (
	// ReasonNotReleased: the release does not include that partitioning.
	ReasonNotReleased = "not in this release"
	// ReasonMissingFamily: the cohort is published but a needed family is withheld or
	// not released (formatted with the family).
	ReasonMissingFamily = "%s not published for this cohort"
)

// PeerLevels is the fallback order of a provider's peer group: its size band in its
// region, then its size band nationally, then everyone.
var PeerLevels = []Partitioning{BySizeRegion, BySize, National}

// PeerView is the cohort a provider is compared with and how it was chosen.
type PeerView struct {
	// Cohort is the chosen cohort, inside the release.
	Cohort *Cohort
	// Level is the partitioning of Cohort.
	Level Partitioning
	// Skipped lists the finer levels passed over, each with the reason, in order.
	Skipped []SkippedLevel
}

// SkippedLevel is one peer level that could not be used.
type SkippedLevel struct {
	Level  Partitioning `json:"level"`  // the peer level passed over
	Key    Key          `json:"key"`    // the organisation's cohort at that level
	Reason string       `json:"reason"` // why it could not be used
}

// FellBack reports whether the view is coarser than the provider's own size × region cell.
func (v PeerView) FellBack() bool { return len(v.Skipped) > 0 }

// PeerCohort walks size × region → size → national and returns the first published
// cohort holding the organisation's keys. With needs, it also skips cohorts where any of
// those families is not released or withheld, e.g. FamilyOverallQuantiles for a
// percentile or FamilyDomainQuantiles for the domain radar. It reads only the release.
func PeerCohort(r *Release, keys model.CohortKeys, needs ...Family) (PeerView, error) {
	return peerCohort(r, keys, func(c *Cohort) string {
		for _, f := range needs {
			if !c.Has(f) {
				return fmt.Sprintf(ReasonMissingFamily, f)
			}
		}
		return ""
	})
}

func peerCohort(r *Release, keys model.CohortKeys, usable func(*Cohort) string) (PeerView, error) {
	var v PeerView
	if r == nil {
		return v, model.Errorf(model.KindInternal, "privacy: nil release")
	}
	for _, level := range PeerLevels {
		k := keyOf(level, keys)
		c, ok := r.Cohort(level, k)
		reason := ""
		switch {
		case !ok:
			reason = ReasonNotReleased
		case c.Suppressed:
			reason = c.Reason
		default:
			reason = usable(c)
		}
		if reason == "" {
			v.Cohort, v.Level = c, level
			return v, nil
		}
		v.Skipped = append(v.Skipped, SkippedLevel{Level: level, Key: k, Reason: reason})
	}
	return v, model.Errorf(model.KindNotFound, "no published peer cohort for %s in release %q", keyOf(BySizeRegion, keys), r.ID)
}

// Position is a provider's estimated percentile among its peers on one index: the share
// of the cohort (in percent) at or below its own exact index, read off the released
// quantiles, with the range the quantiles' intervals allow.
type Position struct {
	// Subject is "overall" or a domain ID.
	Subject string `json:"subject"`
	// Index is the provider's own exact index (its own data, shown as it is).
	Index      float64 `json:"index"`
	Percentile float64 `json:"percentile"` // estimated share of peers at or below Index, in percent
	Low        float64 `json:"low"`        // lowest percentile the quantiles' intervals allow
	High       float64 `json:"high"`       // highest percentile the quantiles' intervals allow
}

// SubjectOverall names the overall index in positions and value rows.
const SubjectOverall = "overall"

// PeerPosition places an organisation's own overall index in a cohort's released
// overall quantiles. Only the release and the organisation's own score are used: peers'
// rows never are.
func PeerPosition(c *Cohort, ownIndex float64) (Position, error) {
	if c == nil {
		return Position{}, model.Errorf(model.KindInternal, "privacy: nil cohort")
	}
	return position(SubjectOverall, c, c.OverallQuantiles, ownIndex)
}

// PeerDomainPosition is PeerPosition for one domain's index.
func PeerDomainPosition(c *Cohort, domainID string, ownIndex float64) (Position, error) {
	if c == nil {
		return Position{}, model.Errorf(model.KindInternal, "privacy: nil cohort")
	}
	d, ok := c.Domain(domainID)
	if !ok {
		return Position{}, model.Errorf(model.KindNotFound, "domain %q is not in cohort %s/%s", domainID, c.Partitioning, c.Key)
	}
	return position(domainID, c, d.Quantiles, ownIndex)
}

func position(subject string, c *Cohort, q *Quantiles, own float64) (Position, error) {
	if math.IsNaN(own) || own < IndexMin || own > IndexMax {
		return Position{}, model.Invalid("index out of range", model.FieldError{Field: "index", Rule: "out_of_range",
			Value: fmt.Sprint(own), Message: fmt.Sprintf("index %v must be in [0, 100]", own)})
	}
	if c.Suppressed {
		return Position{}, model.Errorf(model.KindNotFound, "cohort %s/%s is suppressed: %s", c.Partitioning, c.Key, c.Reason)
	}
	if q == nil || q.Withheld || len(q.Points) == 0 {
		return Position{}, model.Errorf(model.KindNotFound, "cohort %s/%s has no published %s quantiles", c.Partitioning, c.Key, subject)
	}
	n := len(q.Points)
	ranks := make([]float64, n)
	mid, lows, highs := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, p := range q.Points {
		ranks[i], mid[i], lows[i], highs[i] = p.Rank*100, p.Value, p.Low, p.High
	}
	lo, hi := percentileRange(ranks, mid, own)
	pos := Position{Subject: subject, Index: own, Percentile: (lo + hi) / 2}
	// Higher quantiles put the provider lower, and lower quantiles higher.
	pos.Low, _ = percentileRange(ranks, highs, own)
	_, pos.High = percentileRange(ranks, lows, own)
	pos.Low = roundTo(math.Min(pos.Low, pos.Percentile), 1)
	pos.High = roundTo(math.Max(pos.High, pos.Percentile), 1)
	pos.Percentile = roundTo(pos.Percentile, 1)
	return pos, nil
}

// percentileRange inverts the piecewise-linear distribution function through (0, 0), the
// released (quantile, rank) points and (100, 100): it returns the lowest and highest rank
// whose curve value equals x (a range when x sits on a flat stretch of tied quantiles).
func percentileRange(ranks, values []float64, x float64) (float64, float64) {
	xs := append(append([]float64{IndexMin}, values...), IndexMax)
	ps := append(append([]float64{0}, ranks...), 100)
	monotone(xs)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i+1 < len(xs); i++ {
		a, b := xs[i], xs[i+1]
		if x < a || x > b {
			continue
		}
		var pl, ph float64
		if b == a {
			pl, ph = ps[i], ps[i+1]
		} else {
			p := ps[i] + (x-a)/(b-a)*(ps[i+1]-ps[i])
			pl, ph = p, p
		}
		lo, hi = math.Min(lo, pl), math.Max(hi, ph)
	}
	return lo, hi
}
