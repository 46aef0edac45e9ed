package warehouse

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// TestLookupsWithKeysThatAreNotUTF8 sends every lookup a real key with one invalid byte
// appended. DuckDB refuses to bind such a VARCHAR, which used to fail the query ("could
// not bind parameter", a 500 or exit 1); it must answer exactly as for a key that does
// not exist. Appending to a real key also catches a fix that strips invalid bytes: that
// would find the real row.
func TestLookupsWithKeysThatAreNotUTF8(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustCycle(t, db, "2026")
	commitOK(t, db, false, scored(t, "org-1", "2026", 1))
	releaseID, _, err := db.ReserveRelease(ctx, ReleaseReservation{Cycle: "2026", ModelVersion: testReg.Latest().Version,
		Noise: "laplace", Request: []byte("{}"), Entries: []LedgerEntry{{Partitioning: "national", Family: "count", EpsilonUnits: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	key, token, err := db.CreateKey(ctx, RoleProvider, "org-1", "test")
	if err != nil {
		t.Fatal(err)
	}
	// Each lookup returns how many things it found, so an empty answer compares too.
	tests := []struct {
		name string
		real string
		look func(k string) (int, error)
	}{
		{"GetCycle", "2026", func(k string) (int, error) { _, err := db.GetCycle(ctx, k); return 1, err }},
		{"CountSubmissions", "2026", func(k string) (int, error) { n, _, err := db.CountSubmissions(ctx, k); return n, err }},
		{"CurrentScores", "2026", func(k string) (int, error) { s, err := db.CurrentScores(ctx, k); return len(s), err }},
		{"Budget", "2026", func(k string) (int, error) { _, err := db.Budget(ctx, k); return 1, err }},
		{"ListReleases", "2026", func(k string) (int, error) { r, err := db.ListReleases(ctx, k); return len(r), err }},
		{"CurrentSubmission by org", "org-1", func(k string) (int, error) { _, err := db.CurrentSubmission(ctx, k, "2026"); return 1, err }},
		{"CurrentSubmission by cycle", "2026", func(k string) (int, error) { _, err := db.CurrentSubmission(ctx, "org-1", k); return 1, err }},
		{"ListSubmissions", "org-1", func(k string) (int, error) { s, err := db.ListSubmissions(ctx, k); return len(s), err }},
		{"Organisation", "org-1", func(k string) (int, error) { _, err := db.Organisation(ctx, k); return 1, err }},
		{"GetRelease", releaseID, func(k string) (int, error) { _, err := db.GetRelease(ctx, k); return 1, err }},
		{"Ledger", releaseID, func(k string) (int, error) { l, err := db.Ledger(ctx, k); return len(l), err }},
		{"GetKey", key.ID, func(k string) (int, error) { _, err := db.GetKey(ctx, k); return 1, err }},
		{"LookupKey", token, func(k string) (int, error) { _, err := db.LookupKey(ctx, k); return 1, err }},
		// Last: on the real key these change state, so they run on the real key last.
		{"RevokeKey", key.ID, func(k string) (int, error) { _, err := db.RevokeKey(ctx, k); return 1, err }},
		{"CloseCycle", "2026", func(k string) (int, error) { return 1, db.CloseCycle(ctx, k) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantN, wantErr := tt.look("zz-does-not-exist")
			for _, bad := range []string{tt.real + "\xff", "\xfe" + tt.real, tt.real[:1] + "\xc3\x28" + tt.real[1:]} {
				n, err := tt.look(bad)
				if model.ErrorKind(err) != model.ErrorKind(wantErr) || (err == nil) != (wantErr == nil) || n != wantN {
					t.Fatalf("%q: got %d, %v; an unknown key gives %d, %v", bad, n, err, wantN, wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "bind") {
					t.Fatalf("%q: %v", bad, err)
				}
			}
			if n, err := tt.look(tt.real); err != nil || n == 0 {
				t.Fatalf("the real key %q: %d, %v", tt.real, n, err)
			}
		})
	}
	if _, err := db.ExportRelease(ctx, releaseID+"\xff", ExportCSV, io.Discard); model.ErrorKind(err) != model.KindNotFound {
		t.Fatalf("ExportRelease: %v", err)
	}
}
