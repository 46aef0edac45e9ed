package warehouse

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

func TestCommitOutcomes(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")
	mustCycle(t, db, "2025")
	if err := db.CloseCycle(ctx, "2025"); err != nil {
		t.Fatal(err)
	}
	// The registry knows one model version only, so a cycle on another version can only
	// be planted in the writer's state.
	if err := db.do(ctx, func(w *writer) error {
		w.cycles["legacy"] = cycleState{modelVersion: "0.9", open: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	a1 := commitOK(t, db, false, scored(t, "org-a", "2026", 1))[0]
	if a1.Status != StatusAccepted || a1.SubmissionID == 0 || a1.Err != nil {
		t.Fatalf("first submission = %+v", a1)
	}

	unknownModel := scored(t, "org-x", "2026", 1)
	unknownModel.Submission.ModelVersion, unknownModel.Score.ModelVersion = "9.9", "9.9"
	noHash := scored(t, "org-h", "2026", 5)
	noHash.ContentHash = ""

	tests := []struct {
		name    string
		sub     ScoredSubmission
		status  OutcomeStatus
		kind    model.Kind
		words   []string
		replace int64
	}{
		{name: "same content is unchanged", sub: scored(t, "org-a", "2026", 1), status: StatusUnchanged},
		{name: "new content supersedes", sub: scored(t, "org-a", "2026", 2), status: StatusSuperseded, replace: a1.SubmissionID},
		{name: "new organisation accepted", sub: scored(t, "org-b", "2026", 3), status: StatusAccepted},
		{name: "missing hash is computed", sub: noHash, status: StatusAccepted},
		{name: "unknown cycle", sub: scored(t, "org-a", "2030", 1), status: StatusRejected, kind: model.KindInvalid, words: []string{`"2030"`, "does not exist"}},
		{name: "closed cycle", sub: scored(t, "org-a", "2025", 1), status: StatusRejected, kind: model.KindConflict, words: []string{`"2025"`, "closed"}},
		{name: "model version of cycle differs", sub: scored(t, "org-a", "legacy", 1), status: StatusRejected, kind: model.KindInvalid, words: []string{`"legacy"`, "0.9"}},
		{name: "unknown model version", sub: unknownModel, status: StatusRejected, kind: model.KindInvalid, words: []string{"9.9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := commitOK(t, db, false, tc.sub)[0]
			if o.Status != tc.status {
				t.Fatalf("status = %s (%v), want %s", o.Status, o.Err, tc.status)
			}
			if tc.status == StatusRejected {
				wantKind(t, o.Err, tc.kind, tc.words...)
				return
			}
			if o.Err != nil || o.Replaced != tc.replace {
				t.Errorf("outcome = %+v, want Replaced %d", o, tc.replace)
			}
		})
	}

	// Resending the hash-less submission is recognised by the computed hash.
	if o := commitOK(t, db, false, noHash)[0]; o.Status != StatusUnchanged {
		t.Errorf("resent hash-less submission = %+v, want unchanged", o)
	}
	hist, err := db.ListSubmissions(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].SupersededBy != hist[1].ID || hist[1].Replaces != hist[0].ID || !hist[1].Current() {
		t.Errorf("history of org-a = %+v", hist)
	}
	if cur, total, err := db.CountSubmissions(ctx, "2026"); err != nil || cur != 3 || total != 4 {
		t.Errorf("counts = %d/%d %v, want 3 current of 4", cur, total, err)
	}
	st := db.Stats()
	if st.Submissions != 4 || st.Unchanged != 2 || st.Rejected != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCommitSameOrganisationTwiceInOneCall(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")
	out := commitOK(t, db, false, scored(t, "org-a", "2026", 1), scored(t, "org-a", "2026", 2), scored(t, "org-a", "2026", 2))
	if out[0].Status != StatusAccepted || out[1].Status != StatusSuperseded || out[1].Replaced != out[0].SubmissionID ||
		out[2].Status != StatusUnchanged || out[2].SubmissionID != out[1].SubmissionID {
		t.Fatalf("outcomes = %+v", out)
	}
	first, err := db.GetSubmission(ctx, out[0].SubmissionID)
	if err != nil {
		t.Fatal(err)
	}
	if first.SupersededBy != out[1].SubmissionID {
		t.Errorf("first superseded_by = %d, want %d", first.SupersededBy, out[1].SubmissionID)
	}
	cur, err := db.CurrentSubmission(ctx, "org-a", "2026")
	if err != nil || cur.ID != out[1].SubmissionID {
		t.Errorf("current = %v, %v; want %d", cur, err, out[1].SubmissionID)
	}
}

func TestCommitAtomicIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")
	commitOK(t, db, false, scored(t, "org-a", "2026", 1))

	bad := []ScoredSubmission{scored(t, "org-a", "2026", 2), scored(t, "org-b", "2026", 2), scored(t, "org-c", "2030", 2), scored(t, "org-d", "2026", 2)}
	out := commitOK(t, db, true, bad...)
	for i, o := range out {
		if o.Status != StatusRejected {
			t.Fatalf("outcome %d = %+v, want rejected", i, o)
		}
	}
	wantKind(t, out[2].Err, model.KindInvalid, `"2030"`)
	wantKind(t, out[0].Err, model.KindInvalid, "submission 3", "all-or-nothing", `"2030"`)
	if cur, total, _ := db.CountSubmissions(ctx, "2026"); cur != 1 || total != 1 {
		t.Fatalf("after rejected atomic call: %d/%d stored, want 1/1", cur, total)
	}

	// The same call without the bad member goes through whole, and the state it would
	// have changed (org-a superseded) was not touched by the rejected attempt.
	good := []ScoredSubmission{bad[0], bad[1], bad[3]}
	out = commitOK(t, db, true, good...)
	if out[0].Status != StatusSuperseded || out[1].Status != StatusAccepted || out[2].Status != StatusAccepted {
		t.Fatalf("outcomes = %+v", out)
	}
	if out[1].SubmissionID != out[0].SubmissionID+1 {
		t.Errorf("IDs of the rejected call were not reused: %+v", out)
	}
}

// badAnswers makes a submission the database itself refuses (answers CHECK constraint),
// which passes every check of the writer: the failure happens inside the transaction.
func badAnswers(t testing.TB, org, cycle string) ScoredSubmission {
	s := scored(t, org, cycle, 7)
	s.Submission.Answers[testReg.Latest().CapabilityIDs()[0]] = 100
	return s
}

func TestFailingMemberDoesNotSinkItsGroup(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")

	release := holdWriter(t, db)
	const n = 12
	outs := make([][]Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := scored(t, fmt.Sprintf("org-%02d", i), "2026", i)
			if i == 5 {
				s = badAnswers(t, "org-bad", "2026")
			}
			var err error
			if outs[i], err = db.Commit(ctx, []ScoredSubmission{s}, false); err != nil {
				t.Errorf("commit %d: %v", i, err)
			}
		})
	}
	for len(db.reqs) < n {
		waitABit()
	}
	release() // the writer now takes all n as one group, whose transaction fails
	wg.Wait()
	for i, out := range outs {
		switch {
		case i == 5 && out[0].Status != StatusRejected:
			t.Errorf("bad member = %+v, want rejected", out[0])
		case i != 5 && out[0].Status != StatusAccepted:
			t.Errorf("member %d = %+v, want accepted", i, out[0])
		}
	}
	wantKind(t, outs[5][0].Err, model.KindInternal, "CHECK")
	if st := db.Stats(); st.FailedTransactions == 0 || st.Submissions != n-1 {
		t.Errorf("stats = %+v, want failed transactions and %d submissions", st, n-1)
	}

	// Within one non-atomic call the good submissions are stored too; an atomic call
	// with the same content stores nothing.
	mixed := []ScoredSubmission{scored(t, "org-m1", "2026", 1), badAnswers(t, "org-m2", "2026"), scored(t, "org-m3", "2026", 3)}
	out := commitOK(t, db, true, mixed...)
	for i, o := range out {
		if o.Status != StatusRejected {
			t.Errorf("atomic member %d = %+v, want rejected", i, o)
		}
	}
	out = commitOK(t, db, false, mixed...)
	if out[0].Status != StatusAccepted || out[1].Status != StatusRejected || out[2].Status != StatusAccepted {
		t.Errorf("non-atomic outcomes = %+v", out)
	}
	if cur, total, _ := db.CountSubmissions(ctx, "2026"); cur != n-1+2 || total != cur {
		t.Errorf("stored %d/%d, want %d", cur, total, n+1)
	}
	var orphans int
	if err := db.sql.QueryRow(`SELECT count(*) FROM answers WHERE submission_id NOT IN (SELECT submission_id FROM submissions)`).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("orphan answers = %d, %v", orphans, err)
	}
}

