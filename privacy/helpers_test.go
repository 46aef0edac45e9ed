package privacy

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/differential-privacy/go/v3/noise"
	"github.com/hcztmm/warehouse/model"
)

// noiseCall is one call a recorder saw: the raw value and the parameters.
type noiseCall struct {
	x     float64
	l0    int64
	linf  float64
	eps   float64
	delta float64
}

// recorder is a test-only noise.Noise that records every AddNoise call. With inner nil it
// adds no noise at all and its intervals are points, which makes the build exact; with
// inner set it delegates, so results stay realistic. Production refuses it (it is not the
// library's noise); tests reach the build through build() with checkNoise off.
type recorder struct {
	mu    sync.Mutex
	inner noise.Noise
	calls []noiseCall
}

// String keeps the library's "unknown noise" warnings short: they format the noise with %v.
func (r *recorder) String() string { return "test recorder" }

func (r *recorder) add(c noiseCall) {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *recorder) AddNoiseInt64(x, l0, linf int64, eps, delta float64) (int64, error) {
	r.add(noiseCall{float64(x), l0, float64(linf), eps, delta})
	if r.inner == nil {
		return x, nil
	}
	return r.inner.AddNoiseInt64(x, l0, linf, eps, delta)
}

func (r *recorder) AddNoiseFloat64(x float64, l0 int64, linf, eps, delta float64) (float64, error) {
	r.add(noiseCall{x, l0, linf, eps, delta})
	if r.inner == nil {
		return x, nil
	}
	return r.inner.AddNoiseFloat64(x, l0, linf, eps, delta)
}

func (r *recorder) Threshold(l0 int64, linf, eps, noiseDelta, thresholdDelta float64) (float64, error) {
	return 0, errors.New("recorder: thresholding is not used by the privacy package")
}

func (r *recorder) ComputeConfidenceIntervalInt64(noisedX, l0, linf int64, eps, delta, alpha float64) (noise.ConfidenceInterval, error) {
	if r.inner == nil {
		return noise.ConfidenceInterval{LowerBound: float64(noisedX), UpperBound: float64(noisedX)}, nil
	}
	return r.inner.ComputeConfidenceIntervalInt64(noisedX, l0, linf, eps, delta, alpha)
}

func (r *recorder) ComputeConfidenceIntervalFloat64(noisedX float64, l0 int64, linf, eps, delta, alpha float64) (noise.ConfidenceInterval, error) {
	if r.inner == nil {
		return noise.ConfidenceInterval{LowerBound: noisedX, UpperBound: noisedX}, nil
	}
	return r.inner.ComputeConfidenceIntervalFloat64(noisedX, l0, linf, eps, delta, alpha)
}

// recorders hands every (partitioning, family) cell its own recorder.
type recorders struct {
	mu    sync.Mutex
	inner noise.Noise
	byKey map[Allocation]*recorder
}

func newRecorders(inner noise.Noise) *recorders {
	return &recorders{inner: inner, byKey: map[Allocation]*recorder{}}
}

func (rs *recorders) source(p Partitioning, f Family) noise.Noise {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	k := Allocation{Partitioning: p, Family: f}
	if rs.byKey[k] == nil {
		rs.byKey[k] = &recorder{inner: rs.inner}
	}
	return rs.byKey[k]
}

// buildRecorded runs the production build with recording noise.
func buildRecorded(t testing.TB, m *model.Model, plan *Plan, recs []Record, rs *recorders) *Release {
	t.Helper()
	rel, err := build(m, plan, recs, buildOptions{noise: rs.source, now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func mustPlan(t testing.TB, m *model.Model, req Request) *Plan {
	t.Helper()
	p, err := NewPlan(m, req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustBuild(t testing.TB, m *model.Model, plan *Plan, recs []Record) *Release {
	t.Helper()
	rel, err := Build(m, plan, recs)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// uniformRecord is an organisation with every answer at one level, scored by the model.
func uniformRecord(m *model.Model, id string, keys model.CohortKeys, level model.Answer) Record {
	answers := map[string]model.Answer{}
	for _, c := range m.CapabilityIDs() {
		answers[c] = level
	}
	return RecordOf(m, id, keys, m.Score(answers), answers)
}

// fieldOf returns the kind and the first detail field of an error.
func fieldOf(err error) (model.Kind, string) {
	var e *model.Error
	if !errors.As(err, &e) {
		return model.KindInternal, ""
	}
	if len(e.Details) == 0 {
		return e.Kind, ""
	}
	return e.Kind, e.Details[0].Field
}

// relaxed makes every cohort with at least one noisy organisation publishable and every
// estimate computed: for plumbing tests that need all mechanisms to run on tiny data.
func relaxed(req Request) Request {
	req.PublicationThreshold = 1
	req.SuppressionRisk = 0.49
	req.Utility = Utility{Mean: 1, Quantiles: 1, Shares: 1}
	return req
}
