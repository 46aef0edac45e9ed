package warehouse

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hcztmm/warehouse/model"
)

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	ctx := context.Background()
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	db, path := openTest(t, Options{})
	mustCycle(t, db, "2026")
	if v, err := db.SchemaVersion(ctx); err != nil || v != len(ms) {
		t.Fatalf("schema version = %d, %v; want %d", v, err, len(ms))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		db = reopen(t, path, Options{})
		if v, err := db.SchemaVersion(ctx); err != nil || v != len(ms) {
			t.Fatalf("after reopen: schema version = %d, %v; want %d", v, err, len(ms))
		}
		var n int
		if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
			t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
		}
		if _, err := db.GetCycle(ctx, "2026"); err != nil {
			t.Fatalf("cycle lost on reopen: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadMigrationsRejectsBadSets(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name string
		fs   fstest.MapFS
		ok   bool
	}{
		{"ordered", fstest.MapFS{"migrations/0001_a.sql": file("SELECT 1"), "migrations/0002_b.sql": file("SELECT 2")}, true},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0003_c.sql": file("")}, false},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0001_b.sql": file("")}, false},
		{"bad name", fstest.MapFS{"migrations/1_a.sql": file("")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.fs)
			if (err == nil) != tc.ok {
				t.Fatalf("loadMigrations = %v, %v; want ok=%v", ms, err, tc.ok)
			}
		})
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (999, 'future', now())`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(ctx, path, testReg, Options{}); err == nil {
		db.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

func TestOpenTwiceInOneProcessIsRefused(t *testing.T) {
	_, path := openTest(t, Options{})
	db2, err := Open(context.Background(), path, testReg, Options{})
	if err == nil {
		db2.Close()
		t.Fatal("second Open of the same file succeeded")
	}
	wantKind(t, err, model.KindConflict, "already open")
}

func TestDataSurvivesCloseAndReopen(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustCycle(t, db, "2026")
	first := commitOK(t, db, false, scored(t, "org-a", "2026", 1), scored(t, "org-b", "2026", 2))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = reopen(t, path, Options{})
	got, err := db.GetSubmission(ctx, first[0].SubmissionID)
	if err != nil {
		t.Fatal(err)
	}
	if got.OrgID != "org-a" || len(got.Submission.Answers) != len(testReg.Latest().CapabilityIDs()) {
		t.Fatalf("reopened submission = %+v", got.SubmissionSummary)
	}
	// The supersede state is rebuilt from the file: same content is unchanged, new content
	// supersedes the stored one and gets a fresh ID.
	out := commitOK(t, db, false, scored(t, "org-a", "2026", 1), scored(t, "org-b", "2026", 3))
	if out[0].Status != StatusUnchanged || out[0].SubmissionID != first[0].SubmissionID {
		t.Errorf("resend after reopen = %+v, want unchanged %d", out[0], first[0].SubmissionID)
	}
	if out[1].Status != StatusSuperseded || out[1].Replaced != first[1].SubmissionID || out[1].SubmissionID <= first[1].SubmissionID {
		t.Errorf("change after reopen = %+v, want superseding %d with a new ID", out[1], first[1].SubmissionID)
	}
	if err := db.CloseCycle(ctx, "2026"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, path, Options{})
	out = commitOK(t, db, false, scored(t, "org-c", "2026", 4))
	wantKind(t, out[0].Err, model.KindConflict, "2026", "closed")
}

func TestCloseDrainsQueuedWorkAndRefusesNew(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustCycle(t, db, "2026")
	release := holdWriter(t, db)
	var wg sync.WaitGroup
	outs := make([][]Outcome, 10)
	errs := make([]error, 10)
	for i := range 10 {
		wg.Go(func() {
			outs[i], errs[i] = db.Commit(ctx, []ScoredSubmission{scored(t, "org-"+string(rune('a'+i)), "2026", i)}, false)
		})
	}
	for len(db.reqs) < 10 {
		waitABit()
	}
	closed := make(chan error)
	go func() { closed <- db.Close() }()
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range 10 {
		if errs[i] != nil || outs[i][0].Status != StatusAccepted {
			t.Errorf("queued commit %d: %v %+v", i, errs[i], outs[i])
		}
	}
	if _, err := db.Commit(ctx, []ScoredSubmission{scored(t, "late", "2026", 1)}, false); !isErr(err, ErrClosed) {
		t.Errorf("commit after close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	db = reopen(t, path, Options{})
	if cur, total, err := db.CountSubmissions(ctx, "2026"); err != nil || cur != 10 || total != 10 {
		t.Errorf("after drain: current %d total %d %v, want 10 10", cur, total, err)
	}
}

func TestArrowBatchesAreReleased(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	// Tiny batches so that every view holds several record batches.
	db, _ := openTest(t, Options{Allocator: mem, BatchRows: 7, Threads: 1})
	mustCycle(t, db, "2026")
	var threads int
	if err := db.sql.QueryRow(`SELECT current_setting('threads')`).Scan(&threads); err != nil || threads != 1 {
		t.Errorf("threads = %d, %v; want 1", threads, err)
	}
	var subs []ScoredSubmission
	for i := range 30 {
		subs = append(subs, scored(t, "org-"+itoa(i), "2026", i))
	}
	out := commitOK(t, db, false, subs...)
	for i, o := range out {
		if o.Status != StatusAccepted {
			t.Fatalf("outcome %d = %+v", i, o)
		}
	}
	// A failing transaction must release its batches too.
	bad := scored(t, "org-bad", "2026", 99)
	bad.Submission.Answers[testReg.Latest().CapabilityIDs()[0]] = 100
	commitOK(t, db, false, bad)
	if n := db.Stats().Answers; n != int64(30*len(testReg.Latest().CapabilityIDs())) {
		t.Errorf("answers stored = %d", n)
	}
	var rows int
	if err := db.sql.QueryRow(`SELECT count(*) FROM answers`).Scan(&rows); err != nil || int64(rows) != db.Stats().Answers {
		t.Errorf("answers rows = %d, %v; stats say %d", rows, err, db.Stats().Answers)
	}
	mem.AssertSize(t, 0)
}

func TestInMemoryDatabase(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, ":memory:", testReg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustCycle(t, db, "2026")
	out := commitOK(t, db, false, scored(t, "org-a", "2026", 1))
	if got, err := db.GetSubmission(ctx, out[0].SubmissionID); err != nil || got.OrgID != "org-a" {
		t.Fatalf("in-memory round trip: %+v, %v", got, err)
	}
}
