package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/workbook"
)

// TestProviderCannotReachOtherOrganisations plays a provider (orgB's key) trying every
// route and parameter to get at orgA's rows or scores: IDs in paths, query filters, and
// uploads naming orgA. Nothing about orgA may come back, nothing may be stored, and an
// ID of orgA's must look exactly like an ID that was never issued.
func TestProviderCannotReachOtherOrganisations(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	histA, err := w.db.ListSubmissions(ctx, w.orgA.ID)
	if err != nil || len(histA) == 0 {
		t.Fatalf("orgA history: %v %v", histA, err)
	}
	histB, err := w.db.ListSubmissions(ctx, w.orgB.ID)
	if err != nil {
		t.Fatal(err)
	}
	attacker := pOther

	check := func(t *testing.T, r resp) {
		t.Helper()
		if l := w.leaks(r.body, w.orgB.ID); len(l) > 0 {
			t.Errorf("answer reveals other organisations %v: %s", l, r)
		}
	}

	t.Run("submission IDs of another organisation are not found", func(t *testing.T) {
		never := w.do(t, w.base, req{method: "GET", path: "/api/v1/submissions/999999999", principal: attacker})
		neverMsg := strings.ReplaceAll(errorBody(t, never).Error.Message, "999999999", "N")
		for _, s := range histA {
			r := w.do(t, w.base, req{method: "GET", path: fmt.Sprintf("/api/v1/submissions/%d", s.ID), principal: attacker})
			if r.status != 404 {
				t.Fatalf("orgA's submission %d: %s", s.ID, r)
			}
			msg := strings.ReplaceAll(errorBody(t, r).Error.Message, fmt.Sprint(s.ID), "N")
			if msg != neverMsg {
				t.Errorf("orgA's ID answers %q, an unissued one %q: existence leaks", msg, neverMsg)
			}
			check(t, r)
		}
		for _, id := range []string{"0", "-1", "abc", "1e3", "%2e%2e", url.PathEscape(w.orgA.ID)} {
			r := w.do(t, w.base, req{method: "GET", path: "/api/v1/submissions/" + id, principal: attacker})
			if r.status != 404 {
				t.Errorf("id %q: %s", id, r)
			}
			check(t, r)
		}
	})

	t.Run("query parameters naming another organisation are ignored", func(t *testing.T) {
		q := "?org_id=" + w.orgA.ID + "&org=" + w.orgA.ID + "&organisation=" + w.orgA.ID
		for _, p := range []string{"/api/v1/organisations/me", "/api/v1/submissions", "/api/v1/submissions?cycle=" + w.released + "&org_id=" + w.orgA.ID,
			"/api/v1/scorecards/" + w.released, "/api/v1/benchmark/" + w.released} {
			if !strings.Contains(p, "?") {
				p += q
			}
			r := w.do(t, w.base, req{method: "GET", path: p, principal: attacker})
			if r.status != 200 || !strings.Contains(string(r.body), w.orgB.ID) {
				t.Errorf("%s: %s", p, r)
			}
			check(t, r)
		}
	})

	t.Run("paths naming another organisation do not exist", func(t *testing.T) {
		for _, p := range []string{"/api/v1/organisations/" + w.orgA.ID, "/api/v1/scorecards/" + w.released + "/" + w.orgA.ID,
			"/api/v1/benchmark/" + w.released + "/" + w.orgA.ID, "/api/v1/organisations/me/../" + w.orgA.ID} {
			r := w.do(t, w.base, req{method: "GET", path: p, principal: attacker})
			if r.status != 404 {
				t.Errorf("%s: %s", p, r)
			}
			// The 404 names the path asked for, which is the caller's own input.
			r.body = bytes.ReplaceAll(r.body, []byte(p), nil)
			check(t, r)
		}
	})

	m := w.reg.Latest()
	subA, subB := w.subA[w.open], w.subB[w.open]
	changedA := subA
	changedA.Answers = map[string]model.Answer{}
	for id := range subA.Answers {
		changedA.Answers[id] = 4
	}
	ownChanged := subB
	ownChanged.Answers = map[string]model.Answer{}
	for id := range subB.Answers {
		ownChanged.Answers[id] = 3
	}
	var single, ndjson, wide, long, longNoProfile, xlsx bytes.Buffer
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(fixtures.WriteJSON(&single, &changedA))
	must(fixtures.WriteNDJSON(&ndjson, []model.Submission{ownChanged, changedA}))
	must(fixtures.WriteCSVWide(&wide, m, []model.Submission{ownChanged, changedA}))
	must(fixtures.WriteCSVLong(&long, m, []model.Submission{ownChanged, changedA}))
	// CSV long without profile columns: the warehouse would fill in orgA's stored
	// profile, which the attacker must not get to read.
	longNoProfile.WriteString("org_id,cycle,model_version,capability,answer\n")
	for _, id := range m.CapabilityIDs() {
		fmt.Fprintf(&longNoProfile, "%s,%s,%s,%s,2\n", w.orgA.ID, w.open, m.Version, id)
	}
	must(workbook.Write(&xlsx, m, &changedA))

	// An invalid document naming another organisation is refused as firmly.
	invalidA := map[string]any{"schema_version": 1, "model_version": m.Version, "cycle": w.open,
		"organisation": map[string]any{"id": w.orgA.ID}, "answers": map[string]any{"NOPE": 9}}

	uploads := []struct {
		name, path, ctype string
		body              []byte
	}{
		{"single JSON", "/api/v1/submissions", "application/json", single.Bytes()},
		{"single invalid JSON", "/api/v1/submissions", "application/json", jsonBody(t, invalidA)},
		{"bulk NDJSON", "/api/v1/submissions/bulk", "application/x-ndjson", ndjson.Bytes()},
		{"bulk CSV wide", "/api/v1/submissions/bulk?filename=x.csv", "text/csv", wide.Bytes()},
		{"bulk CSV long", "/api/v1/submissions/bulk", "text/csv", long.Bytes()},
		{"bulk CSV long without profile", "/api/v1/submissions/bulk", "text/csv", longNoProfile.Bytes()},
		{"bulk XLSX", "/api/v1/submissions/bulk?filename=a.xlsx", "application/octet-stream", xlsx.Bytes()},
		{"bulk atomic NDJSON", "/api/v1/submissions/bulk?atomic=true", "application/x-ndjson", ndjson.Bytes()},
	}
	mp, mpType := multipartFile(t, "history.ndjson", ndjson.Bytes())
	uploads = append(uploads, struct {
		name, path, ctype string
		body              []byte
	}{"bulk multipart", "/api/v1/submissions/bulk", mpType, mp})
	for _, u := range uploads {
		t.Run("upload naming another organisation: "+u.name, func(t *testing.T) {
			r := w.do(t, w.base, req{method: "POST", path: u.path, principal: attacker, body: u.body, ctype: u.ctype})
			if r.status != 403 {
				t.Fatalf("%s", r)
			}
			check(t, r)
		})
	}
	// Nothing of any refused upload was stored, not even the attacker's own rows.
	for org, before := range map[string]int{w.orgA.ID: len(histA), w.orgB.ID: len(histB)} {
		after, err := w.db.ListSubmissions(ctx, org)
		if err != nil || len(after) != before {
			t.Errorf("%s: %d submissions before, %d after (%v)", org, before, len(after), err)
		}
	}
}

