package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzIngest runs one input through the whole pipeline (fake store) and checks what
// must hold for any input: no panic, no error, the counts add up, and every rejected
// submission and every empty file comes with a problem that names a rule.
func fuzzIngest(t *testing.T, format Format, data []byte) {
	store := newFakeStore()
	store.profiles["org-0042"] = sampleSubmission().Organisation
	// A hang is a failure too: the fuzzer has no timeout of its own and would only stop
	// the stuck worker when its time is up, reporting nothing.
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Ingest(context.Background(), store, testReg, []Input{{Name: "fuzz", Format: format, Reader: bytes.NewReader(data)}},
			Options{Workers: 2, MaxBytes: 1 << 20})
		done <- result{rep, err}
	}()
	var rep *Report
	var err error
	select {
	case r := <-done:
		rep, err = r.rep, r.err
	case <-time.After(fuzzHang):
		t.Fatalf("Ingest did not finish within %s on this %d-byte input", fuzzHang, len(data))
	}
	if err != nil {
		t.Fatalf("Ingest error: %v", err)
	}
	c := rep.Total
	if c.Submissions != c.Accepted+c.Superseded+c.Unchanged+c.Rejected {
		t.Fatalf("counts do not add up: %+v", c)
	}
	if c.Valid != c.Accepted+c.Superseded+c.Unchanged {
		t.Fatalf("valid submissions not all stored: %+v", c)
	}
	if c.Rejected > 0 && c.ProblemCount == 0 {
		t.Fatalf("rejected without a problem: %+v", c)
	}
	if c.Submissions == 0 && c.ProblemCount == 0 {
		t.Fatalf("nothing read and no problem: %+v", c)
	}
	for _, p := range rep.Problems() {
		if p.Rule == "" || p.Message == "" {
			t.Fatalf("problem without rule or message: %+v", p)
		}
		if !utf8.ValidString(p.Value) || !utf8.ValidString(p.Message) || !utf8.ValidString(p.Pointer) {
			t.Fatalf("problem is not valid UTF-8: %q", p.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatalf("report does not marshal: %v", err)
	}
}

// fuzzHang is how long one fuzz input may take: inputs are at most 1 MiB, and a
// well-behaved ingest of that takes milliseconds.
const fuzzHang = 10 * time.Second

func seedFile(f *testing.F, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func FuzzDecodeJSON(f *testing.F) {
	seedFile(f, "sample.json")
	f.Add([]byte(jsonDoc(sampleSubmission())))
	f.Add([]byte(`{"answers":{"VDT-02":"n/a","x":[1,{"a":"}"}]},"organisation":{"beds":1e3}}`))
	f.Add([]byte(`{"cycle":"\u00e9\ud800","schema_version":1.5}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzIngest(t, FormatJSON, data) })
}

func FuzzDecodeNDJSON(f *testing.F) {
	seedFile(f, "sample.ndjson")
	f.Add([]byte(jsonDoc(sampleSubmission()) + "\n" + jsonDoc(sampleSubmission())))
	f.Add([]byte("{}\n\n{\"a\":\n"))
	f.Add([]byte("\xef\xbb\xbf\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzIngest(t, FormatNDJSON, data) })
}

func FuzzDecodeCSVWide(f *testing.F) {
	seedFile(f, "wide.csv")
	f.Add([]byte(wideCSV(nil, population(3, 1)...)))
	f.Add([]byte("org_id,cycle\n\"a\"b,2\n"))
	f.Add([]byte("org_id,cycle,,IDN-01\nx,y,z\n,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzIngest(t, FormatCSVWide, data) })
}

func FuzzDecodeCSVLong(f *testing.F) {
	seedFile(f, "long.csv")
	seedFile(f, "long_noprofile.csv")
	f.Add([]byte("org_id,cycle,model_version,capability,answer\norg-0042,2026,1.0,IDN-01,2\norg-0042,2026,1.0,IDN-01,\n,,,\n"))
	f.Add([]byte("org_id,cycle,model_version,capability,answer,beds,state,org_type\nx,1,1.0,A,1,2,OH\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzIngest(t, FormatCSVLong, data) })
}
