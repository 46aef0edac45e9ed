package api_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/warehouse"
)

// TestErrorKindsOverHTTP produces every status of the error table with a real request
// and checks the body: the kind's code, a message, details present (naming the field
// where there is one) and the answer valid against the OpenAPI document.
func TestErrorKindsOverHTTP(t *testing.T) {
	w := getWorld(t)
	big := bytes.Repeat([]byte(" "), 2<<20)
	tests := []struct {
		name   string
		r      req
		status int
		code   string
		field  string
	}{
		{"invalid", req{method: "POST", path: "/api/v1/cycles", principal: pAdmin, ctype: "application/json", body: []byte(`{"id":"bad id!"}`)}, 400, "invalid", "id"},
		{"unauthorized", req{method: "GET", path: "/api/v1/cycles"}, 401, "unauthorized", ""},
		{"forbidden", req{method: "GET", path: "/api/v1/keys", principal: pResearcher}, 403, "forbidden", ""},
		{"not found", req{method: "GET", path: "/api/v1/cycles/nope", principal: pAnalyst}, 404, "not_found", ""},
		{"unknown route", req{method: "GET", path: "/api/v1/nothing-here", principal: pAdmin}, 404, "not_found", ""},
		{"method not allowed", req{method: "PUT", path: "/api/v1/cycles", principal: pAdmin}, 405, "method_not_allowed", ""},
		{"conflict", req{method: "POST", path: "/api/v1/cycles", principal: pAdmin, ctype: "application/json", body: []byte(`{"id":"` + w.released + `"}`)}, 409, "conflict", ""},
		{"too large", req{method: "POST", path: "/api/v1/cycles", principal: pAdmin, ctype: "application/json", body: big}, 413, "too_large", "body"},
		{"unsupported media", req{method: "POST", path: "/api/v1/cycles", principal: pAdmin, ctype: "text/plain", body: []byte(`{"id":"x"}`)}, 415, "unsupported_media_type", ""},
		{"budget exceeded", req{method: "POST", path: "/api/v1/releases", principal: pAdmin, ctype: "application/json", body: []byte(`{"cycle":"` + w.released + `","epsilon":9}`)}, 422, "budget_exceeded", "epsilon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.do(t, w.base, tt.r)
			eb := errorBody(t, r)
			if r.status != tt.status || eb.Error.Code != tt.code || eb.Error.Message == "" || eb.Error.Details == nil {
				t.Fatalf("got %s, want %d %s", r, tt.status, tt.code)
			}
			if tt.field != "" && (len(eb.Error.Details) == 0 || eb.Error.Details[0].Field != tt.field) {
				t.Errorf("details %+v, want field %s", eb.Error.Details, tt.field)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("content type %q", r.header.Get("Content-Type"))
			}
		})
	}
	if r := w.do(t, w.base, req{method: "PUT", path: "/api/v1/cycles", principal: pAdmin}); !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Errorf("405 without Allow: %v", r.header)
	}
}

// brokenWarehouse fails every cycle listing with an error that must not reach a client.
type brokenWarehouse struct{ *warehouse.DB }

func (brokenWarehouse) ListCycles(context.Context) ([]warehouse.Cycle, error) {
	return nil, errors.New("duckdb: connection to /secret/path/wh.duckdb lost")
}

// TestInternalErrorsHideInternals checks the 500: the internal code, a request ID to
// quote that matches the header, and nothing of the cause.
func TestInternalErrorsHideInternals(t *testing.T) {
	w := getWorld(t)
	base := startServer(t, api.Config{AuthFailureBurst: -1}, api.Deps{Models: w.reg, Warehouse: brokenWarehouse{w.db}})
	r := w.do(t, base, req{method: "GET", path: "/api/v1/cycles", principal: pAdmin})
	eb := errorBody(t, r)
	id := r.header.Get("X-Request-ID")
	if r.status != 500 || eb.Error.Code != "internal" || !strings.Contains(eb.Error.Message, id) || id == "" {
		t.Fatalf("%s (request ID %q)", r, id)
	}
	if strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "duckdb") {
		t.Errorf("internals leaked: %s", r)
	}
}

