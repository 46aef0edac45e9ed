package dashboards

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// pageCase is one page as one viewer sees it.
type pageCase struct {
	name   string
	viewer *Viewer
	path   string
}

func allPages() []pageCase {
	return []pageCase{
		{"benchmark", provider(), "/dashboards/benchmark"},
		{"benchmark-2024", provider(), "/dashboards/benchmark?cycle=2024"},
		{"findings", researcher(), "/dashboards/findings"},
		{"findings-2024", researcher(), "/dashboards/findings?cycle=2024"},
		{"explorer", analyst(), "/dashboards/explorer"},
		{"explorer-national", analyst(), "/dashboards/explorer?release=rel-2026-a&partitioning=national&cohort=0"},
		{"explorer-suppressed", analyst(), "/dashboards/explorer?release=rel-2026-a&partitioning=size_region&cohort=12"},
		{"signin", nil, "/dashboards/signin"},
		{"forbidden", researcher(), "/dashboards/benchmark"},
		{"not-found", researcher(), "/dashboards/nothing-here"},
	}
}

// No page may make the browser fetch anything from outside the server: no absolute or
// protocol-relative URL anywhere in the HTML, and asset URLs relative to the page.
func TestPagesReferenceNothingOutsideTheServer(t *testing.T) {
	e := newTestPages(t, defaultName)
	abs := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+`)
	attr := regexp.MustCompile(`(?i)\b(src|href|action)="([^"]*)"`)
	for _, pc := range allPages() {
		rec := e.get(t, pc.viewer, pc.path)
		body := rec.Body.String()
		if m := abs.FindString(body); m != "" {
			t.Errorf("%s: page contains an absolute URL %q", pc.name, m)
		}
		for _, m := range attr.FindAllStringSubmatch(body, -1) {
			u := m[2]
			ok := strings.HasPrefix(u, "static/"+assetsVersion+"/") || u == pathBenchmark || u == pathFindings ||
				u == pathExplorer || u == pathSignIn || u == pathSignOut || strings.HasPrefix(u, pathExplorer+"?") ||
				strings.HasPrefix(u, "/api/v1/releases/")
			if !ok {
				t.Errorf("%s: %s=%q is not one of our own relative URLs", pc.name, m[1], u)
			}
		}
	}
	// Our own assets fetch nothing either (echarts itself only names XML namespaces).
	for _, name := range []string{"assets/dashboards.js", "assets/dashboards.css"} {
		b, err := assetFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := abs.FindString(string(b)); m != "" {
			t.Errorf("%s references %q", name, m)
		}
		if strings.Contains(string(b), "@import") || strings.Contains(string(b), "url(") {
			t.Errorf("%s loads another resource", name)
		}
	}
}

