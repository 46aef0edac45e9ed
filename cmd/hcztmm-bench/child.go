package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/hcztmm/warehouse/warehouse"
)

// child is what one timed child process cost.
type child struct {
	Wall   time.Duration // from start to exit
	CPU    time.Duration // user + system
	MaxRSS int64         // peak resident set size, bytes
	Stdout []byte
}

// measureCommand is the hidden sub-mode that runs a program and reports its cost:
//
//	hcztmm-bench measure REPORT PROGRAM ARGS...
//
// It exists because a child's ru_maxrss on Linux includes the RSS of the process that
// started it: Go starts children with CLONE_VM, and exec records the shared address
// space's high-water mark as the child's. This small process in between keeps the
// benchmark's own gigabyte of fixtures out of the child's peak. Every timed program
// (ours and the ceilings) runs through it, so they pay the same.
const measureCommand = "measure"

// measured is what the measure sub-mode writes to REPORT.
type measured struct {
	WallNS   int64 `json:"wall_ns"`
	CPUNS    int64 `json:"cpu_ns"`
	MaxRSS   int64 `json:"max_rss_bytes"`
	ExitCode int   `json:"exit_code"`
}

func runMeasure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: hcztmm-bench %s REPORT PROGRAM ARGS...", measureCommand)
	}
	cmd := exec.CommandContext(ctx, args[1], args[2:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err := cmd.Run()
	m := measured{WallNS: int64(time.Since(start))}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return err
	}
	m.ExitCode = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.CPUNS = syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)
		m.MaxRSS = int64(ru.Maxrss)
		if runtime.GOOS != "darwin" { // Linux reports KiB, macOS bytes
			m.MaxRSS *= 1024
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(args[0], b, 0o644)
}

// runChild runs a program to completion through the measure sub-mode and returns its
// wall time from start to exit, CPU time and peak RSS. A non-zero exit is an error
// carrying the program's stderr.
func runChild(ctx context.Context, env *Env, name string, args ...string) (child, error) {
	report := filepath.Join(env.RunDir(), fmt.Sprintf("measure-%d.json", env.nextSeq()))
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, env.self, append([]string{measureCommand, report, name}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return child{}, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	var m measured
	b, err := os.ReadFile(report)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return child{}, fmt.Errorf("%s: measure report: %w", name, err)
	}
	if m.ExitCode != 0 {
		return child{}, fmt.Errorf("%s %s: exit status %d\n%s", name, strings.Join(args, " "), m.ExitCode, tail(stderr.String(), 2000))
	}
	return child{Wall: time.Duration(m.WallNS), CPU: time.Duration(m.CPUNS), MaxRSS: m.MaxRSS, Stdout: stdout.Bytes()}, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ceilingCommand is the hidden sub-mode the ceiling scenarios re-execute this program
// with, so that a ceiling pays process start and database open exactly like the hcztmm
// binary it is compared with:
//
//	hcztmm-bench ceiling prepare DB CSV        create DB with a table matching CSV's header
//	hcztmm-bench ceiling copy-csv DB CSV       COPY FROM csv + CHECKPOINT; prints a JSON CeilingLoad
//	hcztmm-bench ceiling insert-parquet DB PQ  INSERT ... SELECT read_parquet + CHECKPOINT; same
const ceilingCommand = "ceiling"

func runCeiling(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: hcztmm-bench %s prepare|copy-csv|insert-parquet DB FILE", ceilingCommand)
	}
	mode, db, file := args[0], args[1], args[2]
	var load warehouse.CeilingLoad
	var err error
	switch mode {
	case "prepare":
		return warehouse.CeilingPrepare(ctx, db, file)
	case "copy-csv":
		load, err = warehouse.CeilingCopyCSV(ctx, db, file)
	case "insert-parquet":
		load, err = warehouse.CeilingInsertParquet(ctx, db, file)
	default:
		return fmt.Errorf("%s: unknown mode %q", ceilingCommand, mode)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(load)
}

// ceilingChild runs one timed ceiling load in a child process (after an untimed prepare
// child) and returns the process's cost with the load's own timings.
func ceilingChild(ctx context.Context, env *Env, mode, db, csvPath, file string) (child, warehouse.CeilingLoad, error) {
	var load warehouse.CeilingLoad
	if _, err := runChild(ctx, env, env.self, ceilingCommand, "prepare", db, csvPath); err != nil {
		return child{}, load, err
	}
	c, err := runChild(ctx, env, env.self, ceilingCommand, mode, db, file)
	if err != nil {
		return c, load, err
	}
	if err := json.Unmarshal(c.Stdout, &load); err != nil {
		return c, load, fmt.Errorf("ceiling %s: report: %w", mode, err)
	}
	return c, load, nil
}
