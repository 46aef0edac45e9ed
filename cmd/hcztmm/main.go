// Command hcztmm is the HC-ZTMM benchmarking warehouse: it ingests maturity assessments,
// scores them, publishes differentially private peer statistics and serves them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
