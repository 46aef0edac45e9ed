package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/hcztmm/warehouse/model"
)

// request is one unit of work for the writer: either a Commit call (subs) or a function
// that runs on the writer's connection (cycle changes, audit, checkpoint).
type request struct {
	ctx      context.Context
	received time.Time

	subs   []prepared
	atomic bool
	out    []Outcome

	fn func(w *writer) error

	done chan error // buffered: the writer never blocks on a caller that gave up
}

// writer owns the only connection that writes, and the in-memory state that lets it
// decide supersede/unchanged without a query per submission. Only the writer goroutine
// touches it after Open.
type writer struct {
	conn    *sql.Conn
	arrow   *duckdb.Arrow
	feeds   feeds
	stmts   viewStatements
	cat     string // quoted catalog name of the file database
	reg     *model.Registry
	opts    Options
	stats   *statCounters
	cycles  map[string]cycleState
	current map[orgCycle]currentSub
	orgs    map[string]orgRow
	nextID  int64
	nextAud int64
}

type cycleState struct {
	modelVersion string
	open         bool
}

type orgCycle struct{ org, cycle string }

// orgRow is an organisation's stored profile, kept in memory so that the common case of
// an unchanged profile costs no statement at all.
type orgRow struct {
	name, state       string
	beds              int
	typ, band, region string
}

// currentSub is the current (not superseded) submission of an organisation in a cycle.
type currentSub struct {
	id   int64
	hash string
}

// scratchCatalog is the in-memory catalog the writer's Arrow views live in: DuckDB cannot
// register an Arrow scan in an on-disk catalog.
const scratchCatalog = "wh_scratch"

// newWriter takes the writer's dedicated connection, moves its default catalog to an
// in-memory scratch database (so Arrow views can be registered) and loads the state the
// writer decides with. Everything the writer writes names the file catalog explicitly.
func newWriter(ctx context.Context, sqlDB *sql.DB, reg *model.Registry, opts Options) (*writer, error) {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{conn: conn, reg: reg, opts: opts}
	if err := w.init(ctx); err != nil {
		return nil, errors.Join(err, w.stmts.close(), w.dropFeeds(ctx), conn.Close())
	}
	return w, nil
}

