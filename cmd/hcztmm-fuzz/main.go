// Command hcztmm-fuzz is the runner behind `make fuzz`: it fuzzes each target in turn
// for the same budget, streams the fuzzer's output, and decides from that output and
// from the package's testdata/fuzz what each round came to (see Verdict).
//
//	hcztmm-fuzz [-C dir] [-go go] [-tags duckdb_arrow] [-fuzztime 10s|Nx] [-minimize 1s] ./pkg:FuzzName...
//
// It exists because Go 1.26's fuzz coordinator sometimes fails a round that found
// nothing with a bare "context deadline exceeded" as its -fuzztime runs out
// (golang/go#75804). That one message, alone, with no input written, is excused after
// a replay of the target's corpus passes; every other failure fails the run. All
// targets run even after one fails, so a single run reports every finding. Once the
// module requires Go 1.27, the excuse (CoordinatorRace) can go.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Runner runs fuzz rounds with one set of go test flags.
type Runner struct {
	// Go is the go command.
	Go string
	// Tags are the build tags passed to go test.
	Tags string
	// FuzzTime is -fuzztime: a duration or an execution count (Nx).
	FuzzTime string
	// Minimize is -fuzzminimizetime. The default (up to a minute per new interesting
	// input) ate whole short rounds of the slower targets, so `make fuzz` passes 1s;
	// crashers are written out either way.
	Minimize string
	// Dir is the module root the targets' package paths are relative to.
	Dir string
	// Out receives the fuzzer's output as it runs and the runner's notices.
	Out io.Writer
}

// Target is one fuzz function in one package, written pkg:Name on the command line.
type Target struct {
	Package string
	Name    string
}

// ParseTarget reads "./ingest:FuzzDecodeJSON".
func ParseTarget(s string) (Target, error) {
	pkg, name, ok := strings.Cut(s, ":")
	if !ok || pkg == "" || !strings.HasPrefix(name, "Fuzz") {
		return Target{}, fmt.Errorf("target %q: want ./package:FuzzName", s)
	}
	return Target{Package: pkg, Name: name}, nil
}

func (t Target) String() string { return t.Name + " (" + t.Package + ")" }

// corpusDir is where the fuzzer writes a failing input for t.
func (r Runner) corpusDir(t Target) string {
	return filepath.Join(r.Dir, t.Package, "testdata", "fuzz", t.Name)
}

// Round fuzzes one target and returns its verdict. A CoordinatorRace has already had
// its corpus replayed: it is returned only if that replay passed, Failed otherwise.
func (r Runner) Round(ctx context.Context, t Target) (Verdict, error) {
	before, err := listDir(r.corpusDir(t))
	if err != nil {
		return Failed, err
	}
	fmt.Fprintf(r.Out, "fuzz %s for %s\n", t, r.FuzzTime)
	var output bytes.Buffer
	cmd := exec.CommandContext(ctx, r.Go, "test", "-tags", r.Tags, "-run", "^$", "-fuzz", "^"+t.Name+"$",
		"-fuzztime", r.FuzzTime, "-fuzzminimizetime", r.Minimize, t.Package)
	cmd.Dir = r.Dir
	cmd.Stdout = io.MultiWriter(r.Out, &output)
	cmd.Stderr = cmd.Stdout
	runErr := cmd.Run()
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return Failed, fmt.Errorf("fuzz %s: %w", t, runErr)
	}
	if ctx.Err() != nil {
		return Failed, ctx.Err()
	}
	after, err := listDir(r.corpusDir(t))
	if err != nil {
		return Failed, err
	}
	verdict := Classify(t.Name, output.String(), runErr == nil, added(before, after))
	if verdict != CoordinatorRace {
		return verdict, nil
	}
	fmt.Fprintf(r.Out, "hcztmm-fuzz: %s ran its budget and wrote no failing input, but Go's fuzz coordinator "+
		"reported its own deadline (golang/go#75804); replaying the corpus before accepting the round\n", t.Name)
	replay := exec.CommandContext(ctx, r.Go, "test", "-tags", r.Tags, "-count=1", "-run", "^"+t.Name+"$", t.Package)
	replay.Dir = r.Dir
	replay.Stdout, replay.Stderr = r.Out, r.Out
	if err := replay.Run(); err != nil {
		fmt.Fprintf(r.Out, "hcztmm-fuzz: corpus replay of %s failed: %v\n", t.Name, err)
		return Failed, nil
	}
	return CoordinatorRace, nil
}

// listDir returns the names in dir, none if it does not exist yet.
func listDir(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read corpus %s: %w", dir, err)
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names, nil
}

// added lists the names in after that were not in before, sorted.
func added(before, after map[string]bool) []string {
	var out []string
	for name := range after {
		if !before[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Main parses the command line, runs every target and returns the exit code: 0 when
// every round passed, 1 when any crashed or failed, 2 on a usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hcztmm-fuzz", flag.ContinueOnError)
	fs.SetOutput(stderr)
	r := Runner{Out: stdout, Dir: "."}
	fs.StringVar(&r.Go, "go", "go", "the go command")
	fs.StringVar(&r.Tags, "tags", "duckdb_arrow", "build tags")
	fs.StringVar(&r.FuzzTime, "fuzztime", "10s", "budget per target: a duration or an execution count (Nx)")
	fs.StringVar(&r.Minimize, "minimize", "1s", "-fuzzminimizetime per new interesting input")
	fs.StringVar(&r.Dir, "C", ".", "module root the package paths are relative to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "hcztmm-fuzz: no targets; want ./package:FuzzName ...")
		return 2
	}
	var targets []Target
	for _, a := range fs.Args() {
		t, err := ParseTarget(a)
		if err != nil {
			fmt.Fprintln(stderr, "hcztmm-fuzz:", err)
			return 2
		}
		targets = append(targets, t)
	}
	verdicts := make([]Verdict, len(targets))
	bad := 0
	for i, t := range targets {
		v, err := r.Round(ctx, t)
		if err != nil {
			fmt.Fprintln(stderr, "hcztmm-fuzz:", err)
			if ctx.Err() != nil {
				return 1
			}
		}
		verdicts[i] = v
		if v == Crashed || v == Failed {
			bad++
		}
	}
	fmt.Fprintf(stdout, "\nfuzz summary (%s per target):\n", r.FuzzTime)
	for i, t := range targets {
		fmt.Fprintf(stdout, "  %-20s %s\n", t.Name, verdicts[i])
		if verdicts[i] == Crashed {
			fmt.Fprintf(stdout, "  %-20s failing input in %s; `make test` replays it\n", "", r.corpusDir(t))
		}
	}
	if bad > 0 {
		return 1
	}
	return 0
}
