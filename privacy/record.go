package privacy

import (
	"fmt"
	"math"
	"strconv"

	"github.com/hcztmm/warehouse/model"
)

// Record is one organisation's latest submission in the cycle, already scored: the only
// input of a release. Slices follow model order (Domains like m.Domains, Answers like
// m.CapabilityIDs()).
type Record struct {
	// OrgID is used only to refuse a second record of the same organisation; it never
	// reaches a release.
	OrgID   string
	Keys    model.CohortKeys // public cohort keys, from the profile
	Posture int              // overall posture level
	Index   float64          // overall index, 0-100
	Domains []DomainValue    // per domain, model order
	Answers []model.Answer   // per capability, m.CapabilityIDs() order
}

// DomainValue is one domain's score in a Record.
type DomainValue struct {
	// Assessed is false when every capability of the domain was answered "na".
	Assessed bool
	Index    float64 // 0-100; ignored when not assessed
	Posture  int     // posture level; ignored when not assessed
}

// RecordOf builds a Record from a submission's cohort keys, scorecard and answers.
// Capabilities missing from answers count as "unknown", as scoring treats them.
func RecordOf(m *model.Model, orgID string, keys model.CohortKeys, sc model.Scorecard, answers map[string]model.Answer) Record {
	r := Record{OrgID: orgID, Keys: keys, Posture: sc.Posture, Index: sc.Index,
		Domains: make([]DomainValue, len(m.Domains)), Answers: make([]model.Answer, 0, len(answers))}
	for i, ds := range sc.Domains {
		if i < len(r.Domains) {
			r.Domains[i] = DomainValue{Assessed: ds.Assessed, Index: ds.Index, Posture: ds.Posture}
		}
	}
	for _, id := range m.CapabilityIDs() {
		a, ok := answers[id]
		if !ok {
			a = model.Unknown
		}
		r.Answers = append(r.Answers, a)
	}
	return r
}

// prepared is the records reduced to what the aggregators need, in flat arrays.
type prepared struct {
	n          int
	posture    []int8 // bucket of the overall posture
	index      []float64
	centred    []int64 // overall index, centred hundredths
	domBucket  []int8  // [org*D+d] posture bucket, or the not-assessed bucket
	domIndex   []float64
	domCentred []int64
	domOK      []bool // assessed
	capBucket  []int8 // [org*C+c]
}

// layout names the buckets of every histogram, from the model.
type layout struct {
	postures    []string // posture levels in order
	postureOf   map[int]int
	domBuckets  [][]string // per domain: postures, then "not_assessed" if possible
	domNA       []int      // per domain: index of the not-assessed bucket, -1 if impossible
	capBuckets  [][]string // per capability: levels, "unknown", then "na" if allowed
	levels      int        // answer levels Scale.Min..Scale.Max
	domainIDs   []string
	capIDs      []string
	scaleMin    int
	scaleMax    int
	naAllowedOf []bool
}

func newLayout(m *model.Model) *layout {
	l := &layout{postureOf: map[int]int{}, scaleMin: m.Scale.Min, scaleMax: m.Scale.Max}
	for i, p := range m.Postures {
		l.postures = append(l.postures, strconv.Itoa(p.Level))
		l.postureOf[p.Level] = i
	}
	for di := range m.Domains {
		d := &m.Domains[di]
		l.domainIDs = append(l.domainIDs, d.ID)
		b := append([]string(nil), l.postures...)
		na := -1
		if domainMayBeUnassessed(d) {
			na = len(b)
			b = append(b, "not_assessed")
		}
		l.domBuckets = append(l.domBuckets, b)
		l.domNA = append(l.domNA, na)
		for _, c := range d.Capabilities {
			l.capIDs = append(l.capIDs, c.ID)
			l.naAllowedOf = append(l.naAllowedOf, c.NAAllowed)
		}
	}
	l.levels = m.Scale.Max - m.Scale.Min + 1
	for _, na := range l.naAllowedOf {
		b := make([]string, 0, l.levels+2)
		for v := m.Scale.Min; v <= m.Scale.Max; v++ {
			b = append(b, strconv.Itoa(v))
		}
		b = append(b, model.Unknown.String())
		if na {
			b = append(b, model.NotApplicable.String())
		}
		l.capBuckets = append(l.capBuckets, b)
	}
	return l
}

// answerBucket maps an answer to its bucket in a capability histogram.
func (l *layout) answerBucket(a model.Answer) int {
	switch a {
	case model.Unknown:
		return l.levels
	case model.NotApplicable:
		return l.levels + 1
	}
	return int(a) - l.scaleMin
}

// maxRecordErrors bounds the problems reported for one call.
const maxRecordErrors = 20

