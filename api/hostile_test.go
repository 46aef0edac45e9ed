package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/internal/attack"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
	"github.com/hcztmm/warehouse/workbook"
)

// hostile is one value of the attack table.
type hostile struct {
	name string
	v    string
	// num marks a number token (NaN included): written bare where a JSON number goes,
	// as a string elsewhere.
	num bool
	// raw marks JSON text: written bare wherever a JSON value goes.
	raw bool
}

// hostileValues are the shared attack values (internal/attack) in this table's shape.
func hostileValues() []hostile {
	var out []hostile
	for _, h := range attack.Values() {
		out = append(out, hostile{name: h.Name, v: h.Text, num: h.Number, raw: h.RawJSON})
	}
	return out
}

// outcome is what the API must do with a hostile value in a field.
type outcome int

const (
	refused    outcome = iota // a 4xx error body naming the field; nothing changes
	stored                    // 2xx; the value is stored and reads back literally
	absent                    // 404: a path naming nothing that exists
	filtered                  // 200 with an empty list: a filter matching nothing
	ignored                   // 2xx; the value has no effect
	netRefused                // net/http refuses the request line or header before any handler
)

func (o outcome) String() string {
	return [...]string{"refused", "stored", "absent", "filtered", "ignored", "refused by net/http"}[o]
}

// place says how a value reaches the server, which decides how it is encoded and decoded.
type place int

const (
	inJSON   place = iota // a member of a JSON body read strictly (cycles, keys, releases)
	inDoc                 // a member of a submission document (read by ingest)
	inFile                // a cell or name of an uploaded file
	inPath                // a path segment
	inQuery               // a query parameter
	inHeader              // a header value
)

// target is one field and where it goes.
type target struct {
	field string
	where string
	place place
	// number: a JSON number field (number tokens go bare).
	number bool
	// build makes the request carrying the value; enc is the value as it is to be
	// spliced into a JSON body (see jsonText), or the raw value for other places.
	build func(h hostile, enc string) req
	// legit reports whether the value, as the server decodes it, is a valid value of the
	// field (stored then); nil means none is.
	legit func(s string) bool
	// otherwise is the outcome for values that are not legit (default refused).
	otherwise outcome
	// status of a refusal (0: 400); names is what a refusal must mention, alternatives
	// separated by "|" (default: the field).
	status int
	names  string
	// stored reads a stored value back through the API and says which count it added
	// to ("submissions", "keys", "cycles") and by how much.
	stored func(t *testing.T, r resp) (got, table string, n int)
	// canon is the stored form of a legit value (default: itself).
	canon func(s string) string
	// check replaces the exact comparison of a stored value.
	check func(sent, got string) error
	// empty checks a filtered answer.
	empty func(r resp) bool
}

// row is one row of the table.
type row struct {
	tg target
	h  hostile
}

// expect decides the outcome of a row, the status of a refusal and what it must name.
func (tg target) expect(h hostile, r req) (outcome, int, string) {
	if netRefusal(r) {
		return netRefused, 0, ""
	}
	if tg.place == inPath && strings.Contains(h.v, "/") {
		return absent, 0, "" // more path segments: another path, which no route has
	}
	bare := h.raw || h.num && tg.number
	if tg.place == inJSON || tg.place == inDoc {
		switch {
		case len(r.body) > maxBody:
			return refused, http.StatusRequestEntityTooLarge, "body"
		case bare && !json.Valid([]byte(h.v)):
			return refused, 400, "JSON"
		case tg.place == inDoc && !utf8.ValidString(h.v) && tg.status == 0:
			// ingest refuses a document that is not UTF-8 as a whole, before its fields
			// (a document naming another organisation, status 403, is refused before that).
			return refused, 400, "UTF-8"
		}
	}
	if tg.legit != nil && tg.legit(tg.decode(h)) {
		return stored, 0, ""
	}
	if tg.otherwise != refused {
		return tg.otherwise, 0, ""
	}
	status, names := tg.status, tg.names
	if status == 0 {
		status = 400
	}
	if names == "" {
		names = tg.field
	}
	return refused, status, names
}

// decode is the value as the server reads it.
func (tg target) decode(h hostile) string {
	switch tg.place {
	case inJSON, inDoc:
		if h.raw || h.num && tg.number {
			return h.v
		}
		var s string
		if err := json.Unmarshal([]byte(attack.JSONQuote(h.v)), &s); err != nil {
			panic(err)
		}
		return s
	case inFile:
		return strings.TrimSpace(h.v)
	}
	return h.v
}

// jsonText is how a value is spliced into a JSON body: bare for JSON text and, in number
// fields, number tokens; a string otherwise.
func (tg target) jsonText(h hostile) string {
	if h.raw || h.num && tg.number {
		return h.v
	}
	return attack.JSONQuote(h.v)
}

