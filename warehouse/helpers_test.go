package warehouse

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/model"
)

var testReg = model.MustBuiltin()

// openTest opens a warehouse in a fresh temporary directory and closes it at the end.
func openTest(t testing.TB, opts Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wh.duckdb")
	db := reopen(t, path, opts)
	return db, path
}

// reopen opens an existing warehouse file and closes it at the end of the test.
func reopen(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, testReg, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

// mustCycle creates an open cycle on the latest model.
func mustCycle(t testing.TB, db *DB, id string) {
	t.Helper()
	err := db.CreateCycle(context.Background(), Cycle{ID: id, ModelVersion: testReg.Latest().Version, Epsilon: 1, Delta: 1e-6})
	if err != nil {
		t.Fatalf("create cycle %s: %v", id, err)
	}
}

// scored builds a valid scored submission for org in cycle; seed varies the answers, and
// the content hash follows the seed so equal seeds mean equal content.
func scored(t testing.TB, org, cycle string, seed int) ScoredSubmission {
	t.Helper()
	m := testReg.Latest()
	answers := map[string]model.Answer{}
	for i, id := range m.CapabilityIDs() {
		a := model.Answer((seed*7 + i*3) % 5)
		if (seed+i)%11 == 0 {
			a = model.Unknown
		}
		answers[id] = a
	}
	types := []string{"academic", "community", "health_system", "specialty"}
	states := m.States()
	p := model.Profile{ID: org, Name: "Hospital " + org, State: states[seed%len(states)],
		Beds: 30 + (seed*37)%900, Type: types[seed%len(types)]}
	keys, err := m.CohortKeysOf(p)
	if err != nil {
		t.Fatalf("cohort keys: %v", err)
	}
	sub := model.Submission{SchemaVersion: model.SchemaVersion, ModelVersion: m.Version, Cycle: cycle,
		Organisation: p, Answers: answers}
	if errs := m.ValidateSubmission(&sub); len(errs) > 0 {
		t.Fatalf("test submission invalid: %v", errs)
	}
	return ScoredSubmission{Submission: sub, Keys: keys, Score: m.Score(answers),
		ContentHash: fmt.Sprintf("test-%s-%s-%d", org, cycle, seed), Source: "test"}
}

// commitOK commits and fails the test on a call error.
func commitOK(t testing.TB, db *DB, atomic bool, subs ...ScoredSubmission) []Outcome {
	t.Helper()
	out, err := db.Commit(context.Background(), subs, atomic)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if len(out) != len(subs) {
		t.Fatalf("commit: %d outcomes for %d submissions", len(out), len(subs))
	}
	return out
}

// wantKind checks an error's kind and that its message mentions each of words.
func wantKind(t testing.TB, err error, kind model.Kind, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", kind)
	}
	if got := model.ErrorKind(err); got != kind {
		t.Fatalf("want kind %s, got %s (%v)", kind, got, err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// holdWriter blocks the writer goroutine until the returned function is called, so a test
// can queue requests that the writer will then take as one group.
func holdWriter(t testing.TB, db *DB) (release func()) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- db.do(context.Background(), func(*writer) error {
			close(started)
			<-gate
			return nil
		})
	}()
	<-started
	return func() {
		close(gate)
		if err := <-errc; err != nil {
			t.Errorf("hold: %v", err)
		}
	}
}

func isErr(err, target error) bool { return errors.Is(err, target) }

func itoa(i int) string { return fmt.Sprint(i) }

func waitABit() { time.Sleep(time.Millisecond) }

func asModelError(err error, target **model.Error) bool { return errors.As(err, target) }