func (w *writer) init(ctx context.Context) error {
	var catalog string
	if err := w.conn.QueryRowContext(ctx, `SELECT current_database()`).Scan(&catalog); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	if catalog == scratchCatalog {
		return fmt.Errorf("writer: the database file may not be named %s", scratchCatalog)
	}
	w.cat = quoteIdent(catalog)
	if err := w.loadState(ctx); err != nil {
		return fmt.Errorf("writer: load state: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx, `ATTACH ':memory:' AS `+scratchCatalog); err != nil {
		return fmt.Errorf("writer: attach scratch: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx, `USE `+scratchCatalog); err != nil {
		return fmt.Errorf("writer: use scratch: %w", err)
	}
	// The Arrow handle outlives Raw's callback. That is safe here: the writer holds this
	// connection from Open to Close and only the writer goroutine uses it.
	err := w.conn.Raw(func(dc any) error {
		var err error
		w.arrow, err = duckdb.NewArrowFromConn(dc.(driver.Conn))
		return err
	})
	if err != nil {
		return fmt.Errorf("writer: arrow: %w", err)
	}
	if err := w.registerFeeds(); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	if err := w.prepareViewStatements(ctx); err != nil {
		return fmt.Errorf("writer: %w", err)
	}
	return nil
}

// loadState reads what the writer keeps in memory: cycles, the current submission of every
// (organisation, cycle) and the next IDs. Rebuilt from the file at every Open, so it is
// exactly as durable as the data.
func (w *writer) loadState(ctx context.Context) error {
	w.cycles = map[string]cycleState{}
	rows, err := w.conn.QueryContext(ctx, `SELECT cycle_id, model_version, status FROM cycles`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, mv, status string
		if err := rows.Scan(&id, &mv, &status); err != nil {
			rows.Close()
			return err
		}
		w.cycles[id] = cycleState{modelVersion: mv, open: status == CycleOpen}
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	w.current = map[orgCycle]currentSub{}
	rows, err = w.conn.QueryContext(ctx,
		`SELECT org_id, cycle_id, submission_id, content_hash FROM submissions WHERE superseded_by IS NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k orgCycle
		var c currentSub
		if err := rows.Scan(&k.org, &k.cycle, &c.id, &c.hash); err != nil {
			rows.Close()
			return err
		}
		w.current[k] = c
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	w.orgs = map[string]orgRow{}
	rows, err = w.conn.QueryContext(ctx, `SELECT org_id, name, state, beds, org_type, size_band, region FROM organisations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var o orgRow
		if err := rows.Scan(&id, &o.name, &o.state, &o.beds, &o.typ, &o.band, &o.region); err != nil {
			rows.Close()
			return err
		}
		w.orgs[id] = o
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	if err := w.conn.QueryRowContext(ctx, `SELECT coalesce(max(submission_id), 0) + 1 FROM submissions`).Scan(&w.nextID); err != nil {
		return err
	}
	return w.conn.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM audit_log`).Scan(&w.nextAud)
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	return errors.Join(err, rows.Close())
}

// close closes the prepared statements, drops the writer's views, frees their streams
// and returns its connection. The
// scratch catalog goes with the database.
func (w *writer) close() error {
	return errors.Join(w.stmts.close(), w.dropFeeds(context.Background()), w.conn.Close())
}

// t names a table of the file database; the writer's default catalog is the scratch one.
func (w *writer) t(table string) string { return w.cat + ".main." + table }

// run is the writer goroutine. It takes one request, and if it is a Commit, gathers every
// other Commit already queued (up to GroupCommitMax submissions, lingering at most
// GroupCommitWait) into one group that is written in one transaction. A function request
// met while gathering waits until the group is done, so the queue order is kept.
func (db *DB) run() {
	defer close(db.done)
	var next *request
	for {
		r := next
		next = nil
		if r == nil {
			var ok bool
			if r, ok = <-db.reqs; !ok {
				return
			}
		}
		if r.fn != nil {
			db.runFn(r)
			continue
		}
		group := []*request{r}
		n := len(r.subs)
		next = db.gather(&group, &n)
		db.lastGroup = len(group)
		db.w.commitGroup(group)
	}
}

// gather appends queued Commit requests to the group until it is full, the queue is dry
// or a function request turns up (which it returns, to run after the group).
//
// When the queue runs dry while the group is still smaller than the previous one, it
// lingers up to GroupCommitWait: under steady load the callers just answered are about to
// send again, and waiting a moment for them doubles the group instead of committing one
// straggler on its own. A lone caller never waits, since its previous group was small too.
func (db *DB) gather(group *[]*request, n *int) *request {
	var linger *time.Timer
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	for *n < db.opts.GroupCommitMax {
		var r *request
		var ok bool
		select {
		case r, ok = <-db.reqs:
		default:
			if db.opts.GroupCommitWait <= 0 || len(*group) >= db.lastGroup {
				return nil
			}
			if linger == nil {
				linger = time.NewTimer(db.opts.GroupCommitWait)
			}
			select {
			case r, ok = <-db.reqs:
			case <-linger.C:
				return nil
			}
		}
		if !ok {
			return nil // closed: commit what we have; run sees the closed queue next
		}
		if r.fn != nil {
			return r
		}
		*group = append(*group, r)
		*n += len(r.subs)
	}
	return nil
}

func (db *DB) runFn(r *request) {
	if err := r.ctx.Err(); err != nil {
		r.done <- err
		return
	}
	r.done <- r.fn(db.w)
}

// submit queues a request and waits for the writer's answer. If ctx ends first the
// caller gets ctx's error, but the work may still be done: a Commit re-sent after such an
// error comes back StatusUnchanged, which makes retrying safe.
func (db *DB) submit(ctx context.Context, r *request) error {
	r.ctx = ctx
	r.done = make(chan error, 1)
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	select {
	case db.reqs <- r:
		db.mu.RUnlock()
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do runs fn on the writer goroutine, ordered with every other write.
func (db *DB) do(ctx context.Context, fn func(w *writer) error) error {
	return db.submit(ctx, &request{fn: fn})
}

// Checkpoint moves the write-ahead log into the database file. Commits are already durable
// through the WAL; this makes the file self-contained (e.g. before a backup or copy) and
// keeps the next open fast.
func (db *DB) Checkpoint(ctx context.Context) error {
	err := db.do(ctx, func(w *writer) error {
		_, err := w.conn.ExecContext(context.Background(), `CHECKPOINT `+w.cat)
		return err
	})
	if err != nil {
		return fmt.Errorf("warehouse: checkpoint: %w", err)
	}
	return nil
}
