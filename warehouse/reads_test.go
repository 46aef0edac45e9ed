package warehouse

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/model"
)

func TestStoredSubmissionRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")
	in := scored(t, "org-a", "2026", 3)
	in.Submission.SubmittedAt = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	in.Submission.Answers[testReg.Latest().CapabilityIDs()[2]] = model.Unknown
	in.Score = testReg.Latest().Score(in.Submission.Answers)
	before := time.Now().UTC().Add(-time.Second)
	id := commitOK(t, db, false, in)[0].SubmissionID

	for name, get := range map[string]func() (*StoredSubmission, error){
		"by id":   func() (*StoredSubmission, error) { return db.GetSubmission(ctx, id) },
		"current": func() (*StoredSubmission, error) { return db.CurrentSubmission(ctx, "org-a", "2026") },
	} {
		t.Run(name, func(t *testing.T) {
			got, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Submission, in.Submission) {
				t.Errorf("submission = %+v\nwant %+v", got.Submission, in.Submission)
			}
			if got.Keys != in.Keys || got.Source != "test" || got.ContentHash != in.ContentHash || !got.Current() {
				t.Errorf("stored = %+v", got.SubmissionSummary)
			}
			if got.ReceivedAt.Before(before) || got.ReceivedAt.After(time.Now().Add(time.Second)) {
				t.Errorf("received_at = %v", got.ReceivedAt)
			}
			wantCard, _ := json.Marshal(in.Score)
			gotCard, _ := json.Marshal(got.Score)
			if string(gotCard) != string(wantCard) {
				t.Errorf("scorecard = %s\nwant %s", gotCard, wantCard)
			}
		})
	}

	_, err := db.GetSubmission(ctx, 999)
	wantKind(t, err, model.KindNotFound, "999")
	_, err = db.CurrentSubmission(ctx, "org-a", "2030")
	wantKind(t, err, model.KindNotFound, "org-a", "2030")
	_, _, err = db.CountSubmissions(ctx, "2030")
	wantKind(t, err, model.KindNotFound, "2030")
	if hist, err := db.ListSubmissions(ctx, "nobody"); err != nil || len(hist) != 0 {
		t.Errorf("history of unknown org = %+v, %v", hist, err)
	}
}

func TestOrganisationKeepsLatestProfile(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2025")
	mustCycle(t, db, "2026")
	first := scored(t, "org-a", "2025", 1)
	commitOK(t, db, false, first)
	o1, err := db.Organisation(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	if o1.Profile != first.Submission.Organisation || o1.Keys != first.Keys || !o1.FirstSeen.Equal(o1.UpdatedAt) {
		t.Errorf("organisation = %+v, want %+v", o1, first.Submission.Organisation)
	}
	time.Sleep(2 * time.Millisecond)
	second := scored(t, "org-a", "2026", 2) // seed 2: another state, size and type
	commitOK(t, db, false, second)
	o2, err := db.Organisation(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	if o2.Profile != second.Submission.Organisation || o2.Keys != second.Keys || !o2.FirstSeen.Equal(o1.FirstSeen) || !o2.UpdatedAt.After(o1.UpdatedAt) {
		t.Errorf("organisation = %+v, want profile %+v first seen %v", o2, second.Submission.Organisation, o1.FirstSeen)
	}
	// The 2025 submission keeps the profile it was submitted with.
	old, err := db.CurrentSubmission(ctx, "org-a", "2025")
	if err != nil || old.Submission.Organisation != first.Submission.Organisation || old.Keys != first.Keys {
		t.Errorf("2025 snapshot = %+v, %v", old, err)
	}
	_, err = db.Organisation(ctx, "org-z")
	wantKind(t, err, model.KindNotFound, "org-z")
}

func TestCurrentScoresReturnsLatestPerOrganisation(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2025")
	mustCycle(t, db, "2026")
	m := testReg.Latest()
	latestA := scored(t, "org-a", "2026", 2)
	latestA.Submission.Answers[m.CapabilityIDs()[5]] = model.Unknown
	latestA.Score = m.Score(latestA.Submission.Answers)
	b := scored(t, "org-b", "2026", 4)
	commitOK(t, db, false, scored(t, "org-a", "2026", 1), b, scored(t, "org-c", "2025", 3))
	commitOK(t, db, false, latestA)

	got, err := db.CurrentScores(ctx, "2026")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].OrgID != "org-a" || got[1].OrgID != "org-b" {
		t.Fatalf("CurrentScores = %+v", got)
	}
	for i, want := range []ScoredSubmission{latestA, b} {
		g := got[i]
		if g.Keys != want.Keys || g.Posture != want.Score.Posture || g.Index != want.Score.Index {
			t.Errorf("%s: %+v, want keys %+v posture %d index %v", g.OrgID, g, want.Keys, want.Score.Posture, want.Score.Index)
		}
		for k, id := range m.CapabilityIDs() {
			if g.Answers[k] != want.Submission.Answers[id] {
				t.Errorf("%s: answer %s = %v, want %v", g.OrgID, id, g.Answers[k], want.Submission.Answers[id])
			}
		}
		for k, d := range want.Score.Domains {
			if gd := g.Domains[k]; gd.ID != d.ID || gd.Index != d.Index || gd.Posture != d.Posture || gd.Assessed != d.Assessed {
				t.Errorf("%s: domain %d = %+v, want %+v", g.OrgID, k, gd, d)
			}
		}
	}
	if empty, err := db.CurrentScores(ctx, "2025"); err != nil || len(empty) != 1 {
		t.Errorf("2025 = %+v, %v", empty, err)
	}
	_, err = db.CurrentScores(ctx, "1999")
	wantKind(t, err, model.KindNotFound, "1999")
}
