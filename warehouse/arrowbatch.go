package warehouse

import (
	"errors"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Names of the Arrow views the writer registers once on its connection (see feed).
const (
	viewSubmissions = "wh_new_submissions"
	viewAnswers     = "wh_new_answers"
	viewDomains     = "wh_new_domain_scores"
	viewNewOrgs     = "wh_new_organisations"
	viewChangedOrgs = "wh_changed_organisations"
	// viewReleaseValues carries a release's long-form values (PublishRelease).
	viewReleaseValues = "wh_release_values"
)

// submissionColumns lists the submissions columns in the order of submissionSchema.
const submissionColumns = `submission_id, org_id, cycle_id, model_version, schema_version, source, content_hash,
	received_at, submitted_at, replaces, org_name, state, beds, org_type, size_band, region,
	posture, overall_index`

// tsType is a zone-less microsecond timestamp: DuckDB reads it as TIMESTAMP, whereas
// arrow.FixedWidthTypes.Timestamp_us (zoned UTC) would arrive as TIMESTAMP WITH TIME ZONE.
var tsType = &arrow.TimestampType{Unit: arrow.Microsecond}

var (
	submissionSchema = arrow.NewSchema([]arrow.Field{
		{Name: "submission_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "org_id", Type: arrow.BinaryTypes.String},
		{Name: "cycle_id", Type: arrow.BinaryTypes.String},
		{Name: "model_version", Type: arrow.BinaryTypes.String},
		{Name: "schema_version", Type: arrow.PrimitiveTypes.Int32},
		{Name: "source", Type: arrow.BinaryTypes.String},
		{Name: "content_hash", Type: arrow.BinaryTypes.String},
		{Name: "received_at", Type: tsType},
		{Name: "submitted_at", Type: tsType, Nullable: true},
		{Name: "replaces", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "org_name", Type: arrow.BinaryTypes.String},
		{Name: "state", Type: arrow.BinaryTypes.String},
		{Name: "beds", Type: arrow.PrimitiveTypes.Int32},
		{Name: "org_type", Type: arrow.BinaryTypes.String},
		{Name: "size_band", Type: arrow.BinaryTypes.String},
		{Name: "region", Type: arrow.BinaryTypes.String},
		{Name: "posture", Type: arrow.PrimitiveTypes.Int8},
		{Name: "overall_index", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	answerSchema = arrow.NewSchema([]arrow.Field{
		{Name: "submission_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "capability_id", Type: arrow.BinaryTypes.String},
		{Name: "answer", Type: arrow.PrimitiveTypes.Int8},
	}, nil)
	orgSchema = arrow.NewSchema([]arrow.Field{
		{Name: "org_id", Type: arrow.BinaryTypes.String},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "state", Type: arrow.BinaryTypes.String},
		{Name: "beds", Type: arrow.PrimitiveTypes.Int32},
		{Name: "org_type", Type: arrow.BinaryTypes.String},
		{Name: "size_band", Type: arrow.BinaryTypes.String},
		{Name: "region", Type: arrow.BinaryTypes.String},
		{Name: "first_seen", Type: tsType},
		{Name: "updated_at", Type: tsType},
	}, nil)
	domainSchema = arrow.NewSchema([]arrow.Field{
		{Name: "submission_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "domain_id", Type: arrow.BinaryTypes.String},
		{Name: "assessed", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "domain_index", Type: arrow.PrimitiveTypes.Float64},
		{Name: "posture", Type: arrow.PrimitiveTypes.Int8},
		{Name: "unknown_count", Type: arrow.PrimitiveTypes.Int16},
		{Name: "na_count", Type: arrow.PrimitiveTypes.Int16},
	}, nil)
)

// batcher cuts a stream of rows into record batches of at most max rows, so that a bulk
// commit goes to DuckDB as a few large batches behind one view.
type batcher struct {
	schema *arrow.Schema
	b      *array.RecordBuilder
	max    int
	n      int
	recs   []arrow.RecordBatch
}

func newBatcher(mem memory.Allocator, schema *arrow.Schema, max, expect int) *batcher {
	bt := &batcher{schema: schema, b: array.NewRecordBuilder(mem, schema), max: max}
	bt.b.Reserve(min(max, expect))
	return bt
}

// rowDone counts a completed row and cuts a batch when it is full.
func (bt *batcher) rowDone() {
	bt.n++
	if bt.n == bt.max {
		bt.recs = append(bt.recs, bt.b.NewRecordBatch())
		bt.n = 0
	}
}

// reader hands the batches over to a RecordReader (which then owns them).
func (bt *batcher) reader() (array.RecordReader, error) {
	if bt.n > 0 || len(bt.recs) == 0 {
		bt.recs = append(bt.recs, bt.b.NewRecordBatch())
		bt.n = 0
	}
	bt.b.Release()
	rr, err := array.NewRecordReader(bt.schema, bt.recs)
	for _, r := range bt.recs {
		r.Release() // the reader holds its own references
	}
	bt.recs = nil
	return rr, err
}

// release frees batches that never became a reader.
func (bt *batcher) release() {
	for _, r := range bt.recs {
		r.Release()
	}
	bt.recs = nil
	bt.b.Release()
}

func micros(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMicro()) }

// appendStr appends a string without the []byte copy StringBuilder.Append makes: the
// builder copies the bytes into its buffer and keeps no reference.
func appendStr(b *array.StringBuilder, s string) {
	b.BinaryBuilder.Append(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// namedReader is a record reader and the view name it is registered under.
type namedReader struct {
	name string
	rr   array.RecordReader
}

// buildReaders turns a plan's rows into the record readers of one transaction, in the
// order the statements use them. The answers (the bulk of the rows) are built on a second
// goroutine beside the rest.
func buildReaders(mem memory.Allocator, max int, p *plan) ([]namedReader, error) {
	var wg sync.WaitGroup
	var answers, subs, domains, newOrgs, changedOrgs array.RecordReader
	var aerr, serr, nerr, cerr error
	wg.Go(func() { answers, aerr = buildAnswers(mem, max, p) })
	subs, domains, serr = buildSubmissions(mem, max, p)
	if len(p.newOrgs) > 0 {
		newOrgs, nerr = buildOrgs(mem, max, p.newOrgs)
	}
	if len(p.changedOrgs) > 0 {
		changedOrgs, cerr = buildOrgs(mem, max, p.changedOrgs)
	}
	wg.Wait()
	all := []namedReader{{viewSubmissions, subs}, {viewAnswers, answers}, {viewDomains, domains},
		{viewNewOrgs, newOrgs}, {viewChangedOrgs, changedOrgs}}
	if err := errors.Join(aerr, serr, nerr, cerr); err != nil {
		releaseReaders(all)
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if r.rr != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

func releaseReaders(rs []namedReader) {
	for _, r := range rs {
		if r.rr != nil {
			r.rr.Release()
		}
	}
}

func buildOrgs(mem memory.Allocator, max int, orgs []orgChange) (array.RecordReader, error) {
	ob := newBatcher(mem, orgSchema, max, len(orgs))
	var (
		id     = ob.b.Field(0).(*array.StringBuilder)
		name   = ob.b.Field(1).(*array.StringBuilder)
		state  = ob.b.Field(2).(*array.StringBuilder)
		beds   = ob.b.Field(3).(*array.Int32Builder)
		typ    = ob.b.Field(4).(*array.StringBuilder)
		band   = ob.b.Field(5).(*array.StringBuilder)
		region = ob.b.Field(6).(*array.StringBuilder)
		first  = ob.b.Field(7).(*array.TimestampBuilder)
		upd    = ob.b.Field(8).(*array.TimestampBuilder)
	)
	for _, o := range orgs {
		appendStr(id, o.id)
		appendStr(name, o.row.name)
		appendStr(state, o.row.state)
		beds.Append(int32(o.row.beds))
		appendStr(typ, o.row.typ)
		appendStr(band, o.row.band)
		appendStr(region, o.row.region)
		first.Append(micros(o.received))
		upd.Append(micros(o.received))
		ob.rowDone()
	}
	return ob.reader()
}

func buildAnswers(mem memory.Allocator, max int, p *plan) (array.RecordReader, error) {
	ab := newBatcher(mem, answerSchema, max, p.answers)
	aID := ab.b.Field(0).(*array.Int64Builder)
	aCap := ab.b.Field(1).(*array.StringBuilder)
	aVal := ab.b.Field(2).(*array.Int8Builder)
	for _, r := range p.rows {
		for i, c := range r.p.caps {
			aID.Append(r.id)
			appendStr(aCap, c)
			aVal.Append(r.p.answers[i])
			ab.rowDone()
		}
	}
	return ab.reader()
}

func buildSubmissions(mem memory.Allocator, max int, p *plan) (subs, domains array.RecordReader, err error) {
	sb := newBatcher(mem, submissionSchema, max, len(p.rows))
	db := newBatcher(mem, domainSchema, max, len(p.rows)*8)
	var (
		sID      = sb.b.Field(0).(*array.Int64Builder)
		sOrg     = sb.b.Field(1).(*array.StringBuilder)
		sCycle   = sb.b.Field(2).(*array.StringBuilder)
		sModel   = sb.b.Field(3).(*array.StringBuilder)
		sSchema  = sb.b.Field(4).(*array.Int32Builder)
		sSource  = sb.b.Field(5).(*array.StringBuilder)
		sHash    = sb.b.Field(6).(*array.StringBuilder)
		sRecv    = sb.b.Field(7).(*array.TimestampBuilder)
		sSubm    = sb.b.Field(8).(*array.TimestampBuilder)
		sRepl    = sb.b.Field(9).(*array.Int64Builder)
		sName    = sb.b.Field(10).(*array.StringBuilder)
		sState   = sb.b.Field(11).(*array.StringBuilder)
		sBeds    = sb.b.Field(12).(*array.Int32Builder)
		sType    = sb.b.Field(13).(*array.StringBuilder)
		sBand    = sb.b.Field(14).(*array.StringBuilder)
		sRegion  = sb.b.Field(15).(*array.StringBuilder)
		sPosture = sb.b.Field(16).(*array.Int8Builder)
		sIndex   = sb.b.Field(17).(*array.Float64Builder)

		dID       = db.b.Field(0).(*array.Int64Builder)
		dDomain   = db.b.Field(1).(*array.StringBuilder)
		dAssessed = db.b.Field(2).(*array.BooleanBuilder)
		dIndex    = db.b.Field(3).(*array.Float64Builder)
		dPosture  = db.b.Field(4).(*array.Int8Builder)
		dUnknown  = db.b.Field(5).(*array.Int16Builder)
		dNA       = db.b.Field(6).(*array.Int16Builder)
	)
	for _, r := range p.rows {
		s := r.p.sub
		sub := &s.Submission
		org := &sub.Organisation
		sID.Append(r.id)
		appendStr(sOrg, org.ID)
		appendStr(sCycle, sub.Cycle)
		appendStr(sModel, sub.ModelVersion)
		sSchema.Append(int32(sub.SchemaVersion))
		appendStr(sSource, s.Source)
		appendStr(sHash, r.p.hash)
		sRecv.Append(micros(r.received))
		if sub.SubmittedAt.IsZero() {
			sSubm.AppendNull()
		} else {
			sSubm.Append(micros(sub.SubmittedAt))
		}
		if r.replaces == 0 {
			sRepl.AppendNull()
		} else {
			sRepl.Append(r.replaces)
		}
		appendStr(sName, org.Name)
		appendStr(sState, org.State)
		sBeds.Append(int32(org.Beds))
		appendStr(sType, org.Type)
		appendStr(sBand, s.Keys.SizeBand)
		appendStr(sRegion, s.Keys.Region)
		sPosture.Append(int8(s.Score.Posture))
		sIndex.Append(s.Score.Index)
		sb.rowDone()

		for _, d := range s.Score.Domains {
			dID.Append(r.id)
			appendStr(dDomain, d.ID)
			dAssessed.Append(d.Assessed)
			dIndex.Append(d.Index)
			dPosture.Append(int8(d.Posture))
			dUnknown.Append(int16(d.Unknown))
			dNA.Append(int16(d.NA))
			db.rowDone()
		}
	}
	subs, err = sb.reader()
	if err != nil {
		db.release()
		return nil, nil, err
	}
	if domains, err = db.reader(); err != nil {
		subs.Release()
		return nil, nil, err
	}
	return subs, domains, nil
}

// loadViews builds the plan's batches and loads them into the writer's views.
func (w *writer) loadViews(p *plan) (loaded, error) {
	readers, err := buildReaders(w.opts.Allocator, w.opts.BatchRows, p)
	if err != nil {
		return nil, err
	}
	return w.loadFeeds(readers)
}

func joinErr(a, b error) error {
	if b == nil {
		return a
	}
	return errors.Join(a, b)
}
