package privacy

import "fmt"

// Metric names of value rows.
const (
	MetricCohort           = "cohort" // the row of a suppressed cohort
	MetricCount            = "count"
	MetricPostureCount     = "posture_count"
	MetricPostureShare     = "posture_share"
	MetricOverallMean      = "overall_mean"
	MetricOverallQuantile  = "overall_quantile"
	MetricDomainPostCount  = "domain_posture_count"
	MetricDomainPostShare  = "domain_posture_share"
	MetricDomainMean       = "domain_mean"
	MetricDomainQuantile   = "domain_quantile"
	MetricCapabilityCount  = "capability_count"
	MetricCapabilityShare  = "capability_share"
	quantileBucketTemplate = "p%02.0f"
)

// Row is one figure of a release in long form, for storage (release_values) and exports.
// Value, Raw and the interval are nil where nothing is published (suppressed cohorts,
// withheld estimates). Noise parameters repeat on every row so that an exported row
// carries its own uncertainty.
type Row struct {
	Partitioning Partitioning `json:"partitioning"` // the cohort's partitioning
	SizeBand     string       `json:"size_band"`    // the cohort's key; empty where it does not cut by size
	Region       string       `json:"region"`       // empty where it does not cut by region
	OrgType      string       `json:"org_type"`     // empty where it does not cut by type
	Metric       string       `json:"metric"`       // one of the Metric* names
	// Subject is "overall", a domain ID or a capability ID; empty for cohort and count rows.
	Subject string `json:"subject"`
	// Bucket is a posture or answer level, "unknown", "na", "not_assessed", or a quantile
	// such as "p50"; empty for counts and means.
	Bucket     string   `json:"bucket"`
	Value      *float64 `json:"value"`       // Figure.Value
	Raw        *float64 `json:"raw"`         // Figure.Raw
	CILow      *float64 `json:"ci_low"`      // Figure.Low
	CIHigh     *float64 `json:"ci_high"`     // Figure.High
	Suppressed bool     `json:"suppressed"`  // the cohort is suppressed (Metric is MetricCohort)
	Withheld   bool     `json:"withheld"`    // the estimate is withheld
	Reason     string   `json:"reason"`      // why it is suppressed or withheld
	Family     Family   `json:"family"`      // the budget entry that paid for the figure
	Noise      string   `json:"noise"`       // Mechanism.Noise
	Epsilon    float64  `json:"epsilon"`     // Mechanism.Epsilon
	Delta      float64  `json:"delta"`       // Mechanism.Delta
	L0         int64    `json:"l0"`          // Mechanism.L0
	LInf       float64  `json:"linf"`        // Mechanism.LInf
	NoiseScale float64  `json:"noise_scale"` // Mechanism.NoiseScale
}

// Values returns the release in long form, in canonical order: cohorts as in the
// release, then count, posture, overall mean and quantiles, domains, capabilities.
func (r *Release) Values() []Row {
	var rows []Row
	for ci := range r.Cohorts {
		c := &r.Cohorts[ci]
		base := Row{Partitioning: c.Partitioning, SizeBand: c.Key.SizeBand, Region: c.Key.Region, OrgType: c.Key.OrgType}
		if c.Suppressed {
			row := base
			row.Metric, row.Suppressed, row.Reason = MetricCohort, true, c.Reason
			rows = append(rows, row)
			continue
		}
		with := func(f Family, metric, subject, bucket string) Row {
			row := base
			row.Metric, row.Subject, row.Bucket, row.Family = metric, subject, bucket, f
			if m, ok := c.Mechanism(f); ok {
				row.Noise, row.Epsilon, row.Delta, row.L0, row.LInf, row.NoiseScale = string(m.Noise), m.Epsilon, m.Delta, m.L0, m.LInf, m.NoiseScale
			}
			return row
		}
		fig := func(row Row, f *Figure) Row {
			v, raw, lo, hi := f.Value, f.Raw, f.Low, f.High
			row.Value, row.Raw, row.CILow, row.CIHigh = &v, &raw, &lo, &hi
			return row
		}
		withheld := func(row Row, reason string) Row {
			row.Withheld, row.Reason = true, reason
			return row
		}
		hist := func(h *Histogram, f Family, countMetric, shareMetric, subject string) {
			if h == nil {
				return
			}
			if h.Withheld {
				rows = append(rows, withheld(with(f, shareMetric, subject, ""), h.Reason))
				return
			}
			for _, b := range h.Buckets {
				cnt, share := b.Count, b.Share
				rows = append(rows, fig(with(f, countMetric, subject, b.Level), &cnt))
				rows = append(rows, fig(with(f, shareMetric, subject, b.Level), &share))
			}
		}
		mean := func(m *Mean, f Family, metric, subject string) {
			switch {
			case m == nil:
			case m.Withheld:
				rows = append(rows, withheld(with(f, metric, subject, ""), m.Reason))
			default:
				rows = append(rows, fig(with(f, metric, subject, ""), m.Estimate))
			}
		}
		quant := func(q *Quantiles, f Family, metric, subject string) {
			switch {
			case q == nil:
			case q.Withheld:
				rows = append(rows, withheld(with(f, metric, subject, ""), q.Reason))
			default:
				for _, p := range q.Points {
					fg := p.Figure
					rows = append(rows, fig(with(f, metric, subject, QuantileLabel(p.Rank)), &fg))
				}
			}
		}
		if c.Count != nil {
			rows = append(rows, fig(with(FamilyCount, MetricCount, "", ""), c.Count))
		}
		hist(c.Posture, FamilyPosture, MetricPostureCount, MetricPostureShare, SubjectOverall)
		mean(c.OverallMean, FamilyOverallMean, MetricOverallMean, SubjectOverall)
		quant(c.OverallQuantiles, FamilyOverallQuantiles, MetricOverallQuantile, SubjectOverall)
		for di := range c.Domains {
			d := &c.Domains[di]
			hist(d.Posture, FamilyDomainPosture, MetricDomainPostCount, MetricDomainPostShare, d.Domain)
			mean(d.Mean, FamilyDomainMean, MetricDomainMean, d.Domain)
			quant(d.Quantiles, FamilyDomainQuantiles, MetricDomainQuantile, d.Domain)
		}
		for _, cs := range c.Capabilities {
			hist(cs.Answers, FamilyCapability, MetricCapabilityCount, MetricCapabilityShare, cs.Capability)
		}
	}
	return rows
}

// QuantileLabel names a rank as a bucket: 0.5 → "p50".
func QuantileLabel(rank float64) string { return fmt.Sprintf(quantileBucketTemplate, rank*100) }
