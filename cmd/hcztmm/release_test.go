package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestReleaseCommands(t *testing.T) {
	file, _ := populationFile(t, 800, 21)
	db := newDB(t, "2024")
	if code, _, stderr := run(t, "ingest", "--db", db, file); code != exitOK {
		t.Fatalf("ingest: %s", stderr)
	}
	code, out, stderr := run(t, "release", "--db", db, "--cycle", "2024", "--epsilon", "2", "--json")
	if code != exitOK {
		t.Fatalf("release: %d %s", code, stderr)
	}
	var res struct {
		Release string `json:"release"`
		Cost    struct {
			Epsilon float64 `json:"epsilon"`
		} `json:"cost"`
		Budget struct {
			EpsilonLeft float64 `json:"epsilon_left"`
		} `json:"budget"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Release != "2024-r001" || res.Cost.Epsilon != 2 || res.Budget.EpsilonLeft != 3 {
		t.Fatalf("release output %s (%v)", out, err)
	}
	// Over budget: refused with what is left, exit 1, nothing charged.
	code, _, stderr = run(t, "release", "--db", db, "--cycle", "2024", "--epsilon", "3.5")
	if code != exitFailure || !strings.Contains(stderr, "has only epsilon 3 and delta") {
		t.Fatalf("over budget: %d %s", code, stderr)
	}
	// Bad requests are usage-level invalid errors naming the field.
	code, _, stderr = run(t, "release", "--db", db, "--cycle", "2024", "--epsilon", "-1")
	if code != exitFailure || !strings.Contains(stderr, "epsilon") {
		t.Fatalf("negative epsilon: %d %s", code, stderr)
	}
	code, _, stderr = run(t, "release", "--db", db, "--cycle", "1999", "--epsilon", "1")
	if code != exitFailure || !strings.Contains(stderr, `"1999"`) {
		t.Fatalf("unknown cycle: %d %s", code, stderr)
	}

	code, out, _ = run(t, "release", "list", "--db", db)
	if code != exitOK || !strings.Contains(out, "2024-r001") || !strings.Contains(out, "epsilon 3 left of 5") {
		t.Fatalf("list: %s", out)
	}
	// show --raw prints the stored bytes: the same digest every time, and the one recorded.
	_, raw1, _ := run(t, "release", "show", "--db", db, "--raw", "2024-r001")
	_, raw2, _ := run(t, "release", "show", "--db", db, "--raw", "2024-r001")
	_, shown, _ := run(t, "release", "show", "--db", db, "2024-r001")
	sum := sha256.Sum256([]byte(raw1))
	if raw1 != raw2 || !strings.Contains(shown, hex.EncodeToString(sum[:])) {
		t.Fatalf("show is not byte-stable or does not match the stored digest")
	}
	if !strings.Contains(shown, "size_region") || !strings.Contains(shown, "suppressed (not enough peers)") {
		t.Errorf("show output:\n%s", shown)
	}
}

func TestKeysCommands(t *testing.T) {
	db := newDB(t)
	code, token, stderr := run(t, "keys", "create", "--db", db, "--role", "provider", "--org", "ORG-000007", "--label", "ciso")
	if code != exitOK || !strings.HasPrefix(token, "hczk_") || !strings.Contains(stderr, "shown once") {
		t.Fatalf("create: %d %q %s", code, token, stderr)
	}
	if code, _, stderr := run(t, "keys", "create", "--db", db, "--role", "provider"); code != exitFailure || !strings.Contains(stderr, "org") {
		t.Fatalf("provider key without an organisation: %d %s", code, stderr)
	}
	if code, _, _ := run(t, "keys", "create", "--db", db, "--role", "root"); code != exitUsage {
		t.Fatalf("unknown role: exit %d", code)
	}
	code, out, _ := run(t, "keys", "list", "--db", db)
	if code != exitOK || !strings.Contains(out, "ORG-000007") || strings.Contains(out, strings.TrimSpace(token)) {
		t.Fatalf("list must show the key but never its secret:\n%s", out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if code, out, _ := run(t, "keys", "revoke", "--db", db, id); code != exitOK || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if code, _, _ := run(t, "keys", "revoke", "--db", db, id); code != exitFailure {
		t.Fatalf("second revoke: exit %d", code)
	}
}

// TestCommandsWithIDsThatAreNotUTF8 gives every command that looks something up by ID a
// real ID with an invalid byte appended: each must answer as for an unknown ID (same
// exit code, a "does not exist"-style message or an empty list), never DuckDB's "could
// not bind parameter".
func TestCommandsWithIDsThatAreNotUTF8(t *testing.T) {
	db := releasedDB(t, 200, 5, "1")
	if code, _, stderr := run(t, "keys", "create", "--db", db, "--role", "admin", "--label", "ops"); code != exitOK {
		t.Fatalf("keys create: %s", stderr)
	}
	_, list, _ := run(t, "keys", "list", "--db", db)
	keyID := strings.Fields(strings.Split(list, "\n")[1])[0]
	out := t.TempDir()
	for _, tt := range []struct {
		name string
		args func(id string) []string
		real string
	}{
		{"release show", func(id string) []string { return []string{"release", "show", "--db", db, id} }, "2024-r001"},
		{"release show --raw", func(id string) []string { return []string{"release", "show", "--raw", "--db", db, id} }, "2024-r001"},
		{"release list --cycle", func(id string) []string { return []string{"release", "list", "--db", db, "--cycle", id} }, "2024"},
		{"release --cycle", func(id string) []string { return []string{"release", "--db", db, "--cycle", id, "--epsilon", "0.5"} }, "2024"},
		{"export --release", func(id string) []string {
			return []string{"export", "--db", db, "--release", id, "--out", filepath.Join(out, "x.csv")}
		}, "2024-r001"},
		{"report --release", func(id string) []string {
			return []string{"report", "--db", db, "--release", id, "--out", filepath.Join(out, "r.html")}
		}, "2024-r001"},
		{"keys revoke", func(id string) []string { return []string{"keys", "revoke", "--db", db, id} }, keyID},
		{"cycles close", func(id string) []string { return []string{"cycles", "close", "--db", db, "--id", id} }, "2024"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode, wantOut, wantErr := run(t, tt.args("zz-unknown")...)
			code, stdout, stderr := run(t, tt.args(tt.real+"\xff")...)
			if code != wantCode || strings.Contains(stderr, "bind") {
				t.Fatalf("exit %d, stderr %q; an unknown ID gives exit %d, %q", code, stderr, wantCode, wantErr)
			}
			if stdout != wantOut || strings.Count(stderr, "does not exist") != strings.Count(wantErr, "does not exist") {
				t.Fatalf("stdout %q stderr %q; an unknown ID gives %q, %q", stdout, stderr, wantOut, wantErr)
			}
		})
	}
}
