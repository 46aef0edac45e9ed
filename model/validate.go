package model

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

// ModelError lists every problem found in a model file, each naming its field path.
type ModelError struct{ Problems []string }

func (e *ModelError) Error() string {
	return "invalid model: " + strings.Join(e.Problems, "; ")
}

type modelChecker struct{ problems []string }

func (c *modelChecker) addf(field, format string, args ...any) {
	c.problems = append(c.problems, field+": "+fmt.Sprintf(format, args...))
}

// validate checks the structural rules a model must satisfy before anything is scored with it.
func (m *Model) validate() error {
	c := &modelChecker{}
	if m.Name == "" {
		c.addf("model", "is required")
	}
	if m.Version == "" {
		c.addf("version", "is required")
	} else if !regexp.MustCompile(`^\d+\.\d+$`).MatchString(m.Version) {
		c.addf("version", "%q must look like MAJOR.MINOR", m.Version)
	}
	if m.Scale.Min != 0 || m.Scale.Max < 1 || m.Scale.Max > 9 {
		c.addf("scale", "must run from 0 to a maximum between 1 and 9, got %d..%d", m.Scale.Min, m.Scale.Max)
	}
	if m.Scale.UnknownScoresAs < m.Scale.Min || m.Scale.UnknownScoresAs > m.Scale.Max {
		c.addf("scale.unknown_scores_as", "%d is outside the scale", m.Scale.UnknownScoresAs)
	}
	m.validatePostures(c)
	m.validateRules(c)
	capIDs := m.validateDomains(c)
	m.validateGatesFamiliesFindings(c, capIDs)
	m.validateCohorts(c)
	if len(c.problems) > 0 {
		return &ModelError{Problems: c.problems}
	}
	return nil
}

func (m *Model) validatePostures(c *modelChecker) {
	if len(m.Postures) != m.Scale.Max+1 {
		c.addf("postures", "needs one entry per level 0..%d, got %d", m.Scale.Max, len(m.Postures))
	}
	seen := map[int]bool{}
	for i, p := range m.Postures {
		f := fmt.Sprintf("postures[%d]", i)
		if p.Level != i {
			c.addf(f+".level", "is %d, want %d (levels in order from 0)", p.Level, i)
		}
		if seen[p.Level] {
			c.addf(f+".level", "level %d defined twice", p.Level)
		}
		seen[p.Level] = true
		if strings.TrimSpace(p.Name) == "" {
			c.addf(f+".name", "is required")
		}
		if strings.TrimSpace(p.Summary) == "" {
			c.addf(f+".summary", "is required")
		}
	}
	// Posture 1 is the one name the public HC-ZTMM material fixes; reports quote it.
	if len(m.Postures) > 1 && m.Postures[1].Name != "Structured but Static" {
		c.addf("postures[1].name", "must be %q (the HC-ZTMM name of Posture 1), got %q", "Structured but Static", m.Postures[1].Name)
	}
}

func (m *Model) validateRules(c *modelChecker) {
	r := m.Rules
	if r.Domain.ShareThreshold <= 0 || r.Domain.ShareThreshold > 1 {
		c.addf("rules.domain.share_threshold", "must be in (0,1], got %v", r.Domain.ShareThreshold)
	}
	if r.Domain.MaxGapToWeakest < 0 {
		c.addf("rules.domain.max_gap_to_weakest", "must not be negative")
	}
	if r.Overall.DomainShareThreshold <= 0 || r.Overall.DomainShareThreshold > 1 {
		c.addf("rules.overall.domain_share_threshold", "must be in (0,1], got %v", r.Overall.DomainShareThreshold)
	}
	if r.Overall.MaxGapToWeakest < 0 {
		c.addf("rules.overall.max_gap_to_weakest", "must not be negative")
	}
	if g := r.Overall.Gates.AppliesFromLevel; g < 1 || g > m.Scale.Max {
		c.addf("rules.overall.gates.applies_from_level", "must be between 1 and %d, got %d", m.Scale.Max, g)
	}
	if r.MaxNAPerDomain < 0 {
		c.addf("rules.max_na_per_domain", "must not be negative")
	}
}

