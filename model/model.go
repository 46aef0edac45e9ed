// Package model holds the maturity model as data: domains, capabilities, answer levels,
// postures, gates and the public cohort grid. It loads and validates model files, scores
// submissions with pure functions and maps organisation profiles to cohort keys. It imports
// no other package of the project.
package model

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Model is one immutable version of the maturity model.
type Model struct {
	Name     string     `yaml:"model" json:"model"`
	Version  string     `yaml:"version" json:"version"`
	Title    string     `yaml:"title" json:"title"`
	Scale    Scale      `yaml:"scale" json:"scale"`
	Postures []Posture  `yaml:"postures" json:"postures"`
	Rules    Rules      `yaml:"rules" json:"rules"`
	Families []Family   `yaml:"families" json:"families"`
	Cohorts  CohortGrid `yaml:"cohorts" json:"cohorts"`
	Findings []Finding  `yaml:"findings" json:"findings"`
	Domains  []Domain   `yaml:"domains" json:"domains"`

	capByID    map[string]*Capability
	domainByID map[string]*Domain
	capDomain  map[string]int
	stateIndex map[string]int
	capOrder   []string
	// phrases caches the wording scoring puts into sentences, so that scoring a
	// submission does not rebuild the same strings every time.
	phrases map[string]capPhrases
}

// capPhrases are a capability's name and level descriptions ready to sit mid-sentence.
type capPhrases struct {
	name   string
	levels []string
}

// Scale is the numeric range of answers.
type Scale struct {
	Min             int `yaml:"min" json:"min"`
	Max             int `yaml:"max" json:"max"`
	UnknownScoresAs int `yaml:"unknown_scores_as" json:"unknown_scores_as"`
}

// Posture is one named maturity level.
type Posture struct {
	Level   int    `yaml:"level" json:"level"`
	Name    string `yaml:"name" json:"name"`
	Summary string `yaml:"summary" json:"summary"`
}

// Rules parameterise the weakest-link scoring.
type Rules struct {
	Domain         DomainRule  `yaml:"domain" json:"domain"`
	Overall        OverallRule `yaml:"overall" json:"overall"`
	MaxNAPerDomain int         `yaml:"max_na_per_domain" json:"max_na_per_domain"`
}

// DomainRule: a domain reaches posture k when ShareThreshold of its weight is at k or above
// and no capability is more than MaxGapToWeakest below k.
type DomainRule struct {
	ShareThreshold  float64 `yaml:"share_threshold" json:"share_threshold"`
	MaxGapToWeakest int     `yaml:"max_gap_to_weakest" json:"max_gap_to_weakest"`
}

// OverallRule is the domain rule lifted to domains, plus the cross-domain gates.
type OverallRule struct {
	DomainShareThreshold float64 `yaml:"domain_share_threshold" json:"domain_share_threshold"`
	MaxGapToWeakest      int     `yaml:"max_gap_to_weakest" json:"max_gap_to_weakest"`
	Gates                Gates   `yaml:"gates" json:"gates"`
}

// Gates are capabilities that must reach the posture level itself from AppliesFromLevel up.
type Gates struct {
	AppliesFromLevel int      `yaml:"applies_from_level" json:"applies_from_level"`
	Capabilities     []string `yaml:"capabilities" json:"capabilities"`
}

// Family is the roll-up of domains into the HC-ZTMM families.
type Family struct {
	ID      string   `yaml:"id" json:"id"`
	Name    string   `yaml:"name" json:"name"`
	Domains []string `yaml:"domains" json:"domains"`
}

// Finding names a capability gap the research report measures.
type Finding struct {
	ID         string `yaml:"id" json:"id"`
	Label      string `yaml:"label" json:"label"`
	Capability string `yaml:"capability" json:"capability"`
	AtOrBelow  int    `yaml:"at_or_below" json:"at_or_below"`
}

// Domain is one assessment domain with its capabilities.
type Domain struct {
	ID           string       `yaml:"id" json:"id"`
	Name         string       `yaml:"name" json:"name"`
	Description  string       `yaml:"description" json:"description"`
	Weight       float64      `yaml:"weight" json:"weight"`
	Capabilities []Capability `yaml:"capabilities" json:"capabilities"`
}

// Capability is one scored question.
type Capability struct {
	ID        string         `yaml:"id" json:"id"`
	Name      string         `yaml:"name" json:"name"`
	Weight    float64        `yaml:"weight" json:"weight"`
	NAAllowed bool           `yaml:"na_allowed" json:"na_allowed"`
	Question  string         `yaml:"question" json:"question"`
	Levels    map[int]string `yaml:"levels" json:"levels"`
	Gate      bool           `yaml:"-" json:"gate"`
}

//go:embed hcztmm-*.yaml
var builtinFiles embed.FS

