package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// population builds n valid CSV-wide rows (distinct organisations) and returns them with
// the header; bad lists row indexes (0-based) to break with an out-of-range answer.
func population(n int, bad ...int) []map[string]string {
	rows := make([]map[string]string, n)
	ids := testModel().CapabilityIDs()
	for i := range rows {
		s := sampleSubmission()
		s.Organisation.ID = fmt.Sprintf("org-%05d", i)
		s.Organisation.Name = ""
		for j, id := range ids {
			if id != "DEV-05" && j != 1 {
				s.Answers[id] = model.Answer((i + j) % 5)
			}
		}
		rows[i] = wideRecord(s)
	}
	for _, b := range bad {
		rows[b]["VDT-02"] = "9"
	}
	return rows
}

func TestAtomicVersusNonAtomic(t *testing.T) {
	content := wideCSV(nil, population(10, 3, 7)...)
	tests := []struct {
		atomic bool
		want   Counts
		rolled bool
		stored int
	}{
		{false, Counts{Submissions: 10, Valid: 8, Accepted: 8, Rejected: 2, Answers: 400, ProblemCount: 2}, false, 8},
		{true, Counts{Submissions: 10, Valid: 8, Rejected: 10, Answers: 400, ProblemCount: 2}, true, 0},
	}
	for _, tc := range tests {
		store := newFakeStore()
		rep := run(t, store, "pop.csv", "", content, Options{Atomic: tc.atomic})
		if rep.Total != tc.want {
			t.Errorf("atomic=%v: counts %+v, want %+v", tc.atomic, rep.Total, tc.want)
		}
		if rep.Files[0].RolledBack != tc.rolled || len(store.stored) != tc.stored {
			t.Errorf("atomic=%v: rolled back %v, stored %d", tc.atomic, rep.Files[0].RolledBack, len(store.stored))
		}
		if got := problemStrings(rep); len(got) != 2 || !strings.HasPrefix(got[0], "pop.csv row 5 column VDT-02: out_of_range") ||
			!strings.HasPrefix(got[1], "pop.csv row 9 column VDT-02: out_of_range") {
			t.Errorf("atomic=%v: problems %v", tc.atomic, got)
		}
		if tc.atomic && len(store.commits) != 0 {
			t.Errorf("atomic file with problems reached the store: %v", store.commits)
		}
	}
}

// TestAtomicWarehouseRejection: a clean file whose commit the warehouse refuses in part
// is rolled back as a whole; without atomic only the refused submission is lost.
func TestAtomicWarehouseRejection(t *testing.T) {
	rows := population(4)
	rows[2][model.ColCycle] = "2025"
	content := wideCSV(nil, rows...)
	for _, atomic := range []bool{false, true} {
		store := newFakeStore()
		store.closed["2025"] = true
		rep := run(t, store, "pop.csv", "", content, Options{Atomic: atomic})
		wantStored, wantRejected := 3, 1
		if atomic {
			wantStored, wantRejected = 0, 4
		}
		if len(store.stored) != wantStored || rep.Total.Rejected != wantRejected || rep.Files[0].RolledBack != atomic {
			t.Errorf("atomic=%v: stored %d rejected %d rolled back %v", atomic, len(store.stored), rep.Total.Rejected, rep.Files[0].RolledBack)
		}
		if got := problemStrings(rep); len(got) != 1 || got[0] != "pop.csv row 4 column cycle: cycle_closed: cycle 2025 is closed" {
			t.Errorf("atomic=%v: %v", atomic, got)
		}
	}
}

// TestResubmission: the same file twice is unchanged; a changed answer supersedes.
func TestResubmission(t *testing.T) {
	store := newFakeStore()
	rows := population(3)
	first := run(t, store, "a.csv", "", wideCSV(nil, rows...), Options{})
	if first.Total.Accepted != 3 {
		t.Fatalf("%s", first)
	}
	rows[1]["VDT-02"] = "0"
	again := run(t, store, "a.csv", "", wideCSV(nil, rows...), Options{})
	if again.Total.Unchanged != 2 || again.Total.Superseded != 1 || !again.OK() {
		t.Errorf("%s", again)
	}
}

