package ingest

import (
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// parseAnswer is model.ParseAnswer with a fast path for the single digit that nearly
// every cell holds; it saves the trimming, lower-casing and Atoi of the general case.
func parseAnswer(s string) (model.Answer, error) {
	if len(s) == 1 && s[0]-'0' <= 9 {
		return model.Answer(s[0] - '0'), nil
	}
	return model.ParseAnswer(s)
}

// processor validates, scores and hashes items. Each worker owns one, because the hash
// state and buffer are reused across items.
type processor struct {
	env    *env
	source string
	h      hash.Hash
	buf    []byte
	sum    [sha256.Size]byte
}

func newProcessor(e *env, source string) *processor {
	return &processor{env: e, source: source, h: sha256.New(), buf: make([]byte, 0, 1024)}
}

// process validates one item with the model of its model_version and, when it has no
// problem, fills in its scored form. Validation runs even when decoding found problems,
// so that one pass reports everything; fields the decoder already reported are skipped.
func (p *processor) process(it *item) {
	if it.broken {
		return
	}
	s := &it.sub
	info := p.env.models[s.ModelVersion]
	switch {
	case s.ModelVersion == "":
		if !it.reported("model_version") {
			p.add(it, &model.FieldError{Field: "model_version", Rule: RuleRequired, Message: "model_version is required"})
		}
	case info == nil:
		if !it.reported("model_version") {
			p.add(it, &model.FieldError{Field: "model_version", Rule: RuleUnknownModelVersion, Value: clip(s.ModelVersion),
				Message: fmt.Sprintf("unknown model version %q (known: %v)", clip(s.ModelVersion), p.env.reg.Versions())})
		}
	}
	if info == nil {
		return
	}
	m := info.m
	errs := m.ValidateSubmission(s)
	for i := range errs {
		if !it.reported(errs[i].Field) {
			p.add(it, &errs[i])
		}
	}
	if len(it.problems) > 0 {
		return
	}
	// The profile passed ValidateProfile, so the keys can be read directly rather than
	// through CohortKeysOf, which would validate the profile a second time.
	region, _ := m.RegionOf(s.Organisation.State)
	it.scored = warehouse.ScoredSubmission{
		Submission:  *s,
		Keys:        model.CohortKeys{SizeBand: m.SizeBandOf(s.Organisation.Beds).ID, Region: region.ID, OrgType: s.Organisation.Type},
		Score:       m.Assess(s.Answers), // words are rebuilt on read (model.Explain)
		ContentHash: p.hash(s, info.sorted),
		Source:      p.source,
	}
}

// add records a validation problem at the place the item's locator gives for its field.
func (p *processor) add(it *item, fe *model.FieldError) {
	row, ptr := it.loc.locate(fe)
	it.problem(Problem{Row: row, Pointer: ptr, Field: fe.Field, Rule: fe.Rule, Value: fe.Value, Message: fe.Message})
}

func (p *processor) hash(s *model.Submission, sorted []string) string {
	p.buf = appendCanonical(p.buf[:0], s, sorted)
	p.h.Reset()
	p.h.Write(p.buf)
	return hexString(p.h.Sum(p.sum[:0]))
}
