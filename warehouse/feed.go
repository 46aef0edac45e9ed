package warehouse

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// feed is an Arrow record reader that stays registered with DuckDB as a view for as long
// as the writer's connection lives; each transaction loads its batches into it, DuckDB
// scans them with INSERT ... SELECT, and the feed is empty again afterwards.
//
// Why not one view per transaction, the obvious way: duckdb_arrow_scan (the C API call
// behind duckdb-go's RegisterView) asks the stream for its schema and never releases it,
// so every registration leaked the exported schema, about 1 KB per column. With the
// writer's five views that was ~37 KB per transaction, which the soak test (cmd/hcztmm
// TestSoak) saw as resident memory growing with every API submission, outside both the
// Go heap and DuckDB's buffer manager. Registered once, the schema leaks once.
//
// The exported stream pulls through Next and RecordBatch, which DuckDB calls from its
// scan (serialised by the scan's own lock); the mutex guards against a load or unload
// racing a scan that outlives its statement.
type feed struct {
	name   string
	schema *arrow.Schema

	mu  sync.Mutex
	src array.RecordReader // this transaction's batches; nil between transactions
}

// Retain and Release are no-ops: the writer owns the feed for the life of its connection,
// and the exported stream's references must not end it early.
func (f *feed) Retain()  {}
func (f *feed) Release() {}

// Schema is the schema the view was registered with; every load must match it.
func (f *feed) Schema() *arrow.Schema { return f.schema }

// Next advances to the next batch of the loaded reader; an empty feed is at its end.
func (f *feed) Next() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.src != nil && f.src.Next()
}

// RecordBatch is the current batch.
func (f *feed) RecordBatch() arrow.RecordBatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.src == nil {
		return nil
	}
	return f.src.RecordBatch()
}

// Record is RecordBatch under its deprecated name, which the interface still requires.
func (f *feed) Record() arrow.RecordBatch { return f.RecordBatch() }

// Err reports the loaded reader's error.
func (f *feed) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.src == nil {
		return nil
	}
	return f.src.Err()
}

// load hands rr's batches to the view; the feed owns rr from here (also on error).
func (f *feed) load(rr array.RecordReader) error {
	if !rr.Schema().Equal(f.schema) {
		rr.Release()
		return fmt.Errorf("warehouse: view %s: batches do not have the registered schema", f.name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.src != nil {
		f.src.Release()
	}
	f.src = rr
	return nil
}

// unload releases whatever the last transaction did not scan (all of it, after a failed
// statement) and leaves the feed empty.
func (f *feed) unload() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.src != nil {
		f.src.Release()
		f.src = nil
	}
}

// feedSchemas lists the writer's views and their schemas.
var feedSchemas = []struct {
	name   string
	schema *arrow.Schema
}{
	{viewSubmissions, submissionSchema},
	{viewAnswers, answerSchema},
	{viewDomains, domainSchema},
	{viewNewOrgs, orgSchema},
	{viewChangedOrgs, orgSchema},
	{viewReleaseValues, releaseValueSchema},
}

// feeds are the writer's registered views and the functions that free their streams.
type feeds struct {
	byName   map[string]*feed
	releases []func()
}

// registerFeeds registers one feed per view on the writer's connection.
func (w *writer) registerFeeds() error {
	w.feeds = feeds{byName: map[string]*feed{}}
	for _, s := range feedSchemas {
		f := &feed{name: s.name, schema: s.schema}
		release, err := w.arrow.RegisterView(f, s.name)
		if err != nil {
			return fmt.Errorf("register view %s: %w", s.name, err)
		}
		w.feeds.byName[s.name] = f
		w.feeds.releases = append(w.feeds.releases, release)
	}
	return nil
}

// dropFeeds drops the views, then frees their streams: a view scanned after its stream
// is freed would crash DuckDB.
func (w *writer) dropFeeds(ctx context.Context) error {
	var err error
	for name, f := range w.feeds.byName {
		f.unload()
		if _, e := w.conn.ExecContext(ctx, `DROP VIEW IF EXISTS `+name); e != nil {
			err = errors.Join(err, e)
		}
	}
	for _, release := range w.feeds.releases {
		release()
	}
	w.feeds = feeds{}
	return err
}

// loaded is the set of feeds one transaction filled.
type loaded []*feed

// unload empties them.
func (l loaded) unload() {
	for _, f := range l {
		f.unload()
	}
}

// loadFeeds hands named readers to their views. On error every reader is released and
// nothing stays loaded.
func (w *writer) loadFeeds(readers []namedReader) (loaded, error) {
	var out loaded
	for i, r := range readers {
		f := w.feeds.byName[r.name]
		if f == nil {
			releaseReaders(readers[i:])
			out.unload()
			return nil, fmt.Errorf("warehouse: no view %s is registered", r.name)
		}
		if err := f.load(r.rr); err != nil {
			releaseReaders(readers[i+1:])
			out.unload()
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}