// multipartFile builds a multipart form with one file part named "file".
func multipartFile(t testing.TB, name string, data []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// TestNonAdminAnswersNameNoOtherOrganisation walks every read a non-admin key can make
// and scans the answers for other organisations' IDs and names.
func TestNonAdminAnswersNameNoOtherOrganisation(t *testing.T) {
	w := getWorld(t)
	paths := []string{"/api/v1/cycles", "/api/v1/cycles/" + w.released, "/api/v1/releases", "/api/v1/releases/" + w.release,
		"/api/v1/releases?cycle=" + w.released, "/api/v1/organisations/me", "/api/v1/submissions",
		"/api/v1/scorecards/" + w.released, "/api/v1/scorecards/" + w.open, "/api/v1/benchmark/" + w.released,
		"/api/v1/cycles/" + w.released + "/budget", "/api/v1/model", "/openapi.json"}
	for _, p := range []string{pResearcher, pAnalyst, pProvider, pOther} {
		own := map[string]string{pProvider: w.orgA.ID, pOther: w.orgB.ID}[p]
		for _, path := range paths {
			r := w.do(t, w.base, req{method: "GET", path: path, principal: p})
			if l := w.leaks(r.body, own); len(l) > 0 {
				t.Errorf("%s GET %s reveals %v", p, path, l)
			}
		}
	}
	// The release is about organisations only through noised cohort figures.
	r := w.do(t, w.base, req{method: "GET", path: "/api/v1/releases/" + w.release, principal: pResearcher})
	var rel map[string]any
	if err := json.Unmarshal(r.body, &rel); err != nil {
		t.Fatal(err)
	}
	if l := w.leaks(r.body, ""); len(l) > 0 {
		t.Errorf("release names organisations: %v", l)
	}
}
