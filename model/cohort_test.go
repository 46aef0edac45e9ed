package model_test

import (
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

func TestCohortKeys(t *testing.T) {
	m := latest(t)
	tests := []struct {
		p    model.Profile
		want model.CohortKeys
	}{
		{model.Profile{ID: "A", State: "TX", Beds: 0, Type: "ambulatory"}, model.CohortKeys{"lt25", "south", "ambulatory"}},
		{model.Profile{ID: "A", State: "VT", Beds: 24, Type: "critical_access"}, model.CohortKeys{"lt25", "northeast", "critical_access"}},
		{model.Profile{ID: "A", State: "IA", Beds: 25, Type: "critical_access"}, model.CohortKeys{"25-99", "midwest", "critical_access"}},
		{model.Profile{ID: "A", State: "CA", Beds: 99, Type: "community"}, model.CohortKeys{"25-99", "west", "community"}},
		{model.Profile{ID: "A", State: "DC", Beds: 100, Type: "academic"}, model.CohortKeys{"100-299", "south", "academic"}},
		{model.Profile{ID: "A", State: "NY", Beds: 499, Type: "academic"}, model.CohortKeys{"300-499", "northeast", "academic"}},
		{model.Profile{ID: "A", State: "WA", Beds: 500, Type: "health_system"}, model.CohortKeys{"500plus", "west", "health_system"}},
		{model.Profile{ID: "A", State: "OH", Beds: 12000, Type: "health_system"}, model.CohortKeys{"500plus", "midwest", "health_system"}},
	}
	for _, tt := range tests {
		got, err := m.CohortKeysOf(tt.p)
		if err != nil || got != tt.want {
			t.Errorf("CohortKeysOf(%+v) = %+v, %v; want %+v", tt.p, got, err, tt.want)
		}
	}
	if n := len(m.States()); n != 51 {
		t.Errorf("states = %d, want 50 + DC", n)
	}
}

func TestInvalidProfiles(t *testing.T) {
	m := latest(t)
	ok := model.Profile{ID: "ORG-1", State: "TX", Beds: 120, Type: "community"}
	tests := []struct {
		name   string
		mutate func(p *model.Profile)
		want   string // "field rule"
	}{
		{"missing id", func(p *model.Profile) { p.ID = "" }, "organisation.id required"},
		{"bad id", func(p *model.Profile) { p.ID = "a b" }, "organisation.id format"},
		{"missing state", func(p *model.Profile) { p.State = "" }, "organisation.state required"},
		{"lower-case state", func(p *model.Profile) { p.State = "tx" }, "organisation.state unknown_state"},
		{"territory", func(p *model.Profile) { p.State = "PR" }, "organisation.state unknown_state"},
		{"negative beds", func(p *model.Profile) { p.Beds = -1 }, "organisation.beds out_of_range"},
		{"absurd beds", func(p *model.Profile) { p.Beds = 1_000_000 }, "organisation.beds out_of_range"},
		{"unknown type", func(p *model.Profile) { p.Type = "clinic" }, "organisation.type unknown_type"},
		{"critical access too big", func(p *model.Profile) { p.Type = "critical_access"; p.Beds = 60 }, "organisation.beds type_bed_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.mutate(&p)
			errs := m.ValidateProfile(p)
			if len(errs) != 1 || errs[0].Field+" "+errs[0].Rule != tt.want {
				t.Fatalf("got %+v, want %s", errs, tt.want)
			}
			_, err := m.CohortKeysOf(p)
			if model.ErrorKind(err) != model.KindInvalid || !strings.Contains(err.Error(), errs[0].Message) {
				t.Fatalf("CohortKeysOf error %v", err)
			}
		})
	}
}

func TestValidateSubmission(t *testing.T) {
	m := latest(t)
	s := &model.Submission{SchemaVersion: 2, ModelVersion: "0.9", Cycle: "",
		Organisation: model.Profile{ID: "ORG-1", State: "ZZ", Beds: 10, Type: "community"}, Answers: uniform(m, 1)}
	var got []string
	for _, e := range m.ValidateSubmission(s) {
		got = append(got, e.Field+" "+e.Rule)
	}
	want := "schema_version unsupported|model_version mismatch|cycle required|organisation.state unknown_state"
	if strings.Join(got, "|") != want {
		t.Fatalf("got %v", got)
	}
}
