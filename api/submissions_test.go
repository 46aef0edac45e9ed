package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// newProvider sets up an organisation of its own for a test: a key bound to it and a
// valid submission for it in the given cycle.
func newProvider(t *testing.T, w *world, org, cycle string) (string, model.Submission) {
	t.Helper()
	_, token, err := w.db.CreateKey(context.Background(), warehouse.RoleProvider, org, "test")
	if err != nil {
		t.Fatal(err)
	}
	sub := w.subA[w.open]
	sub.Cycle = cycle
	sub.Organisation.ID = org
	sub.Organisation.Name = "Test Hospital " + org
	return token, sub
}

func TestSubmissionLifecycle(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	m := w.reg.Latest()
	for _, c := range []string{"life", "life-closed"} {
		if err := w.db.CreateCycle(ctx, warehouse.Cycle{ID: c, ModelVersion: m.Version, Epsilon: 1, Delta: 1e-6}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.db.CloseCycle(ctx, "life-closed"); err != nil {
		t.Fatal(err)
	}
	token, sub := newProvider(t, w, "LIFE-1", "life")
	post := func(s model.Submission) resp {
		var buf bytes.Buffer
		if err := fixtures.WriteJSON(&buf, &s); err != nil {
			t.Fatal(err)
		}
		return w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions", token: token, ctype: "application/json", body: buf.Bytes()})
	}
	result := func(r resp) api.SubmissionResult {
		t.Helper()
		var res api.SubmissionResult
		if err := json.Unmarshal(r.body, &res); err != nil {
			t.Fatalf("%s", r)
		}
		return res
	}

	// Before anything: no profile, no history.
	if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/organisations/me", token: token}); r.status != 404 {
		t.Errorf("profile before submitting: %s", r)
	}
	r := post(sub)
	first := result(r)
	if r.status != 201 || first.Status != warehouse.StatusAccepted || first.OrgID != "LIFE-1" || len(first.Scorecard.Domains) != len(m.Domains) ||
		r.header.Get("Location") != fmt.Sprintf("/api/v1/submissions/%d", first.ID) {
		t.Fatalf("first: %s", r)
	}
	if want := m.Score(sub.Answers); first.Scorecard.Index != want.Index || first.Scorecard.Posture != want.Posture {
		t.Errorf("scorecard %v/%v, model says %v/%v", first.Scorecard.Index, first.Scorecard.Posture, want.Index, want.Posture)
	}
	r = post(sub)
	if again := result(r); r.status != 200 || again.Status != warehouse.StatusUnchanged || again.ID != first.ID {
		t.Errorf("same again: %s", r)
	}
	changed := sub
	changed.Answers = map[string]model.Answer{}
	for id, a := range sub.Answers {
		changed.Answers[id] = a
	}
	changed.Answers[m.CapabilityIDs()[0]] = model.Unknown
	r = post(changed)
	second := result(r)
	if r.status != 201 || second.Status != warehouse.StatusSuperseded || second.Replaces != first.ID {
		t.Fatalf("resubmission: %s", r)
	}

	// Reads of its own.
	var hist struct {
		OrgID       string                        `json:"org_id"`
		Submissions []warehouse.SubmissionSummary `json:"submissions"`
	}
	r = w.do(t, w.base, req{method: "GET", path: "/api/v1/submissions?cycle=life", token: token})
	if json.Unmarshal(r.body, &hist) != nil || len(hist.Submissions) != 2 || hist.Submissions[0].SupersededBy != second.ID ||
		!strings.HasPrefix(hist.Submissions[0].Source, "api:key_") {
		t.Errorf("history: %s", r)
	}
	r = w.do(t, w.base, req{method: "GET", path: fmt.Sprintf("/api/v1/submissions/%d", first.ID), token: token})
	var stored warehouse.StoredSubmission
	if r.status != 200 || json.Unmarshal(r.body, &stored) != nil || stored.ID != first.ID || stored.Submission.Answers[m.CapabilityIDs()[0]] != sub.Answers[m.CapabilityIDs()[0]] {
		t.Errorf("get: %s", r)
	}
	r = w.do(t, w.base, req{method: "GET", path: "/api/v1/scorecards/life", token: token})
	var sc api.Scorecard
	if r.status != 200 || json.Unmarshal(r.body, &sc) != nil || sc.SubmissionID != second.ID || len(sc.Scorecard.Unknown) == 0 {
		t.Errorf("scorecard: %s", r)
	}
	if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/scorecards/" + w.released, token: token}); r.status != 404 {
		t.Errorf("scorecard of a cycle without a submission: %s", r)
	}
	if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/organisations/me", token: token}); r.status != 200 || !strings.Contains(string(r.body), "LIFE-1") {
		t.Errorf("profile: %s", r)
	}

	// Warehouse rules come back with their fields: closed cycle (409), unknown cycle (400).
	closed := sub
	closed.Cycle = "life-closed"
	r = post(closed)
	if eb := errorBody(t, r); r.status != 409 || len(eb.Error.Details) == 0 || eb.Error.Details[0].Rule != "cycle_closed" {
		t.Errorf("closed cycle: %s", r)
	}
	unknown := sub
	unknown.Cycle = "no-such-cycle"
	r = post(unknown)
	if eb := errorBody(t, r); r.status != 400 || len(eb.Error.Details) == 0 || eb.Error.Details[0].Rule != "unknown_cycle" {
		t.Errorf("unknown cycle: %s", r)
	}
	// Validation: every problem, each with its field.
	invalid := sub
	invalid.Answers = map[string]model.Answer{"NOPE-1": 2}
	invalid.Organisation.State = "XX"
	r = post(invalid)
	eb := errorBody(t, r)
	fields := map[string]string{}
	for _, d := range eb.Error.Details {
		fields[d.Field] = d.Rule
	}
	if r.status != 400 || fields["answers.NOPE-1"] != "unknown_capability" || fields["organisation.state"] != "unknown_state" || len(eb.Error.Details) < 3 {
		t.Errorf("invalid: %s", r)
	}

	// The stored submissions are in the audit log under the key's ID.
	audit := w.do(t, w.base, req{method: "GET", path: "/api/v1/audit", principal: pAdmin})
	for _, id := range []int64{first.ID, second.ID} {
		if !strings.Contains(string(audit.body), fmt.Sprintf(`"object":"submission/%d"`, id)) {
			t.Errorf("submission %d not audited", id)
		}
	}
}