// netRefusal reports whether net/http refuses a request before the router sees it: a
// request line or header beyond Config.MaxHeaderBytes, or a header value with bytes no
// header may hold. Those answers are net/http's own plain text, not the error body.
func netRefusal(r req) bool {
	size := len(r.path) + len(r.token)
	if strings.ContainsAny(r.token, "\x00\r\n") {
		return true
	}
	for _, v := range r.header {
		size += len(v)
		if strings.ContainsAny(v, "\x00\r\n") {
			return true
		}
	}
	// net/http reads up to MaxHeaderBytes (64 KiB) plus 4 KiB of slack.
	return size > 68<<10
}

// rawDo sends a request over a bare TCP connection, for requests http.Client will not
// send (a NUL in a header) or whose answer comes before the request is read whole.
func (w *world) rawDo(t *testing.T, base string, r req) (int, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", r.method, r.path, strings.TrimPrefix(base, "http://"))
	tok := r.token
	if tok == "" && r.principal != "" && r.principal != pNone {
		tok = w.tokens[r.principal]
	}
	if tok != "" {
		fmt.Fprintf(&buf, "Authorization: Bearer %s\r\n", tok)
	}
	for k, v := range r.header {
		fmt.Fprintf(&buf, "%s: %s\r\n", k, v)
	}
	if r.ctype != "" {
		fmt.Fprintf(&buf, "Content-Type: %s\r\n", r.ctype)
	}
	fmt.Fprintf(&buf, "Content-Length: %d\r\n\r\n", len(r.body))
	buf.Write(r.body)
	go func() { _, _ = conn.Write(buf.Bytes()) }() // the server may answer before reading it all
	hr, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("raw %s %.80s: %v", r.method, r.path, err)
	}
	defer hr.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(hr.Body)
	return hr.StatusCode, body.Bytes()
}

// tally counts what the warehouse holds, from the warehouse itself.
type tally struct {
	subs, orgSubs, keys, revoked, cycles, closed, releases int
	// audit is the newest audit entry's ID and action.
	audit  int64
	action string
}

func takeTally(t *testing.T, w *world, org string) tally {
	t.Helper()
	ctx := context.Background()
	tl := tally{subs: int(w.db.Stats().Submissions)}
	hist, err := w.db.ListSubmissions(ctx, org)
	if err != nil {
		t.Fatalf("submissions no longer answer: %v", err)
	}
	tl.orgSubs = len(hist)
	keys, err := w.db.ListKeys(ctx)
	if err != nil {
		t.Fatalf("keys no longer answer: %v", err)
	}
	for _, k := range keys {
		tl.keys++
		if k.Revoked() {
			tl.revoked++
		}
	}
	cycles, err := w.db.ListCycles(ctx)
	if err != nil {
		t.Fatalf("cycles no longer answer: %v", err)
	}
	for _, c := range cycles {
		tl.cycles++
		if c.Status == warehouse.CycleClosed {
			tl.closed++
		}
	}
	rels, err := w.db.ListReleases(ctx, "")
	if err != nil {
		t.Fatalf("releases no longer answer: %v", err)
	}
	tl.releases = len(rels)
	audit, err := w.db.ListAudit(ctx, 1)
	if err != nil {
		t.Fatalf("the audit log no longer answers: %v", err)
	}
	if len(audit) > 0 {
		tl.audit, tl.action = audit[0].ID, audit[0].Action
	}
	return tl
}

