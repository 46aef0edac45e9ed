package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
)

// run executes the selected scenarios -runs times each (per headline size where they
// scale), then the scaled ones at each -scaling size, and prints the table of medians
// and the Scaling table.
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
		for _, orgs := range headlineOrgs(s, cfg.scales) {
			env.Orgs = orgs
			rows, err := measure(ctx, env, s, cfg.runs, cfg.keep)
			if err != nil {
				return fmt.Errorf("%s: %w", s.Name(), err)
			}
			table = append(table, rows...)
		}
	}
	scaled, err := runScaling(ctx, env, selected, cfg)
	if err != nil {
		return err
	}
	table = append(table, scaled...)
	env.Logf("done in %.0f s", time.Since(began).Seconds())

	if err := writeReport(stdout, mach, table); err != nil {
		return err
	}
	if cfg.out != "" {
		f, err := os.Create(cfg.out)
		if err != nil {
			return err
		}
		err = writeReport(f, mach, table)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return nil
}

// headlineOrgs is the population sizes s runs at for the headline rows: its own choice
// if it scales, else one run (at the first -scale, which it ignores).
func headlineOrgs(s Scenario, scales []int) []int {
	if sc, ok := s.(Scaled); ok {
		return sc.HeadlineOrgs(scales)
	}
	return scales[:1]
}

// runScaling measures every selected Scaled scenario at each -scaling size it has no
// headline row for, and returns the rows grouped by scenario, smallest size first.
// It runs size by size, every scenario at one size before the next, and forgets each
// population once measured, so that at most one scaling population is held at a time
// (the headline ones are forgotten first: they are done with).
func runScaling(ctx context.Context, env *Env, selected []Scenario, cfg config) ([]Row, error) {
	var scaled []Scenario
	for _, s := range selected {
		if _, ok := s.(Scaled); ok {
			scaled = append(scaled, s)
		}
	}
	if len(scaled) == 0 || len(cfg.scaling) == 0 {
		return nil, nil
	}
	if err := env.forget(cfg.keep); err != nil {
		return nil, err
	}
	sizes := slices.Clone(cfg.scaling)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	rows := make([][]Row, len(scaled))
	for _, orgs := range sizes {
		env.Orgs = orgs
		for i, s := range scaled {
			if slices.Contains(headlineOrgs(s, cfg.scales), orgs) {
				continue // the headline row is this size's measurement
			}
			r, err := measure(ctx, env, s, cfg.runs, cfg.keep)
			if err != nil {
				return nil, fmt.Errorf("%s at %d organisations: %w", s.Name(), orgs, err)
			}
			rows[i] = append(rows[i], r...)
		}
		if err := env.forget(cfg.keep, orgs); err != nil {
			return nil, err
		}
	}
	return slices.Concat(rows...), nil
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
