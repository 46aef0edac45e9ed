package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// matrixRow is one route of the authorization matrix with the exact status each
// principal gets.
type matrixRow struct {
	method, path string
	body         []byte
	ctype        string
	want         map[string]int
}

// expect builds a row's statuses: roles listed get ok, other valid keys 403, and a
// revoked, missing or garbage key 401. other overrides the status of the provider key of
// another organisation (which, on provider routes, acts on its own organisation).
func expect(ok int, other int, roles ...string) map[string]int {
	m := map[string]int{pRevoked: 401, pNone: 401, pGarbage: 401}
	for _, p := range []string{pAdmin, pResearcher, pAnalyst, pProvider, pOther} {
		m[p] = 403
	}
	for _, r := range roles {
		m[r] = ok
		if r == pProvider {
			m[pOther] = other
		}
	}
	return m
}

func public() map[string]int {
	m := map[string]int{}
	for _, p := range principals {
		m[p] = 200
	}
	return m
}

var staff = []string{pAdmin, pResearcher, pAnalyst}

// page builds a dashboards row: the pages decide access themselves (303 to sign-in
// without a viewer, 403 for another role); a Bearer key that does not authenticate gets
// the API's 401 from the gate in front of them.
func page(ok, noViewer int, roles ...string) map[string]int {
	m := map[string]int{pRevoked: 401, pGarbage: 401, pNone: noViewer}
	for _, p := range []string{pAdmin, pResearcher, pAnalyst, pProvider, pOther} {
		m[p] = 403
	}
	for _, r := range roles {
		m[r] = ok
		if r == pProvider {
			m[pOther] = ok
		}
	}
	return m
}

var everyone = []string{pAdmin, pResearcher, pAnalyst, pProvider}

