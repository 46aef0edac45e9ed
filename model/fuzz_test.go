package model_test

import (
	"os"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// FuzzParseModel feeds arbitrary bytes to the model loader: it must never panic, and a
// model it accepts must score any answer set without panicking.
func FuzzParseModel(f *testing.F) {
	good, err := os.ReadFile("hcztmm-1.0.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("model: x\nversion: \"1.0\"\n"))
	f.Add([]byte("domains: [{id: A, capabilities: [{id: A-1, levels: {0: a}}]}]"))
	f.Add([]byte("postures: 7"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := model.Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("rejection without a message")
			}
			return
		}
		answers := map[string]model.Answer{}
		for i, id := range m.CapabilityIDs() {
			answers[id] = model.Answer(i%7 - 2)
		}
		sc := m.Score(answers)
		if sc.Posture < 0 || sc.Posture > m.MaxPosture() || sc.Index < 0 || sc.Index > 100 {
			t.Fatalf("score out of range: %+v", sc)
		}
	})
}
