package ingest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/workbook"
)

var update = flag.Bool("update", false, "rewrite generated testdata (testdata/sample.xlsx)")

// TestSampleXLSX keeps testdata/sample.xlsx in step with the workbook layout; run with
// -update after changing the layout.
func TestSampleXLSX(t *testing.T) {
	path := filepath.Join("testdata", "sample.xlsx")
	if *update {
		var buf bytes.Buffer
		if err := workbook.Write(&buf, testModel(), sampleSubmission()); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v (run go test -run TestSampleXLSX -update)", err)
	}
}

// ingestFile1 ingests one testdata file, size known, format as given ("" sniffs).
func ingestFile1(t *testing.T, store *fakeStore, path string, format Format) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := Ingest(context.Background(), store, testReg, []Input{{Name: filepath.Base(path), Reader: f, Format: format, Size: st.Size()}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestEveryFormatSameSubmission: the files in testdata hold the same submission in every
// format (with a BOM, CRLF, quoted fields and rows out of order among them); each must
// decode to exactly the same model.Submission, and so to the same content hash.
func TestEveryFormatSameSubmission(t *testing.T) {
	want := sampleSubmission()
	wantHash := ContentHash(want)
	files := []struct {
		file   string
		format Format // as sniffed
		subs   int
	}{
		{"sample.json", FormatJSON, 1},     // BOM, pretty-printed
		{"sample.ndjson", FormatNDJSON, 2}, // CRLF, a blank line
		{"wide.csv", FormatCSVWide, 2},     // BOM, CRLF, quoted name with comma and quotes
		{"long.csv", FormatCSVLong, 2},     // LF, two submissions interleaved, reverse order
		{"sample.xlsx", FormatXLSX, 1},
	}
	for _, tc := range files {
		t.Run(tc.file, func(t *testing.T) {
			store := newFakeStore()
			rep := ingestFile1(t, store, filepath.Join("testdata", tc.file), "")
			if len(rep.Problems()) > 0 {
				t.Fatalf("problems: %v", problemStrings(rep))
			}
			if got := rep.Files[0].Format; got != tc.format {
				t.Errorf("format %s, want %s", got, tc.format)
			}
			if rep.Total.Accepted != tc.subs || rep.Total.Submissions != tc.subs {
				t.Errorf("counts %+v, want %d accepted", rep.Total, tc.subs)
			}
			got := store.stored[0]
			if !reflect.DeepEqual(&got.Submission, want) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got.Submission, *want)
			}
			if got.ContentHash != wantHash {
				t.Errorf("hash %s, want %s", got.ContentHash, wantHash)
			}
			if got.Keys != (model.CohortKeys{SizeBand: "100-299", Region: "midwest", OrgType: "community"}) {
				t.Errorf("keys %+v", got.Keys)
			}
			if got.Source != tc.file || got.Score.ModelVersion != "1.0" || len(got.Score.Domains) == 0 {
				t.Errorf("scored submission incomplete: source %q score %+v", got.Source, got.Score)
			}
		})
	}
}

// TestLongWithStoredProfile: a CSV-long file without profile columns takes the profile
// from the warehouse.
func TestLongWithStoredProfile(t *testing.T) {
	want := sampleSubmission()
	store := newFakeStore()
	store.profiles[want.Organisation.ID] = want.Organisation
	rep := ingestFile1(t, store, filepath.Join("testdata", "long_noprofile.csv"), "")
	if len(rep.Problems()) > 0 || rep.Total.Accepted != 1 {
		t.Fatalf("%s", rep)
	}
	got := store.stored[0].Submission
	want.SubmittedAt = got.SubmittedAt // the file has no submitted_at column
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("decoded %+v", got)
	}
	if store.stored[0].ContentHash != ContentHash(sampleSubmission()) {
		t.Error("same content, different hash")
	}
}

// TestGeneratedFormatsAgree builds each format from one submission in code (not from
// testdata), so that the equivalence holds for the builders the other tests use too.
func TestGeneratedFormatsAgree(t *testing.T) {
	s := sampleSubmission()
	var xlsx bytes.Buffer
	if err := workbook.Write(&xlsx, testModel(), s); err != nil {
		t.Fatal(err)
	}
	inputs := map[Format]string{
		FormatJSON:    jsonDoc(s),
		FormatNDJSON:  jsonDoc(s) + "\n",
		FormatCSVWide: wideCSV(nil, wideRecord(s)),
		FormatCSVLong: longCSV(nil, longRows(s)),
		FormatXLSX:    xlsx.String(),
	}
	for format, content := range inputs {
		store := newFakeStore()
		rep := run(t, store, "x", format, content, Options{})
		if len(rep.Problems()) > 0 || len(store.stored) != 1 {
			t.Fatalf("%s: %s", format, rep)
		}
		if !reflect.DeepEqual(&store.stored[0].Submission, s) {
			t.Errorf("%s: decoded %+v", format, store.stored[0].Submission)
		}
	}
}

