package privacy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hcztmm/warehouse/model"
)

// Reasons shown instead of figures.
const (
	// ReasonNotEnoughPeers marks a suppressed cohort: its noisy count does not show, with
	// confidence 1-SuppressionRisk, at least PublicationThreshold organisations.
	ReasonNotEnoughPeers = "not enough peers"
	// ReasonTooFewForEstimate marks a withheld estimate: the cohort is published but its
	// noisy count is below the utility threshold for this kind of figure.
	ReasonTooFewForEstimate = "too few peers for a reliable estimate"
)

// Release is one differentially private publication of peer statistics for a cycle. It
// is computed once; its canonical encoding is stored and served byte for byte forever,
// because computing it again would hand out fresh noise on the same data.
type Release struct {
	// ID is assigned by storage before the release is encoded and stored.
	ID string `json:"id"`
	// Cycle is the assessment cycle the figures describe.
	Cycle string `json:"cycle"`
	// ModelVersion is the maturity model the records were scored with.
	ModelVersion string `json:"model_version"`
	// CreatedAt is when the release was computed, UTC, microsecond precision.
	CreatedAt time.Time `json:"created_at"`
	// Library is the DP library and version that produced every noised value.
	Library string `json:"library"`
	// Request is the plan's request, defaults filled in.
	Request Request `json:"request"`
	// Cost is what the release spent: the ledger entry.
	Cost Cost `json:"cost"`
	// Cohorts are in canonical order: partitionings as Partitionings(), cohorts in the
	// model's grid order (size × region band-major).
	Cohorts []Cohort `json:"cohorts"`
}

// Cohort is one cell of a partitioning with its published figures. A suppressed cohort
// carries its key, Suppressed and Reason, and nothing else.
type Cohort struct {
	Partitioning Partitioning `json:"partitioning"` // which grid the cohort belongs to
	Key          Key          `json:"key"`          // the cohort within it
	// Suppressed is set when the noisy count does not show enough peers; Reason says so.
	Suppressed bool   `json:"suppressed"`
	Reason     string `json:"reason,omitempty"`
	// Mechanisms lists, per released family, how this cohort's figures were noised.
	Mechanisms []Mechanism `json:"mechanisms,omitempty"`
	// Count is the noisy number of organisations in the cohort.
	Count *Figure `json:"count,omitempty"`
	// Posture is the overall posture histogram.
	Posture *Histogram `json:"posture,omitempty"`
	// OverallMean and OverallQuantiles describe the overall index.
	OverallMean      *Mean      `json:"overall_mean,omitempty"`
	OverallQuantiles *Quantiles `json:"overall_quantiles,omitempty"`
	// Domains are in model order, when a domain family is released.
	Domains []DomainStat `json:"domains,omitempty"`
	// Capabilities are in model order, when the capability family is released.
	Capabilities []CapStat `json:"capabilities,omitempty"`
}

// Figure is one published number: the post-processed Value, the Raw noisy value it
// came from (unclamped, unbiased where the mechanism is), and an interval holding the
// true value with probability at least the request's Confidence.
type Figure struct {
	Value float64 `json:"value"`   // post-processed, what charts show
	Raw   float64 `json:"raw"`     // the unprocessed noisy estimate, for analysts
	Low   float64 `json:"ci_low"`  // interval lower end
	High  float64 `json:"ci_high"` // interval upper end
}

// Histogram is a distribution over buckets (posture levels or answer levels). Counts
// are projected onto the non-negative histograms that add up to the cohort's published
// count; shares are counts over that count, so they lie in [0,1] and add up to 1.
type Histogram struct {
	Withheld bool     `json:"withheld,omitempty"` // below the utility threshold: no buckets
	Reason   string   `json:"reason,omitempty"`   // why it is withheld
	Buckets  []Bucket `json:"buckets,omitempty"`  // in level order
}

// Bucket is one bucket of a histogram. Level is a posture or answer level ("0".."4"),
// "unknown", "na" or "not_assessed". Count.Raw is the library's noisy count itself (the
// measurement analysts recombine); Count.Value is its projection.
type Bucket struct {
	Level string `json:"level"` // the bucket's level
	Count Figure `json:"count"` // organisations in the bucket
	Share Figure `json:"share"` // share of the cohort in the bucket, in [0,1]
}

// Mean is the mean of an index over the cohort (over assessed organisations for a
// domain), computed as 50 + noisy centred sum / noisy count.
type Mean struct {
	Withheld bool    `json:"withheld,omitempty"` // below the utility threshold: no estimate
	Reason   string  `json:"reason,omitempty"`   // why it is withheld
	Estimate *Figure `json:"estimate,omitempty"` // the mean index, in [0,100]
	// RawSum is the noisy centred sum in index hundredths, the measurement itself.
	RawSum *float64 `json:"raw_sum,omitempty"`
}

// Quantiles are the released quantiles of an index, one point per QuantileRanks entry.
type Quantiles struct {
	Withheld bool            `json:"withheld,omitempty"` // below the utility threshold: no points
	Reason   string          `json:"reason,omitempty"`   // why they are withheld
	Points   []QuantilePoint `json:"points,omitempty"`   // one per QuantileRanks entry, monotone
}

