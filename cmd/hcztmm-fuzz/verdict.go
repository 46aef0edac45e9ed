package main

import (
	"strings"
)

// Verdict is what one `go test -fuzz` round came to.
type Verdict int

const (
	// Passed: the round ran its budget and found nothing.
	Passed Verdict = iota
	// Crashed: the fuzzer found an input that fails the target and wrote it to the
	// package's testdata/fuzz; the next `make test` replays it until it is fixed.
	Crashed
	// CoordinatorRace: the round ran its whole budget and found nothing, but Go's fuzz
	// coordinator reported its own -fuzztime deadline as a failure (golang/go#75804, a
	// race between the deadline and the check meant to swallow it; fixed in Go 1.27,
	// not in 1.26). Only a bare "context deadline exceeded" under the target's FAIL
	// line, with no input written and nothing else failing, is read this way, and the
	// runner still replays the corpus before it lets the round pass.
	CoordinatorRace
	// Failed: anything else that made `go test` fail (a build error, a hung or killed
	// worker, a failing seed, an unrecognised message). Never excused.
	Failed
)

// String names the verdict in the runner's summary.
func (v Verdict) String() string {
	switch v {
	case Passed:
		return "passed"
	case Crashed:
		return "crashed"
	case CoordinatorRace:
		return "passed (coordinator deadline race)"
	default:
		return "failed"
	}
}

// coordinatorDeadline is the whole message testing.F prints when CoordinateFuzzing
// returns the deadline error it should have swallowed.
const coordinatorDeadline = "context deadline exceeded"

// Classify reads one round's combined output, whether `go test` exited cleanly and the
// corpus files that appeared in testdata/fuzz/<target> during the round.
func Classify(target, output string, exitedCleanly bool, newInputs []string) Verdict {
	if len(newInputs) > 0 || strings.Contains(output, "Failing input written to") {
		return Crashed
	}
	if exitedCleanly {
		return Passed
	}
	if onlyCoordinatorDeadline(target, output) {
		return CoordinatorRace
	}
	return Failed
}

// onlyCoordinatorDeadline reports whether the one failure in output is the target's
// FAIL line followed by nothing but the coordinator's deadline message. Any panic,
// nested subtest failure, worker trouble or second message rules the excuse out.
func onlyCoordinatorDeadline(target, output string) bool {
	for _, bad := range []string{"panic:", "fuzzing process hung", "terminated unexpectedly", "failure while testing seed corpus", "test timed out"} {
		if strings.Contains(output, bad) {
			return false
		}
	}
	lines := strings.Split(strings.ReplaceAll(output, "\r\n", "\n"), "\n")
	failLines := 0
	found := false
	for i, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), "--- FAIL:") {
			continue
		}
		failLines++
		if !strings.HasPrefix(line, "--- FAIL: "+target+" (") {
			return false
		}
		// The block under the FAIL line runs until the package's FAIL / exit status
		// lines; it must hold the deadline message and nothing else.
		var block []string
		for _, next := range lines[i+1:] {
			t := strings.TrimSpace(next)
			if t == "FAIL" || strings.HasPrefix(t, "exit status ") || strings.HasPrefix(t, "FAIL\t") {
				break
			}
			if t != "" {
				block = append(block, t)
			}
		}
		found = len(block) == 1 && block[0] == coordinatorDeadline
	}
	return failLines == 1 && found
}