func (m *Model) validateDomains(c *modelChecker) map[string]bool {
	if len(m.Domains) == 0 {
		c.addf("domains", "at least one domain is required")
	}
	domainIDs := map[string]bool{}
	capIDs := map[string]bool{}
	for di, d := range m.Domains {
		f := fmt.Sprintf("domains[%d]", di)
		if !idPattern.MatchString(d.ID) {
			c.addf(f+".id", "%q is not a valid ID", d.ID)
		}
		if domainIDs[d.ID] {
			c.addf(f+".id", "duplicate domain ID %q", d.ID)
		}
		domainIDs[d.ID] = true
		if strings.TrimSpace(d.Name) == "" {
			c.addf(f+".name", "is required")
		}
		if d.Weight <= 0 {
			c.addf(f+".weight", "must be positive, got %v", d.Weight)
		}
		if len(d.Capabilities) == 0 {
			c.addf(f+".capabilities", "domain %s has no capabilities", d.ID)
		}
		for ci, cp := range d.Capabilities {
			cf := fmt.Sprintf("%s.capabilities[%d]", f, ci)
			if !idPattern.MatchString(cp.ID) {
				c.addf(cf+".id", "%q is not a valid ID", cp.ID)
			}
			if capIDs[cp.ID] || domainIDs[cp.ID] && cp.ID != "" {
				c.addf(cf+".id", "duplicate capability ID %q", cp.ID)
			}
			capIDs[cp.ID] = true
			if strings.TrimSpace(cp.Name) == "" {
				c.addf(cf+".name", "is required")
			}
			if strings.TrimSpace(cp.Question) == "" {
				c.addf(cf+".question", "is required")
			}
			if cp.Weight <= 0 {
				c.addf(cf+".weight", "must be positive, got %v", cp.Weight)
			}
			for lvl := m.Scale.Min; lvl <= m.Scale.Max; lvl++ {
				if strings.TrimSpace(cp.Levels[lvl]) == "" {
					c.addf(fmt.Sprintf("%s.levels.%d", cf, lvl), "capability %s has no description for level %d", cp.ID, lvl)
				}
			}
			for lvl := range cp.Levels {
				if lvl < m.Scale.Min || lvl > m.Scale.Max {
					c.addf(fmt.Sprintf("%s.levels.%d", cf, lvl), "level %d is outside the scale", lvl)
				}
			}
		}
	}
	return capIDs
}

func (m *Model) validateGatesFamiliesFindings(c *modelChecker, capIDs map[string]bool) {
	naAllowed := map[string]bool{}
	for _, d := range m.Domains {
		for _, cp := range d.Capabilities {
			naAllowed[cp.ID] = cp.NAAllowed
		}
	}
	for i, g := range m.Rules.Overall.Gates.Capabilities {
		f := fmt.Sprintf("rules.overall.gates.capabilities[%d]", i)
		if !capIDs[g] {
			c.addf(f, "gate %q is not a capability of the model", g)
		} else if naAllowed[g] {
			// A gate that can be skipped would let an organisation pass it by answering "na".
			c.addf(f, "gate %s must not allow \"na\"", g)
		}
	}
	domainIDs := map[string]bool{}
	for _, d := range m.Domains {
		domainIDs[d.ID] = true
	}
	inFamily := map[string]string{}
	familyIDs := map[string]bool{}
	for fi, f := range m.Families {
		ff := fmt.Sprintf("families[%d]", fi)
		if !idPattern.MatchString(f.ID) || familyIDs[f.ID] {
			c.addf(ff+".id", "%q is missing, invalid or duplicate", f.ID)
		}
		familyIDs[f.ID] = true
		if len(f.Domains) == 0 {
			c.addf(ff+".domains", "family %s has no domains", f.ID)
		}
		for i, d := range f.Domains {
			if !domainIDs[d] {
				c.addf(fmt.Sprintf("%s.domains[%d]", ff, i), "%q is not a domain of the model", d)
			} else if other, ok := inFamily[d]; ok {
				c.addf(fmt.Sprintf("%s.domains[%d]", ff, i), "domain %s is already in family %s", d, other)
			}
			inFamily[d] = f.ID
		}
	}
	for _, d := range m.Domains {
		if _, ok := inFamily[d.ID]; !ok && len(m.Families) > 0 {
			c.addf("families", "domain %s belongs to no family", d.ID)
		}
	}
	findingIDs := map[string]bool{}
	for i, f := range m.Findings {
		ff := fmt.Sprintf("findings[%d]", i)
		if !idPattern.MatchString(f.ID) || findingIDs[f.ID] {
			c.addf(ff+".id", "%q is missing, invalid or duplicate", f.ID)
		}
		findingIDs[f.ID] = true
		if !capIDs[f.Capability] {
			c.addf(ff+".capability", "%q is not a capability of the model", f.Capability)
		}
		if f.AtOrBelow < m.Scale.Min || f.AtOrBelow >= m.Scale.Max {
			c.addf(ff+".at_or_below", "must be a level below the top of the scale, got %d", f.AtOrBelow)
		}
		if strings.TrimSpace(f.Label) == "" {
			c.addf(ff+".label", "is required")
		}
	}
}

