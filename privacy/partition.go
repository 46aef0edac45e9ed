package privacy

import (
	"fmt"

	"github.com/hcztmm/warehouse/model"
)

// Partitioning names one way of cutting the population into disjoint cohorts. Every
// organisation sits in exactly one cohort of each partitioning, which is what lets all
// cohorts of a partitioning share one budget entry (parallel composition).
type Partitioning string

// The partitionings of the public grid, coarse to fine, then by organisation type.
const (
	// National is one cohort holding every organisation.
	National Partitioning = "national"
	// BySize has one cohort per bed-count band of the model.
	BySize Partitioning = "size"
	// ByRegion has one cohort per US Census region of the model.
	ByRegion Partitioning = "region"
	// BySizeRegion has one cohort per size band × region, the default peer group.
	BySizeRegion Partitioning = "size_region"
	// ByType has one cohort per organisation type of the model.
	ByType Partitioning = "type"
)

// Partitionings lists every partitioning in canonical (release) order.
func Partitionings() []Partitioning {
	return []Partitioning{National, BySize, ByRegion, BySizeRegion, ByType}
}

func (p Partitioning) rank() int {
	for i, q := range Partitionings() {
		if p == q {
			return i
		}
	}
	return -1
}

// Key identifies one cohort inside its partitioning. Only the keys the partitioning cuts
// by are set (national has none), all of them public IDs from the model's grid.
type Key struct {
	SizeBand string `json:"size_band,omitempty"` // size band ID, for size and size_region
	Region   string `json:"region,omitempty"`    // Census region ID, for region and size_region
	OrgType  string `json:"org_type,omitempty"`  // organisation type ID, for type
}

// String renders the key for messages, e.g. "size_band=25-99 region=west".
func (k Key) String() string {
	s := ""
	add := func(name, v string) {
		if v == "" {
			return
		}
		if s != "" {
			s += " "
		}
		s += name + "=" + v
	}
	add("size_band", k.SizeBand)
	add("region", k.Region)
	add("org_type", k.OrgType)
	if s == "" {
		return "all"
	}
	return s
}

// grid is the model's public cohort grid, indexed for the build.
type grid struct {
	bands, regions, types []string
	band, region, typ     map[string]int
}

func newGrid(m *model.Model) *grid {
	g := &grid{band: map[string]int{}, region: map[string]int{}, typ: map[string]int{}}
	for i, b := range m.Cohorts.SizeBands {
		g.bands = append(g.bands, b.ID)
		g.band[b.ID] = i
	}
	for i, r := range m.Cohorts.Regions {
		g.regions = append(g.regions, r.ID)
		g.region[r.ID] = i
	}
	for i, t := range m.Cohorts.OrgTypes {
		g.types = append(g.types, t.ID)
		g.typ[t.ID] = i
	}
	return g
}

// keys lists the cohorts of a partitioning in grid order; size × region is band-major.
func (g *grid) keys(p Partitioning) []Key {
	var out []Key
	switch p {
	case National:
		out = []Key{{}}
	case BySize:
		for _, b := range g.bands {
			out = append(out, Key{SizeBand: b})
		}
	case ByRegion:
		for _, r := range g.regions {
			out = append(out, Key{Region: r})
		}
	case BySizeRegion:
		for _, b := range g.bands {
			for _, r := range g.regions {
				out = append(out, Key{SizeBand: b, Region: r})
			}
		}
	case ByType:
		for _, t := range g.types {
			out = append(out, Key{OrgType: t})
		}
	}
	return out
}

// cohortOf returns the index, in keys(p) order, of the cohort an organisation belongs to.
// The keys were checked against the grid when the records were validated.
func (g *grid) cohortOf(p Partitioning, k model.CohortKeys) int {
	switch p {
	case BySize:
		return g.band[k.SizeBand]
	case ByRegion:
		return g.region[k.Region]
	case BySizeRegion:
		return g.band[k.SizeBand]*len(g.regions) + g.region[k.Region]
	case ByType:
		return g.typ[k.OrgType]
	}
	return 0
}

// keyOf is the cohort key of an organisation in a partitioning.
func keyOf(p Partitioning, k model.CohortKeys) Key {
	switch p {
	case BySize:
		return Key{SizeBand: k.SizeBand}
	case ByRegion:
		return Key{Region: k.Region}
	case BySizeRegion:
		return Key{SizeBand: k.SizeBand, Region: k.Region}
	case ByType:
		return Key{OrgType: k.OrgType}
	}
	return Key{}
}

// checkKeys reports the cohort keys that are not in the grid.
func (g *grid) checkKeys(field string, k model.CohortKeys) []model.FieldError {
	var errs []model.FieldError
	check := func(name, v string, known map[string]int) {
		if _, ok := known[v]; !ok {
			errs = append(errs, model.FieldError{Field: field + "." + name, Rule: "unknown_cohort_key", Value: v,
				Message: fmt.Sprintf("%s.%s %q is not in the model's cohort grid", field, name, v)})
		}
	}
	check("size_band", k.SizeBand, g.band)
	check("region", k.Region, g.region)
	check("org_type", k.OrgType, g.typ)
	return errs
}
