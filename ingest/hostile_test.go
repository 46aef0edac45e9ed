package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/internal/attack"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
	"github.com/hcztmm/warehouse/workbook"
)

// cellValue is one hostile value of the file table.
type cellValue struct {
	name string
	v    string
	num  bool // a number token: bare in a JSON number member, a string elsewhere
	raw  bool // JSON text: bare wherever a JSON value goes
}

// hostileCells are the shared attack values (internal/attack) in this table's shape.
func hostileCells() []cellValue {
	var out []cellValue
	for _, h := range attack.Values() {
		out = append(out, cellValue{name: h.Name, v: h.Text, num: h.Number, raw: h.RawJSON})
	}
	return out
}

// part is one hostile submission of a file set, and where its value sits.
type part struct {
	value cellValue
	// decoded is the value as the file holds it (trimmed CSV cell, decoded JSON string,
	// workbook cell as excelize reads it back).
	decoded string
	// org is the submission's organisation; file the input it is in; rows its rows (CSV
	// rows, the NDJSON line; none in a workbook); ptr where a problem with the value must
	// point (a prefix: the column, the JSON pointer, the cell).
	org  string
	file string
	rows []int
	ptr  string
	// wholeDoc: the value breaks the whole line or document (JSON syntax, UTF-8), so the
	// problem points at the line, not the member.
	wholeDoc bool
}

// fileSet is what one Ingest call reads: a valid submission first, then one hostile
// submission per value.
type fileSet struct {
	inputs   []Input
	validOrg string
	parts    []part
}

// cellTarget is one field of one format.
type cellTarget struct {
	format, field string
	// names: what a problem must mention (alternatives separated by "|").
	names string
	// header: the value is a column name; a broken header rejects the whole file, so
	// each value gets a file of its own.
	header bool
	build  func(k int, vals []cellValue) fileSet
	// legit reports whether the decoded value is a valid value of the field.
	legit func(s string) bool
	// readBack reads the stored value of the field; canon gives the stored form of a
	// legit value (default: itself).
	readBack func(s *warehouse.StoredSubmission) string
	canon    func(s string) string
}

