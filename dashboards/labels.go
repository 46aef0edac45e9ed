package dashboards

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
)

// Every label on a page and in a chart comes from here: the model's own names, fixed
// wording, and numbers. Nothing a submission typed (an organisation's name above all)
// passes through these functions, which is what lets chart options carry them.

// cohortLabel names a cohort in words, e.g. "300 to 499 beds × South".
func cohortLabel(m *model.Model, p privacy.Partitioning, k privacy.Key) string {
	switch p {
	case privacy.National:
		return "all providers nationally"
	case privacy.BySize:
		return sizeLabel(m, k.SizeBand)
	case privacy.ByRegion:
		return regionLabel(m, k.Region)
	case privacy.BySizeRegion:
		return sizeLabel(m, k.SizeBand) + " × " + regionLabel(m, k.Region)
	case privacy.ByType:
		return typeLabel(m, k.OrgType)
	}
	return "unknown cohort"
}

// shortCohortLabel is cohortLabel for chart axes, where "all providers nationally" is long.
func shortCohortLabel(m *model.Model, p privacy.Partitioning, k privacy.Key) string {
	if p == privacy.National {
		return "National"
	}
	return cohortLabel(m, p, k)
}

func sizeLabel(m *model.Model, id string) string {
	if l, ok := m.SizeBandLabel(id); ok {
		return l
	}
	return "unknown size band"
}

func regionLabel(m *model.Model, id string) string {
	if l, ok := m.RegionLabel(id); ok {
		return l
	}
	return "unknown region"
}

func typeLabel(m *model.Model, id string) string {
	if l, ok := m.OrgTypeLabel(id); ok {
		return l
	}
	return "unknown type"
}

// partitioningLabel names a way of cutting the population.
func partitioningLabel(p privacy.Partitioning) string {
	switch p {
	case privacy.National:
		return "National"
	case privacy.BySize:
		return "Size band"
	case privacy.ByRegion:
		return "Census region"
	case privacy.BySizeRegion:
		return "Size band × region"
	case privacy.ByType:
		return "Organisation type"
	}
	return "Unknown"
}

// familyLabel says what a metric family is, for sentences such as "index percentiles are
// not published for …".
func familyLabel(f privacy.Family) string {
	switch f {
	case privacy.FamilyCount:
		return "peer counts"
	case privacy.FamilyPosture:
		return "posture distributions"
	case privacy.FamilyOverallMean:
		return "mean indices"
	case privacy.FamilyOverallQuantiles:
		return "index percentiles"
	case privacy.FamilyDomainPosture:
		return "domain posture distributions"
	case privacy.FamilyDomainMean:
		return "domain mean indices"
	case privacy.FamilyDomainQuantiles:
		return "domain percentiles"
	case privacy.FamilyCapability:
		return "capability answer shares"
	}
	return string(f)
}

// skipSentence explains, in words, why a finer peer level was passed over.
func skipSentence(m *model.Model, s privacy.SkippedLevel, needs []privacy.Family) string {
	where := cohortLabel(m, s.Level, s.Key)
	switch s.Reason {
	case privacy.ReasonNotEnoughPeers:
		return "not enough peers in " + where
	case privacy.ReasonNotReleased:
		return where + " is not part of this release"
	}
	for _, f := range needs {
		if s.Reason == fmt.Sprintf(privacy.ReasonMissingFamily, f) {
			return familyLabel(f) + " are not published for " + where
		}
	}
	if s.Reason == privacy.ReasonTooFewForEstimate {
		return "too few peers in " + where + " for a reliable estimate"
	}
	return where + " cannot be used"
}

// fallbackSentence says which peer group a figure uses and, when it is coarser than the
// provider's own size × region cell, why: "Not enough peers in 300 to 499 beds × South;
// showing 300 to 499 beds."
func fallbackSentence(m *model.Model, v privacy.PeerView, needs []privacy.Family) string {
	used := cohortLabel(m, v.Level, v.Cohort.Key)
	if !v.FellBack() {
		return "Compared with " + used + "."
	}
	parts := make([]string, len(v.Skipped))
	for i, s := range v.Skipped {
		parts[i] = skipSentence(m, s, needs)
	}
	return upperFirst(strings.Join(parts, "; ")) + "; showing " + used + "."
}

// noPeerSentence explains that no peer level at all could be used.
func noPeerSentence(m *model.Model, v privacy.PeerView, needs []privacy.Family) string {
	parts := make([]string, len(v.Skipped))
	for i, s := range v.Skipped {
		parts[i] = skipSentence(m, s, needs)
	}
	return upperFirst(strings.Join(parts, "; ")) + "."
}

// postureAxisLabel is a posture level with its name, for chart axes.
func postureAxisLabel(m *model.Model, level int) string {
	return fmt.Sprintf("%d %s", level, m.PostureName(level))
}

// bucketLabel names a histogram bucket: posture or answer levels, "unknown", "na",
// "not_assessed".
func bucketLabel(level string) string {
	switch level {
	case "unknown":
		return "Unknown"
	case "na":
		return "Not applicable"
	case "not_assessed":
		return "Not assessed"
	}
	if _, err := strconv.Atoi(level); err == nil {
		return "Level " + level
	}
	return "Other"
}

// domainName is a domain's model name, or its ID if the model lacks it.
func domainName(m *model.Model, id string) string {
	if d, ok := m.Domain(id); ok {
		return d.Name
	}
	return id
}

// capabilityName is a capability's model name, or its ID.
func capabilityName(m *model.Model, id string) string {
	if c, ok := m.Capability(id); ok {
		return c.Name
	}
	return id
}

// safeID accepts the identifiers that may appear in chart options and URLs besides model
// labels: cycle and release IDs. Both are made by the warehouse or an administrator and
// follow this pattern; anything else is dropped rather than trusted.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lowerFirst lowers the first letter of a model name for use mid-sentence, keeping
// acronyms such as "MFA" (the model's own rule).
func lowerFirst(s string) string {
	if len(s) < 2 {
		return strings.ToLower(s)
	}
	if s[1] >= 'A' && s[1] <= 'Z' {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
