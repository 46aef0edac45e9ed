package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hcztmm/warehouse/model"
)

// prepared is a submission made ready for the writer by the caller's goroutine: checked,
// hashed and its answers in a fixed order. Doing this outside the
// writer keeps the single writer busy with nothing but the database.
type prepared struct {
	sub     *ScoredSubmission
	hash    string
	caps    []string
	answers []int8
	err     error
}

// prepareParallelMin is the batch size from which preparation is spread over all cores;
// encoding scorecards is the largest Go-side cost of a bulk commit.
const prepareParallelMin = 512

func (db *DB) prepareAll(subs []ScoredSubmission) []prepared {
	out := make([]prepared, len(subs))
	if len(subs) < prepareParallelMin {
		for i := range subs {
			out[i] = db.prepare(&subs[i])
		}
		return out
	}
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(subs) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(subs); lo += chunk {
		hi := min(lo+chunk, len(subs))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i] = db.prepare(&subs[i])
			}
		})
	}
	wg.Wait()
	return out
}

// prepare checks what the warehouse must be able to rely on (ingest validates the rest)
// and encodes the submission.
func (db *DB) prepare(s *ScoredSubmission) prepared {
	p := prepared{sub: s}
	sub := &s.Submission
	var m *model.Model
	switch {
	case sub.Organisation.ID == "":
		p.err = model.Invalid("submission has no organisation ID",
			model.FieldError{Field: "organisation.id", Rule: "required", Message: "organisation.id is required"})
	case sub.Cycle == "":
		p.err = model.Invalid("submission has no cycle",
			model.FieldError{Field: "cycle", Rule: "required", Message: "cycle is required"})
	case s.Score.ModelVersion != sub.ModelVersion:
		p.err = model.Errorf(model.KindInvalid, "submission for model %q was scored with model %q", sub.ModelVersion, s.Score.ModelVersion)
	case s.Keys.SizeBand == "" || s.Keys.Region == "" || s.Keys.OrgType == "":
		p.err = model.Errorf(model.KindInvalid, "submission of organisation %q has no cohort keys", sub.Organisation.ID)
	}
	if p.err == nil {
		var err error
		if m, err = db.reg.Get(sub.ModelVersion); err != nil {
			p.err = model.Invalid(err.Error(), model.FieldError{Field: "model_version", Rule: "unknown",
				Value: sub.ModelVersion, Message: err.Error()})
		}
	}
	if p.err != nil {
		return p
	}
	p.caps, p.answers = orderedAnswers(m, sub.Answers)
	p.hash = s.ContentHash
	if p.hash == "" {
		p.hash = contentHash(sub)
	}
	return p
}

// orderedAnswers lists answers in model order (then any IDs the model does not know,
// sorted), so stored rows do not depend on map iteration.
func orderedAnswers(m *model.Model, answers map[string]model.Answer) ([]string, []int8) {
	caps := make([]string, 0, len(answers))
	vals := make([]int8, 0, len(answers))
	for _, id := range m.CapabilityIDs() {
		if a, ok := answers[id]; ok {
			caps = append(caps, id)
			vals = append(vals, int8(a))
		}
	}
	if len(caps) < len(answers) {
		var extra []string
		for id := range answers {
			if _, ok := m.Capability(id); !ok {
				extra = append(extra, id)
			}
		}
		sort.Strings(extra)
		for _, id := range extra {
			caps = append(caps, id)
			vals = append(vals, int8(answers[id]))
		}
	}
	return caps, vals
}

// contentHash stands in when the caller did not supply ScoredSubmission.ContentHash: a
// SHA-256 over everything that makes the submission what it is except when it arrived.
func contentHash(s *model.Submission) string {
	h := sha256.New()
	p := s.Organisation
	for _, f := range []string{"hcztmm-submission-v1", strconv.Itoa(s.SchemaVersion), s.ModelVersion, s.Cycle,
		p.ID, p.Name, p.State, strconv.Itoa(p.Beds), p.Type, s.SubmittedAt.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	ids := make([]string, 0, len(s.Answers))
	for id := range s.Answers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0, byte(s.Answers[id]), 0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