func TestContentHashIgnoresTimeAndOrder(t *testing.T) {
	a := sampleSubmission()
	b := sampleSubmission()
	b.SubmittedAt = b.SubmittedAt.AddDate(0, 1, 0)
	if ContentHash(a) != ContentHash(b) {
		t.Error("submitted_at changes the hash")
	}
	b.Answers["IDN-01"] = 4
	if ContentHash(a) == ContentHash(b) {
		t.Error("an answer change keeps the hash")
	}
	c := sampleSubmission()
	c.Organisation.Beds = 251
	if ContentHash(a) == ContentHash(c) {
		t.Error("a profile change keeps the hash")
	}
	// Length prefixes: moving a character between adjacent fields changes the hash.
	d, e := sampleSubmission(), sampleSubmission()
	d.Organisation.ID, d.Organisation.Name = "ab", "c"
	e.Organisation.ID, e.Organisation.Name = "a", "bc"
	if ContentHash(d) == ContentHash(e) {
		t.Error("field boundary is not part of the hash")
	}
	// The pipeline's pre-sorted path and the exported function agree.
	info := newEnv(testReg).models["1.0"]
	p := newProcessor(newEnv(testReg), "")
	if got := p.hash(a, info.sorted); got != ContentHash(a) {
		t.Errorf("pipeline hash %s != ContentHash %s", got, ContentHash(a))
	}
}

func TestSniff(t *testing.T) {
	wide := "org_id,org_name,state,beds,org_type,cycle,model_version,IDN-01\n"
	long := "org_id,cycle,model_version,capability,answer\n"
	doc := `{"schema_version":1}`
	pretty := "{\n  \"schema_version\": 1,\n  \"answers\": {\n"
	tests := []struct {
		name    string
		head    string
		want    Format
		wantErr bool
	}{
		{"a.json", doc, FormatJSON, false},
		{"a.json", "\xef\xbb\xbf" + pretty, FormatJSON, false},
		{"a.json", doc + "\n" + doc + "\n", FormatNDJSON, false}, // content wins within the family
		{"a.ndjson", doc + "\n", FormatNDJSON, false},
		{"a.jsonl", doc, FormatNDJSON, false},
		{"a.csv", wide, FormatCSVWide, false},
		{"a.csv", "\xef\xbb\xbf" + long, FormatCSVLong, false},
		{"a.CSV", "org_id , cycle, capability , answer\r\n", FormatCSVLong, false},
		{"a.csv", "foo,bar\n", FormatCSVWide, false}, // unknown header: wide, whose problems name the missing columns
		{"a.xlsx", "PK\x03\x04rest", FormatXLSX, false},
		{"a.xlsx", "org_id,cycle\n", "", true},
		{"a.xls", "\xd0\xcf\x11\xe0", "", true},
		{"upload", "PK\x03\x04rest", FormatXLSX, false},
		{"upload", doc, FormatJSON, false},
		{"upload", doc + "\n" + doc, FormatNDJSON, false},
		{"upload", pretty, FormatJSON, false},
		{"upload", wide, FormatCSVWide, false},
		{"upload.txt", long, FormatCSVLong, false},
		{"upload", "hello world", "", true},
		{"upload", "", "", true},
	}
	for _, tc := range tests {
		got, err := Sniff(tc.name, []byte(tc.head))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Sniff(%q, %q) = %q, %v; want %q (error %v)", tc.name, tc.head, got, err, tc.want, tc.wantErr)
		}
		if err != nil && model.ErrorKind(err) != model.KindUnsupportedMedia {
			t.Errorf("Sniff(%q): error kind %v", tc.name, model.ErrorKind(err))
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": "", "JSON": FormatJSON, "jsonl": FormatNDJSON, "wide": FormatCSVWide,
		"csv-long": FormatCSVLong, "csv": FormatCSV, "xlsx": FormatXLSX} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("parquet"); err == nil {
		t.Error("parquet accepted")
	}
}

// TestFormatCSVResolves: --format csv tells wide from long by the header.
func TestFormatCSVResolves(t *testing.T) {
	s := sampleSubmission()
	for want, content := range map[Format]string{FormatCSVWide: wideCSV(nil, wideRecord(s)), FormatCSVLong: longCSV(nil, longRows(s))} {
		rep := run(t, nil, "upload", FormatCSV, content, Options{})
		if rep.Files[0].Format != want || rep.Total.Valid != 1 {
			t.Errorf("want %s: %s", want, rep)
		}
	}
}
