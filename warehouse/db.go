package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/hcztmm/warehouse/model"
)

// Options tune the warehouse. The zero value is usable: every field has a default.
type Options struct {
	// MaxReadConns bounds the read pool (default 4). The writer's connection is extra.
	MaxReadConns int
	// GroupCommitMax caps how many submissions the writer gathers from queued Commit calls
	// into one transaction (default 2048). A single call larger than this still goes in
	// one transaction: splitting it would buy nothing and cost commits.
	GroupCommitMax int
	// GroupCommitWait bounds how long the writer waits for more requests when the queue runs
	// dry while a group is smaller than the previous one (default 1ms; negative: never
	// wait). It only costs latency under load, when it roughly doubles the group size;
	// see gather.
	GroupCommitWait time.Duration
	// Threads sets DuckDB's worker threads (default: DuckDB's choice, the number of cores).
	Threads int
	// BatchRows is the number of rows per Arrow record batch on the insert path (default 65536).
	BatchRows int
	// QueueSize is the capacity of the writer's request queue (default 1024). Callers block
	// (or give up with their context) when it is full: that is the back-pressure.
	QueueSize int
	// Allocator builds the Arrow batches (default: C malloc through arrow's mallocator, so
	// that a bulk commit's hundred megabytes of batches do not drive the Go GC over the
	// caller's own large heap; measured ~2x faster batch building). Tests pass a checked
	// allocator to prove every batch is released.
	Allocator memory.Allocator
}

