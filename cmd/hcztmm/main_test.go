package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

// binPath is the hcztmm binary built once for tests that need a real child process.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hcztmm-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "hcztmm")
	build := exec.Command("go", "build", "-tags", "duckdb_arrow", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build hcztmm: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run calls Main in-process and returns the exit code and both streams.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"help", []string{"--help"}, exitOK, ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"bad flag value", []string{"fixtures", "--orgs", "many"}, exitUsage, `invalid argument "many"`},
		{"unknown flag", []string{"model", "--colour"}, exitUsage, "unknown flag: --colour"},
		{"missing required flag", []string{"fixtures"}, exitUsage, "--out is required"},
		{"score needs a file", []string{"score"}, exitUsage, "accepts 1 arg"},
		{"unknown model version", []string{"model", "--version", "7.7"}, exitUsage, `unknown model version "7.7"`},
		{"bad ingest format", []string{"ingest", "--db", filepath.Join(t.TempDir(), "x.duckdb"), "--format", "pdf", "f"}, exitUsage, `unknown --format "pdf"`},
		{"export needs a release", []string{"export", "--out", "x.csv"}, exitUsage, "--release is required"},
		{"release needs a cycle", []string{"release"}, exitUsage, "--cycle is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range []string{"serve", "fixtures", "ingest", "cycles", "release", "export", "report", "keys", "template", "score", "model"} {
		code, out, _ := run(t, c, "--help")
		if code != exitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%s --help: exit %d, %q", c, code, out)
		}
	}
}

func TestModelCommand(t *testing.T) {
	code, out, _ := run(t, "model")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var m struct {
		Version string `json:"version"`
		Domains []any  `json:"domains"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Version != "1.0" || len(m.Domains) != 8 {
		t.Fatalf("model output %v %+v", err, m)
	}
}

func TestFixturesThenScore(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, "fixtures", "--orgs", "300", "--cycles", "2", "--seed", "7", "--out", dir)
	if code != exitOK {
		t.Fatalf("fixtures exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "Structured but Static") {
		t.Errorf("summary missing posture names:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "json", "2025", "*.json"))
	if len(files) < 200 {
		t.Fatalf("only %d JSON submissions written", len(files))
	}
	counts := map[int]int{}
	for _, f := range files[:100] {
		code, out, stderr := run(t, "score", f)
		if code != exitOK {
			t.Fatalf("score %s: exit %d %s", f, code, stderr)
		}
		var sc model.Scorecard
		if err := json.Unmarshal([]byte(out), &sc); err != nil {
			t.Fatal(err)
		}
		if len(sc.Domains) != 8 || sc.PostureName == "" {
			t.Fatalf("scorecard %+v", sc)
		}
		if sc.Posture < 4 && len(sc.Binding) == 0 {
			t.Errorf("%s: posture %d without a binding constraint", f, sc.Posture)
		}
		counts[sc.Posture]++
	}
	if counts[1] < 50 {
		t.Errorf("posture counts %v: most organisations should be at Posture 1", counts)
	}
}

func TestScoreRejectsInvalidSubmission(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	doc := `{"schema_version":1,"model_version":"1.0","cycle":"2026","organisation":{"id":"ORG-1","state":"XX","beds":10,"type":"community"},"answers":{"IDN-01":9}}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "score", path)
	if code != exitFailure || !strings.Contains(stderr, "unknown_state") || !strings.Contains(stderr, "out_of_range") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

func TestTemplateCommand(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"xlsx", "csv-wide"} {
		out := filepath.Join(dir, "assessment."+f)
		if code, _, stderr := run(t, "template", "--format", f, "--out", out); code != exitOK {
			t.Fatalf("template %s: %d %s", f, code, stderr)
		}
		st, err := os.Stat(out)
		if err != nil || st.Size() == 0 {
			t.Fatalf("template %s not written: %v", f, err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "assessment.csv-wide"))
	if !strings.HasPrefix(string(data), "org_id,org_name,state,beds,org_type,cycle,model_version,submitted_at,IDN-01,") {
		t.Errorf("csv-wide header %q", data)
	}
}
