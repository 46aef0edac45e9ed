package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	raceLog, err := os.ReadFile(filepath.Join("testdata", "deadline-race.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const target = "FuzzDecodeNDJSON"
	tail := "FAIL\nexit status 1\nFAIL\tgithub.com/hcztmm/warehouse/ingest\t8.370s\n"
	progress := "fuzz: elapsed: 8s, execs: 24930 (5032/sec), new interesting: 14 (total: 139)\n"
	tests := []struct {
		name      string
		output    string
		clean     bool
		newInputs []string
		want      Verdict
	}{
		{"clean round", progress + "PASS\nok  \tgithub.com/hcztmm/warehouse/ingest\t8.1s\n", true, nil, Passed},
		// The CI run of 2026-12-04, word for word.
		{"coordinator deadline race as CI printed it", string(raceLog), false, nil, CoordinatorRace},
		{"race with CRLF line ends", strings.ReplaceAll(string(raceLog), "\n", "\r\n"), false, nil, CoordinatorRace},
		{"deadline message but an input was written", string(raceLog), false, []string{"5b2c0e1a"}, Crashed},
		{"crasher", progress + "--- FAIL: FuzzDecodeNDJSON (2.10s)\n    --- FAIL: FuzzDecodeNDJSON (0.00s)\n" +
			"        fuzz_test.go:41: Ingest error: boom\n\n    Failing input written to testdata/fuzz/FuzzDecodeNDJSON/5b2c0e1a\n" +
			"    To re-run:\n    go test -run=FuzzDecodeNDJSON/5b2c0e1a\n" + tail, false, []string{"5b2c0e1a"}, Crashed},
		{"crasher message without a new file", progress + "--- FAIL: FuzzDecodeNDJSON (2.10s)\n" +
			"    Failing input written to testdata/fuzz/FuzzDecodeNDJSON/5b2c0e1a\n" + tail, false, nil, Crashed},
		{"hung worker", progress + "--- FAIL: FuzzDecodeNDJSON (12.00s)\n    fuzzing process hung or terminated unexpectedly: exit status 2\n" + tail,
			false, nil, Failed},
		{"panic in the coordinator", progress + "--- FAIL: FuzzDecodeNDJSON (8.33s)\n    context deadline exceeded\npanic: send on closed channel\n" + tail,
			false, nil, Failed},
		{"deadline plus a second message", progress + "--- FAIL: FuzzDecodeNDJSON (8.33s)\n    context deadline exceeded\n    fuzz_test.go:12: leak\n" + tail,
			false, nil, Failed},
		{"deadline under another target's name", progress + "--- FAIL: FuzzDecodeJSON (8.33s)\n    context deadline exceeded\n" + tail,
			false, nil, Failed},
		{"deadline beside a nested failure", progress + "--- FAIL: FuzzDecodeNDJSON (8.33s)\n    context deadline exceeded\n" +
			"    --- FAIL: FuzzDecodeNDJSON/seed#0 (0.00s)\n        x_test.go:3: bad\n" + tail, false, nil, Failed},
		{"failing seed", "--- FAIL: FuzzDecodeNDJSON (0.01s)\n    failure while testing seed corpus entry: FuzzDecodeNDJSON/seed#0\n" + tail,
			false, nil, Failed},
		{"build error", "# github.com/hcztmm/warehouse/ingest\ningest/x.go:3:1: syntax error\nFAIL\tgithub.com/hcztmm/warehouse/ingest [build failed]\n",
			false, nil, Failed},
		{"test binary timeout", progress + "panic: test timed out after 20m0s\n" + tail, false, nil, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(target, tt.output, tt.clean, tt.newInputs); got != tt.want {
				t.Fatalf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Target
		wantErr bool
	}{
		{"./ingest:FuzzDecodeJSON", Target{"./ingest", "FuzzDecodeJSON"}, false},
		{"./ingest", Target{}, true},
		{":FuzzX", Target{}, true},
		{"./ingest:TestX", Target{}, true},
	} {
		got, err := ParseTarget(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// demoModule is a throwaway module with one fuzz target per verdict the real fuzzer can
// produce on purpose: one that never fails, one whose failing input the mutator finds in
// a moment, and one whose own seed fails.
const demoModule = `package demo

import (
	"bytes"
	"testing"
)

func FuzzQuiet(f *testing.F) {
	f.Add([]byte("a"))
	f.Fuzz(func(t *testing.T, b []byte) { _ = len(b) })
}

func FuzzFindsZ(f *testing.F) {
	f.Add([]byte("a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.IndexByte(b, 'z') >= 0 {
			t.Fatalf("found z in %q", b)
		}
	})
}

func FuzzSeedFails(f *testing.F) {
	f.Add([]byte("bad"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if string(b) == "bad" {
			t.Fatal("bad seed")
		}
	})
}
`

// TestRunnerOnRealFuzzer drives the real `go test -fuzz` through the runner: a quiet
// target passes, a crasher is reported with the input the fuzzer wrote, a failing seed
// fails, and the whole run exits 1 with every target reported.
func TestRunnerOnRealFuzzer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and fuzzes a throwaway module")
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "demo")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"go.mod":            "module example.com/demo\n\ngo 1.26\n",
		"demo/demo_test.go": demoModule,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-buildvcs=false")
	var out bytes.Buffer
	code := Main(context.Background(), []string{"-C", dir, "-tags", "", "-fuzztime", "2000x",
		"./demo:FuzzQuiet", "./demo:FuzzFindsZ", "./demo:FuzzSeedFails"}, &out, &out)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, out.String())
	}
	summary := out.String()[strings.LastIndex(out.String(), "fuzz summary"):]
	for _, want := range []string{"FuzzQuiet            passed", "FuzzFindsZ           crashed", "FuzzSeedFails        failed",
		filepath.Join(pkg, "testdata", "fuzz", "FuzzFindsZ")} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	written, err := os.ReadDir(filepath.Join(pkg, "testdata", "fuzz", "FuzzFindsZ"))
	if err != nil || len(written) != 1 {
		t.Fatalf("the crasher's input was not written: %v, %v", written, err)
	}
	// Until it is fixed, the written input fails every later round before fuzzing starts.
	out.Reset()
	r := Runner{Go: "go", FuzzTime: "2000x", Minimize: "1s", Dir: dir, Out: &out}
	if got, err := r.Round(context.Background(), Target{Package: "./demo", Name: "FuzzFindsZ"}); err != nil || got != Failed {
		t.Fatalf("round after a crash: %v, %v\n%s", got, err, out.String())
	}
	if got, err := r.Round(context.Background(), Target{Package: "./demo", Name: "FuzzQuiet"}); err != nil || got != Passed {
		t.Fatalf("quiet round: %v, %v\n%s", got, err, out.String())
	}
}

// TestRunnerExcusesOnlyAReplayedRace checks what happens after a CoordinatorRace
// verdict. The race cannot be provoked on demand, so a stand-in go command prints the
// CI log of 2026-12-04 for the fuzz round and answers the corpus replay with the given
// exit code: the round passes only when the replay does.
func TestRunnerExcusesOnlyAReplayedRace(t *testing.T) {
	raceLog, err := filepath.Abs(filepath.Join("testdata", "deadline-race.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		replayExit string
		want       Verdict
	}{
		{"0", CoordinatorRace},
		{"1", Failed},
	} {
		dir := t.TempDir()
		goCmd := filepath.Join(dir, "go")
		script := "#!/bin/sh\ncase \" $* \" in\n*\" -fuzz \"*) cat '" + raceLog + "'; exit 1;;\n*) echo replayed \"$@\"; exit " + tt.replayExit + ";;\nesac\n"
		if err := os.WriteFile(goCmd, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r := Runner{Go: goCmd, Tags: "duckdb_arrow", FuzzTime: "8s", Minimize: "1s", Dir: dir, Out: &out}
		got, err := r.Round(context.Background(), Target{Package: "./ingest", Name: "FuzzDecodeNDJSON"})
		if err != nil || got != tt.want {
			t.Fatalf("replay exit %s: verdict %v, %v; want %v\n%s", tt.replayExit, got, err, tt.want, out.String())
		}
		if !strings.Contains(out.String(), "replayed test -tags duckdb_arrow -count=1 -run ^FuzzDecodeNDJSON$ ./ingest") {
			t.Fatalf("the corpus was not replayed:\n%s", out.String())
		}
	}
}
