package model

import (
	"fmt"
	"strings"
)

// CohortGrid is the public grid of peer cohorts. Keys come from here, never from the data,
// so that the existence of a cohort reveals nothing about who submitted.
type CohortGrid struct {
	SizeBands []SizeBand `yaml:"size_bands" json:"size_bands"`
	Regions   []Region   `yaml:"regions" json:"regions"`
	OrgTypes  []OrgType  `yaml:"org_types" json:"org_types"`
}

// SizeBand is a range of staffed beds; MaxBeds is nil for the open-ended top band.
type SizeBand struct {
	ID      string `yaml:"id" json:"id"`
	Label   string `yaml:"label" json:"label"`
	MinBeds int    `yaml:"min_beds" json:"min_beds"`
	MaxBeds *int   `yaml:"max_beds" json:"max_beds,omitempty"`
}

// Region is a US Census region and the states (and DC) in it.
type Region struct {
	ID     string   `yaml:"id" json:"id"`
	Label  string   `yaml:"label" json:"label"`
	States []string `yaml:"states" json:"states"`
}

// OrgType is a kind of provider organisation; MaxBeds caps beds where the type implies it
// (a critical access hospital has at most 25).
type OrgType struct {
	ID      string `yaml:"id" json:"id"`
	Label   string `yaml:"label" json:"label"`
	MaxBeds *int   `yaml:"max_beds" json:"max_beds,omitempty"`
}

// Profile describes the submitting organisation. Exact values stay in the private tier;
// only the cohort keys derived from them are used across organisations.
type Profile struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	State string `json:"state"`
	Beds  int    `json:"beds"`
	Type  string `json:"type"`
}

// CohortKeys are the public peer-group keys of one organisation.
type CohortKeys struct {
	SizeBand string `json:"size_band"`
	Region   string `json:"region"`
	OrgType  string `json:"org_type"`
}

// MaxBeds bounds the bed count of any profile; larger values are typing errors.
const MaxBeds = 50000

var orgIDPattern = idPattern

// ValidateProfile checks a profile against the model's cohort grid and returns every problem.
func (m *Model) ValidateProfile(p Profile) []FieldError {
	var errs []FieldError
	if p.ID == "" {
		errs = append(errs, FieldError{Field: "organisation.id", Rule: "required", Message: "organisation.id is required"})
	} else if len(p.ID) > 64 || !orgIDPattern.MatchString(p.ID) {
		errs = append(errs, FieldError{Field: "organisation.id", Rule: "format", Value: truncate(p.ID),
			Message: fmt.Sprintf("organisation.id %q must be 1-64 letters, digits, '-', '_', '.' or '+'", truncate(p.ID))})
	}
	if len(p.Name) > 200 {
		errs = append(errs, FieldError{Field: "organisation.name", Rule: "too_long", Value: truncate(p.Name),
			Message: "organisation.name is longer than 200 characters"})
	}
	if _, ok := m.RegionOf(p.State); !ok {
		if p.State == "" {
			errs = append(errs, FieldError{Field: "organisation.state", Rule: "required", Message: "organisation.state is required"})
		} else {
			errs = append(errs, FieldError{Field: "organisation.state", Rule: "unknown_state", Value: truncate(p.State),
				Message: fmt.Sprintf("organisation.state %q is not a US state or DC with a Census region", truncate(p.State))})
		}
	}
	if p.Beds < 0 || p.Beds > MaxBeds {
		errs = append(errs, FieldError{Field: "organisation.beds", Rule: "out_of_range", Value: fmt.Sprint(p.Beds),
			Message: fmt.Sprintf("organisation.beds %d must be between 0 and %d", p.Beds, MaxBeds)})
	}
	t, ok := m.orgType(p.Type)
	switch {
	case p.Type == "":
		errs = append(errs, FieldError{Field: "organisation.type", Rule: "required", Message: "organisation.type is required"})
	case !ok:
		errs = append(errs, FieldError{Field: "organisation.type", Rule: "unknown_type", Value: truncate(p.Type),
			Message: fmt.Sprintf("organisation.type %q is not one of %s", truncate(p.Type), strings.Join(m.OrgTypeIDs(), ", "))})
	case t.MaxBeds != nil && p.Beds > *t.MaxBeds:
		errs = append(errs, FieldError{Field: "organisation.beds", Rule: "type_bed_limit", Value: fmt.Sprint(p.Beds),
			Message: fmt.Sprintf("organisation.beds %d exceeds the %d beds a %s may have", p.Beds, *t.MaxBeds, t.Label)})
	}
	return errs
}

// CohortKeysOf maps a profile to its public cohort keys. It fails with KindInvalid for a
// profile that ValidateProfile rejects.
func (m *Model) CohortKeysOf(p Profile) (CohortKeys, error) {
	if errs := m.ValidateProfile(p); len(errs) > 0 {
		return CohortKeys{}, Invalid("invalid organisation profile", errs...)
	}
	region, _ := m.RegionOf(p.State)
	return CohortKeys{SizeBand: m.SizeBandOf(p.Beds).ID, Region: region.ID, OrgType: p.Type}, nil
}

// SizeBandOf returns the band holding a bed count (negative counts fall in the first band).
func (m *Model) SizeBandOf(beds int) SizeBand {
	bands := m.Cohorts.SizeBands
	for _, b := range bands {
		if b.MaxBeds == nil || beds <= *b.MaxBeds {
			return b
		}
	}
	return bands[len(bands)-1]
}

// RegionOf returns the Census region of a two-letter state code (upper case).
func (m *Model) RegionOf(state string) (Region, bool) {
	ri, ok := m.stateIndex[state]
	if !ok {
		return Region{}, false
	}
	return m.Cohorts.Regions[ri], true
}

func (m *Model) orgType(id string) (OrgType, bool) {
	for _, t := range m.Cohorts.OrgTypes {
		if t.ID == id {
			return t, true
		}
	}
	return OrgType{}, false
}

// SizeBandLabel returns the label of a size band ID, for anything that names cohorts.
func (m *Model) SizeBandLabel(id string) (string, bool) {
	for _, b := range m.Cohorts.SizeBands {
		if b.ID == id {
			return b.Label, true
		}
	}
	return "", false
}

// RegionLabel returns the label of a Census region ID.
func (m *Model) RegionLabel(id string) (string, bool) {
	for _, r := range m.Cohorts.Regions {
		if r.ID == id {
			return r.Label, true
		}
	}
	return "", false
}

// OrgTypeLabel returns the label of an organisation type ID.
func (m *Model) OrgTypeLabel(id string) (string, bool) {
	t, ok := m.orgType(id)
	return t.Label, ok
}

// OrgTypeIDs lists the organisation type IDs in model order.
func (m *Model) OrgTypeIDs() []string {
	out := make([]string, len(m.Cohorts.OrgTypes))
	for i, t := range m.Cohorts.OrgTypes {
		out[i] = t.ID
	}
	return out
}

// States lists every state code of the grid in region order.
func (m *Model) States() []string {
	var out []string
	for _, r := range m.Cohorts.Regions {
		out = append(out, r.States...)
	}
	return out
}
