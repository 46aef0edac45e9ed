package model_test

import (
	"os"
	"testing"

	"github.com/hcztmm/warehouse/model"
	"go.yaml.in/yaml/v3"
)

// builtinDoc returns the embedded model file as a generic YAML tree that tests mutate to
// build broken or variant models.
func builtinDoc(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("hcztmm-1.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func parseDoc(t *testing.T, doc map[string]any) (*model.Model, error) {
	t.Helper()
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return model.Parse(data)
}

func domainsOf(doc map[string]any) []any { return doc["domains"].([]any) }

func capsOf(doc map[string]any, domain int) []any {
	return domainsOf(doc)[domain].(map[string]any)["capabilities"].([]any)
}

func latest(t *testing.T) *model.Model {
	t.Helper()
	return model.MustBuiltin().Latest()
}

// uniform answers every capability with the same level.
func uniform(m *model.Model, level model.Answer) map[string]model.Answer {
	a := map[string]model.Answer{}
	for _, id := range m.CapabilityIDs() {
		a[id] = level
	}
	return a
}

// with returns a copy of answers with some overridden.
func with(base map[string]model.Answer, overrides map[string]model.Answer) map[string]model.Answer {
	out := make(map[string]model.Answer, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

// domainAt sets every capability of one domain to a level.
func domainAt(m *model.Model, base map[string]model.Answer, domain string, level model.Answer) map[string]model.Answer {
	d, ok := m.Domain(domain)
	if !ok {
		panic("no domain " + domain)
	}
	o := map[string]model.Answer{}
	for _, c := range d.Capabilities {
		o[c.ID] = level
	}
	return with(base, o)
}