// TestChunking: without atomic, commits come in chunks of ChunkSize, in file order.
func TestChunking(t *testing.T) {
	store := newFakeStore()
	rep := run(t, store, "pop.csv", "", wideCSV(nil, population(1100)...), Options{ChunkSize: 500, Workers: 3})
	if rep.Total.Accepted != 1100 {
		t.Fatalf("%s", rep)
	}
	if fmt.Sprint(store.commits) != "[500 500 100]" {
		t.Errorf("commits %v", store.commits)
	}
	for i, s := range store.stored {
		if want := fmt.Sprintf("org-%05d", i); s.Submission.Organisation.ID != want {
			t.Fatalf("stored[%d] = %s, want %s: output order is not file order", i, s.Submission.Organisation.ID, want)
		}
	}
	// Atomic files go to the store in one call.
	store = newFakeStore()
	run(t, store, "pop.csv", "", wideCSV(nil, population(1100)...), Options{ChunkSize: 500, Atomic: true})
	if fmt.Sprint(store.commits) != "[1100]" {
		t.Errorf("atomic commits %v", store.commits)
	}
}

// TestDeterministicAcrossWorkers: problems and scores do not depend on parallelism.
func TestDeterministicAcrossWorkers(t *testing.T) {
	content := wideCSV(nil, population(2000, 5, 700, 1999)...)
	var first string
	for _, w := range []int{1, 2, 7} {
		store := newFakeStore()
		rep := run(t, store, "pop.csv", "", content, Options{Workers: w})
		var b strings.Builder
		for _, p := range problemStrings(rep) {
			b.WriteString(p + "\n")
		}
		for _, s := range store.stored {
			fmt.Fprintf(&b, "%s %s %.2f\n", s.Submission.Organisation.ID, s.ContentHash, s.Score.Index)
		}
		if first == "" {
			first = b.String()
		} else if b.String() != first {
			t.Fatalf("workers=%d gives a different result", w)
		}
	}
}

func TestDryRun(t *testing.T) {
	rep := run(t, nil, "pop.csv", "", wideCSV(nil, population(5, 1)...), Options{})
	if rep.Total.Valid != 4 || rep.Total.Rejected != 1 || rep.Total.Accepted != 0 {
		t.Errorf("%+v", rep.Total)
	}
}

