package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// newDB creates a warehouse file with the given cycles through the CLI.
func newDB(t *testing.T, cycles ...string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "wh.duckdb")
	for _, c := range cycles {
		if code, _, stderr := run(t, "cycles", "create", "--db", db, "--id", c); code != exitOK {
			t.Fatalf("cycles create %s: %d %s", c, code, stderr)
		}
	}
	return db
}

// releasedDB creates a warehouse with cycle 2024 holding a population of orgs and one
// release of it (2024-r001) at the given epsilon, all through the CLI.
func releasedDB(t *testing.T, orgs int, seed uint64, epsilon string) string {
	t.Helper()
	file, _ := populationFile(t, orgs, seed)
	db := newDB(t, "2024")
	if code, _, stderr := run(t, "ingest", "--db", db, file); code != exitOK {
		t.Fatalf("ingest: %s", stderr)
	}
	if code, _, stderr := run(t, "release", "--db", db, "--cycle", "2024", "--epsilon", epsilon); code != exitOK {
		t.Fatalf("release: %s", stderr)
	}
	return db
}

func ingestJSON(t *testing.T, args ...string) (int, ingest.Report, string) {
	t.Helper()
	code, out, stderr := run(t, append([]string{"ingest", "--json"}, args...)...)
	var r ingest.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("ingest --json output %q (stderr %s): %v", out, stderr, err)
	}
	return code, r, stderr
}

