package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hcztmm/warehouse/model"
	"github.com/spf13/cobra"
)

// Exit codes of every subcommand; scripts rely on them.
const (
	exitOK      = 0
	exitFailure = 1 // failed, nothing written
	exitUsage   = 2 // bad flags or arguments
	exitPartial = 3 // some submissions rejected, the rest committed
)

// exitError carries an exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// app is what every subcommand shares: streams and the model registry.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	models         *model.Registry
}

// defaultDBPath is where the warehouse lives unless --db or HCZTMM_DB say otherwise.
const defaultDBPath = "./data/hcztmm.duckdb"

func dbDefault() string {
	if p := os.Getenv("HCZTMM_DB"); p != "" {
		return p
	}
	return defaultDBPath
}

// Main runs the command line and returns the process exit code. It is the testable
// entry point: tests call it in-process with their own streams.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	models, err := model.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "hcztmm: embedded model: %v\n", err)
		return exitFailure
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, models: models}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "hcztmm: %v\n", ee.err)
		}
		if ee.code == exitUsage {
			fmt.Fprintln(stderr, "Run 'hcztmm --help' for usage.")
		}
		return ee.code
	}
	// cobra reports unknown commands and argument errors as plain errors.
	if isCobraUsageError(err) {
		fmt.Fprintf(stderr, "hcztmm: %v\nRun 'hcztmm --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "hcztmm: %v\n", err)
	return exitFailure
}

func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "received ", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "hcztmm",
		Short: "Benchmarking warehouse for healthcare Zero Trust maturity (HC-ZTMM-aligned)",
		Long: `hcztmm takes in Zero Trust maturity assessments from healthcare providers, scores them
against the HC-ZTMM-aligned model, and publishes differentially private peer statistics per
cohort (bed-size band x Census region, and coarser levels). Raw answers never leave the
warehouse except to their own organisation.

Exit codes: 0 success, 1 failure with nothing written, 2 usage error,
3 partial (some submissions rejected, the rest committed).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(
		a.serveCommand(),
		a.fixturesCommand(),
		a.ingestCommand(),
		a.cyclesCommand(),
		a.releaseCommand(),
		a.exportCommand(),
		a.reportCommand(),
		a.keysCommand(),
		a.templateCommand(),
		a.scoreCommand(),
		a.modelCommand(),
		a.checkCommand(),
	)
	return root
}