func TestBulkUpload(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	m := w.reg.Latest()
	cycles := []string{"bulk-1", "bulk-2", "bulk-3"}
	for _, c := range cycles {
		if err := w.db.CreateCycle(ctx, warehouse.Cycle{ID: c, ModelVersion: m.Version, Epsilon: 1, Delta: 1e-6}); err != nil {
			t.Fatal(err)
		}
	}
	token, sub := newProvider(t, w, "BULK-1", "")
	var subs []model.Submission
	for _, c := range cycles {
		s := sub
		s.Cycle = c
		subs = append(subs, s)
	}
	var wide, long bytes.Buffer
	if err := fixtures.WriteCSVWide(&wide, m, subs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := fixtures.WriteCSVLong(&long, m, subs[2:]); err != nil {
		t.Fatal(err)
	}
	result := func(r resp) api.BulkResult {
		t.Helper()
		var res api.BulkResult
		if r.status != 200 || json.Unmarshal(r.body, &res) != nil {
			t.Fatalf("%s", r)
		}
		return res
	}
	form, ctype := multipartFile(t, "history.csv", wide.Bytes())
	res := result(w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions/bulk", token: token, ctype: ctype, body: form}))
	if !res.OK || res.Report.Total.Accepted != 2 || res.Report.Files[0].Format != "csv-wide" || res.Report.Files[0].File != "history.csv" {
		t.Errorf("multipart CSV wide: %+v", res.Report.Total)
	}
	res = result(w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions/bulk?filename=long.csv", token: token, ctype: "text/csv", body: long.Bytes()}))
	if !res.OK || res.Report.Total.Accepted != 1 || res.Report.Files[0].Format != "csv-long" {
		t.Errorf("raw CSV long: %+v", res.Report)
	}
	// Half good, half broken: the good half is stored, the report says what is wrong.
	broken := subs[0]
	broken.Answers = map[string]model.Answer{"NOPE": 1}
	good := subs[1]
	good.Answers = map[string]model.Answer{}
	for _, id := range m.CapabilityIDs() {
		good.Answers[id] = 3
	}
	var mixed bytes.Buffer
	if err := fixtures.WriteNDJSON(&mixed, []model.Submission{broken, good}); err != nil {
		t.Fatal(err)
	}
	res = result(w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions/bulk", token: token, ctype: "application/x-ndjson", body: mixed.Bytes()}))
	if res.OK || res.Report.Total.Superseded != 1 || res.Report.Total.Rejected != 1 || res.Report.Files[0].Problems[0].Row != 1 {
		t.Errorf("mixed: %+v", res.Report)
	}
	// Atomic: nothing is stored, and the answer is a 400 listing the problems with rows.
	r := w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions/bulk?atomic=true", token: token, ctype: "application/x-ndjson", body: mixed.Bytes()})
	eb := errorBody(t, r)
	if r.status != 400 || len(eb.Error.Details) == 0 || !strings.Contains(eb.Error.Details[0].Message, "line 1") {
		t.Errorf("atomic: %s", r)
	}
	hist, err := w.db.ListSubmissions(ctx, "BULK-1")
	if err != nil || len(hist) != 4 {
		t.Errorf("history: %d submissions (%v), want 4", len(hist), err)
	}
}

// TestConcurrentSubmissions has 50 providers submit at once, three times each: no
// error, and every submission stored (counted in the warehouse afterwards).
func TestConcurrentSubmissions(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	m := w.reg.Latest()
	const clients, rounds = 50, 3
	if err := w.db.CreateCycle(ctx, warehouse.Cycle{ID: "conc", ModelVersion: m.Version, Epsilon: 1, Delta: 1e-6}); err != nil {
		t.Fatal(err)
	}
	type client struct {
		token string
		sub   model.Submission
	}
	cs := make([]client, clients)
	for i := range cs {
		tok, sub := newProvider(t, w, fmt.Sprintf("CONC-%03d", i), "conc")
		cs[i] = client{tok, sub}
	}
	ids := m.CapabilityIDs()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan string, clients*rounds)
	for i := range cs {
		wg.Go(func() {
			c := cs[i]
			for round := range rounds {
				s := c.sub
				s.Answers = maps.Clone(c.sub.Answers)
				s.Answers[ids[round]] = model.Answer((int(s.Answers[ids[round]]) + 1 + round) % 5)
				r := w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions", token: c.token, ctype: "application/json", body: jsonBody(t, s)})
				if r.status != 201 {
					errs <- r.String()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	elapsed := time.Since(start)
	current, total, err := w.db.CountSubmissions(ctx, "conc")
	if err != nil || current != clients || total != clients*rounds {
		t.Fatalf("stored %d current, %d in all (%v); want %d and %d", current, total, err, clients, clients*rounds)
	}
	t.Logf("%d submissions from %d clients in %v (%.0f/s)", clients*rounds, clients, elapsed, float64(clients*rounds)/elapsed.Seconds())
}