// totalSubmissions counts every stored submission, superseded ones included.
func totalSubmissions(t *testing.T, w *world) int {
	t.Helper()
	ctx := context.Background()
	cycles, err := w.db.ListCycles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cycles {
		_, total, err := w.db.CountSubmissions(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		n += total
	}
	return n
}

// mentions reports whether an error body names any of the "|"-separated alternatives in
// its message or its details.
func mentions(eb api.ErrorBody, names string) bool {
	text := eb.Error.Message
	for _, d := range eb.Error.Details {
		text += "\n" + d.Field + "\n" + d.Message
	}
	for _, alt := range strings.Split(names, "|") {
		if strings.Contains(text, alt) {
			return true
		}
	}
	return false
}

var ownRequestID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// maxBody is Config.MaxBodyBytes as the shared world has it (the default).
const maxBody = 1 << 20

// maxErrorAnswer bounds an error answer: enough for every detail of a field refusal,
// far below any oversized value.
const maxErrorAnswer = 8 << 10

// TestHostileValuesInEveryField is the attack test "SQL-looking and oversized inputs in
// every field": one table of (field, where it goes, hostile value) over every field of a
// submission document, the bulk upload (file name, CSV and workbook cells, header names),
// every path and query parameter, the headers the server reads, and the bodies of POST
// /cycles, /releases and /keys. For every row: no 5xx; a refusal is a small 4xx error
// body naming the field; a refused request changes no count in the warehouse; a value
// that is legitimate (an organisation name that reads like SQL or markup) is stored and
// read back byte for byte, and the dashboards print it escaped. Afterwards every table
// still answers and the warehouse passes its integrity check.
func TestHostileValuesInEveryField(t *testing.T) {
	if testing.Short() {
		t.Skip("sends several hundred requests, some of 1 to 10 MiB")
	}
	w := getWorld(t)
	ctx := context.Background()
	m := w.reg.Latest()
	const org, cycle, cycleB = "HOSTILE-1", "hostile", "hostile-b"
	for _, c := range []string{cycle, cycleB} {
		if err := w.db.CreateCycle(ctx, warehouse.Cycle{ID: c, ModelVersion: m.Version, Epsilon: 1, Delta: 1e-6}); err != nil {
			t.Fatal(err)
		}
	}
	_, token, err := w.db.CreateKey(ctx, warehouse.RoleProvider, org, "hostile")
	if err != nil {
		t.Fatal(err)
	}
	base := w.subA[w.open]
	base.Cycle, base.Organisation.ID, base.Organisation.Name = cycle, org, "Hostile Test Hospital"
	baseB := base
	baseB.Cycle = cycleB
	cap0 := m.CapabilityIDs()[0]

	// The baseline is stored, so that the organisation has a profile and pages.
	var doc bytes.Buffer
	if err := fixtures.WriteJSON(&doc, &base); err != nil {
		t.Fatal(err)
	}
	if r := w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions", token: token, ctype: "application/json", body: doc.Bytes()}); r.status != 201 {
		t.Fatalf("baseline: %s", r)
	}
	form := []byte(url.Values{"key": {token}, "next": {"benchmark"}}.Encode())
	signin := w.do(t, w.base, req{method: "POST", path: "/dashboards/signin", ctype: "application/x-www-form-urlencoded", body: form})
	if signin.status != 303 || signin.header.Get("Set-Cookie") == "" {
		t.Fatalf("sign-in: %s", signin)
	}
	session := strings.Split(signin.header.Get("Set-Cookie"), ";")[0]

	// --- building requests ---

	seq := 0
	fresh := func(prefix string) string { seq++; return fmt.Sprintf("hx-%s-%d", prefix, seq) }

	// docWith is the baseline document with the member at path set to enc (JSON text);
	// a path ending in "{}" adds a member named enc instead.
	docWith := func(path, enc string) []byte {
		var mdoc map[string]any
		if err := json.Unmarshal(doc.Bytes(), &mdoc); err != nil {
			t.Fatal(err)
		}
		const marker = "\x01HOSTILE\x01"
		obj, parts := mdoc, strings.Split(path, ".")
		for _, p := range parts[:len(parts)-1] {
			obj = obj[p].(map[string]any)
		}
		last := parts[len(parts)-1]
		addKey := last == "{}"
		if addKey {
			obj[marker] = 2
		} else {
			obj[last] = marker
		}
		b, err := json.Marshal(mdoc)
		if err != nil {
			t.Fatal(err)
		}
		quoted, _ := json.Marshal(marker)
		return bytes.Replace(b, quoted, []byte(enc), 1)
	}
	submit := func(body []byte) req {
		return req{method: "POST", path: "/api/v1/submissions", token: token, ctype: "application/json", body: body}
	}
	// wideWith is the baseline in both cycles as CSV wide, with one cell of the second
	// row (cycle "hostile") set, or with an extra column of that name when col is "".
	wideWith := func(col, v string) []byte {
		var buf bytes.Buffer
		if err := fixtures.WriteCSVWide(&buf, m, []model.Submission{baseB, base}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if col == "" {
			for i := range recs {
				recs[i] = append(recs[i], "")
			}
			recs[0][len(recs[0])-1] = v
		} else {
			i := indexOf(recs[0], col)
			if i < 0 {
				t.Fatalf("no column %s", col)
			}
			recs[2][i] = v
		}
		buf.Reset()
		cw := csv.NewWriter(&buf)
		if err := cw.WriteAll(recs); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	bulk := func(query string, body []byte) req {
		return req{method: "POST", path: "/api/v1/submissions/bulk" + query, token: token, ctype: "text/csv", body: body}
	}
	validWide := wideWith(model.ColOrgName, base.Organisation.Name)
	// freshNDJSON is the baseline under a new name, so that each upload stores something.
	freshNDJSON := func() []byte {
		s := base
		s.Organisation.Name = "Hostile file " + fresh("file")
		var buf bytes.Buffer
		if err := fixtures.WriteNDJSON(&buf, []model.Submission{s}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	xlsxWith := func(cell, v string) []byte {
		var buf bytes.Buffer
		if err := workbook.Write(&buf, m, &base); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		sheet, ref, _ := strings.Cut(cell, "!")
		if err := f.SetCellStr(sheet, ref, v); err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		if err := f.Write(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}

	// --- reading stored values back ---

	readSubmission := func(t *testing.T, id int64) warehouse.StoredSubmission {
		t.Helper()
		g := w.do(t, w.base, req{method: "GET", path: fmt.Sprintf("/api/v1/submissions/%d", id), token: token})
		var st warehouse.StoredSubmission
		if g.status != 200 || json.Unmarshal(g.body, &st) != nil {
			t.Fatalf("read back submission %d: %s", id, g)
		}
		return st
	}
	fieldOf := func(t *testing.T, st warehouse.StoredSubmission, field string) string {
		switch field {
		case "organisation.name":
			return st.Submission.Organisation.Name
		case "organisation.beds":
			return strconv.Itoa(st.Submission.Organisation.Beds)
		case "answers." + cap0:
			return strconv.Itoa(int(st.Submission.Answers[cap0]))
		}
		t.Fatalf("no read-back for %s", field)
		return ""
	}
	// storedSubmission reads back the submission a POST /submissions answered with.
	storedSubmission := func(field string) func(t *testing.T, r resp) (string, string, int) {
		return func(t *testing.T, r resp) (string, string, int) {
			var res api.SubmissionResult
			if err := json.Unmarshal(r.body, &res); err != nil || res.ID == 0 {
				t.Fatalf("answer: %s", r)
			}
			got := fieldOf(t, readSubmission(t, res.ID), field)
			if field == "organisation.name" {
				me := w.do(t, w.base, req{method: "GET", path: "/api/v1/organisations/me", token: token})
				var o warehouse.Organisation
				if me.status != 200 || json.Unmarshal(me.body, &o) != nil || o.Profile.Name != got {
					t.Errorf("profile name %q, submission name %q: %s", o.Profile.Name, got, me)
				}
			}
			n := 0
			if r.status == 201 {
				n = 1
			}
			return got, "submissions", n
		}
	}
	// storedBulk reads back the current submission of cycle "hostile" after a bulk upload.
	storedBulk := func(field string) func(t *testing.T, r resp) (string, string, int) {
		return func(t *testing.T, r resp) (string, string, int) {
			var res api.BulkResult
			if err := json.Unmarshal(r.body, &res); err != nil || !res.OK {
				t.Fatalf("answer: %s", r)
			}
			l := w.do(t, w.base, req{method: "GET", path: "/api/v1/submissions?cycle=" + cycle, token: token})
			var hist struct {
				Submissions []warehouse.SubmissionSummary `json:"submissions"`
			}
			if l.status != 200 || json.Unmarshal(l.body, &hist) != nil {
				t.Fatalf("history: %s", l)
			}
			var id int64
			for _, s := range hist.Submissions {
				if s.Current() {
					id = s.ID
				}
			}
			return fieldOf(t, readSubmission(t, id), field), "submissions", res.Report.Total.Accepted + res.Report.Total.Superseded
		}
	}
	storedFileName := func(t *testing.T, r resp) (string, string, int) {
		var res api.BulkResult
		if err := json.Unmarshal(r.body, &res); err != nil || len(res.Report.Files) != 1 {
			t.Fatalf("answer: %s", r)
		}
		return res.Report.Files[0].File, "submissions", res.Report.Total.Accepted + res.Report.Total.Superseded
	}
	storedKey := func(field string) func(t *testing.T, r resp) (string, string, int) {
		return func(t *testing.T, r resp) (string, string, int) {
			var ck api.CreatedKey
			if err := json.Unmarshal(r.body, &ck); err != nil || ck.Key.ID == "" {
				t.Fatalf("answer: %s", r)
			}
			l := w.do(t, w.base, req{method: "GET", path: "/api/v1/keys", principal: pAdmin})
			var keys struct {
				Keys []warehouse.APIKey `json:"keys"`
			}
			if l.status != 200 || json.Unmarshal(l.body, &keys) != nil {
				t.Fatalf("keys: %s", l)
			}
			for _, k := range keys.Keys {
				if k.ID == ck.Key.ID {
					if field == "label" {
						return k.Label, "keys", 1
					}
					return k.OrgID, "keys", 1
				}
			}
			t.Fatalf("key %s is not listed", ck.Key.ID)
			return "", "", 0
		}
	}
	storedCycle := func(field string) func(t *testing.T, r resp) (string, string, int) {
		return func(t *testing.T, r resp) (string, string, int) {
			var c warehouse.Cycle
			if err := json.Unmarshal(r.body, &c); err != nil || c.ID == "" {
				t.Fatalf("answer: %s", r)
			}
			g := w.do(t, w.base, req{method: "GET", path: "/api/v1/cycles/" + url.PathEscape(c.ID), principal: pAdmin})
			var back warehouse.Cycle
			if g.status != 200 || json.Unmarshal(g.body, &back) != nil {
				t.Fatalf("read back cycle: %s", g)
			}
			if b := w.do(t, w.base, req{method: "GET", path: "/api/v1/cycles/" + url.PathEscape(c.ID) + "/budget", principal: pAdmin}); b.status != 200 {
				t.Errorf("budget of the new cycle: %s", b)
			}
			switch field {
			case "id":
				return back.ID, "cycles", 1
			case "epsilon":
				return number(back.Epsilon), "cycles", 1
			}
			return number(back.Delta), "cycles", 1
		}
	}
	canonNumber := func(s string) string {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return s
		}
		return number(f)
	}

	// --- legitimate values ---

	idPattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)
	cyclePattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)
	orgName := func(s string) bool { return len(s) <= 200 && utf8.ValidString(s) }
	wholeLevel := func(s string) bool { n, err := strconv.Atoi(s); return err == nil && n >= 0 && n <= m.Scale.Max }
	beds := func(s string) bool { n, err := strconv.Atoi(s); return err == nil && n >= 0 && n <= 25 } // within every type's limit
	label := func(s string) bool { return len(s) <= 200 && strings.IndexFunc(s, unicode.IsControl) < 0 }
	positive := func(s string) bool {
		f, err := strconv.ParseFloat(s, 64)
		return err == nil && f > 0 && f <= warehouse.MaxCycleEpsilon
	}
	belowOne := func(s string) bool {
		f, err := strconv.ParseFloat(s, 64)
		return err == nil && f >= 0 && f <= warehouse.MaxCycleDelta
	}
	// A file is reported under the last element of its name, cut short: a short name
	// comes back as it was sent, a long one never in full.
	fileName := func(sent, got string) error {
		if strings.ContainsAny(got, `/\`) || len(got) > 100 || got == "" {
			return fmt.Errorf("the report names the file %.100q (%d bytes)", got, len(got))
		}
		if want := path.Base(sent); len(sent) <= 80 && utf8.ValidString(sent) && got != want {
			return fmt.Errorf("the report names the file %q, sent as %q", got, want)
		}
		return nil
	}
	emptyList := func(key string) func(r resp) bool {
		return func(r resp) bool {
			var v map[string]json.RawMessage
			return json.Unmarshal(r.body, &v) == nil && string(v[key]) == "[]"
		}
	}

	// --- the fields ---

	docField := func(path string, number bool, legit func(string) bool, stored func(*testing.T, resp) (string, string, int), canon func(string) string) target {
		tg := target{field: path, where: "submission document", place: inDoc, number: number, legit: legit, stored: stored, canon: canon}
		tg.build = func(h hostile, enc string) req { return submit(docWith(path, enc)) }
		return tg
	}
	pathParam := func(field, method, pattern, principal string) target {
		return target{field: field, where: method + " " + pattern, place: inPath, otherwise: absent,
			build: func(h hostile, _ string) req {
				return req{method: method, path: strings.Replace(pattern, "{}", url.PathEscape(h.v), 1), principal: principal,
					token: map[bool]string{true: token}[principal == ""]}
			}}
	}
	jsonField := func(field, route string, number bool, body func(enc string) string) target {
		return target{field: field, where: "POST " + route + " body", place: inJSON, number: number,
			build: func(h hostile, enc string) req {
				return req{method: "POST", path: route, principal: pAdmin, ctype: "application/json", body: []byte(body(enc))}
			}}
	}
	with := func(tg target, f func(*target)) target { f(&tg); return tg }

	orgNameField := docField("organisation.name", false, orgName, storedSubmission("organisation.name"), nil)
	targets := []target{
		// Every member of a submission document.
		docField("schema_version", true, nil, nil, nil),
		docField("model_version", false, nil, nil, nil),
		docField("cycle", false, nil, nil, nil),
		with(docField("organisation.id", false, nil, nil, nil), func(tg *target) { tg.status, tg.names = 403, "organisation" }),
		orgNameField,
		docField("organisation.state", false, nil, nil, nil),
		docField("organisation.beds", true, beds, storedSubmission("organisation.beds"), canonNumber),
		docField("organisation.type", false, nil, nil, nil),
		docField("submitted_at", false, nil, nil, nil),
		with(docField("answers.{}", false, nil, nil, nil), func(tg *target) { tg.field, tg.names = "answers (a capability ID)", "answers." }),
		docField("answers."+cap0, true, wholeLevel, storedSubmission("answers."+cap0), canonNumber),
		with(docField("{}", false, nil, nil, nil), func(tg *target) { tg.field, tg.names = "a member the document does not have", "unknown" }),

		// The bulk upload: file names, query parameters, cells and header names.
		// A NUL cannot be in a part's header line: the form is malformed.
		{field: "file name", where: "multipart part of POST /submissions/bulk", place: inFile, names: "multipart",
			legit: func(s string) bool { return !strings.Contains(s, "\x00") }, stored: storedFileName, check: fileName,
			build: func(h hostile, _ string) req {
				body, ctype := multipartFile(t, h.v, freshNDJSON())
				return req{method: "POST", path: "/api/v1/submissions/bulk", token: token, ctype: ctype, body: body}
			}},
		{field: "filename", where: "query of POST /submissions/bulk", place: inQuery, legit: func(string) bool { return true },
			stored: storedFileName, check: fileName,
			build: func(h hostile, _ string) req {
				return req{method: "POST", path: "/api/v1/submissions/bulk?filename=" + url.QueryEscape(h.v), token: token,
					ctype: "application/x-ndjson", body: freshNDJSON()}
			}},
		{field: "format", where: "query of POST /submissions/bulk", place: inQuery,
			build: func(h hostile, _ string) req { return bulk("?format="+url.QueryEscape(h.v), validWide) }},
		{field: "atomic", where: "query of POST /submissions/bulk", place: inQuery,
			build: func(h hostile, _ string) req { return bulk("?atomic="+url.QueryEscape(h.v), validWide) }},
		{field: "organisation.name", where: "CSV wide cell org_name", place: inFile, legit: orgName, stored: storedBulk("organisation.name"),
			build: func(h hostile, _ string) req { return bulk("?atomic=true", wideWith(model.ColOrgName, h.v)) }},
		{field: "organisation.id", where: "CSV wide cell org_id", place: inFile, status: 403, names: "organisation",
			build: func(h hostile, _ string) req { return bulk("?atomic=true", wideWith(model.ColOrgID, h.v)) }},
		{field: "answers." + cap0, where: "CSV wide cell " + cap0, place: inFile, stored: storedBulk("answers." + cap0), canon: canonNumber,
			legit: wholeLevel,
			build: func(h hostile, _ string) req { return bulk("?atomic=true", wideWith(cap0, h.v)) }},
		{field: "a column name", where: "CSV wide header cell", place: inFile, names: "column",
			build: func(h hostile, _ string) req { return bulk("?atomic=true", wideWith("", h.v)) }},
		{field: "organisation.beds", where: "XLSX Profile cell beds", place: inFile, stored: storedBulk("organisation.beds"), canon: canonNumber,
			legit: beds,
			build: func(h hostile, _ string) req {
				return req{method: "POST", path: "/api/v1/submissions/bulk?filename=h.xlsx", token: token,
					ctype: "application/octet-stream", body: xlsxWith(workbook.ProfileCell(model.ColBeds), h.v)}
			}},

		// Path parameters: each names nothing that exists.
		pathParam("submission id", "GET", "/api/v1/submissions/{}", ""),
		pathParam("cycle", "GET", "/api/v1/scorecards/{}", ""),
		pathParam("cycle", "GET", "/api/v1/benchmark/{}", ""),
		pathParam("cycle id", "GET", "/api/v1/cycles/{}", pAdmin),
		pathParam("cycle id", "POST", "/api/v1/cycles/{}/close", pAdmin),
		pathParam("cycle id", "GET", "/api/v1/cycles/{}/budget", pAdmin),
		pathParam("release id", "GET", "/api/v1/releases/{}", pResearcher),
		pathParam("release id", "GET", "/api/v1/releases/{}/export", pAnalyst),
		pathParam("model version", "GET", "/api/v1/models/{}", pNone),
		pathParam("key id", "DELETE", "/api/v1/keys/{}", pAdmin),
		with(pathParam("cycle id", "PUT", "/api/v1/cycles/{}", pAdmin), func(tg *target) {
			tg.where, tg.otherwise, tg.status, tg.names = "PUT /api/v1/cycles/{} (a method the route does not have)", refused, 405, "PUT"
		}),

		// Query parameters of the reads.
		{field: "cycle", where: "query of GET /submissions", place: inQuery, otherwise: filtered, empty: emptyList("submissions"),
			build: func(h hostile, _ string) req {
				return req{method: "GET", path: "/api/v1/submissions?cycle=" + url.QueryEscape(h.v), token: token}
			}},
		{field: "cycle", where: "query of GET /releases", place: inQuery, otherwise: filtered, empty: emptyList("releases"),
			build: func(h hostile, _ string) req {
				return req{method: "GET", path: "/api/v1/releases?cycle=" + url.QueryEscape(h.v), principal: pResearcher}
			}},
		{field: "format", where: "query of GET /releases/{id}/export", place: inQuery,
			build: func(h hostile, _ string) req {
				return req{method: "GET", path: "/api/v1/releases/" + w.release + "/export?format=" + url.QueryEscape(h.v), principal: pAnalyst}
			}},
		{field: "limit", where: "query of GET /audit", place: inQuery,
			build: func(h hostile, _ string) req {
				return req{method: "GET", path: "/api/v1/audit?limit=" + url.QueryEscape(h.v), principal: pAdmin}
			}},
		{field: "a parameter no route reads", where: "query of GET /cycles", place: inQuery, otherwise: ignored,
			build: func(h hostile, _ string) req {
				return req{method: "GET", path: "/api/v1/cycles?" + url.QueryEscape(h.v) + "=" + url.QueryEscape(h.v), principal: pResearcher}
			}},

		// Headers.
		{field: "Authorization", where: "header (Bearer token)", place: inHeader, status: 401,
			build: func(h hostile, _ string) req { return req{method: "GET", path: "/api/v1/cycles", token: h.v} }},
		{field: "Content-Type", where: "header of POST /cycles", place: inHeader, status: 415,
			build: func(h hostile, _ string) req {
				return req{method: "POST", path: "/api/v1/cycles", principal: pAdmin, header: map[string]string{"Content-Type": h.v},
					body: []byte(`{"id":"hx-content-type"}`)}
			}},
		{field: "X-Request-ID", where: "header (the server always sets its own)", place: inHeader, otherwise: ignored,
			build: func(h hostile, _ string) req {
				return req{method: "GET", path: "/api/v1/cycles", principal: pResearcher, header: map[string]string{"X-Request-ID": h.v}}
			}},

		// Bodies of the admin routes. Releases first: a cycle the table creates later
		// would otherwise exist.
		with(jsonField("cycle", "/api/v1/releases", false, func(enc string) string { return `{"cycle":` + enc + `,"epsilon":1}` }),
			func(tg *target) { tg.status = 404 }),
		jsonField("epsilon", "/api/v1/releases", true, func(enc string) string { return `{"cycle":"` + cycle + `","epsilon":` + enc + `}` }),
		jsonField("noise", "/api/v1/releases", false, func(enc string) string { return `{"cycle":"` + cycle + `","epsilon":1,"noise":` + enc + `}` }),
		with(jsonField("label", "/api/v1/keys", false, func(enc string) string { return `{"role":"analyst","label":` + enc + `}` }),
			func(tg *target) { tg.legit, tg.stored = label, storedKey("label") }),
		jsonField("role", "/api/v1/keys", false, func(enc string) string { return `{"role":` + enc + `,"label":"hostile"}` }),
		with(jsonField("org_id", "/api/v1/keys", false, func(enc string) string { return `{"role":"provider","org_id":` + enc + `}` }),
			func(tg *target) { tg.legit, tg.stored = idPattern.MatchString, storedKey("org_id") }),
		jsonField("model_version", "/api/v1/cycles", false, func(enc string) string {
			return `{"id":"` + fresh("mv") + `","model_version":` + enc + `}`
		}),
		with(jsonField("epsilon", "/api/v1/cycles", true, func(enc string) string { return `{"id":"` + fresh("eps") + `","epsilon":` + enc + `}` }),
			func(tg *target) { tg.legit, tg.stored, tg.canon = positive, storedCycle("epsilon"), canonNumber }),
		with(jsonField("delta", "/api/v1/cycles", true, func(enc string) string { return `{"id":"` + fresh("delta") + `","delta":` + enc + `}` }),
			func(tg *target) { tg.legit, tg.stored, tg.canon = belowOne, storedCycle("delta"), canonNumber }),
		with(jsonField("id", "/api/v1/cycles", false, func(enc string) string { return `{"id":` + enc + `}` }),
			func(tg *target) { tg.legit, tg.stored = cyclePattern.MatchString, storedCycle("id") }),
	}
	var rows []row
	values := hostileValues()
	for _, tg := range targets {
		for _, h := range values {
			rows = append(rows, row{tg, h})
		}
	}
	// The 10 MiB body, once: in an organisation name.
	rows = append(rows, row{orgNameField, hostile{name: "10 MiB", v: strings.Repeat("C", 10<<20)}})

	start := time.Now()
	totalBefore := totalSubmissions(t, w)
	storedSubs := 0
	var createdKeys []string
	var last *tally // the count after the previous row, when it finished
	outcomes := map[outcome]int{}
	for i, rw := range rows {
		tg, h := rw.tg, rw.h
		name := fmt.Sprintf("%03d %s in %s = %s", i, tg.field, tg.where, h.name)
		r := tg.build(h, tg.jsonText(h)) // here: builders may fail the parent test
		t.Run(name, func(t *testing.T) {
			want, status, names := tg.expect(h, r)
			outcomes[want]++
			// Reads are counted around: the next write compares with the count taken
			// before them, so a read that changed anything is still caught.
			read := r.method == "GET" && want != stored
			var before tally
			if last != nil {
				before = *last
			} else {
				before = takeTally(t, w, org)
			}
			if !read {
				last = nil
			}
			var got resp
			if want == netRefused {
				got.status, got.body = w.rawDo(t, w.base, r)
			} else {
				got = w.do(t, w.base, r)
			}
			if got.status >= 500 {
				t.Fatalf("%s (want %s)", got, want)
			}
			if (len(h.v) > maxErrorAnswer || got.status >= 400) && len(got.body) > maxErrorAnswer {
				t.Errorf("a %d-byte answer to a %d-byte value: %s", len(got.body), len(h.v), truncate(string(got.body), 200))
			}
			after := tally{audit: before.audit, action: before.action}
			switch want {
			case refused:
				eb := errorBody(t, got)
				if got.status != status || eb.Error.Code == "" || eb.Error.Message == "" {
					t.Fatalf("got %s, want %d", got, status)
				}
				if !mentions(eb, names) {
					t.Errorf("the refusal does not name %q: %s", names, got)
				}
			case absent:
				if eb := errorBody(t, got); got.status != 404 || eb.Error.Code != "not_found" {
					t.Fatalf("got %s, want 404", got)
				}
			case filtered:
				if got.status != 200 || !tg.empty(got) {
					t.Fatalf("got %s, want 200 and nothing", got)
				}
			case ignored:
				if got.status != 200 {
					t.Fatalf("got %s, want 200", got)
				}
				if id := got.header.Get("X-Request-ID"); !ownRequestID.MatchString(id) {
					t.Errorf("X-Request-ID %.80q is not the server's own", id)
				}
			case netRefused:
				if got.status != 400 && got.status != 431 {
					t.Fatalf("got %d %.200s, want 400 or 431", got.status, got.body)
				}
			case stored:
				if got.status != 200 && got.status != 201 {
					t.Fatalf("got %s, want it stored", got)
				}
				back, table, n := tg.stored(t, got)
				sent := tg.decode(h)
				if tg.check != nil {
					if err := tg.check(sent, back); err != nil {
						t.Error(err)
					}
				} else {
					want := sent
					if tg.canon != nil {
						want = tg.canon(sent)
					}
					if back != want {
						t.Errorf("stored %.100q, read back %.100q", want, back)
					}
				}
				if n > 0 {
					// A stored write is audited: the newest entry is this one's.
					after.audit, after.action = -1, map[string]string{"submissions": "submission.create", "keys": "key.create",
						"cycles": "cycle.create"}[table]
					if strings.HasSuffix(r.path, "/bulk") || strings.Contains(r.path, "/bulk?") {
						after.action = "submission.bulk"
					}
				}
				switch table {
				case "submissions":
					after.subs, after.orgSubs = n, n
					storedSubs += n
				case "keys":
					after.keys = n
					var ck api.CreatedKey
					if json.Unmarshal(got.body, &ck) == nil {
						createdKeys = append(createdKeys, ck.Key.ID)
					}
				case "cycles":
					after.cycles = n
				}
				if tg.field == "organisation.name" {
					page := w.do(t, w.base, req{method: "GET", path: "/dashboards/benchmark?cycle=" + cycle, header: map[string]string{"Cookie": session}})
					if page.status != 200 || !bytes.Contains(page.body, []byte(template.HTMLEscapeString(back))) {
						t.Errorf("the benchmark page does not show the name escaped: %s", truncate(string(page.body), 300))
					}
					if strings.ContainsAny(back, `<>"'&`) && bytes.Contains(page.body, []byte(back)) {
						t.Errorf("the benchmark page prints the name unescaped")
					}
				}
			}
			if read {
				last = &before
				return
			}
			now := takeTally(t, w, org)
			last = &now
			wantTally := before
			wantTally.audit, wantTally.action = after.audit, after.action
			if after.audit == -1 {
				if now.audit <= before.audit {
					t.Errorf("no audit entry for the stored %s (newest is still %d %s)", after.action, before.audit, before.action)
				}
				wantTally.audit = now.audit
			}
			wantTally.subs += after.subs
			wantTally.orgSubs += after.orgSubs
			wantTally.keys += after.keys
			wantTally.cycles += after.cycles
			if now != wantTally {
				t.Errorf("the warehouse changed (here or in a read since the last write): before %+v, after %+v, want %+v", before, now, wantTally)
			}
		})
	}

	// Every table still answers, through the API and the warehouse's own check.
	for _, p := range []struct{ path, principal string }{{"/api/v1/keys", pAdmin}, {"/api/v1/cycles", pAdmin},
		{"/api/v1/releases", pResearcher}, {"/api/v1/audit", pAdmin}, {"/api/v1/releases/" + w.release, pResearcher}} {
		if r := w.do(t, w.base, req{method: "GET", path: p.path, principal: p.principal}); r.status != 200 {
			t.Errorf("GET %s after the table: %s", p.path, r)
		}
	}
	if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/submissions", token: token}); r.status != 200 {
		t.Errorf("GET /api/v1/submissions after the table: %s", r)
	}
	if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/submissions", principal: pProvider}); r.status != 200 || !strings.Contains(string(r.body), w.orgA.ID) {
		t.Errorf("orgA's history after the table: %s", r)
	}
	if integ, err := w.db.CheckIntegrity(ctx); err != nil || !integ.OK() {
		t.Errorf("integrity after the table: %+v %v", integ, err)
	}
	if after := totalSubmissions(t, w); after != totalBefore+storedSubs {
		t.Errorf("%d submissions stored before the table, %d after, but the table stored %d", totalBefore, after, storedSubs)
	}
	for _, id := range createdKeys {
		if _, err := w.db.RevokeKey(ctx, id); err != nil {
			t.Errorf("revoke %s: %v", id, err)
		}
	}
	t.Logf("%d rows (%d fields × %d values + the 10 MiB body) in %v: %v", len(rows), len(targets), len(values),
		time.Since(start).Round(time.Millisecond), outcomes)
}

// number renders a float the way the table compares stored numbers (both zeros as 0).
func number(f float64) string {
	if f == 0 {
		return "0"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
