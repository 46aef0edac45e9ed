package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hcztmm/warehouse/model"
)

// decodeJSON reads one submission document.
func (d *decodeCtx) decodeJSON(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	doc := bytes.TrimSpace(data)
	if len(doc) == 0 {
		d.fileProblem(Problem{Rule: RuleEmptyFile, Message: "the file holds no JSON document"})
		return nil
	}
	it := d.decodeDocument(doc, 0)
	return d.emit(&it)
}

// decodeNDJSON reads one submission document per line; blank lines are skipped.
func (d *decodeCtx) decodeNDJSON(r io.Reader) error {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, readBufSize)
	}
	var long []byte // a line longer than the buffer, assembled
	line, docs := 0, 0
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		if len(long) > 0 {
			chunk = append(long, chunk...)
			long = long[:0]
		}
		if len(chunk) > 0 {
			line++
			if doc := bytes.TrimSpace(chunk); len(doc) > 0 {
				docs++
				it := d.decodeDocument(doc, line)
				if e := d.emit(&it); e != nil {
					return e
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if docs == 0 {
		d.fileProblem(Problem{Rule: RuleEmptyFile, Message: "the file holds no JSON document"})
	}
	return nil
}

// decodeDocument reads one submission document. It reports every problem it can find in
// one pass (unknown members, wrong types, unreadable answers) instead of stopping at the
// first as encoding/json does, each with the JSON pointer of the offending value; line is
// the NDJSON line (0 for a JSON file). Strings are copied out of doc, which the caller
// may reuse.
func (d *decodeCtx) decodeDocument(doc []byte, line int) item {
	it := item{row: line, loc: jsonLoc{line}}
	bad := func(rule, ptr, value, msg string) {
		it.problem(Problem{Row: line, Pointer: ptr, Rule: rule, Value: value, Message: msg})
		it.broken = true
	}
	if !utf8.Valid(doc) {
		bad(RuleInvalidUTF8, "", "", fmt.Sprintf("the document is not valid UTF-8 (first bad byte at offset %d)", invalidUTF8At(doc)))
		return it
	}
	if !json.Valid(doc) {
		var raw json.RawMessage
		err := json.Unmarshal(doc, &raw)
		msg := "the document is not valid JSON"
		var se *json.SyntaxError
		if errors.As(err, &se) {
			l, c := lineCol(doc, se.Offset)
			if line > 0 {
				msg = fmt.Sprintf("the line is not valid JSON: %v (column %d)", se, c)
			} else {
				msg = fmt.Sprintf("the document is not valid JSON: %v (line %d, column %d)", se, l, c)
			}
		}
		bad(RuleInvalidJSON, "", "", msg)
		return it
	}
	if doc[0] != '{' {
		bad(RuleWrongType, "", "", "a submission document must be a JSON object")
		return it
	}
	s := &it.sub
	var seen [6]bool
	eachMember(doc, func(key string, val []byte) {
		ptr := "/" + escapePointer(key)
		idx := topLevelIndex(key)
		if idx < 0 {
			it.problem(Problem{Row: line, Pointer: ptr, Rule: RuleUnknownField, Value: clip(key),
				Message: fmt.Sprintf("unknown member %q (a submission has schema_version, model_version, cycle, organisation, submitted_at, answers)", clip(key))})
			return
		}
		if seen[idx] {
			it.problem(Problem{Row: line, Pointer: ptr, Field: key, Rule: RuleDuplicateField,
				Message: fmt.Sprintf("member %q appears twice", key)})
			return
		}
		seen[idx] = true
		if isNull(val) {
			return // absent; validation says whether it was required
		}
		switch key {
		case "schema_version":
			n, ok := jsonInt(val)
			if !ok {
				it.problem(Problem{Row: line, Pointer: ptr, Field: key, Rule: RuleWrongType, Value: clip(string(val)),
					Message: "schema_version must be a whole number"})
				return
			}
			s.SchemaVersion = n
		case "model_version", "cycle":
			v, ok := jsonString(val)
			if !ok {
				it.problem(Problem{Row: line, Pointer: ptr, Field: key, Rule: RuleWrongType, Value: clip(string(val)),
					Message: key + " must be a string"})
				return
			}
			if key == "cycle" {
				s.Cycle = v
			} else {
				s.ModelVersion = v
			}
		case "submitted_at":
			v, ok := jsonString(val)
			t, err := time.Parse(time.RFC3339Nano, v)
			if !ok || err != nil {
				it.problem(Problem{Row: line, Pointer: ptr, Field: key, Rule: RuleInvalidTime, Value: clip(string(val)),
					Message: "submitted_at must be an RFC 3339 time, e.g. \"2026-03-14T09:26:53Z\""})
				return
			}
			s.SubmittedAt = t
		case "organisation":
			d.decodeProfile(&it, val, line)
		case "answers":
			d.decodeAnswers(&it, val, line)
		}
	})
	if !seen[0] {
		// Absent, not zero: say so rather than "schema_version 0 is not supported".
		it.problem(Problem{Row: line, Pointer: "/schema_version", Field: "schema_version", Rule: RuleRequired,
			Message: fmt.Sprintf("schema_version is required (this build reads %d)", model.SchemaVersion)})
	}
	return it
}

var topLevelMembers = [...]string{"schema_version", "model_version", "cycle", "organisation", "submitted_at", "answers"}

func topLevelIndex(key string) int {
	for i, k := range topLevelMembers {
		if k == key {
			return i
		}
	}
	return -1
}

func (d *decodeCtx) decodeProfile(it *item, val []byte, line int) {
	if val[0] != '{' {
		it.problem(Problem{Row: line, Pointer: "/organisation", Field: "organisation", Rule: RuleWrongType, Value: clip(string(val)),
			Message: "organisation must be an object with id, name, state, beds and type"})
		return
	}
	p := &it.sub.Organisation
	seen := map[string]bool{}
	eachMember(val, func(key string, v []byte) {
		ptr := "/organisation/" + escapePointer(key)
		field := "organisation." + key
		switch key {
		case "id", "name", "state", "beds", "type":
		default:
			it.problem(Problem{Row: line, Pointer: ptr, Rule: RuleUnknownField, Value: clip(key),
				Message: fmt.Sprintf("unknown member %q (an organisation has id, name, state, beds, type)", clip(key))})
			return
		}
		if seen[key] {
			it.problem(Problem{Row: line, Pointer: ptr, Field: field, Rule: RuleDuplicateField,
				Message: fmt.Sprintf("member %q appears twice", key)})
			return
		}
		seen[key] = true
		if isNull(v) {
			return
		}
		if key == "beds" {
			n, ok := jsonInt(v)
			if !ok {
				it.problem(Problem{Row: line, Pointer: ptr, Field: field, Rule: RuleNotANumber, Value: clip(string(v)),
					Message: fmt.Sprintf("organisation.beds %s is not a whole number", clip(string(v)))})
				return
			}
			p.Beds = n
			return
		}
		s, ok := jsonString(v)
		if !ok {
			it.problem(Problem{Row: line, Pointer: ptr, Field: field, Rule: RuleWrongType, Value: clip(string(v)),
				Message: field + " must be a string"})
			return
		}
		switch key {
		case "id":
			p.ID = s
		case "name":
			p.Name = s
		case "state":
			p.State = s
		case "type":
			p.Type = s
		}
	})
}

func (d *decodeCtx) decodeAnswers(it *item, val []byte, line int) {
	if val[0] != '{' {
		it.problem(Problem{Row: line, Pointer: "/answers", Field: "answers", Rule: RuleWrongType, Value: clip(string(val)),
			Message: "answers must be an object of capability ID to answer"})
		return
	}
	answers := make(map[string]model.Answer, 48)
	it.sub.Answers = answers
	eachMember(val, func(key string, v []byte) {
		id := d.env.capID(key)
		ptr := "/answers/" + escapePointer(id)
		field := "answers." + id
		if _, dup := answers[id]; dup || it.reported(field) {
			it.problem(Problem{Row: line, Pointer: ptr, Field: field, Rule: RuleDuplicateAnswer, Value: clip(id),
				Message: fmt.Sprintf("%s is answered twice", clip(id))})
			return
		}
		it.answers++
		if isNull(v) {
			return
		}
		text := string(v)
		if v[0] == '"' {
			s, _ := jsonString(v)
			text = s
		} else if v[0] == '{' || v[0] == '[' || v[0] == 't' || v[0] == 'f' {
			it.problem(Problem{Row: line, Pointer: ptr, Field: field, Rule: RuleNotANumber, Value: clip(text),
				Message: fmt.Sprintf("%s answer %s is not a level, \"unknown\" or \"na\"", clip(id), clip(text))})
			return
		}
		a, err := parseAnswer(text)
		if err != nil {
			it.problem(Problem{Row: line, Pointer: ptr, Field: field, Rule: RuleNotANumber, Value: clip(text),
				Message: clip(id) + " " + err.Error()})
			return
		}
		answers[id] = a
	})
}

// capID returns the interned capability ID for a key, so that 25,000 documents share one
// string per capability; unknown keys are returned as they are.
func (e *env) capID(key string) string {
	if id, ok := e.intern[key]; ok {
		return id
	}
	return key
}

// eachMember calls fn for each member of a JSON object. obj must be valid JSON (the
// caller checked with json.Valid), which is what lets this scanner stay this small; it
// exists because encoding/json stops at the first problem and hides duplicate keys.
func eachMember(obj []byte, fn func(key string, val []byte)) {
	i := skipWS(obj, 1)
	for i < len(obj) && obj[i] != '}' {
		kEnd := skipString(obj, i)
		key := unquote(obj[i:kEnd])
		i = skipWS(obj, kEnd)
		i = skipWS(obj, i+1) // ':'
		vEnd := skipValue(obj, i)
		fn(key, obj[i:vEnd])
		i = skipWS(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// unquote returns the text of a JSON string literal (with its quotes).
func unquote(lit []byte) string {
	if len(lit) >= 2 && bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1])
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return string(lit)
	}
	return s
}

func isNull(v []byte) bool { return string(v) == "null" }

func jsonString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	return unquote(v), true
}

// jsonInt reads a whole number, also written as 120.0.
func jsonInt(v []byte) (int, bool) {
	if len(v) == 0 || !(v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return 0, false
	}
	if n, err := strconv.Atoi(string(v)); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != float64(int(f)) || f > 1e15 || f < -1e15 {
		return 0, false
	}
	return int(f), true
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(doc []byte, off int64) (int, int) {
	if off > int64(len(doc)) {
		off = int64(len(doc))
	}
	before := doc[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	if col < 1 {
		col = 1
	}
	return line, col
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
