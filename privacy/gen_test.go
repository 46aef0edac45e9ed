package privacy

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// TestMain sends the DP library's glog output to stderr: tests that inject a recording
// noise make the library warn about an unrecognised noise, and glog would otherwise
// write log files into the temp directory.
func TestMain(m *testing.M) {
	if f := flag.Lookup("logtostderr"); f != nil {
		_ = f.Value.Set("true")
	}
	os.Exit(m.Run())
}

func testModel() *model.Model { return model.MustBuiltin().Latest() }

// typeMix approximates the fixtures' population: community hospitals most common, then
// critical access, ambulatory and FQHC, few academic centres. Shapes cohort sizes so
// that some size × region cells are small.
var typeMix = []struct {
	id         string
	share      float64
	zeroBeds   float64
	median     float64
	sigma      float64
	minB, maxB int
	maturity   float64
	naRate     float64
	rural      bool
}{
	{"community", 0.33, 0, 95, 0.8, 12, 1200, 0, 0.03, false},
	{"critical_access", 0.20, 0, 20, 0.3, 4, 25, -0.2, 0.10, true},
	{"ambulatory", 0.12, 0.9, 8, 0.5, 1, 40, -0.1, 0.30, false},
	{"fqhc", 0.10, 0.95, 5, 0.4, 1, 20, -0.2, 0.30, false},
	{"specialty", 0.09, 0, 70, 0.7, 10, 450, -0.05, 0.06, false},
	{"post_acute", 0.08, 0, 110, 0.45, 20, 400, -0.3, 0.15, false},
	{"health_system", 0.05, 0, 1100, 0.75, 150, 15000, 0.35, 0.02, false},
	{"academic", 0.03, 0, 480, 0.45, 200, 2600, 0.35, 0.02, false},
}

var regionMix = map[string]float64{"northeast": 0.15, "midwest": 0.27, "south": 0.38, "west": 0.20}
var ruralRegionMix = map[string]float64{"northeast": 0.07, "midwest": 0.42, "south": 0.30, "west": 0.21}

func pick(r *rand.Rand, ws []float64) int {
	var s float64
	for _, w := range ws {
		s += w
	}
	x := r.Float64() * s
	for i, w := range ws {
		if x < w {
			return i
		}
		x -= w
	}
	return len(ws) - 1
}

var popCache sync.Map

// population returns n deterministic scored records (organisation i draws from its own
// PCG stream), cached per (n, seed).
func population(m *model.Model, n int, seed uint64) []Record {
	key := fmt.Sprint(n, "/", seed)
	if v, ok := popCache.Load(key); ok {
		return v.([]Record)
	}
	caps := m.CapabilityIDs()
	out := make([]Record, n)
	for i := range out {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		shares := make([]float64, len(typeMix))
		for k, t := range typeMix {
			shares[k] = t.share
		}
		t := typeMix[pick(r, shares)]
		beds := 0
		if r.Float64() >= t.zeroBeds {
			beds = int(math.Round(t.median * math.Exp(t.sigma*r.NormFloat64())))
			beds = min(max(beds, t.minB), t.maxB)
		}
		mix := regionMix
		if t.rural {
			mix = ruralRegionMix
		}
		regs := m.Cohorts.Regions
		ws := make([]float64, len(regs))
		for k, rg := range regs {
			ws[k] = mix[rg.ID]
		}
		region := regs[pick(r, ws)].ID
		keys := model.CohortKeys{SizeBand: m.SizeBandOf(beds).ID, Region: region, OrgType: t.id}
		latent := 1.0 + t.maturity + 0.08*math.Log1p(float64(beds)) + 0.6*r.NormFloat64()
		answers := make(map[string]model.Answer, len(caps))
		for c, id := range caps {
			cp, _ := m.Capability(id)
			difficulty := 0.5 * math.Sin(float64(c)*1.7)
			switch {
			case cp.NAAllowed && r.Float64() < t.naRate:
				answers[id] = model.NotApplicable
			case r.Float64() < 0.04:
				answers[id] = model.Unknown
			default:
				v := math.Round(latent - difficulty + 0.7*r.NormFloat64())
				answers[id] = model.Answer(min(max(v, float64(m.Scale.Min)), float64(m.Scale.Max)))
			}
		}
		out[i] = RecordOf(m, fmt.Sprintf("ORG-%06d", i+1), keys, m.Score(answers), answers)
	}
	popCache.Store(key, out)
	return out
}

// cohortSizes returns the exact size of every cohort of a partitioning (tests only).
func cohortSizes(m *model.Model, p Partitioning, recs []Record) map[Key]int {
	out := map[Key]int{}
	for _, k := range newGrid(m).keys(p) {
		out[k] = 0
	}
	for _, r := range recs {
		out[keyOf(p, r.Keys)]++
	}
	return out
}
