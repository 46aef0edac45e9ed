package model_test

import (
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

func TestBuiltinModelShape(t *testing.T) {
	m := latest(t)
	if m.Version != "1.0" {
		t.Fatalf("version = %q", m.Version)
	}
	if got := len(m.Domains); got != 8 {
		t.Errorf("domains = %d, want 8", got)
	}
	if got := len(m.CapabilityIDs()); got < 35 || got > 45 {
		t.Errorf("capabilities = %d, want about 40", got)
	}
	if m.PostureName(1) != "Structured but Static" {
		t.Errorf("posture 1 = %q", m.PostureName(1))
	}
	for _, g := range []string{"VDT-02", "VDT-03", "GOV-03"} {
		c, ok := m.Capability(g)
		if !ok || !c.Gate {
			t.Errorf("%s should be a gate", g)
		}
	}
	if c, _ := m.Capability("IDN-01"); c.Gate {
		t.Error("IDN-01 should not be a gate")
	}
	if len(m.Families) != 5 {
		t.Errorf("families = %d", len(m.Families))
	}
}

func TestParseRejectsBrokenModels(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
		want   string // substring naming the field
	}{
		{"duplicate capability", func(d map[string]any) {
			capsOf(d, 0)[1].(map[string]any)["id"] = "IDN-01"
		}, `domains[0].capabilities[1].id: duplicate capability ID "IDN-01"`},
		{"duplicate domain", func(d map[string]any) {
			domainsOf(d)[1].(map[string]any)["id"] = "IDN"
		}, `domains[1].id: duplicate domain ID "IDN"`},
		{"missing level description", func(d map[string]any) {
			delete(capsOf(d, 2)[0].(map[string]any)["levels"].(map[any]any), 3)
		}, "domains[2].capabilities[0].levels.3: capability NET-01 has no description for level 3"},
		{"empty level description", func(d map[string]any) {
			capsOf(d, 2)[1].(map[string]any)["levels"].(map[any]any)[0] = " "
		}, "domains[2].capabilities[1].levels.0"},
		{"non-positive weight", func(d map[string]any) {
			capsOf(d, 0)[0].(map[string]any)["weight"] = -1
		}, "domains[0].capabilities[0].weight: must be positive"},
		{"gate refers to nothing", func(d map[string]any) {
			d["rules"].(map[string]any)["overall"].(map[string]any)["gates"].(map[string]any)["capabilities"] = []any{"VDT-02", "XYZ-99"}
		}, `rules.overall.gates.capabilities[1]: gate "XYZ-99" is not a capability`},
		{"gate allows na", func(d map[string]any) {
			capsOf(d, 6)[1].(map[string]any)["na_allowed"] = true
		}, `gate VDT-02 must not allow "na"`},
		{"posture 1 renamed", func(d map[string]any) {
			d["postures"].([]any)[1].(map[string]any)["name"] = "Basic"
		}, `postures[1].name: must be "Structured but Static"`},
		{"posture missing", func(d map[string]any) {
			d["postures"] = d["postures"].([]any)[:4]
		}, "postures: needs one entry per level 0..4, got 4"},
		{"postures out of order", func(d map[string]any) {
			p := d["postures"].([]any)
			p[2].(map[string]any)["level"] = 3
		}, "postures[2].level: is 3, want 2"},
		{"unknown field", func(d map[string]any) {
			capsOf(d, 0)[0].(map[string]any)["wieght"] = 2
		}, "field wieght not found"},
		{"family with unknown domain", func(d map[string]any) {
			d["families"].([]any)[0].(map[string]any)["domains"] = []any{"IDN", "ZZZ"}
		}, `families[0].domains[1]: "ZZZ" is not a domain`},
		{"state in two regions", func(d map[string]any) {
			r := d["cohorts"].(map[string]any)["regions"].([]any)[0].(map[string]any)
			r["states"] = append(r["states"].([]any), "TX")
		}, "state TX is already in region"},
		{"size bands with gap", func(d map[string]any) {
			d["cohorts"].(map[string]any)["size_bands"].([]any)[1].(map[string]any)["min_beds"] = 30
		}, "cohorts.size_bands[1].min_beds: band must start right after the previous band ends"},
		{"finding on unknown capability", func(d map[string]any) {
			d["findings"].([]any)[0].(map[string]any)["capability"] = "VDT-99"
		}, `findings[0].capability: "VDT-99" is not a capability`},
		{"bad version", func(d map[string]any) { d["version"] = "one" }, `version: "one" must look like MAJOR.MINOR`},
		{"share threshold out of range", func(d map[string]any) {
			d["rules"].(map[string]any)["domain"].(map[string]any)["share_threshold"] = 1.5
		}, "rules.domain.share_threshold: must be in (0,1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := builtinDoc(t)
			tt.mutate(doc)
			_, err := parseDoc(t, doc)
			if err == nil {
				t.Fatal("broken model accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	doc := builtinDoc(t)
	capsOf(doc, 0)[0].(map[string]any)["weight"] = 0.0 - 2
	doc["version"] = ""
	_, err := parseDoc(t, doc)
	if !model.IsModelError(err) {
		t.Fatalf("want ModelError, got %v", err)
	}
	for _, want := range []string{"version: is required", "domains[0].capabilities[0].weight"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := model.MustBuiltin()
	if _, err := r.Get("1.0"); err != nil {
		t.Fatal(err)
	}
	_, err := r.Get("9.9")
	if model.ErrorKind(err) != model.KindNotFound || !strings.Contains(err.Error(), `unknown model version "9.9"`) {
		t.Fatalf("got %v", err)
	}
	if got := r.Versions(); len(got) != 1 || got[0] != "1.0" {
		t.Fatalf("versions %v", got)
	}
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		in      string
		want    model.Answer
		wantErr bool
	}{
		{"0", 0, false}, {"4", 4, false}, {" 3 ", 3, false}, {"2.0", 2, false},
		{"7", 7, false}, {"-3", -3, false},
		{"unknown", model.Unknown, false}, {"UNKNOWN", model.Unknown, false},
		{"na", model.NotApplicable, false}, {"N/A", model.NotApplicable, false},
		{"", 0, true}, {"two", 0, true}, {"2.5", 0, true}, {"1e400", 0, true},
	}
	for _, tt := range tests {
		got, err := model.ParseAnswer(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseAnswer(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestValidateAnswers(t *testing.T) {
	m := latest(t)
	all := uniform(m, 2)
	tests := []struct {
		name    string
		answers map[string]model.Answer
		want    []string // "field rule"
	}{
		{"complete", all, nil},
		{"unknown is an answer", with(all, map[string]model.Answer{"IDN-01": model.Unknown}), nil},
		{"na where allowed", with(all, map[string]model.Answer{"APP-02": model.NotApplicable}), nil},
		{"na where not allowed", with(all, map[string]model.Answer{"VDT-02": model.NotApplicable}), []string{"answers.VDT-02 na_not_allowed"}},
		{"out of range high", with(all, map[string]model.Answer{"DAT-01": 5}), []string{"answers.DAT-01 out_of_range"}},
		{"out of range low", with(all, map[string]model.Answer{"DAT-01": -5}), []string{"answers.DAT-01 out_of_range"}},
		{"unknown capability", with(all, map[string]model.Answer{"XYZ-01": 1}), []string{"answers.XYZ-01 unknown_capability"}},
	}
	missing := with(all, nil)
	delete(missing, "GOV-05")
	delete(missing, "CLX-01")
	tests = append(tests, struct {
		name    string
		answers map[string]model.Answer
		want    []string
	}{"missing answers", missing, []string{"answers.CLX-01 required", "answers.GOV-05 required"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range m.ValidateAnswers(tt.answers) {
				got = append(got, e.Field+" "+e.Rule)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 80, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc…"},
		{"ab\u00e9cd", 3, "ab…"},       // é is two bytes: the cut moves back to its start
		{"\u20ac\u20ac", 4, "\u20ac…"}, // € is three bytes
		{"x\xff\xfey", 2, "x\xff…"},    // bytes that are no rune stay whole bytes
	}
	for _, tt := range tests {
		if got := model.Clip(tt.in, tt.max); got != tt.want {
			t.Errorf("model.Clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
