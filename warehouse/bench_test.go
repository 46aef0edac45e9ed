package warehouse

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// population builds n distinct organisations' submissions for cycle "2026".
func population(b *testing.B, n int) []ScoredSubmission {
	subs := make([]ScoredSubmission, n)
	for i := range subs {
		subs[i] = scored(b, fmt.Sprintf("org-%05d", i), "2026", i)
	}
	return subs
}

// BenchmarkCommit25k stores 25,000 submissions (1,000,000 answers) in one Commit into a
// fresh file and checkpoints, the shape of a national bulk load. Compare rows/s with the
// Arrow INSERT ... SELECT ceiling in research/perf.md (about 3.1 M rows/s).
func BenchmarkCommit25k(b *testing.B) {
	ctx := context.Background()
	subs := population(b, 25000)
	answers := 0
	for _, s := range subs {
		answers += len(s.Submission.Answers)
	}
	var total, commitOnly time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db, err := Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.duckdb", i)), testReg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		mustCycle(b, db, "2026")
		b.StartTimer()
		start := time.Now()
		out, err := db.Commit(ctx, subs, false)
		if err != nil || out[len(out)-1].Status != StatusAccepted {
			b.Fatalf("commit: %v", err)
		}
		commitOnly += time.Since(start)
		if err := db.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if st := db.Stats(); st.Transactions != 1 {
			b.Fatalf("%d transactions", st.Transactions)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	rate := float64(answers) * n / total.Seconds()
	b.ReportMetric(rate, "answer_rows/s")
	b.ReportMetric(float64(len(subs))*n/total.Seconds(), "submissions/s")
	b.ReportMetric(commitOnly.Seconds()/n*1000, "commit_ms")
	b.StopTimer()
	ceiling := arrowCeiling(b, answers)
	b.ReportMetric(ceiling, "ceiling_rows/s")
	b.ReportMetric(rate/ceiling, "x_ceiling")
}

// arrowCeiling measures, in the same run, the bare path this package builds on: answer
// rows already in Arrow batches, one view, INSERT ... SELECT into a fresh file, COMMIT and
// CHECKPOINT (research/perf.md method 3). Our path does all of that plus the submissions
// (with their scorecards), domain scores and organisations.
func arrowCeiling(b *testing.B, rows int) float64 {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "ceiling.duckdb"), testReg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	caps := testReg.Latest().CapabilityIDs()
	bt := newBatcher(db.opts.Allocator, answerSchema, db.opts.BatchRows, rows)
	for i := range rows {
		bt.b.Field(0).(*array.Int64Builder).Append(int64(i / len(caps)))
		bt.b.Field(1).(*array.StringBuilder).Append(caps[i%len(caps)])
		bt.b.Field(2).(*array.Int8Builder).Append(int8(i % 5))
		bt.rowDone()
	}
	rr, err := bt.reader()
	if err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	err = db.do(ctx, func(w *writer) error {
		start := time.Now()
		release, err := w.arrow.RegisterView(rr, "ceiling")
		rr.Release()
		if err != nil {
			return err
		}
		defer release()
		for _, q := range []string{`BEGIN`, `INSERT INTO ` + w.t("answers") + ` SELECT * FROM ceiling`, `COMMIT`, `CHECKPOINT ` + w.cat, `DROP VIEW ceiling`} {
			if _, err := w.conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		elapsed = time.Since(start)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return float64(rows) / elapsed.Seconds()
}

// BenchmarkConcurrentSingle has 50 goroutines each committing one submission per call, the
// shape of API traffic; group commit is what keeps it far above one commit per request.
func BenchmarkConcurrentSingle(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.duckdb"), testReg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	mustCycle(b, db, "2026")
	const writers = 50
	pool := population(b, 5000)
	var seq atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + writers - 1) / writers
	for range writers {
		wg.Go(func() {
			for range per {
				i := seq.Add(1)
				s := pool[i%int64(len(pool))]
				s.ContentHash = fmt.Sprint(i) // every call stores a new (superseding) submission
				if _, err := db.Commit(ctx, []ScoredSubmission{s}, false); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	st := db.Stats()
	b.ReportMetric(float64(st.Submissions)/elapsed.Seconds(), "submissions/s")
	b.ReportMetric(float64(st.Submissions)/float64(max(st.Transactions, 1)), "submissions/tx")
	b.ReportMetric(float64(st.Transactions), "transactions")
}

// BenchmarkCurrentScores6k reads what the privacy package aggregates: 6,000 organisations'
// latest submissions with 40 answers and 8 domain scores each.
func BenchmarkCurrentScores6k(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.duckdb"), testReg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	mustCycle(b, db, "2026")
	subs := population(b, 6000)
	if _, err := db.Commit(ctx, subs, false); err != nil {
		b.Fatal(err)
	}
	// Resubmit a third so that the query has superseded rows to skip.
	for i := range subs[:2000] {
		subs[i].ContentHash += "-v2"
	}
	if _, err := db.Commit(ctx, subs[:2000], false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := db.CurrentScores(ctx, "2026")
		if err != nil || len(got) != 6000 {
			b.Fatalf("%d rows, %v", len(got), err)
		}
	}
}