// TestAuthorizationMatrix sends every route with every kind of key and asserts the exact
// status, validates every answer against the OpenAPI document, checks that the document's
// x-roles say the same, and scans every answer to a non-admin for other organisations.
func TestAuthorizationMatrix(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	m := w.reg.Latest()
	for _, id := range []string{"mx-close", "mx-rel"} {
		if err := w.db.CreateCycle(ctx, warehouse.Cycle{ID: id, ModelVersion: m.Version, Epsilon: 2, Delta: 1e-6}); err != nil {
			t.Fatal(err)
		}
	}
	revokable, _, err := w.db.CreateKey(ctx, warehouse.RoleAnalyst, "", "to revoke")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := w.db.CurrentSubmission(ctx, w.orgA.ID, w.released)
	if err != nil {
		t.Fatal(err)
	}
	subA := w.subA[w.open]
	var single bytes.Buffer
	if err := fixtures.WriteJSON(&single, &subA); err != nil {
		t.Fatal(err)
	}
	var bulk bytes.Buffer
	if err := fixtures.WriteNDJSON(&bulk, []model.Submission{w.subA[w.released], w.subA[w.open]}); err != nil {
		t.Fatal(err)
	}

	rows := []matrixRow{
		{method: "GET", path: "/healthz", want: public()},
		{method: "GET", path: "/readyz", want: public()},
		{method: "GET", path: "/openapi.json", want: public()},
		{method: "GET", path: "/metrics", want: expect(200, 0, pAdmin)},
		{method: "GET", path: "/api/v1/model", want: public()},
		{method: "GET", path: "/api/v1/models/" + m.Version, want: public()},

		{method: "GET", path: "/api/v1/organisations/me", want: expect(200, 200, pProvider)},
		// orgA's own document, already stored: unchanged (200). Another organisation's key
		// sending it is refused.
		{method: "POST", path: "/api/v1/submissions", body: single.Bytes(), ctype: "application/json", want: expect(200, 403, pProvider)},
		{method: "POST", path: "/api/v1/submissions/bulk", body: bulk.Bytes(), ctype: "application/x-ndjson", want: expect(200, 403, pProvider)},
		{method: "GET", path: "/api/v1/submissions", want: expect(200, 200, pProvider)},
		{method: "GET", path: fmt.Sprintf("/api/v1/submissions/%d", cur.ID), want: expect(200, 404, pProvider)},
		{method: "GET", path: "/api/v1/scorecards/" + w.released, want: expect(200, 200, pProvider)},
		{method: "GET", path: "/api/v1/benchmark/" + w.released, want: expect(200, 200, pProvider)},

		{method: "GET", path: "/api/v1/cycles", want: expect(200, 200, append(staff, pProvider)...)},
		{method: "POST", path: "/api/v1/cycles", body: []byte(`{"id":"mx-new","epsilon":1}`), ctype: "application/json", want: expect(201, 0, pAdmin)},
		{method: "GET", path: "/api/v1/cycles/" + w.released, want: expect(200, 200, append(staff, pProvider)...)},
		{method: "POST", path: "/api/v1/cycles/mx-close/close", want: expect(200, 0, pAdmin)},
		{method: "GET", path: "/api/v1/cycles/" + w.released + "/budget", want: expect(200, 0, pAdmin, pResearcher)},

		{method: "GET", path: "/api/v1/releases", want: expect(200, 200, append(staff, pProvider)...)},
		{method: "GET", path: "/api/v1/releases/" + w.release, want: expect(200, 200, append(staff, pProvider)...)},
		{method: "GET", path: "/api/v1/releases/" + w.release + "/export?format=csv", want: expect(200, 0, pAdmin, pAnalyst)},
		{method: "POST", path: "/api/v1/releases", body: []byte(`{"cycle":"mx-rel","epsilon":0.5}`), ctype: "application/json", want: expect(201, 0, pAdmin)},

		{method: "GET", path: "/api/v1/audit", want: expect(200, 0, pAdmin)},
		{method: "POST", path: "/api/v1/keys", body: []byte(`{"role":"researcher","label":"matrix"}`), ctype: "application/json", want: expect(201, 0, pAdmin)},
		{method: "GET", path: "/api/v1/keys", want: expect(200, 0, pAdmin)},
		{method: "DELETE", path: "/api/v1/keys/" + revokable.ID, want: expect(200, 0, pAdmin)},

		{method: "GET", path: "/dashboards", want: page(303, 303, everyone...)},
		{method: "GET", path: "/dashboards/benchmark", want: page(200, 303, pProvider)},
		{method: "GET", path: "/dashboards/findings", want: page(200, 303, staff...)},
		{method: "GET", path: "/dashboards/explorer", want: page(200, 303, staff...)},
		{method: "GET", path: "/dashboards/signin", want: page(303, 200, everyone...)},
		{method: "POST", path: "/dashboards/signin", body: []byte("key=hczk_wrong"), ctype: "application/x-www-form-urlencoded", want: page(401, 401, everyone...)},
		{method: "POST", path: "/dashboards/signout", ctype: "application/x-www-form-urlencoded", want: page(303, 303, everyone...)},
	}

	covered := map[string]bool{}
	for _, row := range rows {
		covered[row.method+" "+templateOf(w, row.path)] = true
		t.Run(row.method+" "+row.path, func(t *testing.T) {
			for _, p := range principals {
				want, ok := row.want[p]
				if !ok {
					t.Fatalf("no expectation for %s", p)
				}
				r := w.do(t, w.base, req{method: row.method, path: row.path, principal: p, body: row.body, ctype: row.ctype})
				if r.status != want {
					t.Errorf("%s: got %s, want %d", p, r, want)
				}
				isPage := strings.HasPrefix(row.path, "/dashboards") && !strings.HasPrefix(r.header.Get("Content-Type"), "application/json")
				if r.status >= 400 && !isPage {
					eb := errorBody(t, r)
					if eb.Error.Code == "" || eb.Error.Message == "" || eb.Error.Details == nil {
						t.Errorf("%s: bad error body %s", p, r)
					}
					if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s: 401 without WWW-Authenticate", p)
					}
				}
				if p != pAdmin {
					own := ""
					switch p {
					case pProvider:
						own = w.orgA.ID
					case pOther:
						own = w.orgB.ID
					}
					if l := w.leaks(r.body, own); len(l) > 0 {
						t.Errorf("%s: answer reveals other organisations: %v", p, l)
					}
				}
			}
		})
		t.Run("x-roles "+row.method+" "+row.path, func(t *testing.T) {
			var admitted []string
			for _, p := range []string{pAdmin, pResearcher, pAnalyst, pProvider} {
				if s := row.want[p]; s != 401 && s != 403 {
					admitted = append(admitted, p)
				}
			}
			if row.want[pNone] == 200 || strings.HasPrefix(row.path, "/dashboards") {
				// The pages are not behind the API's role check: they decide themselves.
				admitted = []string{"public"}
			}
			op := w.doc.Paths.Value(templateOf(w, row.path)).GetOperation(row.method)
			var doc []string
			if xr, ok := op.Extensions["x-roles"].([]any); ok {
				for _, r := range xr {
					doc = append(doc, fmt.Sprint(r))
				}
			}
			sort.Strings(admitted)
			sort.Strings(doc)
			if !slices.Equal(admitted, doc) {
				t.Errorf("x-roles %v, but the server admits %v", doc, admitted)
			}
		})
	}
	// The matrix covers every route the server has.
	for _, rt := range routesOf(w) {
		if !covered[rt] {
			t.Errorf("route %s is not in the authorization matrix", rt)
		}
	}
}

// templateOf returns the OpenAPI path template a concrete path matches, preferring the
// one with the most literal segments (/submissions/bulk over /submissions/{id}), as the
// router does.
func templateOf(w *world, path string) string {
	hr, _ := http.NewRequest("GET", "http://x"+path, nil)
	best, bestLit := path, -1
	for tmpl := range w.doc.Paths.Map() {
		if lit, ok := matchTemplate(tmpl, hr.URL.Path); ok && lit > bestLit {
			best, bestLit = tmpl, lit
		}
	}
	return best
}

// matchTemplate matches /a/{x}/b against /a/1/b and counts the literal segments.
func matchTemplate(tmpl, path string) (int, bool) {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return 0, false
	}
	lit := 0
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") {
			if ps[i] == "" {
				return 0, false
			}
			continue
		}
		if ts[i] != ps[i] {
			return 0, false
		}
		lit++
	}
	return lit, true
}

// routesOf lists the server's routes as "METHOD /template".
func routesOf(w *world) []string {
	var out []string
	for _, r := range w.srv.Routes() {
		out = append(out, r.Method+" "+ginToOpenAPI(r.Path))
	}
	return out
}

// ginToOpenAPI turns /a/:id into /a/{id}.
func ginToOpenAPI(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}