// TestMalformedBodies sends broken bodies to every route that reads one: each gets a
// clean 4xx naming the problem, never a 500.
func TestMalformedBodies(t *testing.T) {
	w := getWorld(t)
	huge := bytes.Repeat([]byte("x"), 2<<20)
	subA := jsonBody(t, w.subA[w.open])
	withField := bytes.Replace(subA, []byte(`{`), []byte(`{"favourite_colour":"blue",`), 1)
	wrongType := bytes.Replace(subA, []byte(`"schema_version":1`), []byte(`"schema_version":"one"`), 1)
	bad := w.subA[w.open]
	bad.Answers = maps.Clone(bad.Answers)
	bad.Answers[w.reg.Latest().CapabilityIDs()[0]] = 9
	outOfRange := jsonBody(t, bad)
	type tc struct {
		name, path, ctype string
		principal         string
		body              []byte
		status            int
		rule              string
	}
	var tests []tc
	for _, route := range []struct{ path, principal, wrongType string }{
		{"/api/v1/cycles", pAdmin, `{"id":5}`}, {"/api/v1/keys", pAdmin, `{"role":5}`}, {"/api/v1/releases", pAdmin, `{"cycle":5}`}} {
		tests = append(tests,
			tc{"malformed", route.path, "application/json", route.principal, []byte(`{"id":`), 400, "invalid_json"},
			tc{"not an object", route.path, "application/json", route.principal, []byte(`[1,2]`), 400, "wrong_type"},
			tc{"unknown field", route.path, "application/json", route.principal, []byte(`{"bogus":1}`), 400, "unknown_field"},
			tc{"wrong type", route.path, "application/json", route.principal, []byte(route.wrongType), 400, "wrong_type"},
			tc{"trailing data", route.path, "application/json", route.principal, []byte(`{} {}`), 400, "trailing_data"},
			tc{"empty", route.path, "application/json", route.principal, nil, 400, "required"},
			tc{"too large", route.path, "application/json", route.principal, huge, 413, "too_large"},
			tc{"no media type", route.path, "", route.principal, []byte(`{}`), 415, ""},
			tc{"form", route.path, "application/x-www-form-urlencoded", route.principal, []byte(`id=x`), 415, ""},
		)
	}
	tests = append(tests,
		tc{"submission malformed", "/api/v1/submissions", "application/json", pProvider, []byte(`{"schema_version":`), 400, "invalid_json"},
		tc{"submission unknown field", "/api/v1/submissions", "application/json", pProvider, withField, 400, "unknown_field"},
		tc{"submission wrong type", "/api/v1/submissions", "application/json", pProvider, wrongType, 400, "wrong_type"},
		tc{"submission out of range", "/api/v1/submissions", "application/json", pProvider, outOfRange, 400, "out_of_range"},
		tc{"submission empty", "/api/v1/submissions", "application/json", pProvider, nil, 400, "empty_file"},
		tc{"submission too large", "/api/v1/submissions", "application/json", pProvider, huge, 413, "too_large"},
		tc{"submission as text", "/api/v1/submissions", "text/plain", pProvider, subA, 415, ""},
		tc{"bulk wrong media", "/api/v1/submissions/bulk", "image/png", pProvider, []byte("\x89PNG"), 415, ""},
		tc{"bulk unknown format", "/api/v1/submissions/bulk", "application/octet-stream", pProvider, []byte("hello there\n"), 415, ""},
		tc{"bulk bad format name", "/api/v1/submissions/bulk?format=yaml", "text/csv", pProvider, []byte("a,b\n"), 400, "unknown_format"},
		tc{"bulk bad atomic", "/api/v1/submissions/bulk?atomic=perhaps", "text/csv", pProvider, []byte("a,b\n"), 400, "wrong_type"},
		tc{"bulk empty", "/api/v1/submissions/bulk", "text/csv", pProvider, nil, 400, "empty_file"},
		tc{"bulk malformed multipart", "/api/v1/submissions/bulk", "multipart/form-data; boundary=zzz", pProvider, []byte("--zzz\r\nbroken"), 400, "invalid_multipart"},
		tc{"bulk too large", "/api/v1/submissions/bulk", "text/csv", pProvider, bytes.Repeat([]byte("a,b\n"), 9<<20), 413, "too_large"},
	)
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.name, func(t *testing.T) {
			r := w.do(t, w.base, req{method: "POST", path: tt.path, principal: tt.principal, ctype: tt.ctype, body: tt.body})
			eb := errorBody(t, r)
			if r.status != tt.status {
				t.Fatalf("got %s, want %d", r, tt.status)
			}
			if tt.rule != "" {
				found := false
				for _, d := range eb.Error.Details {
					found = found || d.Rule == tt.rule
				}
				if !found {
					t.Errorf("no %s detail: %s", tt.rule, r)
				}
			}
		})
	}
	// The bulk limit is the upload limit, not the JSON one.
	if r := w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions/bulk", principal: pProvider, ctype: "text/csv",
		body: bytes.Repeat([]byte("a,b\n"), 1<<19)}); r.status == http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MB upload was refused: %s", r)
	}
}
