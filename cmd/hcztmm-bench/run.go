package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
)

// run executes the selected scenarios -runs times each (per scale where they scale),
// then prints the table of medians.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	selected, err := selectScenarios(scenarios(), cfg.only)
	if err != nil {
		return err
	}
	reg, err := model.Builtin()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(cfg.dir, "hcztmm-bench-")
	if err != nil {
		return err
	}
	env := &Env{Reg: reg, Model: reg.Latest(), Seed: cfg.seed, work: work, goCmd: cfg.goCmd,
		bin: cfg.hcztmm, self: self, logw: stderr,
		pops: map[int]*fixtures.Population{}, files: map[int]*Files{}}
	if cfg.keep {
		env.Logf("work directory %s (kept)", work)
	} else {
		defer os.RemoveAll(work)
	}
	mach := machine(ctx, cfg.runs)
	env.Logf("%s", mach)
	began := time.Now()

	var table []Row
	for _, s := range selected {
		scales := cfg.scales[:1]
		if sc, ok := s.(Scaled); ok && sc.Scaled() {
			scales = cfg.scales
		}
		for _, orgs := range scales {
			env.Orgs = orgs
			rows, err := measure(ctx, env, s, cfg.runs, cfg.keep)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Name(), err)
			}
			table = append(table, rows...)
		}
	}
	env.Logf("done in %.0f s", time.Since(began).Seconds())

	if err := writeTable(stdout, mach, table); err != nil {
		return err
	}
	if cfg.out != "" {
		f, err := os.Create(cfg.out)
		if err != nil {
			return err
		}
		err = writeTable(f, mach, table)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil
}

// measure runs one scenario n times, each in a fresh directory, and returns the medians.
func measure(ctx context.Context, env *Env, s Scenario, n int, keep bool) ([]Row, error) {
	var runs [][]Row
	for i := range n {
		if err := env.nextRun(); err != nil {
			return nil, err
		}
		rows, err := s.Run(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		for _, r := range rows {
			env.Logf("%s run %d/%d: %s: ours %s, ceiling %s", s.Name(), i+1, n, r.Path, formatFigure(r.Ours), formatFigure(r.Ceiling))
		}
		runs = append(runs, rows)
		if !keep {
			if err := os.RemoveAll(env.RunDir()); err != nil {
				return nil, err
			}
		}
	}
	return aggregate(runs)
}
