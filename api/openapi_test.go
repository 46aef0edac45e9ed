package api_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/warehouse"
)

// TestOpenAPICoversRoutes holds the server's routes and the OpenAPI document against each
// other: every route is documented, every documented operation is served, and every
// operation names its roles and its error answers.
func TestOpenAPICoversRoutes(t *testing.T) {
	w := getWorld(t)
	served := map[string]bool{}
	for _, rt := range routesOf(w) {
		served[rt] = true
	}
	documented := map[string]bool{}
	for path, item := range w.doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			documented[key] = true
			if !served[key] {
				t.Errorf("documented but not served: %s", key)
			}
			if _, ok := op.Extensions["x-roles"]; !ok {
				t.Errorf("%s: no x-roles", key)
			}
			if op.Responses.Status(500) == nil {
				t.Errorf("%s: no 500 answer documented", key)
			}
			public := slices.Contains(anySlice(op.Extensions["x-roles"]), "public")
			if !public {
				for _, s := range []int{401, 403, 429} {
					if op.Responses.Status(s) == nil {
						t.Errorf("%s: authenticated but %d is not documented", key, s)
					}
				}
				if op.Security == nil || len(*op.Security) == 0 {
					t.Errorf("%s: authenticated but no security requirement", key)
				}
			}
			if op.RequestBody != nil {
				for _, s := range []int{400, 413, 415} {
					if op.Responses.Status(s) == nil {
						t.Errorf("%s: takes a body but %d is not documented", key, s)
					}
				}
			}
		}
	}
	for rt := range served {
		if !documented[rt] {
			t.Errorf("served but not documented: %s", rt)
		}
	}

	// /openapi.json serves the same document.
	r := w.do(t, w.base, req{method: "GET", path: "/openapi.json"})
	got, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(w.doc)
	if !bytes.Equal(a, b) {
		t.Error("/openapi.json differs from the embedded document")
	}
}

func anySlice(v any) []string {
	var out []string
	if xs, ok := v.([]any); ok {
		for _, x := range xs {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// TestMetrics checks that /metrics (admin) counts requests by route template and status,
// and carries the ingest counters.
func TestMetrics(t *testing.T) {
	w := getWorld(t)
	w.do(t, w.base, req{method: "GET", path: "/api/v1/benchmark/" + w.released, principal: pProvider})
	w.do(t, w.base, req{method: "GET", path: "/api/v1/random/" + w.orgA.ID, principal: pProvider})
	w.do(t, w.base, req{method: "GET", path: "/api/v1/cycles", principal: pGarbage})
	w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions", principal: pProvider, ctype: "application/json", body: jsonBody(t, w.subA[w.open])})
	r := w.do(t, w.base, req{method: "GET", path: "/metrics", principal: pAdmin})
	body := string(r.body)
	for _, want := range []string{
		`hcztmm_http_requests_total{method="GET",route="/api/v1/benchmark/:cycle",status="200"}`,
		`hcztmm_http_request_duration_seconds_bucket{method="GET",route="/api/v1/benchmark/:cycle"`,
		`route="unmatched"`,
		"hcztmm_ingest_submissions_stored_total", "hcztmm_api_submissions_total", "hcztmm_auth_failures_total",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, w.orgA.ID) {
		t.Error("metrics name an organisation")
	}
}

// TestCurlExamplesUseRealRoutes checks that every example line names a route the server
// has, with the method it has, and admits the role it is printed for.
func TestCurlExamplesUseRealRoutes(t *testing.T) {
	w := getWorld(t)
	served := map[string]bool{}
	for _, rt := range routesOf(w) {
		served[rt] = true
	}
	for _, role := range warehouse.Roles() {
		lines := api.CurlExamples("http://127.0.0.1:8080/", role, "hczk_TOKEN", w.released)
		if len(lines) == 0 {
			t.Errorf("%s: no examples", role)
		}
		for _, line := range lines {
			fields := strings.Fields(line)
			url := fields[len(fields)-1]
			path, _, _ := strings.Cut(strings.TrimPrefix(url, "http://127.0.0.1:8080"), "?")
			method := "GET"
			if strings.Contains(line, "--data-binary") || strings.Contains(line, " -d ") {
				method = "POST"
			}
			tmpl := templateOf(w, path)
			if !served[method+" "+tmpl] {
				t.Errorf("%s: %q is not a route (%s %s)", role, line, method, tmpl)
				continue
			}
			roles := anySlice(w.doc.Paths.Value(tmpl).GetOperation(method).Extensions["x-roles"])
			if !slices.Contains(roles, string(role)) {
				t.Errorf("%s: %q is for %v", role, line, roles)
			}
		}
	}
}