func (o Options) withDefaults() Options {
	if o.MaxReadConns <= 0 {
		o.MaxReadConns = 4
	}
	if o.GroupCommitMax <= 0 {
		o.GroupCommitMax = 2048
	}
	if o.GroupCommitWait == 0 {
		o.GroupCommitWait = time.Millisecond
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 1 << 16
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.Allocator == nil {
		o.Allocator = mallocator.NewMallocator()
	}
	return o
}

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("warehouse: closed")

// DB is an open warehouse: a read pool and the single writer goroutine over one DuckDB file.
// It is safe for concurrent use.
type DB struct {
	reg  *model.Registry
	opts Options
	path string // the key in openPaths
	sql  readPool
	w    *writer

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *request
	done   chan struct{}
	// lastGroup is the number of requests in the writer's previous group (writer only).
	lastGroup int

	stats statCounters
}

// readPool is the read side of the warehouse. DuckDB refuses to bind a VARCHAR that is
// not valid UTF-8, failing the whole query; but every key the warehouse stores (IDs,
// token hashes, cohort keys) is valid UTF-8, checked on the way in, so a key with invalid
// bytes can match nothing. readPool binds such a key with its invalid bytes replaced, so
// a lookup answers "does not exist" or an empty list, as it would for any unknown key,
// rather than failing. Writes never pass through it: what is stored is validated first.
type readPool struct{ *sql.DB }

// QueryContext is sql.DB's QueryContext with bindable arguments.
func (p readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.DB.QueryContext(ctx, query, bindable(args)...)
}

// QueryRowContext is sql.DB's QueryRowContext with bindable arguments.
func (p readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.DB.QueryRowContext(ctx, query, bindable(args)...)
}

// bindable returns args with every string made bindable by bindableKey, copying only
// when one needs it.
func bindable(args []any) []any {
	var out []any // nil until a string needs replacing
	for i, a := range args {
		if s, ok := a.(string); ok && !utf8.ValidString(s) {
			if out == nil {
				out = slices.Clone(args)
			}
			out[i] = bindableKey(s)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// bindableKey is a lookup key DuckDB will bind: s itself when it is valid UTF-8, else s
// with each invalid run replaced by U+FFFD, which no stored key can equal.
func bindableKey(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// openPaths refuses a second Open of one file in this process: duckdb-go would hand both
// the same database instance, and two writers would each believe they own the supersede
// state.
var openPaths sync.Map

// Open opens (creating if needed) the warehouse file at path, applies pending migrations
// and starts the writer. reg resolves the model versions of cycles and submissions.
func Open(ctx context.Context, path string, reg *model.Registry, opts Options) (*DB, error) {
	if reg == nil {
		return nil, errors.New("warehouse: open: nil model registry")
	}
	if path == "" || strings.ContainsAny(path, "?") {
		return nil, fmt.Errorf("warehouse: open: invalid path %q", path)
	}
	opts = opts.withDefaults()
	key := path
	if path != ":memory:" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("warehouse: open: %w", err)
		}
		key = abs
		if _, loaded := openPaths.LoadOrStore(key, true); loaded {
			return nil, model.Errorf(model.KindConflict, "warehouse: %s is already open in this process", path)
		}
	}
	db, err := open(ctx, path, key, reg, opts)
	if err != nil {
		if key != ":memory:" {
			openPaths.Delete(key)
		}
		return nil, fmt.Errorf("warehouse: open %s: %w", path, err)
	}
	return db, nil
}

func open(ctx context.Context, path, key string, reg *model.Registry, opts Options) (*DB, error) {
	q := url.Values{}
	if opts.Threads > 0 {
		q.Set("threads", strconv.Itoa(opts.Threads))
	}
	dsn := path
	if len(q) > 0 {
		dsn += "?" + q.Encode()
	}
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, err
	}
	// One *sql.DB per connector: closing it closes the connector (and the database).
	sqlDB := sql.OpenDB(connector)
	sqlDB.SetMaxOpenConns(opts.MaxReadConns + 1)
	sqlDB.SetMaxIdleConns(opts.MaxReadConns + 1)
	if err := migrate(ctx, sqlDB, migrationFiles); err != nil {
		return nil, errors.Join(err, sqlDB.Close())
	}
	w, err := newWriter(ctx, sqlDB, reg, opts)
	if err != nil {
		return nil, errors.Join(err, sqlDB.Close())
	}
	db := &DB{reg: reg, opts: opts, path: key, sql: readPool{sqlDB}, w: w,
		reqs: make(chan *request, opts.QueueSize), done: make(chan struct{})}
	w.stats = &db.stats
	go db.run()
	return db, nil
}

// Close stops accepting work, lets the writer finish everything already queued, then
// closes the writer's connection, the pool and the database. It is safe to call twice.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.reqs)
	db.mu.Unlock()
	<-db.done
	err := errors.Join(db.w.close(), db.sql.Close())
	if db.path != ":memory:" {
		openPaths.Delete(db.path)
	}
	if err != nil {
		return fmt.Errorf("warehouse: close: %w", err)
	}
	return nil
}

// Stats are cumulative counters of the writer since Open, for tests, logs and metrics.
type Stats struct {
	// Requests is the number of Commit calls the writer has answered.
	Requests int64
	// Transactions is the number of committed transactions that stored submissions.
	Transactions int64
	// FailedTransactions counts rolled-back write transactions (each is retried in parts).
	FailedTransactions int64
	// Submissions is the number of submissions stored.
	Submissions int64
	// Answers is the number of answer rows stored.
	Answers int64
	// Unchanged counts submissions identical to the current one (nothing written).
	Unchanged int64
	// Rejected counts submissions not stored.
	Rejected int64
}

type statCounters struct {
	requests, transactions, failed, submissions, answers, unchanged, rejected atomic.Int64
}

// Stats returns a snapshot of the writer's counters.
func (db *DB) Stats() Stats {
	s := &db.stats
	return Stats{Requests: s.requests.Load(), Transactions: s.transactions.Load(), FailedTransactions: s.failed.Load(),
		Submissions: s.submissions.Load(), Answers: s.answers.Load(), Unchanged: s.unchanged.Load(), Rejected: s.rejected.Load()}
}

// MemoryUsage is the memory DuckDB's buffer manager holds for this database, in bytes,
// and what it has spilled to temporary files: what operators (and the soak test) need to
// tell a growing working set from a leak outside DuckDB.
func (db *DB) MemoryUsage(ctx context.Context) (inMemory, spilled int64, err error) {
	err = db.sql.QueryRowContext(ctx,
		`SELECT coalesce(sum(memory_usage_bytes), 0), coalesce(sum(temporary_storage_bytes), 0) FROM duckdb_memory()`).Scan(&inMemory, &spilled)
	if err != nil {
		return 0, 0, fmt.Errorf("warehouse: memory usage: %w", err)
	}
	return inMemory, spilled, nil
}

// Registry returns the model registry the warehouse resolves versions with.
func (db *DB) Registry() *model.Registry { return db.reg }

// quoteIdent quotes a SQL identifier (a catalog name taken from a file name may hold
// anything).
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// withRawConn runs f on a pooled connection's driver connection (for Arrow reads). If f
// fails the connection is discarded rather than returned to the pool, because it may be
// left inside a transaction.
func (db *DB) withRawConn(ctx context.Context, f func(driver.Conn) error) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var ferr error
	_ = conn.Raw(func(dc any) error {
		ferr = f(dc.(driver.Conn))
		if ferr != nil {
			return driver.ErrBadConn // tells database/sql to drop this connection
		}
		return nil
	})
	return ferr
}