// QuantilePoint is the quantile at Rank (0.5 = median) with its interval.
type QuantilePoint struct {
	Rank float64 `json:"rank"` // e.g. 0.25
	Figure
}

// DomainStat holds one domain's figures.
type DomainStat struct {
	Domain    string     `json:"domain"`              // domain ID from the model
	Posture   *Histogram `json:"posture,omitempty"`   // FamilyDomainPosture
	Mean      *Mean      `json:"mean,omitempty"`      // FamilyDomainMean, over assessed organisations
	Quantiles *Quantiles `json:"quantiles,omitempty"` // FamilyDomainQuantiles, over assessed organisations
}

// CapStat holds one capability's answer distribution. Shares are over every organisation
// of the cohort, with "na" as its own bucket where the model allows it; the share among
// organisations the capability applies to is Share / (1 - share of "na").
type CapStat struct {
	Capability string     `json:"capability"`        // capability ID from the model
	Answers    *Histogram `json:"answers,omitempty"` // one bucket per answer level, "unknown", "na"
}

// Mechanism returns the cohort's mechanism of a family.
func (c *Cohort) Mechanism(f Family) (Mechanism, bool) {
	for _, m := range c.Mechanisms {
		if m.Family == f {
			return m, true
		}
	}
	return Mechanism{}, false
}

// Has reports whether the cohort publishes figures of a family: released in this
// partitioning, cohort not suppressed, and not withheld (for the per-subject families,
// published for at least one subject).
func (c *Cohort) Has(f Family) bool {
	if c.Suppressed {
		return false
	}
	hist := func(h *Histogram) bool { return h != nil && !h.Withheld }
	switch f {
	case FamilyCount:
		return c.Count != nil
	case FamilyPosture:
		return hist(c.Posture)
	case FamilyOverallMean:
		return c.OverallMean != nil && !c.OverallMean.Withheld
	case FamilyOverallQuantiles:
		return c.OverallQuantiles != nil && !c.OverallQuantiles.Withheld
	}
	for _, d := range c.Domains {
		switch {
		case f == FamilyDomainPosture && hist(d.Posture),
			f == FamilyDomainMean && d.Mean != nil && !d.Mean.Withheld,
			f == FamilyDomainQuantiles && d.Quantiles != nil && !d.Quantiles.Withheld:
			return true
		}
	}
	if f == FamilyCapability {
		for _, cs := range c.Capabilities {
			if hist(cs.Answers) {
				return true
			}
		}
	}
	return false
}

// Domain returns the cohort's figures for a domain.
func (c *Cohort) Domain(id string) (*DomainStat, bool) {
	for i := range c.Domains {
		if c.Domains[i].Domain == id {
			return &c.Domains[i], true
		}
	}
	return nil, false
}

// Capability returns the cohort's figures for a capability.
func (c *Cohort) Capability(id string) (*CapStat, bool) {
	for i := range c.Capabilities {
		if c.Capabilities[i].Capability == id {
			return &c.Capabilities[i], true
		}
	}
	return nil, false
}

// Cohort returns the cohort of a partitioning with the given key.
func (r *Release) Cohort(p Partitioning, k Key) (*Cohort, bool) {
	for i := range r.Cohorts {
		if r.Cohorts[i].Partitioning == p && r.Cohorts[i].Key == k {
			return &r.Cohorts[i], true
		}
	}
	return nil, false
}

// releaseJSON has Release's fields without its methods, so that encoding does not recurse.
type releaseJSON Release

// MarshalJSON writes the canonical encoding: fields in declaration order, slices in
// canonical order, no maps, floats already rounded to fixed decimals when built (so a
// decode and re-encode gives the same bytes), times in UTC with microseconds.
func (r Release) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(releaseJSON(r)); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Encode returns the canonical bytes to store. Storage assigns ID first, stores these
// bytes once and serves exactly them afterwards; it must never re-encode from columns.
func (r *Release) Encode() ([]byte, error) {
	if r == nil {
		return nil, model.Errorf(model.KindInternal, "privacy: encode nil release")
	}
	return r.MarshalJSON()
}

// Decode reads a release written by Encode. Unknown fields are refused: a stored
// release is exactly this format.
func Decode(data []byte) (*Release, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r releaseJSON
	if err := dec.Decode(&r); err != nil {
		return nil, model.Errorf(model.KindInvalid, "privacy: decode release: %v", err)
	}
	if dec.More() {
		return nil, model.Errorf(model.KindInvalid, "privacy: decode release: trailing data")
	}
	out := Release(r)
	return &out, nil
}

// String summarises a release for logs; it names no figure.
func (r *Release) String() string {
	pub := 0
	for _, c := range r.Cohorts {
		if !c.Suppressed {
			pub++
		}
	}
	return fmt.Sprintf("release %q cycle %s model %s ε=%v δ=%v: %d cohorts, %d published",
		r.ID, r.Cycle, r.ModelVersion, r.Cost.Epsilon, r.Cost.Delta, len(r.Cohorts), pub)
}