// TestHostileValuesInEveryCell is the file side of the attack test "SQL-looking and
// oversized inputs in every field": every cell of CSV wide and CSV long (header names
// included), every member of an NDJSON document and every cell of the workbook, each
// with every hostile value, ingested into a real warehouse next to a valid submission.
// A file holds the valid submission and one hostile submission per value (a workbook
// holds one submission, so each value has its own). For every row of the table: no error
// and no panic; a legitimate value is stored and read back byte for byte; any other is
// reported at its row and column (or JSON pointer, or cell) with a rule, in a report
// that quotes it only clipped, and nothing of its submission is stored, while the valid
// submission is stored as sent and no other table changes.
func TestHostileValuesInEveryCell(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 40 MiB files and a few hundred workbooks into DuckDB")
	}
	ctx := context.Background()
	m := testModel()
	db, err := warehouse.Open(ctx, ":memory:", testReg, warehouse.Options{GroupCommitWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	sample := sampleSubmission()
	if err := db.CreateCycle(ctx, warehouse.Cycle{ID: sample.Cycle, ModelVersion: m.Version, Epsilon: 1, Delta: 1e-6}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateKey(ctx, warehouse.RoleAnalyst, "", "hostile cells"); err != nil {
		t.Fatal(err)
	}
	cap0 := m.CapabilityIDs()[0]

	subOf := func(org string) *model.Submission {
		s := sampleSubmission()
		s.Organisation.ID = org
		return s
	}
	hostileOrg := func(k, j int) string { return fmt.Sprintf("H-%d-%d", k, j) }

	// --- CSV wide: header row 1, the valid row 2, hostile rows from 3 ---
	wide := func(col string) func(k int, vals []cellValue) fileSet {
		return func(k int, vals []cellValue) fileSet {
			fs := fileSet{validOrg: fmt.Sprintf("V-%d", k)}
			recs := []map[string]string{wideRecord(subOf(fs.validOrg))}
			var header []string
			for j, v := range vals {
				p := part{value: v, org: hostileOrg(k, j), file: "wide.csv", rows: []int{3 + j}, ptr: col, decoded: strings.TrimSpace(v.v)}
				rec := wideRecord(subOf(p.org))
				if col == "" { // a header cell: an extra column of that name, empty in every row
					header = append(testModel().WideColumns(), v.v)
					p.rows, p.ptr = []int{1}, ""
				} else {
					rec[col] = v.v
				}
				if col == model.ColOrgID {
					p.org = p.decoded
				}
				recs = append(recs, rec)
				fs.parts = append(fs.parts, p)
			}
			fs.inputs = []Input{{Name: "wide.csv", Format: FormatCSVWide, Reader: strings.NewReader(wideCSV(header, recs...))}}
			return fs
		}
	}
	// --- CSV long: the valid submission first (rows 2-41), then one hostile submission
	// per value. Key columns carry the value in each of its rows; a profile column in its
	// first row (the others blank, as a tool may write it once); capability and answer
	// in its first row.
	long := func(col string) func(k int, vals []cellValue) fileSet {
		return func(k int, vals []cellValue) fileSet {
			fs := fileSet{validOrg: fmt.Sprintf("V-%d", k)}
			all := longRows(subOf(fs.validOrg))
			header := longHeader
			c := indexOf(longHeader, col)
			for j, v := range vals {
				p := part{value: v, org: hostileOrg(k, j), file: "long.csv", ptr: col, decoded: strings.TrimSpace(v.v)}
				rows := longRows(subOf(p.org))
				first := len(all) + 2
				p.rows = []int{first}
				for r := range rows {
					switch {
					case col == "":
					case col == model.ColOrgID || col == model.ColCycle:
						rows[r][c] = v.v
						p.rows = append(p.rows, first+r)
					case r == 0:
						rows[r][c] = v.v
					case col != model.ColCapability && col != model.ColAnswer:
						rows[r][c] = ""
					}
				}
				if col == "" { // a header cell: an extra column of that name, empty in every row
					header = append(append([]string(nil), longHeader...), v.v)
					for r := range all {
						all[r] = append(all[r], "")
					}
					for r := range rows {
						rows[r] = append(rows[r], "")
					}
					p.rows, p.ptr = []int{1}, ""
				}
				if col == model.ColOrgID {
					p.org = p.decoded
				}
				all = append(all, rows...)
				fs.parts = append(fs.parts, p)
			}
			fs.inputs = []Input{{Name: "long.csv", Format: FormatCSVLong, Reader: strings.NewReader(longCSV(header, all))}}
			return fs
		}
	}
	// --- NDJSON: the valid document on line 1, one hostile document per line after it ---
	ndjson := func(path string, number bool) func(k int, vals []cellValue) fileSet {
		return func(k int, vals []cellValue) fileSet {
			fs := fileSet{validOrg: fmt.Sprintf("V-%d", k)}
			lines := []string{jsonDoc(subOf(fs.validOrg))}
			for j, v := range vals {
				bare := v.raw || v.num && number
				p := part{value: v, org: hostileOrg(k, j), file: "docs.ndjson", rows: []int{2 + j},
					ptr: "/" + strings.ReplaceAll(path, ".", "/"), decoded: v.v}
				enc := v.v
				if !bare {
					enc = attack.JSONQuote(v.v)
					if err := json.Unmarshal([]byte(enc), &p.decoded); err != nil {
						t.Fatal(err)
					}
				}
				var doc map[string]any
				if err := json.Unmarshal([]byte(jsonDoc(subOf(p.org))), &doc); err != nil {
					t.Fatal(err)
				}
				const marker = "\x01HOSTILE\x01"
				obj, parts := doc, strings.Split(path, ".")
				for _, name := range parts[:len(parts)-1] {
					obj = obj[name].(map[string]any)
				}
				if last := parts[len(parts)-1]; last == "{}" {
					obj[marker] = 2
					p.ptr = strings.TrimSuffix(p.ptr, "{}")
				} else {
					obj[last] = marker
				}
				b, err := json.Marshal(doc)
				if err != nil {
					t.Fatal(err)
				}
				quoted, _ := json.Marshal(marker)
				line := string(bytes.Replace(b, quoted, []byte(enc), 1))
				if path == "organisation.id" {
					p.org = p.decoded
				}
				p.wholeDoc = !utf8.ValidString(line) || !json.Valid([]byte(line))
				lines = append(lines, line)
				fs.parts = append(fs.parts, p)
			}
			fs.inputs = []Input{{Name: "docs.ndjson", Format: FormatNDJSON, Reader: strings.NewReader(strings.Join(lines, "\n") + "\n")}}
			return fs
		}
	}
	// --- XLSX: a workbook holds one submission, so each value has a workbook of its own,
	// next to the valid submission in an NDJSON file ---
	var baseXLSX bytes.Buffer
	if err := workbook.Write(&baseXLSX, m, sample); err != nil {
		t.Fatal(err)
	}
	xlsxHolds := map[string]string{}
	xlsx := func(cell string) func(k int, vals []cellValue) fileSet {
		return func(k int, vals []cellValue) fileSet {
			fs := fileSet{validOrg: fmt.Sprintf("V-%d", k)}
			fs.inputs = []Input{{Name: "valid.ndjson", Format: FormatNDJSON, Reader: strings.NewReader(jsonDoc(subOf(fs.validOrg)))}}
			orgSheet, orgRef, _ := strings.Cut(workbook.ProfileCell(model.ColOrgID), "!")
			sheet, ref, _ := strings.Cut(cell, "!")
			// One workbook, rewritten per value: only the organisation and the cell change.
			wb, err := excelize.OpenReader(bytes.NewReader(baseXLSX.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range vals {
				p := part{value: v, org: hostileOrg(k, j), file: fmt.Sprintf("h-%d.xlsx", j), ptr: cell}
				if err := wb.SetCellStr(orgSheet, orgRef, p.org); err != nil {
					t.Fatal(err)
				}
				if err := wb.SetCellStr(sheet, ref, v.v); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				if err := wb.Write(&out); err != nil {
					t.Fatal(err)
				}
				// What the workbook holds is what excelize made of the value: it cuts a
				// cell to 32,767 characters, as Excel does, and writes U+FFFD for bytes XML
				// cannot hold (NUL, invalid UTF-8). It depends on the value alone, so each
				// value's is read back once.
				if d, ok := xlsxHolds[v.name]; ok {
					p.decoded = d
				} else {
					back, err := excelize.OpenReader(bytes.NewReader(out.Bytes()))
					if err == nil {
						p.decoded, err = back.GetCellValue(sheet, ref)
					}
					if err != nil {
						t.Fatalf("the workbook with %s does not open: %v", v.name, err)
					}
					xlsxHolds[v.name] = p.decoded
				}
				if cell == workbook.ProfileCell(model.ColOrgID) {
					p.org = p.decoded
				}
				fs.inputs = append(fs.inputs, Input{Name: p.file, Format: FormatXLSX, Reader: bytes.NewReader(out.Bytes())})
				fs.parts = append(fs.parts, p)
			}
			return fs
		}
	}

	idPattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)
	orgID := func(s string) bool { return idPattern.MatchString(s) }
	orgName := func(s string) bool { return len(s) <= 200 && utf8.ValidString(s) }
	level := func(s string) bool { n, err := strconv.Atoi(s); return err == nil && n >= 0 && n <= m.Scale.Max }
	beds := func(s string) bool { n, err := strconv.Atoi(s); return err == nil && n >= 0 && n <= model.MaxBeds }
	canonInt := func(s string) string { n, _ := strconv.Atoi(s); return strconv.Itoa(n) }
	readID := func(s *warehouse.StoredSubmission) string { return s.OrgID }
	readName := func(s *warehouse.StoredSubmission) string { return s.Submission.Organisation.Name }
	readBeds := func(s *warehouse.StoredSubmission) string { return strconv.Itoa(s.Submission.Organisation.Beds) }
	readAnswer := func(s *warehouse.StoredSubmission) string { return strconv.Itoa(int(s.Submission.Answers[cap0])) }

	var targets []cellTarget
	for _, c := range []struct {
		col, field string
		legit      func(string) bool
		read       func(*warehouse.StoredSubmission) string
		canon      func(string) string
	}{
		{model.ColOrgID, "organisation.id", orgID, readID, nil},
		{model.ColOrgName, "organisation.name", orgName, readName, nil},
		{model.ColState, "organisation.state", nil, nil, nil},
		{model.ColBeds, "organisation.beds", beds, readBeds, canonInt},
		{model.ColOrgType, "organisation.type", nil, nil, nil},
		{model.ColCycle, "cycle", nil, nil, nil},
		{model.ColModelVersion, "model_version", nil, nil, nil},
		{model.ColSubmittedAt, "submitted_at", nil, nil, nil},
	} {
		names := c.field + "|" + c.col
		targets = append(targets,
			cellTarget{format: "CSV wide", field: c.col, names: names, build: wide(c.col), legit: c.legit, readBack: c.read, canon: c.canon},
			cellTarget{format: "CSV long", field: c.col, names: names, build: long(c.col), legit: c.legit, readBack: c.read, canon: c.canon},
			cellTarget{format: "XLSX", field: workbook.ProfileCell(c.col), names: names, build: xlsx(workbook.ProfileCell(c.col)),
				legit: c.legit, readBack: c.read, canon: c.canon})
	}
	answerNames := "answers." + cap0 + "|" + cap0
	targets = append(targets,
		cellTarget{format: "CSV wide", field: cap0, names: answerNames, build: wide(cap0), legit: level, readBack: readAnswer, canon: canonInt},
		cellTarget{format: "CSV wide", field: "a header cell", names: "column", header: true, build: wide("")},
		cellTarget{format: "CSV long", field: model.ColCapability, names: "capability", build: long(model.ColCapability)},
		cellTarget{format: "CSV long", field: model.ColAnswer, names: answerNames + "|answer", build: long(model.ColAnswer), legit: level, readBack: readAnswer, canon: canonInt},
		cellTarget{format: "CSV long", field: "a header cell", names: "column", header: true, build: long("")},
		cellTarget{format: "XLSX", field: workbook.AnswerCell(m, cap0), names: answerNames, build: xlsx(workbook.AnswerCell(m, cap0)),
			legit: level, readBack: readAnswer, canon: canonInt},
		cellTarget{format: "NDJSON", field: "schema_version", names: "schema_version", build: ndjson("schema_version", true)},
		cellTarget{format: "NDJSON", field: "model_version", names: "model_version", build: ndjson("model_version", false)},
		cellTarget{format: "NDJSON", field: "cycle", names: "cycle", build: ndjson("cycle", false)},
		cellTarget{format: "NDJSON", field: "organisation.id", names: "organisation.id", build: ndjson("organisation.id", false), legit: orgID, readBack: readID},
		cellTarget{format: "NDJSON", field: "organisation.name", names: "organisation.name", build: ndjson("organisation.name", false), legit: orgName, readBack: readName},
		cellTarget{format: "NDJSON", field: "organisation.state", names: "organisation.state", build: ndjson("organisation.state", false)},
		cellTarget{format: "NDJSON", field: "organisation.beds", names: "organisation.beds", build: ndjson("organisation.beds", true), legit: beds, readBack: readBeds, canon: canonInt},
		cellTarget{format: "NDJSON", field: "organisation.type", names: "organisation.type", build: ndjson("organisation.type", false)},
		cellTarget{format: "NDJSON", field: "submitted_at", names: "submitted_at", build: ndjson("submitted_at", false)},
		cellTarget{format: "NDJSON", field: "answers (a capability ID)", names: "answers.", build: ndjson("answers.{}", false)},
		cellTarget{format: "NDJSON", field: "answers." + cap0, names: "answers." + cap0, build: ndjson("answers."+cap0, true), legit: level, readBack: readAnswer, canon: canonInt},
		cellTarget{format: "NDJSON", field: "a member a document does not have", names: "unknown", build: ndjson("{}", false)},
	)

	type counts struct {
		stored, cycles, keys, releases int
		audit                          int64
	}
	count := func(t *testing.T) counts {
		t.Helper()
		c := counts{stored: int(db.Stats().Submissions)}
		cycles, err := db.ListCycles(ctx)
		if err != nil {
			t.Fatalf("cycles no longer answer: %v", err)
		}
		keys, err := db.ListKeys(ctx)
		if err != nil {
			t.Fatalf("keys no longer answer: %v", err)
		}
		rels, err := db.ListReleases(ctx, "")
		if err != nil {
			t.Fatalf("releases no longer answer: %v", err)
		}
		audit, err := db.ListAudit(ctx, 1)
		if err != nil {
			t.Fatalf("the audit log no longer answers: %v", err)
		}
		c.cycles, c.keys, c.releases = len(cycles), len(keys), len(rels)
		if len(audit) > 0 {
			c.audit = audit[0].ID
		}
		return c
	}
	// at lists the problems of a part: in its file and, where it has rows, at one of them.
	at := func(rep *Report, p part) []Problem {
		var out []Problem
		for _, pr := range rep.Problems() {
			if pr.File == p.file && (p.rows == nil || containsInt(p.rows, pr.Row)) {
				out = append(out, pr)
			}
		}
		return out
	}

	start := time.Now()
	rows, k := 0, 0
	storedTotal, storedRows := 0, 0
	values := hostileCells()
	for _, tg := range targets {
		// Ingest reaches the warehouse only through Store (Commit, Organisation); the
		// other tables are counted around each field's files.
		others := count(t)
		sets := [][]cellValue{values}
		if tg.header {
			sets = nil
			for _, v := range values {
				sets = append(sets, []cellValue{v})
			}
		}
		for _, vals := range sets {
			k++
			fs := tg.build(k, vals)
			before := db.Stats().Submissions
			rep, err := Ingest(ctx, db, testReg, fs.inputs, Options{})
			if err != nil {
				t.Fatalf("%s %s: Ingest: %v", tg.format, tg.field, err)
			}
			stored := int(db.Stats().Submissions - before)
			storedTotal += stored
			if n := rep.Total.Accepted + rep.Total.Superseded; stored != n {
				t.Errorf("%s %s: the report says %d stored, the warehouse stored %d", tg.format, tg.field, n, stored)
			}
			hist, err := db.ListSubmissions(ctx, fs.validOrg)
			if err != nil {
				t.Fatalf("submissions no longer answer: %v", err)
			}
			// The valid submission is stored as sent (its content hash), unless a broken
			// header refused the whole file.
			validStored := len(hist) == 1 && hist[0].ContentHash == ContentHash(subOf(fs.validOrg))
			if validStored == tg.header {
				t.Errorf("%s %s: the valid submission: %+v (header refused: %v)", tg.format, tg.field, hist, tg.header)
			}
			legit := 0
			for _, p := range fs.parts {
				rows++
				ok := !tg.header && !p.wholeDoc && tg.legit != nil && tg.legit(p.decoded)
				if ok {
					legit++
					storedRows++
				}
				t.Run(fmt.Sprintf("%03d %s %s = %s", rows, tg.format, tg.field, p.value.name), func(t *testing.T) {
					mine := at(rep, p)
					for _, pr := range mine {
						if len(pr.Value) > model.MaxQuoted+3 || len(pr.Pointer) > model.MaxQuoted+3 || len(pr.Field) > model.MaxQuoted+3 || len(pr.Message) > maxMessage+3 {
							t.Errorf("a problem quotes too much (value %d, pointer %d, field %d, message %d bytes): %.300s",
								len(pr.Value), len(pr.Pointer), len(pr.Field), len(pr.Message), pr.String())
						}
					}
					if ok {
						if len(mine) > 0 {
							t.Fatalf("a legitimate value was refused: %v", mine)
						}
						st, err := db.CurrentSubmission(ctx, p.org, sample.Cycle)
						if err != nil {
							t.Fatalf("the submission of %.100q is not stored: %v", p.org, err)
						}
						want := p.decoded
						if tg.canon != nil {
							want = tg.canon(want)
						}
						if got := tg.readBack(st); got != want {
							t.Errorf("stored %.100q, read back %.100q", want, got)
						}
						return
					}
					names, ptr := tg.names, p.ptr
					if p.wholeDoc {
						names, ptr = "JSON|UTF-8|XLSX", ""
					}
					found := false
					for _, pr := range mine {
						found = found || pr.Rule != "" && (p.rows == nil || pr.Row == p.rows[0]) && strings.HasPrefix(pr.Pointer, ptr) && mentions(pr, names)
					}
					if !found {
						t.Errorf("no problem at row %v %s naming %q: %v", p.rows, ptr, names, mine)
					}
					if utf8.ValidString(p.org) { // DuckDB cannot even look up an ID that is not UTF-8
						if hist, err := db.ListSubmissions(ctx, p.org); err != nil || len(hist) > 0 && !tg.header && p.org != fs.validOrg {
							t.Errorf("the refused submission of %.100q is stored: %+v %v", p.org, hist, err)
						}
					}
				})
			}
			// Every problem is the problem of a refused value; the valid submission and
			// the legitimate values have none.
			want := legit
			if !tg.header {
				want++
			}
			if got := rep.Total.Accepted + rep.Total.Superseded + rep.Total.Unchanged; got != want || rep.OK() {
				t.Errorf("%s %s: %d stored or unchanged, want %d (%+v)", tg.format, tg.field, got, want, rep.Total)
			}
			for _, pr := range rep.Problems() {
				owned := false
				for _, p := range fs.parts {
					ok := !tg.header && !p.wholeDoc && tg.legit != nil && tg.legit(p.decoded)
					owned = owned || !ok && pr.File == p.file && (p.rows == nil || containsInt(p.rows, pr.Row))
				}
				if !owned {
					t.Errorf("%s %s: a problem outside the refused values: %s", tg.format, tg.field, pr)
				}
			}
		}
		now := count(t)
		now.stored = others.stored
		if now != others {
			t.Errorf("%s %s: other tables changed: before %+v, after %+v", tg.format, tg.field, others, now)
		}
	}
	_, total, err := db.CountSubmissions(ctx, sample.Cycle)
	if err != nil || total != storedTotal {
		t.Errorf("the cycle holds %d submissions, the table stored %d (%v)", total, storedTotal, err)
	}
	if integ, err := db.CheckIntegrity(ctx); err != nil || !integ.OK() {
		t.Errorf("integrity after the table: %+v %v", integ, err)
	}
	t.Logf("%d rows (%d fields × %d values) in %v: %d legitimate values stored, %d refused", rows, len(targets), len(values),
		time.Since(start).Round(time.Millisecond), storedRows, rows-storedRows)
}

// mentions reports whether a problem names one of the "|"-separated alternatives.
func mentions(p Problem, names string) bool {
	text := p.Field + "\n" + p.Pointer + "\n" + p.Message
	for _, alt := range strings.Split(names, "|") {
		if strings.Contains(text, alt) {
			return true
		}
	}
	return false
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func containsInt(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}
