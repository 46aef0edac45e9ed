package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// countingStore is an ingest.Store that records what reached it.
type countingStore struct {
	commits, lookups int
}

func (s *countingStore) Commit(_ context.Context, subs []warehouse.ScoredSubmission, _ bool) ([]warehouse.Outcome, error) {
	s.commits++
	return make([]warehouse.Outcome, len(subs)), nil
}

func (s *countingStore) Organisation(_ context.Context, id string) (warehouse.Organisation, error) {
	s.lookups++
	return warehouse.Organisation{Profile: model.Profile{ID: id}}, nil
}

// TestOrgGuard checks the guard on its own, without the upload scan in front of it: a
// call holding any other organisation's submission reaches nothing, nor does a lookup of
// another organisation's profile.
func TestOrgGuard(t *testing.T) {
	st := &countingStore{}
	g := orgGuard{st: st, org: "A"}
	sub := func(org string) warehouse.ScoredSubmission {
		return warehouse.ScoredSubmission{Submission: model.Submission{Organisation: model.Profile{ID: org}}}
	}
	ctx := context.Background()
	if _, err := g.Commit(ctx, []warehouse.ScoredSubmission{sub("A"), sub("B")}, false); model.ErrorKind(err) != model.KindForbidden {
		t.Fatalf("mixed commit: %v", err)
	}
	if _, err := g.Organisation(ctx, "B"); model.ErrorKind(err) != model.KindForbidden {
		t.Fatalf("lookup of B: %v", err)
	}
	if st.commits != 0 || st.lookups != 0 {
		t.Fatalf("the store was reached: %+v", st)
	}
	if _, err := g.Commit(ctx, []warehouse.ScoredSubmission{sub("A"), sub("A")}, false); err != nil || st.commits != 1 {
		t.Fatalf("own commit: %v", err)
	}
	if _, err := g.Organisation(ctx, "A"); err != nil || st.lookups != 1 {
		t.Fatalf("own lookup: %v", err)
	}
}

func TestOtherOrgIn(t *testing.T) {
	tests := []struct {
		format ingest.Format
		data   string
		want   string
	}{
		{ingest.FormatJSON, `{"organisation":{"id":"A"}}`, ""},
		{ingest.FormatJSON, `{"organisation":{"id":"B"}}`, "the document"},
		{ingest.FormatJSON, `{"organisation":{"id":7}}`, "the document"},
		{ingest.FormatJSON, `{"organisation":`, ""},
		{ingest.FormatNDJSON, "{\"organisation\":{\"id\":\"A\"}}\n\n{\"organisation\":{\"id\":\"B\"}}\n", "line 3"},
		{ingest.FormatCSVWide, "\xef\xbb\xbforg_id,cycle\r\nA,1\r\nB,1\r\n", "row 3"},
		{ingest.FormatCSV, "cycle, org_id \n1, A \n", ""},
		{ingest.FormatCSVLong, "org_id,capability,answer\nA,X,1\nA,Y,\"2\nB,Z,1\n", ""}, // unreadable: ingest reports it
		{ingest.FormatCSVLong, "org_id,capability,answer\nA,X,1\n,Y,2\nC,Z,1\n", "row 4"},
	}
	for _, tt := range tests {
		if got := otherOrgIn(tt.format, []byte(tt.data), "A"); got != tt.want {
			t.Errorf("%s %q = %q, want %q", tt.format, tt.data, got, tt.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(2, time.Second)
	if b, _ := l.blocked("ip", now); b {
		t.Fatal("blocked before any failure")
	}
	l.fail("ip", now)
	l.fail("ip", now)
	b, wait := l.blocked("ip", now)
	if !b || wait != time.Second {
		t.Fatalf("after 2 failures: %v %v", b, wait)
	}
	if b, _ := l.blocked("other", now); b {
		t.Fatal("another address is blocked")
	}
	if b, _ := l.blocked("ip", now.Add(time.Second)); b {
		t.Fatal("still blocked after a refill")
	}
	// Fully forgiven, the bucket goes and the lock-free path is back.
	l.blocked("ip", now.Add(time.Hour))
	if l.n.Load() != 0 {
		t.Fatalf("%d buckets left", l.n.Load())
	}
	off := newLimiter(-1, time.Second)
	off.fail("ip", now)
	if b, _ := off.blocked("ip", now); b {
		t.Fatal("a disabled limiter blocked")
	}
	w := newLimiter(1, time.Minute)
	if ok, _ := w.take("k", now); !ok {
		t.Fatal("first take")
	}
	if ok, wait := w.take("k", now); ok || wait != time.Minute {
		t.Fatalf("second take: %v %v", ok, wait)
	}
}

func TestKeyCache(t *testing.T) {
	now := time.Unix(1000, 0)
	kc := newKeyCache(time.Minute)
	d := sha256.Sum256([]byte("t"))
	kc.put(d, warehouse.APIKey{ID: "key_1"}, now)
	if k, ok := kc.get(d, now.Add(30*time.Second)); !ok || k.ID != "key_1" {
		t.Fatal("miss within the TTL")
	}
	if _, ok := kc.get(d, now.Add(2*time.Minute)); ok {
		t.Fatal("hit after the TTL")
	}
	kc.drop("key_1")
	if _, ok := kc.get(d, now); ok {
		t.Fatal("hit after drop")
	}
}

func TestETagMatches(t *testing.T) {
	for h, want := range map[string]bool{`"a"`: true, `W/"a"`: true, `"b", "a"`: true, `*`: true, `"b"`: false, `a`: false} {
		if etagMatches(h, `"a"`) != want {
			t.Errorf("%s", h)
		}
	}
}

// fakeAudits records entries, one at a time or in batches.
type fakeAudits struct {
	mu      sync.Mutex
	entries []warehouse.AuditEntry
	batches []int
	gate    chan struct{}
}

func (f *fakeAudits) RecordAudit(_ context.Context, e warehouse.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
	return nil
}

func (f *fakeAudits) ListAudit(context.Context, int) ([]warehouse.AuditEntry, error) { return nil, nil }

type fakeBatchAudits struct{ *fakeAudits }

func (f fakeBatchAudits) RecordAudits(_ context.Context, es []warehouse.AuditEntry) error {
	<-f.gate // hold the first batch until the others have queued
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, es...)
	f.batches = append(f.batches, len(es))
	return nil
}

// TestAuditGroup checks that concurrent audit entries are all written, in batches when
// the store can, and that record returns only once its entry is written.
func TestAuditGroup(t *testing.T) {
	const n = 20
	run := func(st AuditStore, f *fakeAudits) {
		g := newAuditGroup(st)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := g.record(context.Background(), warehouse.AuditEntry{Actor: "a", Action: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
				f.mu.Lock()
				defer f.mu.Unlock()
				found := false
				for _, e := range f.entries {
					found = found || e.Action == fmt.Sprint(i)
				}
				if !found {
					t.Errorf("record %d returned before its entry was written", i)
				}
			})
		}
		if f.gate != nil {
			time.Sleep(50 * time.Millisecond)
			close(f.gate)
		}
		wg.Wait()
		if len(f.entries) != n {
			t.Fatalf("%d entries written, want %d", len(f.entries), n)
		}
	}
	one := &fakeAudits{}
	run(one, one)
	batched := &fakeAudits{gate: make(chan struct{})}
	run(fakeBatchAudits{batched}, batched)
	if len(batched.batches) < 2 || batched.batches[1] < 2 {
		t.Errorf("batches %v: the entries queued behind the first write were not written together", batched.batches)
	}
}
