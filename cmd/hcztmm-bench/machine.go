package main

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hcztmm/warehouse/warehouse"
)

// machine describes this machine and toolchain for the line above the table.
func machine(ctx context.Context, runs int) Machine {
	m := Machine{CPU: cpuModel(), Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), Load: loadAverage(), Runs: runs,
		Date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	v, err := warehouse.DuckDBVersion(ctx)
	if err != nil {
		v = "unknown (" + err.Error() + ")"
	}
	if mod := moduleVersion("github.com/duckdb/duckdb-go/v2"); mod != "" {
		v += " (duckdb-go " + mod + ")"
	}
	m.DuckDB = v
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo, or the architecture elsewhere.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAverage is the 1-minute load average ("" where /proc/loadavg does not exist).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return ""
}
