package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

var testReg = model.MustBuiltin()

func testModel() *model.Model { return testReg.Latest() }

// sampleSubmission is the submission every file in testdata/ holds (org-0042): levels
// i%5 in model order, the second capability "unknown", DEV-05 "na", a name that needs
// CSV quoting.
func sampleSubmission() *model.Submission {
	m := testModel()
	s := &model.Submission{
		SchemaVersion: model.SchemaVersion,
		ModelVersion:  m.Version,
		Cycle:         "2026",
		Organisation:  model.Profile{ID: "org-0042", Name: `St. Example's "North", Inc.`, State: "OH", Beds: 250, Type: "community"},
		SubmittedAt:   time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
		Answers:       map[string]model.Answer{},
	}
	for i, id := range m.CapabilityIDs() {
		s.Answers[id] = model.Answer(i % 5)
	}
	s.Answers[m.CapabilityIDs()[1]] = model.Unknown
	s.Answers["DEV-05"] = model.NotApplicable
	return s
}

// fakeStore is an in-memory Store for decoding and reporting tests. It keeps the latest
// content hash per organisation and cycle, refuses cycles listed as closed or unknown,
// and with atomic stores nothing when anything is refused.
type fakeStore struct {
	mu       sync.Mutex
	profiles map[string]model.Profile
	current  map[subKey]string
	closed   map[string]bool
	unknown  map[string]bool
	failWith error // returned by Commit as a whole-store failure
	plainErr map[string]bool
	commits  []int // sizes of Commit calls
	stored   []warehouse.ScoredSubmission
}

func newFakeStore() *fakeStore {
	return &fakeStore{profiles: map[string]model.Profile{}, current: map[subKey]string{},
		closed: map[string]bool{}, unknown: map[string]bool{}, plainErr: map[string]bool{}}
}

func (f *fakeStore) Commit(ctx context.Context, subs []warehouse.ScoredSubmission, atomic bool) ([]warehouse.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	f.commits = append(f.commits, len(subs))
	out := make([]warehouse.Outcome, len(subs))
	refused := false
	for i, s := range subs {
		c := s.Submission.Cycle
		switch {
		case f.closed[c]:
			out[i] = warehouse.Outcome{Status: warehouse.StatusRejected, Err: &model.Error{Kind: model.KindConflict, Message: "cycle closed",
				Details: []model.FieldError{{Field: "cycle", Rule: RuleCycleClosed, Value: c, Message: fmt.Sprintf("cycle %s is closed", c)}}}}
			refused = true
		case f.unknown[c]:
			out[i] = warehouse.Outcome{Status: warehouse.StatusRejected, Err: &model.Error{Kind: model.KindNotFound, Message: "unknown cycle",
				Details: []model.FieldError{{Field: "cycle", Rule: RuleUnknownCycle, Value: c, Message: fmt.Sprintf("cycle %s does not exist", c)}}}}
			refused = true
		case f.plainErr[c]:
			out[i] = warehouse.Outcome{Status: warehouse.StatusRejected, Err: errors.New("disk says no")}
			refused = true
		}
	}
	if atomic && refused {
		// Like the warehouse: every member of a failed all-or-nothing call is rejected,
		// the innocent ones with an error wrapping the culprit's.
		var cause error
		for _, o := range out {
			if o.Err != nil {
				cause = o.Err
				break
			}
		}
		for i := range out {
			if out[i].Status != warehouse.StatusRejected {
				out[i] = warehouse.Outcome{Status: warehouse.StatusRejected,
					Err: &model.Error{Kind: model.ErrorKind(cause), Message: "not stored: the all-or-nothing batch was rejected", Err: cause}}
			}
		}
		return out, nil
	}
	for i, s := range subs {
		if out[i].Status == warehouse.StatusRejected {
			continue
		}
		k := subKey{s.Submission.Organisation.ID, s.Submission.Cycle}
		prev, had := f.current[k]
		switch {
		case had && prev == s.ContentHash:
			out[i].Status = warehouse.StatusUnchanged
			continue
		case had:
			out[i].Status = warehouse.StatusSuperseded
		default:
			out[i].Status = warehouse.StatusAccepted
		}
		f.current[k] = s.ContentHash
		f.stored = append(f.stored, s)
		f.profiles[s.Submission.Organisation.ID] = s.Submission.Organisation
	}
	return out, nil
}

func (f *fakeStore) Organisation(ctx context.Context, orgID string) (warehouse.Organisation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.profiles[orgID]
	if !ok {
		return warehouse.Organisation{}, fmt.Errorf("warehouse: organisation: %w", model.Errorf(model.KindNotFound, "organisation %s not found", orgID))
	}
	return warehouse.Organisation{Profile: p}, nil
}

// The real warehouse satisfies Store; this breaks the test build if the two drift apart.
var _ Store = (*warehouse.DB)(nil)

// run ingests one in-memory file.
func run(t testing.TB, store Store, name string, format Format, content string, opts Options) *Report {
	t.Helper()
	rep, err := Ingest(context.Background(), store, testReg, []Input{{Name: name, Format: format, Reader: strings.NewReader(content)}}, opts)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return rep
}

func problemStrings(rep *Report) []string {
	var out []string
	for _, p := range rep.Problems() {
		out = append(out, p.String())
	}
	return out
}

// --- builders of one-submission files in each format, from a submission ---

func jsonDoc(s *model.Submission) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// jsonMap is the sample as a generic map, for edits that the typed struct cannot express.
func jsonMap() map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(jsonDoc(sampleSubmission())), &m); err != nil {
		panic(err)
	}
	return m
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wideRecord is the sample as one CSV-wide row, keyed by column.
func wideRecord(s *model.Submission) map[string]string {
	r := map[string]string{
		model.ColOrgID: s.Organisation.ID, model.ColOrgName: s.Organisation.Name, model.ColState: s.Organisation.State,
		model.ColBeds: fmt.Sprint(s.Organisation.Beds), model.ColOrgType: s.Organisation.Type, model.ColCycle: s.Cycle,
		model.ColModelVersion: s.ModelVersion,
	}
	if !s.SubmittedAt.IsZero() {
		r[model.ColSubmittedAt] = s.SubmittedAt.Format(time.RFC3339)
	}
	for id, a := range s.Answers {
		r[id] = a.String()
	}
	return r
}

// wideCSV writes a CSV-wide file with the model's header and the given rows.
func wideCSV(header []string, rows ...map[string]string) string {
	if header == nil {
		header = testModel().WideColumns()
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(header)
	for _, r := range rows {
		rec := make([]string, len(header))
		for i, h := range header {
			rec[i] = r[h]
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.String()
}

var longHeader = append(append([]string(nil), model.LongRequiredColumns...), model.LongProfileColumns...)

// longRows is the sample as CSV-long records (header order longHeader), model order.
func longRows(s *model.Submission) [][]string {
	var out [][]string
	at := ""
	if !s.SubmittedAt.IsZero() {
		at = s.SubmittedAt.Format(time.RFC3339)
	}
	for _, id := range testModel().CapabilityIDs() {
		a, ok := s.Answers[id]
		if !ok {
			continue
		}
		out = append(out, []string{s.Organisation.ID, s.Cycle, s.ModelVersion, id, a.String(),
			s.Organisation.Name, s.Organisation.State, fmt.Sprint(s.Organisation.Beds), s.Organisation.Type, at})
	}
	return out
}

func longCSV(header []string, rows [][]string) string {
	if header == nil {
		header = longHeader
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	return buf.String()
}
