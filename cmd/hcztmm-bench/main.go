// Command hcztmm-bench is the benchmark runner behind `make bench`. It measures each of
// our paths and, in the same run, the ceiling it is compared with (DuckDB's own bulk load,
// a serial one-transaction-per-submission baseline, ...), and prints one markdown table
// of medians with ratios, under a line describing the machine. After it, a Scaling table
// sets ingest's and release's time against the number of organisations (-scaling) with a
// fitted growth exponent, to show that cost grows linearly.
//
//	hcztmm-bench [-only NAME,...] [-runs N] [-scale 25k,...] [-scaling 1k,10k,100k|none] [-out FILE]
//
// Progress goes to stderr, the table to stdout (and to -out). Every run uses a fresh
// temporary directory. There are no thresholds: targets are printed, not enforced.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is the parsed command line.
type config struct {
	only   string
	runs   int
	scales []int
	// scaling is the -scaling sizes (nil: no Scaling rows).
	scaling []int
	out     string
	hcztmm  string
	goCmd   string
	dir     string
	seed    uint64
	keep    bool
	list    bool
}

// Main runs the benchmarks (or the hidden ceiling sub-mode) and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == ceilingCommand {
		if err := runCeiling(ctx, args[1:], stdout); err != nil {
			fmt.Fprintln(stderr, "hcztmm-bench:", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 && args[0] == measureCommand {
		if err := runMeasure(ctx, args[1:], stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "hcztmm-bench:", err)
			return 1
		}
		return 0
	}
	cfg, err := parseFlags(args, stderr)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "hcztmm-bench:", err)
		return 2
	}
	if cfg.list {
		for _, s := range scenarios() {
			fmt.Fprintln(stdout, s.Name())
		}
		return 0
	}
	if err := run(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "hcztmm-bench: FAILED:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var scale, scaling string
	fs := flag.NewFlagSet("hcztmm-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.only, "only", "", "run only these scenarios (comma-separated; see -list)")
	fs.IntVar(&cfg.runs, "runs", 3, "runs per scenario; the table shows medians")
	fs.StringVar(&scale, "scale", "25k", "population sizes (organisations) for scaled scenarios, comma-separated, e.g. 1k,10k,100k")
	fs.StringVar(&scaling, "scaling", "1k,10k,100k", `population sizes (organisations) at which scaled scenarios (ingest, release) also run, for the Scaling table; "" or none: off`)
	fs.StringVar(&cfg.out, "out", "", "also write the tables as markdown to this file")
	fs.StringVar(&cfg.hcztmm, "hcztmm", "", "hcztmm binary to time (default: built with -tags duckdb_arrow)")
	fs.StringVar(&cfg.goCmd, "go", "go", "go command used to build hcztmm")
	fs.StringVar(&cfg.dir, "dir", "", "parent of the temporary work directory (default: the system's)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "fixtures seed")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the work directory")
	fs.BoolVar(&cfg.list, "list", false, "list the scenarios and exit")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.runs < 1 {
		return cfg, fmt.Errorf("-runs must be at least 1")
	}
	var err error
	if cfg.scales, err = parseScales("-scale", scale); err != nil {
		return cfg, err
	}
	if s := strings.TrimSpace(scaling); s != "" && s != "none" {
		cfg.scaling, err = parseScales("-scaling", s)
	}
	return cfg, err
}

// parseScales reads the sizes of flag name, "1k,10k,100k" (k and M suffixes, or plain
// numbers).
func parseScales(name, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mult, f = 1_000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"), strings.HasSuffix(f, "m"):
			mult, f = 1_000_000, f[:len(f)-1]
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive number of organisations (e.g. 25k)", name, s)
		}
		out = append(out, n*mult)
	}
	return out, nil
}
