package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
)

// populationFile writes one cycle of a synthetic population as CSV wide.
func populationFile(t *testing.T, orgs int, seed uint64) (string, int) {
	t.Helper()
	m := model.MustBuiltin().Latest()
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: orgs, Cycles: 1, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "population.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := fixtures.WriteCSVWide(w, m, pop.Submissions); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, len(pop.Submissions)
}

// TestKillDuringBulkIngest kills the real ingest process with SIGKILL at random points of a
// bulk load of many transactions, then checks that the database holds only whole
// submissions, and that a rerun completes the load.
func TestKillDuringBulkIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds a large file and kills processes")
	}
	// Each round loads a different population over the same organisations, so kills land
	// on first submissions and on supersessions alike.
	var files []string
	var total int
	for i := range 3 {
		var f string
		f, total = populationFile(t, 30000, uint64(11+i))
		files = append(files, f)
	}
	db := newDB(t, "2024")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("kill points drawn with seed %d", seed)
	for i, file := range files {
		cmd := exec.Command(binPath, "ingest", "--db", db, "--chunk-size", "1000", "--json", file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(100+rng.IntN(1200)) * time.Millisecond
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Logf("kill %d: %v (process already ended)", i, err)
		}
		_ = cmd.Wait()
		res := checkDB(t, db)
		t.Logf("round %d killed after %s: %d submissions stored, all whole", i, delay, res)
	}
	// Completing the last load makes every organisation current with its last answers.
	code, r, stderr := ingestJSON(t, "--db", db, files[len(files)-1])
	if code != exitOK || r.Total.Accepted+r.Total.Superseded+r.Total.Unchanged != total {
		t.Fatalf("rerun: exit %d %+v: %s", code, r.Total, stderr)
	}
	checkDB(t, db)
	again, r2, _ := ingestJSON(t, "--db", db, files[len(files)-1])
	if again != exitOK || r2.Total.Unchanged != total {
		t.Fatalf("second rerun should change nothing: %+v", r2.Total)
	}
}

// TestAcknowledgedSubmissionsSurviveKill kills ingest the moment it has printed its report,
// before it has checkpointed and closed, and checks every acknowledged submission is there.
func TestAcknowledgedSubmissionsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test kills processes")
	}
	file, total := populationFile(t, 4000, 12)
	db := newDB(t, "2024")
	cmd := exec.Command(binPath, "ingest", "--db", db, "--json", file)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var report ingest.Report
	if err := json.NewDecoder(stdout).Decode(&report); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if report.Total.Accepted != total {
		t.Fatalf("acknowledged %d of %d", report.Total.Accepted, total)
	}
	if got := checkDB(t, db); got != total {
		t.Fatalf("after kill %d submissions stored, %d were acknowledged", got, total)
	}
}

// checkDB runs the integrity check through the real binary and returns the stored count.
func checkDB(t *testing.T, db string) int {
	t.Helper()
	out, err := exec.Command(binPath, "check", "--db", db, "--json").Output()
	var res struct {
		Submissions        int     `json:"submissions"`
		Incomplete         []int64 `json:"incomplete"`
		OrphanAnswers      int     `json:"orphan_answers"`
		OrphanDomainScores int     `json:"orphan_domain_scores"`
		DuplicateCurrent   int     `json:"duplicate_current"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("check: %v %v %s", err, jerr, out)
	}
	if err != nil || len(res.Incomplete) > 0 || res.OrphanAnswers > 0 || res.OrphanDomainScores > 0 || res.DuplicateCurrent > 0 {
		t.Fatalf("integrity after kill: %v %+v", err, res)
	}
	return res.Submissions
}
