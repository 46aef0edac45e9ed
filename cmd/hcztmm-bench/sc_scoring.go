package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// scoring times model.Assess (what ingest runs) and model.Score (Assess plus the words,
// what a provider's scorecard needs) per submission, on one goroutine. The ceiling is a
// map walk: reading each of a submission's answers once, the least any scoring must do,
// so the ratio says how many answer-reads one scoring costs.
type scoring struct{}

const (
	scoringSubs = commitTotal            // the population the commit scenario uses
	minTimed    = 300 * time.Millisecond // repeat passes until at least this long
)

func (scoring) Name() string { return "scoring" }

var sink float64

func (scoring) Run(ctx context.Context, env *Env) ([]Row, error) {
	pop, err := env.Population(scoringSubs)
	if err != nil {
		return nil, err
	}
	m := env.Model
	answers := make([]map[string]model.Answer, len(pop.Submissions))
	for i := range pop.Submissions {
		answers[i] = pop.Submissions[i].Answers
	}
	ids := m.CapabilityIDs()
	walk := perItem(len(answers), func() {
		s := 0
		for _, a := range answers {
			for _, id := range ids {
				s += int(a[id])
			}
		}
		sink += float64(s)
	})
	assess := perItem(len(answers), func() {
		for _, a := range answers {
			sc := m.Assess(a)
			sink += sc.Index
		}
	})
	score := perItem(len(answers), func() {
		for _, a := range answers {
			sc := m.Score(a)
			sink += sc.Index
		}
	})
	ceiling := Figure{Value: walk, Unit: "µs/submission", Label: fmt.Sprintf("map walk of the %d answers", len(ids))}
	note := fmt.Sprintf("one goroutine over %s generated submissions; ratio = map walk ÷ scoring", thousands(int64(len(answers))))
	return []Row{
		{Path: "Scoring: model.Assess (numbers; the ingest path)", Ours: Figure{Value: assess, Unit: "µs/submission"},
			Ceiling: ceiling, LowerIsBetter: true, Note: note},
		{Path: "Scoring: model.Score (Assess + Explain; the scorecard)", Ours: Figure{Value: score, Unit: "µs/submission"},
			Ceiling: ceiling, LowerIsBetter: true, Note: note},
	}, nil
}

// perItem runs pass (which handles n items) until minTimed has passed and returns the
// microseconds per item.
func perItem(n int, pass func()) float64 {
	passes := 0
	start := time.Now()
	for passes == 0 || time.Since(start) < minTimed {
		pass()
		passes++
	}
	return time.Since(start).Seconds() * 1e6 / float64(passes*n)
}

// scoreAll turns generated submissions into what the warehouse stores, as ingest does:
// validated, cohort keys, Assess, content hash. Untimed preparation.
func scoreAll(env *Env, subs []model.Submission) ([]warehouse.ScoredSubmission, error) {
	m := env.Model
	out := make([]warehouse.ScoredSubmission, len(subs))
	for i := range subs {
		s := &subs[i]
		if errs := m.ValidateSubmission(s); len(errs) > 0 {
			return nil, fmt.Errorf("generated submission %s is invalid: %v", s.Organisation.ID, errs[0])
		}
		keys, err := m.CohortKeysOf(s.Organisation)
		if err != nil {
			return nil, err
		}
		out[i] = warehouse.ScoredSubmission{Submission: *s, Keys: keys, Score: m.Assess(s.Answers),
			ContentHash: ingest.ContentHash(s), Source: "bench"}
	}
	return out, nil
}