// Parse reads and validates a model file. Errors name the offending field path.
func Parse(data []byte) (*Model, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Model
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	for di := range m.Domains {
		if m.Domains[di].Weight == 0 {
			m.Domains[di].Weight = 1
		}
		for ci := range m.Domains[di].Capabilities {
			if m.Domains[di].Capabilities[ci].Weight == 0 {
				m.Domains[di].Capabilities[ci].Weight = 1
			}
		}
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	m.index()
	return &m, nil
}

// Registry holds every model version the binary knows, by version string.
type Registry struct {
	byVersion map[string]*Model
	latest    string
}

// Builtin loads the model files embedded in the binary. A broken embedded file is a build
// defect, so the error is returned for main to report at start.
func Builtin() (*Registry, error) {
	entries, err := builtinFiles.ReadDir(".")
	if err != nil {
		return nil, err
	}
	r := &Registry{byVersion: map[string]*Model{}}
	for _, e := range entries {
		data, err := builtinFiles.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		m, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if _, dup := r.byVersion[m.Version]; dup {
			return nil, fmt.Errorf("%s: model version %q defined twice", e.Name(), m.Version)
		}
		r.byVersion[m.Version] = m
		if r.latest == "" || compareVersions(m.Version, r.latest) > 0 {
			r.latest = m.Version
		}
	}
	return r, nil
}

// MustBuiltin is Builtin for tests and tools where a broken embedded model is a bug.
func MustBuiltin() *Registry {
	r, err := Builtin()
	if err != nil {
		panic(err)
	}
	return r
}

// Get returns the model of a version, or a KindNotFound error naming the known versions.
func (r *Registry) Get(version string) (*Model, error) {
	if m, ok := r.byVersion[version]; ok {
		return m, nil
	}
	return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("unknown model version %q (known: %v)", version, r.Versions())}
}

// Latest returns the newest model version.
func (r *Registry) Latest() *Model { return r.byVersion[r.latest] }

// Versions lists the known versions in ascending order.
func (r *Registry) Versions() []string {
	out := make([]string, 0, len(r.byVersion))
	for v := range r.byVersion {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return compareVersions(out[i], out[j]) < 0 })
	return out
}

func compareVersions(a, b string) int {
	var am, an, bm, bn int
	fmt.Sscanf(a, "%d.%d", &am, &an)
	fmt.Sscanf(b, "%d.%d", &bm, &bn)
	switch {
	case am != bm:
		return am - bm
	case an != bn:
		return an - bn
	}
	return 0
}

func (m *Model) index() {
	m.capByID = map[string]*Capability{}
	m.domainByID = map[string]*Domain{}
	m.capDomain = map[string]int{}
	m.capOrder = nil
	gates := map[string]bool{}
	for _, g := range m.Rules.Overall.Gates.Capabilities {
		gates[g] = true
	}
	for di := range m.Domains {
		d := &m.Domains[di]
		m.domainByID[d.ID] = d
		for ci := range d.Capabilities {
			c := &d.Capabilities[ci]
			c.Gate = gates[c.ID]
			m.capByID[c.ID] = c
			m.capDomain[c.ID] = di
			m.capOrder = append(m.capOrder, c.ID)
		}
	}
	m.phrases = map[string]capPhrases{}
	for id, c := range m.capByID {
		p := capPhrases{name: lowerFirst(c.Name), levels: make([]string, m.Scale.Max+1)}
		for l := range p.levels {
			p.levels[l] = strings.TrimSuffix(lowerFirst(c.Levels[l]), ".")
		}
		m.phrases[id] = p
	}
	m.stateIndex = map[string]int{}
	for ri, r := range m.Cohorts.Regions {
		for _, s := range r.States {
			m.stateIndex[s] = ri
		}
	}
}

// Capability returns the capability with the given ID.
func (m *Model) Capability(id string) (*Capability, bool) {
	c, ok := m.capByID[id]
	return c, ok
}

// Domain returns the domain with the given ID.
func (m *Model) Domain(id string) (*Domain, bool) {
	d, ok := m.domainByID[id]
	return d, ok
}

// DomainOf returns the domain that holds a capability.
func (m *Model) DomainOf(capabilityID string) (*Domain, bool) {
	di, ok := m.capDomain[capabilityID]
	if !ok {
		return nil, false
	}
	return &m.Domains[di], true
}

// CapabilityIDs lists every capability ID in model order (domain by domain).
func (m *Model) CapabilityIDs() []string { return append([]string(nil), m.capOrder...) }

// PostureName returns the name of a posture level.
func (m *Model) PostureName(level int) string {
	for _, p := range m.Postures {
		if p.Level == level {
			return p.Name
		}
	}
	return fmt.Sprintf("Posture %d", level)
}

// MaxPosture is the highest posture level of the model.
func (m *Model) MaxPosture() int { return m.Scale.Max }