func TestEveryFormatRoundTrips(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, "fixtures", "--orgs", "120", "--cycles", "1", "--seed", "3", "--out", dir,
		"--formats", "json,ndjson,csv-wide,csv-long,xlsx", "--quiet"); code != exitOK {
		t.Fatalf("fixtures: %s", stderr)
	}
	pop, err := fixtures.Generate(model.MustBuiltin().Latest(), fixtures.Options{Orgs: 120, Cycles: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := len(pop.Submissions)
	db := newDB(t, "2024")

	glob := func(pattern string) []string {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(files) == 0 {
			t.Fatalf("no files for %s", pattern)
		}
		return files
	}
	// The first format stores everything; every other format must decode to the same
	// content, which the warehouse recognises by hash: nothing changes.
	code, r, stderr := ingestJSON(t, append([]string{"--db", db}, glob("json/2024/*.json")...)...)
	if code != exitOK || r.Total.Accepted != want {
		t.Fatalf("json: exit %d accepted %d of %d: %s", code, r.Total.Accepted, want, stderr)
	}
	for _, f := range []struct{ format, pattern string }{
		{"ndjson", "ndjson/*.ndjson"}, {"csv-wide", "csv-wide/*.csv"}, {"csv-long", "csv-long/*.csv"}, {"xlsx", "xlsx/2024/*.xlsx"},
	} {
		code, r, stderr := ingestJSON(t, append([]string{"--db", db}, glob(f.pattern)...)...)
		if code != exitOK || r.Total.Unchanged != want || r.Total.Accepted+r.Total.Superseded != 0 {
			t.Errorf("%s: exit %d, counts %+v: %s", f.format, code, r.Total, stderr)
		}
	}

	// And what is stored is what was generated.
	wh, err := warehouse.Open(context.Background(), db, model.MustBuiltin(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	for _, s := range pop.Submissions[:10] {
		got, err := wh.CurrentSubmission(context.Background(), s.Organisation.ID, s.Cycle)
		if err != nil {
			t.Fatal(err)
		}
		if got.Submission.Organisation != s.Organisation || len(got.Submission.Answers) != len(s.Answers) {
			t.Fatalf("stored %+v\nwant %+v", got.Submission.Organisation, s.Organisation)
		}
		for id, a := range s.Answers {
			if got.Submission.Answers[id] != a {
				t.Fatalf("%s %s = %v, want %v", s.Organisation.ID, id, got.Submission.Answers[id], a)
			}
		}
		if want := model.MustBuiltin().Latest().Score(s.Answers); got.Score.Posture != want.Posture || got.Score.Index != want.Index {
			t.Fatalf("stored score P%d %.2f, want P%d %.2f", got.Score.Posture, got.Score.Index, want.Posture, want.Index)
		}
	}
}

const wideHeader = "org_id,org_name,state,beds,org_type,cycle,model_version,submitted_at"

// wideFile writes a CSV-wide file whose rows are given as profile prefix + answers.
func wideFile(t *testing.T, rows ...string) string {
	t.Helper()
	m := model.MustBuiltin().Latest()
	header := wideHeader + "," + strings.Join(m.CapabilityIDs(), ",")
	path := filepath.Join(t.TempDir(), "sub.csv")
	if err := os.WriteFile(path, []byte(header+"\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// wideRow is a valid row for an organisation with every answer at level, with overrides.
func wideRow(org, state string, level string, overrides map[string]string) string {
	m := model.MustBuiltin().Latest()
	cells := []string{org, "", state, "120", "community", "2026", "1.0", ""}
	for _, id := range m.CapabilityIDs() {
		v := level
		if o, ok := overrides[id]; ok {
			v = o
		}
		cells = append(cells, v)
	}
	return strings.Join(cells, ",")
}

func TestIngestExitCodesAndAtomicity(t *testing.T) {
	good1 := wideRow("ORG-A", "TX", "1", nil)
	good2 := wideRow("ORG-B", "OH", "2", nil)
	bad := wideRow("ORG-C", "TX", "1", map[string]string{"VDT-02": "7"})

	t.Run("all good", func(t *testing.T) {
		db := newDB(t, "2026")
		code, r, _ := ingestJSON(t, "--db", db, wideFile(t, good1, good2))
		if code != exitOK || r.Total.Accepted != 2 {
			t.Fatalf("exit %d %+v", code, r.Total)
		}
		// Same file again: idempotent.
		code, r, _ = ingestJSON(t, "--db", db, wideFile(t, good1, good2))
		if code != exitOK || r.Total.Unchanged != 2 {
			t.Fatalf("re-ingest: exit %d %+v", code, r.Total)
		}
		// A changed answer supersedes, keeping history.
		code, r, _ = ingestJSON(t, "--db", db, wideFile(t, wideRow("ORG-A", "TX", "2", nil)))
		if code != exitOK || r.Total.Superseded != 1 {
			t.Fatalf("resubmission: exit %d %+v", code, r.Total)
		}
	})
	t.Run("partial", func(t *testing.T) {
		db := newDB(t, "2026")
		code, r, stderr := ingestJSON(t, "--db", db, wideFile(t, good1, bad, good2))
		if code != exitPartial || r.Total.Accepted != 2 || r.Total.Rejected != 1 {
			t.Fatalf("exit %d %+v", code, r.Total)
		}
		p := r.Files[0].Problems
		if len(p) != 1 || p[0].Row != 3 || p[0].Field != "answers.VDT-02" || p[0].Rule != "out_of_range" || p[0].Value != "7" {
			t.Fatalf("problems %+v (%s)", p, stderr)
		}
	})
	t.Run("atomic", func(t *testing.T) {
		db := newDB(t, "2026")
		code, r, _ := ingestJSON(t, "--db", db, "--atomic", wideFile(t, good1, bad, good2))
		if code != exitFailure || r.Total.Accepted != 0 || !r.Files[0].RolledBack {
			t.Fatalf("exit %d %+v", code, r.Files[0])
		}
		if code, out, _ := run(t, "cycles", "list", "--db", db, "--json"); code != exitOK || !strings.Contains(out, `"2026"`) {
			t.Fatalf("cycles list: %s", out)
		}
		assertStored(t, db, 0)
	})
	t.Run("nothing written", func(t *testing.T) {
		db := newDB(t, "2026")
		code, _, stderr := run(t, "ingest", "--db", db, wideFile(t, bad))
		if code != exitFailure || !strings.Contains(stderr, "row 2 column VDT-02: out_of_range: VDT-02 answer 7 is outside 0..4") {
			t.Fatalf("exit %d stderr %s", code, stderr)
		}
	})
	t.Run("unknown cycle", func(t *testing.T) {
		db := newDB(t, "2025")
		code, r, _ := ingestJSON(t, "--db", db, wideFile(t, good1))
		if code != exitFailure || r.Total.Rejected != 1 || r.Files[0].Problems[0].Rule != "unknown_cycle" {
			t.Fatalf("exit %d %+v", code, r.Files[0].Problems)
		}
	})
	t.Run("closed cycle", func(t *testing.T) {
		db := newDB(t, "2026")
		if code, _, stderr := run(t, "cycles", "close", "--db", db, "--id", "2026"); code != exitOK {
			t.Fatal(stderr)
		}
		code, r, _ := ingestJSON(t, "--db", db, wideFile(t, good1))
		if code != exitFailure || r.Files[0].Problems[0].Rule != "cycle_closed" {
			t.Fatalf("exit %d %+v", code, r.Files[0].Problems)
		}
	})
}

// assertStored checks the number of stored submissions and that they are whole.
func assertStored(t *testing.T, db string, want int) {
	t.Helper()
	code, out, stderr := run(t, "check", "--db", db, "--json")
	var res warehouse.Integrity
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("check output %q (%s): %v", out, stderr, err)
	}
	if code != exitOK || !res.OK() {
		t.Fatalf("integrity: exit %d %+v", code, res)
	}
	if want >= 0 && res.Submissions != want {
		t.Fatalf("stored %d submissions, want %d", res.Submissions, want)
	}
}
