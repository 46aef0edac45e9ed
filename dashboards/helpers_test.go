package dashboards

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// Test doubles: a release store serving the stored fixture releases byte for byte, and
// a submission store holding the test organisation's submissions (and, for the privacy
// tests, another organisation's). Both count what they are asked for.

var testModels = model.MustBuiltin()

// The fixture sets.
var (
	mainReleases  = []string{"rel-2024-a", "rel-2025-a", "rel-2026-a", "rel-2026-b"}
	smallReleases = []string{"rel-2030-small"}
)

// fakeReleases serves stored release bodies in the given order (cycle, then as listed,
// as the warehouse orders them).
type fakeReleases struct {
	infos  []warehouse.ReleaseInfo
	bodies map[string][]byte
	mu     sync.Mutex
	reads  int
}

func loadReleases(tb testing.TB, ids ...string) *fakeReleases {
	tb.Helper()
	f := &fakeReleases{bodies: map[string][]byte{}}
	for i, id := range ids {
		body, err := os.ReadFile(filepath.Join(fixtureRelDir, id+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		r, err := privacy.Decode(body)
		if err != nil {
			tb.Fatal(err)
		}
		sum := sha256.Sum256(body)
		pub := time.Date(2026, 1, 1+i, 12, 0, 0, 0, time.UTC)
		f.infos = append(f.infos, warehouse.ReleaseInfo{ID: id, Cycle: r.Cycle, ModelVersion: r.ModelVersion,
			Noise: string(r.Request.Noise), Epsilon: r.Cost.Epsilon, Delta: r.Cost.Delta, Status: warehouse.ReleasePublished,
			ReservedAt: pub, PublishedAt: &pub, Bytes: len(body), SHA256: hex.EncodeToString(sum[:])})
		f.bodies[id] = body
	}
	return f
}

func (f *fakeReleases) ListReleases(_ context.Context, cycle string) ([]warehouse.ReleaseInfo, error) {
	var out []warehouse.ReleaseInfo
	for _, r := range f.infos {
		if cycle == "" || r.Cycle == cycle {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeReleases) ReleaseBody(_ context.Context, id string) ([]byte, error) {
	f.mu.Lock()
	f.reads++
	f.mu.Unlock()
	b, ok := f.bodies[id]
	if !ok {
		return nil, model.Errorf(model.KindNotFound, "release %q does not exist", id)
	}
	return b, nil
}

// fakeStore is a submission store of several organisations; it records which
// organisation IDs it was asked about.
type fakeStore struct {
	subs  map[string][]model.Submission // by org ID, oldest first
	mu    sync.Mutex
	asked []string
}

// testOrg is the fixture organisation's ID, read once from testdata.
var testOrg = func() string {
	b, err := os.ReadFile(filepath.Join(fixtureOwnOrgDir, "org.json"))
	if err != nil {
		return "" // TestRegenerateFixtures writes it
	}
	var subs []model.Submission
	if json.Unmarshal(b, &subs) != nil || len(subs) == 0 {
		return ""
	}
	return subs[0].Organisation.ID
}()

func loadStore(tb testing.TB, name string) *fakeStore {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureOwnOrgDir, "org.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var subs []model.Submission
	if err := json.Unmarshal(b, &subs); err != nil {
		tb.Fatal(err)
	}
	for i := range subs {
		subs[i].Organisation.Name = name
	}
	// A second organisation whose rows must never show up on the first one's page.
	other := make([]model.Submission, len(subs))
	for i, s := range subs {
		s.Organisation.ID = "ORG-OTHER"
		s.Organisation.Name = "Other Secret Hospital"
		s.Answers = map[string]model.Answer{}
		for _, id := range testModels.Latest().CapabilityIDs() {
			s.Answers[id] = 4
		}
		other[i] = s
	}
	return &fakeStore{subs: map[string][]model.Submission{testOrg: subs, "ORG-OTHER": other}}
}

func (f *fakeStore) note(org string) {
	f.mu.Lock()
	f.asked = append(f.asked, org)
	f.mu.Unlock()
}

func (f *fakeStore) CurrentSubmission(_ context.Context, orgID, cycleID string) (*warehouse.StoredSubmission, error) {
	f.note(orgID)
	for i, s := range f.subs[orgID] {
		if s.Cycle != cycleID {
			continue
		}
		m, err := testModels.Get(s.ModelVersion)
		if err != nil {
			return nil, err
		}
		keys, err := m.CohortKeysOf(s.Organisation)
		if err != nil {
			return nil, err
		}
		sc := m.Score(s.Answers)
		return &warehouse.StoredSubmission{SubmissionSummary: summaryOf(int64(i+1), s, sc), Submission: s, Keys: keys, Score: sc}, nil
	}
	return nil, model.Errorf(model.KindNotFound, "organisation %q has no submission in cycle %q", orgID, cycleID)
}

func (f *fakeStore) ListSubmissions(_ context.Context, orgID string) ([]warehouse.SubmissionSummary, error) {
	f.note(orgID)
	out := []warehouse.SubmissionSummary{}
	for i, s := range f.subs[orgID] {
		m, err := testModels.Get(s.ModelVersion)
		if err != nil {
			return nil, err
		}
		out = append(out, summaryOf(int64(i+1), s, m.Assess(s.Answers)))
	}
	return out, nil
}

func summaryOf(id int64, s model.Submission, sc model.Scorecard) warehouse.SubmissionSummary {
	return warehouse.SubmissionSummary{ID: id, OrgID: s.Organisation.ID, Cycle: s.Cycle, ModelVersion: s.ModelVersion,
		Source: "test", ReceivedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Posture: sc.Posture, Index: sc.Index}
}

// testKeys maps the API keys the tests sign in with to viewers.
var testKeys = map[string]Viewer{
	"key-provider":   {Role: RoleProvider, OrgID: "", KeyID: "k1"}, // OrgID filled in by newTestPages
	"key-researcher": {Role: RoleResearcher, KeyID: "k2"},
	"key-analyst":    {Role: RoleAnalyst, KeyID: "k3"},
	"key-admin":      {Role: RoleAdmin, KeyID: "k4"},
	"key-other":      {Role: RoleProvider, OrgID: "ORG-OTHER", KeyID: "k5"},
}

type testEnv struct {
	pages    *Pages
	releases *fakeReleases
	store    *fakeStore
	handler  http.Handler
}

// newTestPages builds the pages over the fixture releases and the test organisation,
// whose name is orgName (so tests can plant hostile names).
func newTestPages(tb testing.TB, orgName string, releaseIDs ...string) *testEnv {
	tb.Helper()
	if len(releaseIDs) == 0 {
		releaseIDs = mainReleases
	}
	rel := loadReleases(tb, releaseIDs...)
	store := loadStore(tb, orgName)
	auth := AuthenticatorFunc(func(_ context.Context, key string) (Viewer, error) {
		v, ok := testKeys[key]
		if !ok {
			return Viewer{}, model.Errorf(model.KindUnauthorized, "unknown key")
		}
		if v.Role == RoleProvider && v.OrgID == "" {
			v.OrgID = testOrg
		}
		return v, nil
	})
	p, err := New(Config{}, Deps{Models: testModels, Releases: rel, Orgs: OrgScoped(store), Auth: auth,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return &testEnv{pages: p, releases: rel, store: store, handler: p.Handler()}
}

// get requests a page as a viewer (set in the context, as the API's middleware would).
func (e *testEnv) get(tb testing.TB, v *Viewer, target string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if v != nil {
		req = req.WithContext(WithViewer(req.Context(), *v))
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func provider() *Viewer   { return &Viewer{Role: RoleProvider, OrgID: testOrg} }
func researcher() *Viewer { return &Viewer{Role: RoleResearcher} }
func analyst() *Viewer    { return &Viewer{Role: RoleAnalyst} }

// defaultName is a plain organisation name for tests that do not plant one.
const defaultName = "Riverside General"

// chartOptions pulls every chart's option JSON out of a rendered page, by chart ID.
func chartOptions(tb testing.TB, page string) map[string]json.RawMessage {
	tb.Helper()
	out := map[string]json.RawMessage{}
	const open = `<script type="application/json" id="`
	rest := page
	for {
		i := strings.Index(rest, open)
		if i < 0 {
			return out
		}
		rest = rest[i+len(open):]
		j := strings.Index(rest, `">`)
		id := strings.TrimSuffix(rest[:j], "-option")
		rest = rest[j+2:]
		k := strings.Index(rest, "</script>")
		out[id] = json.RawMessage(rest[:k])
		rest = rest[k:]
	}
}