func TestConcurrentCommitsAreGroupCommitted(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")
	const writers, each = 50, 20
	subs := make([][]ScoredSubmission, writers)
	for g := range writers {
		for i := range each {
			subs[g] = append(subs[g], scored(t, fmt.Sprintf("org-%02d-%02d", g, i), "2026", g*each+i))
		}
	}
	ids := make([][]int64, writers)
	var wg sync.WaitGroup
	// Readers run beside the writer: they use the pool and must see committed data only
	// (and the writer's scratch catalog must not leak into their connections).
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			cur, total, err := db.CountSubmissions(ctx, "2026")
			scores, serr := db.CurrentScores(ctx, "2026")
			if err != nil || serr != nil || cur != total || cur < last || len(scores) < cur {
				t.Errorf("concurrent read: %d/%d (last %d), %d scores, %v %v", cur, total, last, len(scores), err, serr)
				return
			}
			last = cur
		}
	})
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				out, err := db.Commit(ctx, subs[g][i:i+1], false)
				if err != nil || out[0].Status != StatusAccepted {
					t.Errorf("writer %d commit %d: %v %+v", g, i, err, out)
					return
				}
				ids[g] = append(ids[g], out[0].SubmissionID)
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	seen := map[int64]bool{}
	for _, gs := range ids {
		for _, id := range gs {
			if seen[id] {
				t.Fatalf("submission ID %d handed out twice", id)
			}
			seen[id] = true
		}
	}
	var rows, orgs, answers int
	err := db.sql.QueryRow(`SELECT count(*), count(DISTINCT org_id), (SELECT count(*) FROM answers) FROM submissions`).Scan(&rows, &orgs, &answers)
	if err != nil {
		t.Fatal(err)
	}
	caps := len(testReg.Latest().CapabilityIDs())
	if rows != writers*each || orgs != writers*each || answers != writers*each*caps {
		t.Errorf("stored %d submissions of %d organisations with %d answers, want %d, %d, %d", rows, orgs, answers, writers*each, writers*each, writers*each*caps)
	}
	st := db.Stats()
	t.Logf("%d single-submission commits from %d goroutines in %d transactions", writers*each, writers, st.Transactions)
	if st.Transactions > writers*each/4 {
		t.Errorf("%d transactions for %d submissions: group commit is not grouping", st.Transactions, writers*each)
	}
	if st.Requests != writers*each {
		t.Errorf("requests = %d", st.Requests)
	}
}

func TestCommitWithCancelledContext(t *testing.T) {
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Commit(ctx, []ScoredSubmission{scored(t, "org-a", "2026", 1)}, false); !isErr(err, context.Canceled) {
		t.Fatalf("commit with cancelled context: %v", err)
	}
	if out := commitOK(t, db, false); len(out) != 0 {
		t.Fatalf("empty commit = %+v", out)
	}
}