func (m *Model) validateCohorts(c *modelChecker) {
	bands := m.Cohorts.SizeBands
	if len(bands) == 0 {
		c.addf("cohorts.size_bands", "at least one band is required")
	}
	for i, b := range bands {
		f := fmt.Sprintf("cohorts.size_bands[%d]", i)
		if !idPattern.MatchString(b.ID) {
			c.addf(f+".id", "%q is not a valid ID", b.ID)
		}
		if i == 0 && b.MinBeds != 0 {
			c.addf(f+".min_beds", "the first band must start at 0 beds")
		}
		if i > 0 {
			prev := bands[i-1]
			if prev.MaxBeds == nil || *prev.MaxBeds+1 != b.MinBeds {
				c.addf(f+".min_beds", "band must start right after the previous band ends")
			}
		}
		if i == len(bands)-1 && b.MaxBeds != nil {
			c.addf(f+".max_beds", "the last band must be open-ended")
		}
		if i < len(bands)-1 && b.MaxBeds == nil {
			c.addf(f+".max_beds", "only the last band may be open-ended")
		}
		if b.MaxBeds != nil && *b.MaxBeds < b.MinBeds {
			c.addf(f+".max_beds", "ends before it starts")
		}
	}
	seenState := map[string]string{}
	regionIDs := map[string]bool{}
	for i, r := range m.Cohorts.Regions {
		f := fmt.Sprintf("cohorts.regions[%d]", i)
		if !idPattern.MatchString(r.ID) || regionIDs[r.ID] {
			c.addf(f+".id", "%q is missing, invalid or duplicate", r.ID)
		}
		regionIDs[r.ID] = true
		for j, s := range r.States {
			if len(s) != 2 || strings.ToUpper(s) != s {
				c.addf(fmt.Sprintf("%s.states[%d]", f, j), "%q is not a two-letter state code", s)
			}
			if other, ok := seenState[s]; ok {
				c.addf(fmt.Sprintf("%s.states[%d]", f, j), "state %s is already in region %s", s, other)
			}
			seenState[s] = r.ID
		}
	}
	if len(m.Cohorts.Regions) == 0 {
		c.addf("cohorts.regions", "at least one region is required")
	}
	typeIDs := map[string]bool{}
	for i, t := range m.Cohorts.OrgTypes {
		f := fmt.Sprintf("cohorts.org_types[%d]", i)
		if !idPattern.MatchString(t.ID) || typeIDs[t.ID] {
			c.addf(f+".id", "%q is missing, invalid or duplicate", t.ID)
		}
		typeIDs[t.ID] = true
	}
	if len(m.Cohorts.OrgTypes) == 0 {
		c.addf("cohorts.org_types", "at least one organisation type is required")
	}
}

// IsModelError reports whether err came from model validation.
func IsModelError(err error) bool {
	var me *ModelError
	return errors.As(err, &me)
}
