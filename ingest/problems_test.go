package ingest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/workbook"
)

// wideWith is the sample as a CSV-wide file with some cells changed.
func wideWith(edits map[string]string) string {
	r := wideRecord(sampleSubmission())
	for k, v := range edits {
		r[k] = v
	}
	return wideCSV(nil, r)
}

// jsonWith is the sample as a JSON document with members changed (nil deletes).
func jsonWith(edit func(m map[string]any)) string {
	m := jsonMap()
	edit(m)
	return marshal(m)
}

func org(m map[string]any) map[string]any     { return m["organisation"].(map[string]any) }
func answers(m map[string]any) map[string]any { return m["answers"].(map[string]any) }

// longWith is the sample as a CSV-long file, with rows edited by a function.
func longWith(edit func(rows [][]string) [][]string) string {
	return longCSV(nil, edit(longRows(sampleSubmission())))
}

func xlsxWith(t *testing.T, edit func(f *excelize.File)) string {
	t.Helper()
	var buf bytes.Buffer
	if err := workbook.Write(&buf, testModel(), sampleSubmission()); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	edit(f)
	var out bytes.Buffer
	if err := f.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestProblems is the catalogue of every rule: one bad input each and the exact problem
// strings it must produce. Row numbers count the header as row 1.
func TestProblems(t *testing.T) {
	sample := sampleSubmission()
	two := wideRecord(sample)
	twoCopy := wideRecord(sample)
	shortHeader := func(drop string) []string {
		var h []string
		for _, c := range testModel().WideColumns() {
			if c != drop {
				h = append(h, c)
			}
		}
		return h
	}
	tests := []struct {
		name    string
		file    string
		format  Format
		content string
		opts    Options
		store   func(*fakeStore)
		want    []string
		// rejected is the expected Total.Rejected.
		rejected int
	}{
		// --- the model's rules, through CSV wide ---
		{name: "out_of_range", file: "f.csv", content: wideWith(map[string]string{"VDT-02": "7"}), rejected: 1,
			want: []string{"f.csv row 2 column VDT-02: out_of_range: VDT-02 answer 7 is outside 0..4"}},
		{name: "not_a_number", file: "f.csv", content: wideWith(map[string]string{"VDT-02": "lots"}), rejected: 1,
			want: []string{`f.csv row 2 column VDT-02: not_a_number: VDT-02 answer "lots" is not a level, "unknown" or "na"`}},
		{name: "na_not_allowed", file: "f.csv", content: wideWith(map[string]string{"IDN-01": "n/a"}), rejected: 1,
			want: []string{`f.csv row 2 column IDN-01: na_not_allowed: IDN-01 (MFA coverage and strength) must be answered; "na" is not allowed for it`}},
		{name: "required answer", file: "f.csv", content: wideWith(map[string]string{"IDN-01": " "}), rejected: 1,
			want: []string{`f.csv row 2 column IDN-01: required: IDN-01 (MFA coverage and strength) is not answered; use "unknown" if you do not know`}},
		{name: "required beds", file: "f.csv", content: wideWith(map[string]string{"beds": ""}), rejected: 1,
			want: []string{`f.csv row 2 column beds: required: organisation.beds is required`}},
		{name: "unknown_state", file: "f.csv", content: wideWith(map[string]string{"state": "XX"}), rejected: 1,
			want: []string{`f.csv row 2 column state: unknown_state: organisation.state "XX" is not a US state or DC with a Census region`}},
		{name: "unknown_type", file: "f.csv", content: wideWith(map[string]string{"org_type": "zoo"}), rejected: 1,
			want: []string{`f.csv row 2 column org_type: unknown_type: organisation.type "zoo" is not one of academic, community, critical_access, health_system, specialty, ambulatory, fqhc, post_acute`}},
		{name: "type_bed_limit", file: "f.csv", content: wideWith(map[string]string{"org_type": "critical_access"}), rejected: 1,
			want: []string{`f.csv row 2 column beds: type_bed_limit: organisation.beds 250 exceeds the 25 beds a Critical access hospital may have`}},
		{name: "format", file: "f.csv", content: wideWith(map[string]string{"org_id": "bad id!"}), rejected: 1,
			want: []string{`f.csv row 2 column org_id: format: organisation.id "bad id!" must be 1-64 letters, digits, '-', '_', '.' or '+'`}},
		{name: "several problems in one row, all reported", file: "f.csv",
			content: wideWith(map[string]string{"state": "XX", "beds": "many", "VDT-02": "7", "GOV-01": "x", "submitted_at": "yesterday"}), rejected: 1,
			want: []string{
				`f.csv row 2 column beds: not_a_number: organisation.beds "many" is not a whole number`,
				`f.csv row 2 column submitted_at: invalid_time: submitted_at "yesterday" is not a date (YYYY-MM-DD) or an RFC 3339 time`,
				`f.csv row 2 column GOV-01: not_a_number: GOV-01 answer "x" is not a level, "unknown" or "na"`,
				`f.csv row 2 column state: unknown_state: organisation.state "XX" is not a US state or DC with a Census region`,
				`f.csv row 2 column VDT-02: out_of_range: VDT-02 answer 7 is outside 0..4`,
			}},
		{name: "unknown_model_version", file: "f.csv", content: wideWith(map[string]string{"model_version": "9.9"}), rejected: 1,
			want: []string{`f.csv row 2 column model_version: unknown_model_version: unknown model version "9.9" (known: [1.0])`}},
		{name: "invalid_utf8 cell", file: "f.csv", content: wideWith(map[string]string{"org_name": "Caf\xe9"}), rejected: 1,
			want: []string{`f.csv row 2 column org_name: invalid_utf8: the cell is not valid UTF-8`}},
		// --- CSV structure ---
		{name: "column_count", file: "f.csv", content: wideWith(nil) + "org-0043,x\n", rejected: 1,
			want: []string{`f.csv row 3: column_count: the row has 2 fields; the header has 48`}},
		{name: "invalid_csv", file: "f.csv", content: wideWith(nil) + "org-0043,St \"x\" bad\n", rejected: 1,
			want: []string{`f.csv row 3: invalid_csv: the row is not valid CSV: bare " in non-quoted-field`}},
		{name: "unknown_column", file: "f.csv", content: wideCSV(append(testModel().WideColumns(), "ZZZ-99"), two), rejected: 1,
			want: []string{`f.csv row 1 column ZZZ-99: unknown_column: column "ZZZ-99" is neither a profile column (org_id, org_name, state, beds, org_type, cycle, model_version, submitted_at) nor a capability of any known model`}},
		{name: "missing capability column", file: "f.csv", content: wideCSV(shortHeader("VDT-02"), two, twoCopy), rejected: 2,
			want: []string{`f.csv row 1 column VDT-02: missing_column: the header has no column for capability VDT-02 of model 1.0`}},
		{name: "missing profile column", file: "f.csv", content: wideCSV(shortHeader("state"), two), rejected: 1,
			want: []string{`f.csv row 1 column state: missing_column: the header has no state column`}},
		{name: "duplicate_column", file: "f.csv", content: wideCSV(append(testModel().WideColumns(), "IDN-01"), two), rejected: 1,
			want: []string{`f.csv row 1 column IDN-01: duplicate_column: column "IDN-01" appears twice in the header`}},
		{name: "duplicate_submission wide", file: "f.csv", content: wideCSV(nil, two, twoCopy), rejected: 1,
			want: []string{`f.csv row 3 column org_id: duplicate_submission: organisation org-0042 already has a submission for cycle 2026 in this file (row 2); only the first is used`}},
		{name: "empty_file", file: "f.csv", content: "",
			want: []string{`f.csv: empty_file: the file is empty`}},
		{name: "empty_file header only", file: "f.csv", content: strings.Join(testModel().WideColumns(), ",") + "\r\n",
			want: []string{`f.csv: empty_file: the file has a header but no rows`}},
		{name: "empty_file BOM only", file: "f.json", content: "\xef\xbb\xbf \n",
			want: []string{`f.json: empty_file: the file holds no JSON document`}},
		{name: "too_large", file: "f.csv", content: wideWith(nil), opts: Options{MaxBytes: 100},
			want: []string{`f.csv: too_large: the file is larger than the limit of 100 bytes; the rest of it was not read`}},
		// --- JSON ---
		{name: "invalid_json", file: "f.json", content: "{\n  \"cycle\": ,\n}", rejected: 1,
			want: []string{`f.json: invalid_json: the document is not valid JSON: invalid character ',' looking for beginning of value (line 2, column 13)`}},
		{name: "invalid_json not an object", file: "f.json", format: FormatJSON, content: `[1,2]`, rejected: 1,
			want: []string{`f.json: wrong_type: a submission document must be a JSON object`}},
		{name: "wrong_type", file: "f.json", content: jsonWith(func(m map[string]any) { m["cycle"] = 2026 }), rejected: 1,
			want: []string{`f.json /cycle: wrong_type: cycle must be a string`}},
		{name: "unknown_field", file: "f.json", content: jsonWith(func(m map[string]any) { m["colour"] = "red"; org(m)["ceo"] = "x" }), rejected: 1,
			want: []string{
				`f.json /colour: unknown_field: unknown member "colour" (a submission has schema_version, model_version, cycle, organisation, submitted_at, answers)`,
				`f.json /organisation/ceo: unknown_field: unknown member "ceo" (an organisation has id, name, state, beds, type)`,
			}},
		{name: "wrong_type object", file: "f.json", content: jsonWith(func(m map[string]any) { m["organisation"] = "St. Example's"; m["answers"] = []int{1} }), rejected: 1,
			want: []string{
				`f.json /answers: wrong_type: answers must be an object of capability ID to answer`,
				`f.json /organisation: wrong_type: organisation must be an object with id, name, state, beds and type`,
			}},
		{name: "duplicate_field", file: "f.json", content: strings.Replace(jsonDoc(sample), `"cycle":"2026"`, `"cycle":"2026","cycle":"2027"`, 1), rejected: 1,
			want: []string{`f.json /cycle: duplicate_field: member "cycle" appears twice`}},
		{name: "unknown_capability json", file: "f.json", content: jsonWith(func(m map[string]any) { answers(m)["ZZZ/99"] = 2 }), rejected: 1,
			want: []string{`f.json /answers/ZZZ~199: unknown_capability: capability "ZZZ/99" is not in model 1.0`}},
		{name: "not_a_number json", file: "f.json", content: jsonWith(func(m map[string]any) { answers(m)["VDT-02"] = true; org(m)["beds"] = "250" }), rejected: 1,
			want: []string{ // members in document order: encoding/json sorts map keys, so answers come first
				`f.json /answers/VDT-02: not_a_number: VDT-02 answer true is not a level, "unknown" or "na"`,
				`f.json /organisation/beds: not_a_number: organisation.beds "250" is not a whole number`,
			}},
		{name: "duplicate_answer json", file: "f.json", content: strings.Replace(jsonDoc(sample), `"VDT-02":`, `"VDT-02":1,"VDT-02":`, 1), rejected: 1,
			want: []string{`f.json /answers/VDT-02: duplicate_answer: VDT-02 is answered twice`}},
		{name: "unsupported", file: "f.json", content: jsonWith(func(m map[string]any) { m["schema_version"] = 2 }), rejected: 1,
			want: []string{`f.json /schema_version: unsupported: schema_version 2 is not supported (this build reads 1)`}},
		{name: "required schema_version and model_version", file: "f.json", content: jsonWith(func(m map[string]any) { delete(m, "schema_version"); m["model_version"] = nil }), rejected: 1,
			want: []string{
				`f.json /schema_version: required: schema_version is required (this build reads 1)`,
				`f.json /model_version: required: model_version is required`,
			}},
		{name: "too_long", file: "f.json", content: jsonWith(func(m map[string]any) { org(m)["name"] = strings.Repeat("n", 201) }), rejected: 1,
			want: []string{`f.json /organisation/name: too_long: organisation.name is longer than 200 characters`}},
		{name: "invalid_time json", file: "f.json", content: jsonWith(func(m map[string]any) { m["submitted_at"] = "14/03/2026" }), rejected: 1,
			want: []string{`f.json /submitted_at: invalid_time: submitted_at must be an RFC 3339 time, e.g. "2026-03-14T09:26:53Z"`}},
		{name: "invalid_utf8 json", file: "f.json", content: strings.Replace(jsonDoc(sample), "North", "N\xffrth", 1), rejected: 1,
			want: []string{`f.json: invalid_utf8: the document is not valid UTF-8 (first bad byte at offset 114)`}},
		// --- NDJSON ---
		{name: "invalid_json ndjson line", file: "f.ndjson", content: jsonDoc(sample) + "\n{\"cycle\": 20\n", rejected: 1,
			want: []string{`f.ndjson line 2: invalid_json: the line is not valid JSON: unexpected end of JSON input (column 13)`}},
		{name: "duplicate_submission ndjson", file: "f.ndjson", content: jsonDoc(sample) + "\r\n" + jsonDoc(sample) + "\r\n", rejected: 1,
			want: []string{`f.ndjson line 2 /organisation/id: duplicate_submission: organisation org-0042 already has a submission for cycle 2026 in this file (line 1); only the first is used`}},
		{name: "unknown_state ndjson", file: "f.ndjson", content: "\n" + jsonWith(func(m map[string]any) { org(m)["state"] = "ZZ" }), rejected: 1,
			want: []string{`f.ndjson line 2 /organisation/state: unknown_state: organisation.state "ZZ" is not a US state or DC with a Census region`}},
		// --- CSV long ---
		{name: "duplicate_answer long", file: "f.csv", content: longWith(func(r [][]string) [][]string { return append(r, r[0]) }), rejected: 1,
			want: []string{`f.csv row 42 column capability: duplicate_answer: IDN-01 is answered again (first in row 2)`}},
		{name: "profile_mismatch", file: "f.csv", content: longWith(func(r [][]string) [][]string { r[3][7] = "300"; r[5][2] = "1.1"; return r }), rejected: 1,
			want: []string{
				`f.csv row 5 column beds: profile_mismatch: beds "300" differs from "250" given in row 2 for the same submission`,
				`f.csv row 7 column model_version: profile_mismatch: model_version "1.1" differs from "1.0" given in row 2 for the same submission`,
			}},
		{name: "unknown_capability long", file: "f.csv", content: longWith(func(r [][]string) [][]string { r[4][3] = "ZZZ-99"; return r }), rejected: 1,
			want: []string{
				`f.csv row 2 column capability: required: ` + "IDN-05" + ` (Non-human identity inventory) is not answered; use "unknown" if you do not know`,
				`f.csv row 6 column capability: unknown_capability: capability "ZZZ-99" is not in model 1.0`,
			}},
		{name: "out_of_range long", file: "f.csv", content: longWith(func(r [][]string) [][]string { r[2][4] = "5"; r[3][4] = ""; return r }), rejected: 1,
			want: []string{
				`f.csv row 4 column answer: out_of_range: IDN-03 answer 5 is outside 0..4`,
				`f.csv row 5 column answer: required: IDN-04 has no answer; use "unknown" if you do not know`,
			}},
		{name: "unknown_organisation", file: "f.csv", rejected: 1, content: longCSV(model.LongRequiredColumns, func() [][]string {
			var rows [][]string
			for _, r := range longRows(sample) {
				rows = append(rows, append([]string{"nobody"}, r[1:5]...))
			}
			return rows
		}()), want: []string{`f.csv row 2 column org_id: unknown_organisation: organisation nobody is not known to the warehouse; give its profile (state, beds, org_type columns)`}},
		{name: "missing_column long", file: "f.csv", content: "org_id,cycle,model_version,capability,state\nx,2026,1.0,IDN-01,OH\n", format: FormatCSVLong, rejected: 1,
			want: []string{
				`f.csv row 1 column answer: missing_column: the header has no answer column`,
				`f.csv row 1 column beds: missing_column: the header has no beds column; give all of state, beds, org_type or none (to use the stored profile)`,
				`f.csv row 1 column org_type: missing_column: the header has no org_type column; give all of state, beds, org_type or none (to use the stored profile)`,
			}},
		{name: "long row without org", file: "f.csv", content: longWith(func(r [][]string) [][]string {
			return append(r, []string{"", "2026", "1.0", "IDN-01", "2", "", "", "", "", ""})
		}),
			want: []string{`f.csv row 42 column org_id: required: the row has no org_id; it belongs to no submission`}},
		// --- XLSX ---
		{name: "invalid_xlsx", file: "f.xlsx", format: FormatXLSX, content: "PK\x03\x04 not really", rejected: 1,
			want: []string{`f.xlsx: invalid_xlsx: not a readable XLSX workbook: zip: not a valid zip file`}},
		{name: "xlsx cell problems", file: "f.xlsx", rejected: 1, content: xlsxWith(t, func(f *excelize.File) {
			_ = f.SetCellValue(workbook.SheetAssessment, "J7", 7)
			_ = f.SetCellValue(workbook.SheetProfile, "B4", "ZZ")
		}), want: []string{
			`f.xlsx Profile!B4: unknown_state: organisation.state "ZZ" is not a US state or DC with a Census region`,
			`f.xlsx Assessment!J7: out_of_range: IDN-06 answer 7 is outside 0..4`,
		}},
		{name: "missing_sheet", file: "f.xlsx", rejected: 1, content: xlsxWith(t, func(f *excelize.File) {
			_ = f.SetSheetName(workbook.SheetAssessment, "Answers")
		}), want: []string{`f.xlsx Assessment: missing_sheet: the workbook has no "Assessment" sheet; use the workbook generated for the model`}},
		{name: "missing_field", file: "f.xlsx", rejected: 1, content: xlsxWith(t, func(f *excelize.File) {
			_ = f.SetCellValue(workbook.SheetProfile, "A7", "")
		}), want: []string{`f.xlsx Profile: missing_field: the Profile sheet has no cycle row`}},
		// --- sniffing ---
		{name: "unknown_format", file: "upload", content: "hello, world",
			want: []string{`upload: unknown_format: cannot tell the format of upload; name it .json, .ndjson, .csv or .xlsx or give the format`}},
		// --- the warehouse's rejections ---
		{name: "cycle_closed", file: "f.csv", content: wideWith(nil), store: func(s *fakeStore) { s.closed["2026"] = true }, rejected: 1,
			want: []string{`f.csv row 2 column cycle: cycle_closed: cycle 2026 is closed`}},
		{name: "unknown_cycle", file: "f.json", content: jsonDoc(sample), store: func(s *fakeStore) { s.unknown["2026"] = true }, rejected: 1,
			want: []string{`f.json /cycle: unknown_cycle: cycle 2026 does not exist`}},
		{name: "rejected", file: "f.ndjson", content: "\n\n" + jsonDoc(sample), store: func(s *fakeStore) { s.plainErr["2026"] = true }, rejected: 1,
			want: []string{`f.ndjson line 3: rejected: disk says no`}},
	}
	seenRules := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore()
			if tc.store != nil {
				tc.store(store)
			}
			rep := run(t, store, tc.file, tc.format, tc.content, tc.opts)
			got := problemStrings(rep)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if rep.Total.Rejected != tc.rejected {
				t.Errorf("rejected %d, want %d (%+v)", rep.Total.Rejected, tc.rejected, rep.Total)
			}
			if rep.OK() {
				t.Error("report OK despite problems")
			}
			for _, p := range rep.Problems() {
				seenRules[p.Rule] = true
			}
		})
	}
	// Every rule constant is exercised by the table (the model's rules included).
	for _, r := range []string{RuleUnknownCapability, RuleOutOfRange, RuleNANotAllowed, RuleRequired, RuleUnknownState, RuleUnknownType,
		RuleTypeBedLimit, RuleFormat, RuleTooLong, RuleUnsupported, RuleNotANumber, RuleInvalidJSON, RuleInvalidCSV, RuleInvalidXLSX,
		RuleInvalidUTF8, RuleInvalidTime, RuleWrongType, RuleUnknownField, RuleDuplicateField, RuleEmptyFile, RuleTooLarge,
		RuleColumnCount, RuleUnknownColumn, RuleMissingColumn, RuleDuplicateColumn, RuleMissingSheet, RuleMissingField,
		RuleDuplicateSubmission, RuleDuplicateAnswer, RuleUnknownModelVersion, RuleUnknownOrganisation, RuleProfileMismatch,
		RuleUnknownFormat, RuleUnknownCycle, RuleCycleClosed, RuleRejected} {
		if !seenRules[r] {
			t.Errorf("rule %s is not exercised by TestProblems", r)
		}
	}
}

// TestTooLargeBySize: a file whose size is known to be over the limit is not read.
func TestTooLargeBySize(t *testing.T) {
	r := &countingReader{}
	rep, err := Ingest(t.Context(), nil, testReg, []Input{{Name: "big.csv", Reader: r, Size: 1 << 40}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := problemStrings(rep); len(got) != 1 || got[0] != "big.csv: too_large: the file has 1099511627776 bytes; the limit is 268435456" {
		t.Errorf("got %v", got)
	}
	if r.reads != 0 {
		t.Error("the file was read")
	}
}

type countingReader struct{ reads int }

func (c *countingReader) Read(p []byte) (int, error) { c.reads++; return 0, nil }

// TestProblemJSONPointerEscaping checks RFC 6901 escaping of keys with '/' and '~'.
func TestProblemJSONPointerEscaping(t *testing.T) {
	if got := jsonPointer("answers.a/b~c"); got != "/answers/a~1b~0c" {
		t.Errorf("got %s", got)
	}
}
