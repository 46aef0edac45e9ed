package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Commit stores scored submissions through the single writer and reports each one's fate,
// in order. It returns after the transaction holding them has committed (durable), or
// with an error when the warehouse is closed or ctx ended. After a ctx error the
// submissions may or may not be stored; sending them again is safe, since stored ones
// come back StatusUnchanged.
//
// Per submission: the cycle must exist and be open and use the submission's model version,
// otherwise it is StatusRejected with a *model.Error naming the cycle. A submission equal
// (by content hash) to the current one of its organisation and cycle is StatusUnchanged and
// writes nothing; otherwise it is stored under a new ID and supersedes the current one
// (StatusSuperseded, history kept), also when both are in this call (the later wins).
//
// With atomic false every submission stands alone: the valid ones are stored even when
// others are rejected. With atomic true the call is all-or-nothing: if any submission is
// rejected, none is stored and every outcome is StatusRejected with the reason.
//
// Concurrent calls are group-committed: the writer stores whatever is queued in one
// transaction. If that transaction fails, the group is retried in halves, so one bad
// request cannot sink the others.
func (db *DB) Commit(ctx context.Context, subs []ScoredSubmission, atomic bool) ([]Outcome, error) {
	r := &request{received: time.Now().UTC().Truncate(time.Microsecond), atomic: atomic,
		subs: db.prepareAll(subs), out: make([]Outcome, len(subs))}
	if len(subs) == 0 {
		return r.out, nil
	}
	if err := db.submit(ctx, r); err != nil {
		return nil, fmt.Errorf("warehouse: commit: %w", err)
	}
	return r.out, nil
}

// unit is what stands or falls together: one submission of a non-atomic call, or every
// submission of an atomic one.
type unit struct {
	req    *request
	lo, hi int // the submissions req.subs[lo:hi]
}

// commitGroup writes a group of Commit requests and answers each caller.
func (w *writer) commitGroup(group []*request) {
	var units []unit
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // the caller has gone; nothing was written
			continue
		}
		live = append(live, r)
		if r.atomic {
			units = append(units, unit{r, 0, len(r.subs)})
		} else {
			for i := range r.subs {
				units = append(units, unit{r, i, i + 1})
			}
		}
	}
	w.attempt(units)
	for _, r := range live {
		w.stats.requests.Add(1)
		r.done <- nil
	}
}

// attempt decides and writes units in one transaction. When the transaction fails it is
// retried in halves, so a failure is narrowed down to the unit that causes it; decisions
// are made again for every retry because they depend on what has been committed.
func (w *writer) attempt(units []unit) {
	if len(units) == 0 {
		return
	}
	p := w.decide(units)
	if len(p.rows) == 0 {
		p.apply(w)
		return
	}
	err := w.write(p)
	if err == nil {
		p.apply(w)
		return
	}
	w.stats.failed.Add(1)
	if len(units) > 1 && splittable(err) {
		h := len(units) / 2
		w.attempt(units[:h])
		w.attempt(units[h:])
		return
	}
	err = fmt.Errorf("warehouse: store submission: %w", err)
	for _, u := range units {
		for i := u.lo; i < u.hi; i++ {
			u.req.out[i] = Outcome{Status: StatusRejected, Err: err}
		}
		w.stats.rejected.Add(int64(u.hi - u.lo))
	}
}

// splittable reports whether a failed transaction may succeed in parts: a constraint or
// conversion error belongs to some submission, whereas a full disk, lost memory or a
// broken database fails every part alike, and bisecting 25,000 units would only repeat it.
func splittable(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return false
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		switch de.Type {
		case duckdb.ErrorTypeFatal, duckdb.ErrorTypeIO, duckdb.ErrorTypeOutOfMemory,
			duckdb.ErrorTypeInterrupt, duckdb.ErrorTypeConnection, duckdb.ErrorTypePermission:
			return false
		}
	}
	return true
}