// prepare validates the records against the model and the grid and flattens them.
// A second record of the same organisation is refused: the unit of privacy is the
// organisation and every mechanism assumes one contribution per organisation.
func prepare(m *model.Model, g *grid, l *layout, records []Record) (*prepared, error) {
	D, C := len(l.domainIDs), len(l.capIDs)
	p := &prepared{n: len(records),
		posture: make([]int8, len(records)), index: make([]float64, len(records)), centred: make([]int64, len(records)),
		domBucket: make([]int8, len(records)*D), domIndex: make([]float64, len(records)*D),
		domCentred: make([]int64, len(records)*D), domOK: make([]bool, len(records)*D),
		capBucket: make([]int8, len(records)*C)}
	var errs []model.FieldError
	bad := func(field, rule, value, format string, args ...any) {
		if len(errs) < maxRecordErrors {
			errs = append(errs, model.FieldError{Field: field, Rule: rule, Value: value, Message: fmt.Sprintf(format, args...)})
		}
	}
	validIndex := func(x float64) bool { return !math.IsNaN(x) && x >= IndexMin && x <= IndexMax }
	seen := make(map[string]int, len(records))
	for i, r := range records {
		f := fmt.Sprintf("records[%d]", i)
		if r.OrgID == "" {
			bad(f+".org_id", "required", "", "%s.org_id is required", f)
		} else if j, dup := seen[r.OrgID]; dup {
			bad(f+".org_id", "duplicate", r.OrgID, "%s repeats the organisation of records[%d]: a release takes one submission per organisation", f, j)
		} else {
			seen[r.OrgID] = i
		}
		for _, e := range g.checkKeys(f+".keys", r.Keys) {
			bad(e.Field, e.Rule, e.Value, "%s", e.Message)
		}
		if b, ok := l.postureOf[r.Posture]; ok {
			p.posture[i] = int8(b)
		} else {
			bad(f+".posture", "out_of_range", fmt.Sprint(r.Posture), "%s.posture %d is not a posture level of the model", f, r.Posture)
		}
		if validIndex(r.Index) {
			p.index[i], p.centred[i] = r.Index, centred(r.Index)
		} else {
			bad(f+".index", "out_of_range", fmt.Sprint(r.Index), "%s.index %v must be in [0, 100]", f, r.Index)
		}
		if len(r.Domains) != D {
			bad(f+".domains", "length", fmt.Sprint(len(r.Domains)), "%s has %d domain values, the model has %d", f, len(r.Domains), D)
		} else {
			for d, dv := range r.Domains {
				k := i*D + d
				df := fmt.Sprintf("%s.domains[%d]", f, d)
				if !dv.Assessed {
					if l.domNA[d] < 0 {
						bad(df+".assessed", "not_assessable", "false", "%s (%s) cannot be unassessed: it has capabilities that do not allow \"na\"", df, l.domainIDs[d])
					} else {
						p.domBucket[k] = int8(l.domNA[d])
					}
					continue
				}
				b, ok := l.postureOf[dv.Posture]
				if !ok {
					bad(df+".posture", "out_of_range", fmt.Sprint(dv.Posture), "%s.posture %d is not a posture level of the model", df, dv.Posture)
				}
				if !validIndex(dv.Index) {
					bad(df+".index", "out_of_range", fmt.Sprint(dv.Index), "%s.index %v must be in [0, 100]", df, dv.Index)
				}
				p.domBucket[k], p.domIndex[k], p.domCentred[k], p.domOK[k] = int8(b), dv.Index, centred(dv.Index), true
			}
		}
		if len(r.Answers) != C {
			bad(f+".answers", "length", fmt.Sprint(len(r.Answers)), "%s has %d answers, the model has %d capabilities", f, len(r.Answers), C)
		} else {
			for c, a := range r.Answers {
				switch {
				case a == model.NotApplicable && !l.naAllowedOf[c]:
					bad(fmt.Sprintf("%s.answers[%d]", f, c), "na_not_allowed", a.String(), "%s answers \"na\" to %s, which the model does not allow", f, l.capIDs[c])
				case a != model.Unknown && a != model.NotApplicable && (int(a) < l.scaleMin || int(a) > l.scaleMax):
					bad(fmt.Sprintf("%s.answers[%d]", f, c), "out_of_range", a.String(), "%s answer %s to %s is outside %d..%d", f, a, l.capIDs[c], l.scaleMin, l.scaleMax)
				default:
					p.capBucket[i*C+c] = int8(l.answerBucket(a))
				}
			}
		}
		if len(errs) >= maxRecordErrors {
			break
		}
	}
	if len(errs) > 0 {
		return nil, model.Invalid("invalid release input", errs...)
	}
	return p, nil
}
