package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hcztmm/warehouse/warehouse"
)

// concurrentCommit is the shape of API traffic: many callers each committing one
// submission through warehouse.Commit, in-process, one DB. Group commit is what keeps it
// far above the baseline, the same submissions committed serially, one transaction each.
type concurrentCommit struct {
	subs []warehouse.ScoredSubmission
}

const (
	commitWriters = 50
	commitTotal   = 10_000
	// The serial baseline is slow (one transaction per submission), so it is bounded by
	// count and time, and its rate extrapolated.
	serialTotal  = 2_000
	serialBudget = 5 * time.Second
)

func (*concurrentCommit) Name() string { return "commit" }

func (c *concurrentCommit) Run(ctx context.Context, env *Env) ([]Row, error) {
	if err := c.prepare(env); err != nil {
		return nil, err
	}
	cycle := c.subs[0].Submission.Cycle

	db, err := openBenchDB(ctx, env, "concurrent.duckdb", cycle)
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	lat := make([][]time.Duration, commitWriters)
	errs := make([]error, commitWriters)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range commitWriters {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(c.subs) {
					return
				}
				t := time.Now()
				out, err := db.Commit(ctx, c.subs[i:i+1], false)
				lat[g] = append(lat[g], time.Since(t))
				if err == nil && out[0].Status != warehouse.StatusAccepted {
					err = fmt.Errorf("submission %d: %s: %v", i, out[0].Status, out[0].Err)
				}
				if err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := db.Stats()
	if err := db.Close(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if st.Submissions != int64(len(c.subs)) {
		return nil, fmt.Errorf("concurrent commit stored %d of %d submissions", st.Submissions, len(c.subs))
	}

	serial, err := c.serial(ctx, env, cycle)
	if err != nil {
		return nil, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return []Row{{
		Path:    fmt.Sprintf("Concurrent single submissions: %d goroutines × warehouse.Commit of 1, %s in all", commitWriters, thousands(commitTotal)),
		Ours:    Figure{Value: float64(st.Submissions) / elapsed.Seconds(), Unit: "submissions/s"},
		Ceiling: Figure{Value: serial, Unit: "submissions/s", Label: "baseline: one transaction each, serial"},
		Extras: []Extra{
			{Name: "transactions", Value: float64(st.Transactions)},
			{Name: "submissions/transaction", Value: float64(st.Submissions) / float64(max(st.Transactions, 1))},
			{Name: "Commit latency p50", Value: ms(all[len(all)/2]), Unit: "ms"},
			{Name: "p99", Value: ms(all[len(all)*99/100]), Unit: "ms"},
		},
		Note: fmt.Sprintf("in-process, one fresh DB each, no checkpoint; the baseline commits the same submissions in order for up to %s or %.0f s and is extrapolated; > 1× is group commit at work", thousands(serialTotal), serialBudget.Seconds()),
	}}, nil
}

// serial commits the first serialTotal submissions one call (one transaction) at a time,
// stopping early after serialBudget, and returns the rate.
func (c *concurrentCommit) serial(ctx context.Context, env *Env, cycle string) (float64, error) {
	db, err := openBenchDB(ctx, env, "serial.duckdb", cycle)
	if err != nil {
		return 0, err
	}
	n := 0
	start := time.Now()
	for n < min(serialTotal, len(c.subs)) && (n < 100 || time.Since(start) < serialBudget) {
		if _, err := db.Commit(ctx, c.subs[n:n+1], false); err != nil {
			return 0, errors.Join(err, db.Close())
		}
		n++
	}
	elapsed := time.Since(start)
	st := db.Stats()
	if err := db.Close(); err != nil {
		return 0, err
	}
	if st.Submissions != int64(n) || st.Transactions != int64(n) {
		return 0, fmt.Errorf("serial baseline: %d submissions in %d transactions, want %d in %d", st.Submissions, st.Transactions, n, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// prepare scores the submissions once, as ingest would (Assess, content hash), untimed.
func (c *concurrentCommit) prepare(env *Env) error {
	if c.subs != nil {
		return nil
	}
	pop, err := env.Population(commitTotal)
	if err != nil {
		return err
	}
	subs, err := scoreAll(env, pop.Submissions)
	if err != nil {
		return err
	}
	c.subs = subs
	return nil
}

// openBenchDB opens a fresh warehouse in the run directory with one open cycle.
func openBenchDB(ctx context.Context, env *Env, name, cycle string) (*warehouse.DB, error) {
	db, err := warehouse.Open(ctx, filepath.Join(env.RunDir(), name), env.Reg, warehouse.Options{})
	if err != nil {
		return nil, err
	}
	err = db.CreateCycle(ctx, warehouse.Cycle{ID: cycle, ModelVersion: env.Model.Version, Epsilon: 1, Delta: 1e-6})
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