// An organisation's name is its own free text: it may appear on its own page only as
// escaped HTML text, and never inside chart options (which are written unescaped into a
// script element).
func TestHostileOrganisationNameIsEscaped(t *testing.T) {
	const name = `</script><script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	e := newTestPages(t, name)
	for _, path := range []string{"/dashboards/benchmark", "/dashboards/benchmark?cycle=2024", "/dashboards/benchmark?cycle=2025"} {
		rec := e.get(t, provider(), path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		body := rec.Body.String()
		if strings.Contains(body, name) || strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatalf("%s: hostile markup reached the page unescaped", path)
		}
		if !strings.Contains(body, html.EscapeString(name)) {
			t.Fatalf("%s: the organisation's own name is not shown as escaped text", path)
		}
		// Every script element is either one of our assets or an inert JSON option.
		scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1)
		for _, s := range scripts {
			if !strings.HasPrefix(s, `<script src="static/`) && !strings.HasPrefix(s, `<script type="application/json" id="chart-`) {
				t.Errorf("%s: unexpected script element %s", path, s)
			}
		}
		for id, opt := range chartOptions(t, body) {
			if strings.Contains(string(opt), "alert") || strings.Contains(string(opt), "onerror") || strings.ContainsAny(string(opt), "<>") {
				t.Errorf("%s: chart %s carries the organisation's name or raw markup: %s", path, id, opt)
			}
			if !json.Valid(opt) {
				t.Errorf("%s: chart %s option is not valid JSON", path, id)
			}
		}
	}
}

// Options are marshalled with HTML escaping, so no label can close the script element.
func TestChartOptionsCannotCloseTheirScript(t *testing.T) {
	blk, err := errorBars(barSpec{ID: "chart-x", Title: "t", Series: "</script><script>x()</script>",
		Points: []barPoint{{Label: "</script><b>&", Value: 1, Low: 0, High: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	js := string(blk.JSON)
	if strings.ContainsAny(js, "<>") || strings.Contains(js, "</script") {
		t.Fatalf("option JSON is not HTML-safe: %s", js)
	}
	// The tooltip, which echarts renders as HTML, carries the label escaped.
	if !strings.Contains(js, `\u0026lt;/script\u0026gt;`) {
		t.Fatalf("tooltip label not HTML-escaped: %s", js)
	}
}

// A provider sees its own organisation whatever the request says: organisation IDs in
// the query string are ignored, and the store is only ever asked about the viewer's own.
func TestProviderCannotReachAnotherOrganisation(t *testing.T) {
	e := newTestPages(t, defaultName)
	for _, q := range []string{"?org=ORG-OTHER", "?org_id=ORG-OTHER", "?organisation=ORG-OTHER&cycle=2025", "?orgID=ORG-OTHER&org=ORG-OTHER"} {
		rec := e.get(t, provider(), "/dashboards/benchmark"+q)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", q, rec.Code)
		}
		body := rec.Body.String()
		if strings.Contains(body, "Other Secret Hospital") || strings.Contains(body, "ORG-OTHER") {
			t.Fatalf("%s: another organisation's data reached the page", q)
		}
		if !strings.Contains(body, testOrg) {
			t.Fatalf("%s: own organisation %s missing", q, testOrg)
		}
	}
	for _, org := range e.store.asked {
		if org != testOrg {
			t.Fatalf("the store was asked about %q", org)
		}
	}
	// The other provider, in turn, gets only its own page.
	other := &Viewer{Role: RoleProvider, OrgID: "ORG-OTHER"}
	body := e.get(t, other, "/dashboards/benchmark?org="+testOrg).Body.String()
	if !strings.Contains(body, "Other Secret Hospital") || strings.Contains(body, defaultName) {
		t.Fatal("the second provider did not get exactly its own page")
	}
}

// The scoped reader refuses rows of another organisation even if the store hands them
// over, and has no way to ask for them.
func TestOrgScopedRefusesForeignRows(t *testing.T) {
	store := loadStore(t, defaultName)
	leaky := leakyStore{store}
	r := OrgScoped(leaky)(testOrg)
	if _, err := r.CurrentSubmission(context.Background(), "2026"); model.ErrorKind(err) != model.KindInternal {
		t.Fatalf("foreign submission accepted: %v", err)
	}
	if _, err := r.ListSubmissions(context.Background()); model.ErrorKind(err) != model.KindInternal {
		t.Fatalf("foreign history accepted: %v", err)
	}
	if _, err := OrgScoped(store)("").ListSubmissions(context.Background()); model.ErrorKind(err) != model.KindForbidden {
		t.Fatalf("reader without organisation: %v", err)
	}
}

// leakyStore answers every question with the other organisation's rows.
type leakyStore struct{ inner *fakeStore }

func (l leakyStore) CurrentSubmission(ctx context.Context, _, cycle string) (*warehouse.StoredSubmission, error) {
	return l.inner.CurrentSubmission(ctx, "ORG-OTHER", cycle)
}

func (l leakyStore) ListSubmissions(ctx context.Context, _ string) ([]warehouse.SubmissionSummary, error) {
	return l.inner.ListSubmissions(ctx, "ORG-OTHER")
}

func TestRolesAndSignInRedirect(t *testing.T) {
	e := newTestPages(t, defaultName)
	cases := []struct {
		viewer *Viewer
		path   string
		want   int
	}{
		{nil, "/dashboards/benchmark", http.StatusSeeOther},
		{nil, "/dashboards/findings", http.StatusSeeOther},
		{nil, "/dashboards/explorer", http.StatusSeeOther},
		{provider(), "/dashboards/benchmark", http.StatusOK},
		{provider(), "/dashboards/findings", http.StatusForbidden},
		{provider(), "/dashboards/explorer", http.StatusForbidden},
		{researcher(), "/dashboards/benchmark", http.StatusForbidden},
		{researcher(), "/dashboards/findings", http.StatusOK},
		{researcher(), "/dashboards/explorer", http.StatusOK},
		{analyst(), "/dashboards/explorer", http.StatusOK},
		{analyst(), "/dashboards/findings", http.StatusOK},
		{&Viewer{Role: RoleAdmin}, "/dashboards/findings", http.StatusOK},
		{&Viewer{Role: RoleAdmin}, "/dashboards/benchmark", http.StatusForbidden},
		// An invalid viewer (a provider without organisation) is no viewer at all.
		{&Viewer{Role: RoleProvider}, "/dashboards/benchmark", http.StatusSeeOther},
		{&Viewer{Role: "root"}, "/dashboards/findings", http.StatusSeeOther},
	}
	for _, c := range cases {
		rec := e.get(t, c.viewer, c.path)
		if rec.Code != c.want {
			t.Errorf("%+v %s: status %d, want %d", c.viewer, c.path, rec.Code, c.want)
		}
		if c.want == http.StatusSeeOther && !strings.HasSuffix(rec.Header().Get("Location"), "/dashboards/signin?next="+strings.TrimPrefix(c.path, "/dashboards/")) {
			t.Errorf("%s: redirect to %q", c.path, rec.Header().Get("Location"))
		}
	}
	// The nav lists only the pages a role may open.
	body := e.get(t, provider(), "/dashboards/benchmark").Body.String()
	if strings.Contains(body, `href="findings"`) || strings.Contains(body, `href="explorer"`) {
		t.Error("a provider's nav links to release pages")
	}
}

// The benchmark says which peer group it uses and why it fell back, in words.
func TestBenchmarkFallbackText(t *testing.T) {
	e := newTestPages(t, defaultName)
	m := testModels.Latest()
	sub, err := e.store.CurrentSubmission(context.Background(), testOrg, "2026")
	if err != nil {
		t.Fatal(err)
	}
	size, region := sizeLabel(m, sub.Keys.SizeBand), regionLabel(m, sub.Keys.Region)
	body := html.UnescapeString(e.get(t, provider(), "/dashboards/benchmark").Body.String())
	want := "Not enough peers in " + size + " × " + region + "; showing " + size + "."
	if !strings.Contains(body, want) {
		t.Errorf("posture fallback %q missing", want)
	}
	// Cycle 2024's release (the default split) publishes domain percentiles nationally
	// only: the radar says so and which levels it passed over.
	body = html.UnescapeString(e.get(t, provider(), "/dashboards/benchmark?cycle=2024").Body.String())
	note := excerpt(body, "domain-group")
	if !strings.Contains(note, "; showing all providers nationally.") ||
		!(strings.Contains(note, "domain percentiles are not published for "+size+";") || strings.Contains(note, "not enough peers in "+size+";")) {
		t.Errorf("domain fallback sentence missing:\n%s", note)
	}
	// The lead sentence: posture, where it sits, what to do next.
	summary := excerpt(body, `id="summary"`)
	for _, want := range []string{"You are at Posture " + itoa(sub.Score.Posture), "ahead of about", "to reach Posture"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q: %s", want, summary)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A suppressed cohort shows "not enough peers" and no figures, on every page.
func TestSuppressedCohortsSayNotEnoughPeers(t *testing.T) {
	e := newTestPages(t, defaultName, smallReleases...)
	body := e.get(t, analyst(), "/dashboards/explorer").Body.String()
	if !strings.Contains(body, `id="suppressed"`) || !strings.Contains(body, "Not enough peers.") {
		t.Errorf("explorer: suppressed cohort not said:\n%s", excerpt(body, "cohort-title"))
	}
	if len(chartOptions(t, body)) != 0 {
		t.Error("explorer: a suppressed cohort has charts")
	}
	body = e.get(t, analyst(), "/dashboards/explorer?partitioning=size_region").Body.String()
	if got, want := strings.Count(body, "(not enough peers)"), countCohorts(e, t, "rel-2030-small", privacy.BySizeRegion); got != want || want != 20 {
		t.Errorf("explorer: %d cohorts tagged \"not enough peers\", want %d", got, want)
	}
	body = html.UnescapeString(e.get(t, researcher(), "/dashboards/findings").Body.String())
	for _, want := range []string{"The national posture distribution is not published in this release.",
		"Not enough peers: Under 25 beds, 25 to 99 beds, 100 to 299 beds, 300 to 499 beds and 500 beds or more.",
		"Not enough peers: Northeast, Midwest, South and West."} {
		if !strings.Contains(body, want) {
			t.Errorf("findings: %q missing", want)
		}
	}
}

func countCohorts(e *testEnv, t *testing.T, id string, p privacy.Partitioning) int {
	n := 0
	for _, c := range e.mustRelease(t, id).Cohorts {
		if c.Partitioning == p && c.Suppressed {
			n++
		}
	}
	return n
}

func (e *testEnv) mustRelease(t *testing.T, id string) *privacy.Release {
	t.Helper()
	r, err := privacy.Decode(e.releases.bodies[id])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A provider whose every peer group is suppressed still gets its own scores, and is told
// why there is no comparison.
func TestBenchmarkWithoutPublishedPeers(t *testing.T) {
	e := newTestPages(t, defaultName, smallReleases...)
	// The fixture organisation has no submission in the small release's cycle (2030):
	// the page shows its newest cycle without peer figures.
	body := html.UnescapeString(e.get(t, provider(), "/dashboards/benchmark").Body.String())
	if !strings.Contains(body, "No peer statistics have been published for cycle 2026 yet") {
		t.Errorf("missing no-release note:\n%s", excerpt(body, `id="summary"`))
	}
	if !strings.Contains(body, "no peer figures published for this cycle yet") {
		t.Error("summary does not say peer figures are missing")
	}
	// A release whose cohorts are all suppressed, for the organisation's own cycle.
	e2 := newTestPages(t, defaultName, mainReleases...)
	rel := e2.mustRelease(t, "rel-2026-b")
	for i := range rel.Cohorts {
		c := &rel.Cohorts[i]
		*c = privacy.Cohort{Partitioning: c.Partitioning, Key: c.Key, Suppressed: true, Reason: privacy.ReasonNotEnoughPeers}
	}
	body2, err := rel.Encode()
	if err != nil {
		t.Fatal(err)
	}
	e2.releases.bodies["rel-2026-b"] = body2
	for i := range e2.releases.infos {
		if e2.releases.infos[i].ID == "rel-2026-b" {
			e2.releases.infos[i].SHA256 = ""
		}
	}
	page := html.UnescapeString(e2.get(t, provider(), "/dashboards/benchmark").Body.String())
	if !strings.Contains(page, "Not enough peers in") || !strings.Contains(page, "not enough peers in all providers nationally") {
		t.Errorf("all-suppressed release not explained:\n%s", excerpt(page, "peer-group"))
	}
	if ids := chartOptions(t, page); len(ids) != 1 || ids["chart-trend"] == nil {
		t.Errorf("only the own trend should be drawn, got %d charts", len(ids))
	}
}

func TestUnknownCycleFallsBackAndSaysSo(t *testing.T) {
	e := newTestPages(t, defaultName)
	body := html.UnescapeString(e.get(t, provider(), "/dashboards/benchmark?cycle=1999").Body.String())
	if !strings.Contains(body, "Your organisation has no submission in cycle 1999; showing cycle 2026.") {
		t.Error("unknown cycle not explained")
	}
	// Hostile cycle values are not echoed.
	body = e.get(t, provider(), "/dashboards/benchmark?cycle=%3Cscript%3E").Body.String()
	if strings.Contains(body, "<script>") || strings.Contains(body, "&lt;script&gt;") {
		t.Error("a hostile cycle value was echoed")
	}
}

func TestPageHeaders(t *testing.T) {
	e := newTestPages(t, defaultName)
	rec := e.get(t, provider(), "/dashboards/benchmark")
	h := rec.Header()
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// Releases are read once per ID and kept: they never change once published.
func TestReleasesAreDecodedOnce(t *testing.T) {
	e := newTestPages(t, defaultName)
	e.get(t, researcher(), "/dashboards/findings")
	if e.releases.reads != 3 { // the newest release of each of the three cycles
		t.Errorf("release bodies read %d times, want 3", e.releases.reads)
	}
	for range 3 {
		e.get(t, researcher(), "/dashboards/findings")
		e.get(t, provider(), "/dashboards/benchmark")
	}
	if e.releases.reads != 3 {
		t.Errorf("cached releases were read again: %d reads", e.releases.reads)
	}
}

// A release whose bytes do not match the digest the warehouse recorded is refused.
func TestTamperedReleaseIsRefused(t *testing.T) {
	e := newTestPages(t, defaultName)
	e.releases.bodies["rel-2026-b"] = append([]byte(nil), e.releases.bodies["rel-2026-a"]...)
	rec := e.get(t, researcher(), "/dashboards/findings")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "digest") {
		t.Error("internal detail shown to the reader")
	}
}

// excerpt returns the text around a marker, for failure messages.
func excerpt(body, marker string) string {
	i := strings.Index(body, marker)
	if i < 0 {
		return "(marker " + marker + " not found)"
	}
	end := min(len(body), i+600)
	return body[i:end]
}

func TestBenchmarkWithoutSubmission(t *testing.T) {
	e := newTestPages(t, defaultName)
	rec := e.get(t, &Viewer{Role: RoleProvider, OrgID: "ORG-NEW"}, "/dashboards/benchmark")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Your organisation has no submission yet.") {
		t.Fatalf("status %d:\n%s", rec.Code, excerpt(rec.Body.String(), "<main>"))
	}
	// Only our small bootstrap (which marks the page drawn), never the charting library.
	if body := rec.Body.String(); strings.Contains(body, "echarts") || strings.Count(body, "<script") != 1 {
		t.Error("a page without charts loads more than the bootstrap script")
	}
}

func TestPickersSubmitBackToTheirPage(t *testing.T) {
	e := newTestPages(t, defaultName)
	tests := []struct {
		viewer         *Viewer
		path, selected string
		form, sel      string
	}{
		{provider(), "/dashboards/benchmark?cycle=2024", `<option value="2024" selected>Cycle 2024</option>`,
			`<form class="picker noprint" method="get" action="benchmark">`, `<select id="cycle" name="cycle" data-autosubmit>`},
		{researcher(), "/dashboards/findings?cycle=2024", `<option value="2024" selected>Cycle 2024</option>`,
			`<form class="picker noprint" method="get" action="findings">`, `<select id="cycle" name="cycle" data-autosubmit>`},
		{analyst(), "/dashboards/explorer?release=rel-2026-a", `<option value="rel-2026-a" selected>`,
			`<form class="picker noprint" method="get" action="explorer">`, `<select id="release" name="release" data-autosubmit>`},
	}
	for _, tt := range tests {
		body := e.get(t, tt.viewer, tt.path).Body.String()
		for _, want := range []string{tt.form, tt.sel, tt.selected} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: no %s", tt.path, want)
			}
		}
	}
}