func TestStoreFailureStops(t *testing.T) {
	store := newFakeStore()
	store.failWith = errors.New("database is locked")
	rep, err := Ingest(context.Background(), store, testReg, []Input{
		{Name: "a.csv", Reader: strings.NewReader(wideCSV(nil, population(3)...))},
		{Name: "b.csv", Reader: strings.NewReader(wideCSV(nil, population(3)...))},
	}, Options{})
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("err = %v", err)
	}
	if rep == nil || len(rep.Files) != 1 {
		t.Fatalf("report of the work so far: %+v", rep)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Ingest(ctx, newFakeStore(), testReg, []Input{{Name: "a.csv", Reader: strings.NewReader(wideCSV(nil, population(2000)...))}}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestProgressAndReport(t *testing.T) {
	var calls []Progress
	content := wideCSV(nil, population(1500, 2)...)
	rep, err := Ingest(context.Background(), newFakeStore(), testReg, []Input{
		{Name: "a.csv", Reader: strings.NewReader(content), Size: int64(len(content))},
		{Name: "b.json", Reader: strings.NewReader(jsonDoc(sampleSubmission()))},
	}, Options{Progress: func(p Progress) { calls = append(calls, p) }})
	if err != nil {
		t.Fatal(err)
	}
	last := calls[len(calls)-1]
	if len(calls) < 4 || !last.Done || last.File != "b.json" {
		t.Errorf("progress calls %+v", calls)
	}
	for _, c := range calls {
		if c.File == "a.csv" && c.Done && (c.Bytes != int64(len(content)) || c.Submissions != 1500 || c.Rejected != 1) {
			t.Errorf("final progress of a.csv %+v", c)
		}
	}
	if rep.Total.Submissions != 1501 || rep.Total.Accepted != 1500 || rep.Total.Answers != 1501*40 {
		t.Errorf("total %+v", rep.Total)
	}
	if rep.Seconds <= 0 || rep.AnswersPerSecond <= 0 {
		t.Errorf("timing %v %v", rep.Seconds, rep.AnswersPerSecond)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	files := back["files"].([]any)
	f0 := files[0].(map[string]any)
	if f0["accepted"] != 1499.0 || f0["format"] != "csv-wide" || len(f0["problems"].([]any)) != 1 {
		t.Errorf("JSON report %s", b)
	}
	if p := f0["problems"].([]any)[0].(map[string]any); p["row"] != 4.0 || p["pointer"] != "VDT-02" || p["rule"] != "out_of_range" || p["field"] != "answers.VDT-02" || p["value"] != "9" {
		t.Errorf("JSON problem %v", p)
	}
	s := rep.String()
	for _, want := range []string{"ingested 2 file(s)", "a.csv (csv-wide): 1499 valid; 1499 accepted, 0 superseded, 0 unchanged, 1 rejected; 1 problems",
		"a.csv row 4 column VDT-02: out_of_range: VDT-02 answer 9 is outside 0..4", "b.json (json): 1 valid; 1 accepted"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestMaxProblems(t *testing.T) {
	rep := run(t, nil, "pop.csv", "", wideCSV(nil, population(30, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)...), Options{MaxProblems: 4})
	f := rep.Files[0]
	if len(f.Problems) != 4 || f.ProblemsOmitted != 6 || f.ProblemCount != 10 || rep.Total.Rejected != 10 {
		t.Errorf("%d kept, %d omitted, count %d", len(f.Problems), f.ProblemsOmitted, f.ProblemCount)
	}
}

// TestEmptyReportMarshals: a report with no problems still has lists, not nulls.
func TestEmptyReportMarshals(t *testing.T) {
	rep := run(t, newFakeStore(), "a.json", "", jsonDoc(sampleSubmission()), Options{})
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), `"problems":[]`) {
		t.Errorf("%s", b)
	}
	if !rep.OK() {
		t.Error("clean report not OK")
	}
}

// TestProblemFieldError maps a problem to the API's detail shape.
func TestProblemFieldError(t *testing.T) {
	p := Problem{File: "f.csv", Row: 2, Pointer: "VDT-02", Field: "answers.VDT-02", Rule: RuleOutOfRange, Value: "7", Message: "m"}
	if fe := p.FieldError(); fe != (model.FieldError{Field: "answers.VDT-02", Rule: "out_of_range", Value: "7", Message: "m"}) {
		t.Errorf("%+v", fe)
	}
	if fe := (Problem{Pointer: "ZZZ", Rule: RuleUnknownColumn}).FieldError(); fe.Field != "ZZZ" {
		t.Errorf("%+v", fe)
	}
}

func TestOnCommit(t *testing.T) {
	rows := population(3)
	rows[1][model.ColCycle] = "2025"
	content := wideCSV(nil, rows...)
	for _, atomic := range []bool{false, true} {
		store := newFakeStore()
		store.closed["2025"] = true
		var got []string
		run(t, store, "a.csv", "", content, Options{Atomic: atomic, OnCommit: func(c Committed) {
			got = append(got, fmt.Sprintf("%d %s %s %v", c.Row, c.Submission.Submission.Organisation.ID, c.Outcome.Status, c.Outcome.Err != nil))
		}})
		want := "[2 org-00000 accepted false 3 org-00001 rejected true 4 org-00002 accepted false]"
		if atomic {
			want = "[2 org-00000 rejected true 3 org-00001 rejected true 4 org-00002 rejected true]"
		}
		if fmt.Sprint(got) != want {
			t.Errorf("atomic=%v: %v", atomic, got)
		}
	}
}
