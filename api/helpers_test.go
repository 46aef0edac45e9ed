package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/dashboards"
	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// The shared test world: one warehouse file with a synthetic population of two cycles,
// a published release of the first, and a key of every kind. Tests that change shared
// state use their own cycles, keys or organisations.
type world struct {
	dir  string
	db   *warehouse.DB
	reg  *model.Registry
	pop  *fixtures.Population
	srv  *api.Server
	base string

	released, open string // cycles: with a release; without one
	release        string // the release of `released`
	orgA, orgB     model.Profile
	subA           map[string]model.Submission // orgA's submission by cycle
	subB           map[string]model.Submission
	tokens         map[string]string // by principal name
	names          map[string][]string

	doc    *openapi3.T
	router routers.Router
}

// Principals of the authorization matrix.
const (
	pAdmin      = "admin"
	pResearcher = "researcher"
	pAnalyst    = "analyst"
	pProvider   = "provider"       // bound to orgA, whose resources the matrix names
	pOther      = "provider-other" // bound to orgB
	pRevoked    = "revoked"
	pNone       = "none"
	pGarbage    = "garbage"
)

var principals = []string{pAdmin, pResearcher, pAnalyst, pProvider, pOther, pRevoked, pNone, pGarbage}

var (
	worldOnce sync.Once
	shared    *world
	worldErr  error
)

func TestMain(m *testing.M) {
	// kin-openapi reads JSON and plain text; the pages answer HTML, CSS and scripts,
	// which are checked as strings.
	asText := func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	}
	for _, ct := range []string{"text/html", "text/css", "text/javascript"} {
		openapi3filter.RegisterBodyDecoder(ct, asText)
	}
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	os.Exit(code)
}

// getWorld builds the shared world once.
func getWorld(tb testing.TB) *world {
	tb.Helper()
	worldOnce.Do(func() { shared, worldErr = buildWorld() })
	if worldErr != nil {
		tb.Fatalf("test world: %v", worldErr)
	}
	return shared
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func buildWorld() (*world, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "api-test-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir, reg: model.MustBuiltin(), tokens: map[string]string{},
		subA: map[string]model.Submission{}, subB: map[string]model.Submission{}}
	w.db, err = warehouse.Open(ctx, filepath.Join(dir, "wh.duckdb"), w.reg, warehouse.Options{})
	if err != nil {
		return nil, err
	}
	m := w.reg.Latest()
	w.pop, err = fixtures.Generate(m, fixtures.Options{Orgs: 2000, Cycles: 2, Seed: 11})
	if err != nil {
		return nil, err
	}
	w.released, w.open = w.pop.Cycles[0], w.pop.Cycles[1]
	var inputs []ingest.Input
	for _, c := range w.pop.Cycles {
		if err := w.db.CreateCycle(ctx, warehouse.Cycle{ID: c, ModelVersion: m.Version, Epsilon: 8, Delta: 1e-6}); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := fixtures.WriteCSVWide(&buf, m, w.pop.CycleSubmissions(c)); err != nil {
			return nil, err
		}
		inputs = append(inputs, ingest.Input{Name: c + ".csv", Reader: &buf, Format: ingest.FormatCSVWide, Size: int64(buf.Len())})
	}
	rep, err := ingest.Ingest(ctx, w.db, w.reg, inputs, ingest.Options{})
	if err != nil || !rep.OK() {
		return nil, fmt.Errorf("ingest: %v %v", err, rep)
	}
	// Two organisations that submitted in both cycles.
	in := func(c, org string) (model.Submission, bool) {
		for _, s := range w.pop.CycleSubmissions(c) {
			if s.Organisation.ID == org {
				return s, true
			}
		}
		return model.Submission{}, false
	}
	var picked []model.Profile
	for _, o := range w.pop.Orgs {
		a, okA := in(w.released, o.ID)
		b, okB := in(w.open, o.ID)
		if okA && okB {
			if len(picked) == 0 {
				w.subA[w.released], w.subA[w.open] = a, b
			} else {
				w.subB[w.released], w.subB[w.open] = a, b
			}
			picked = append(picked, o)
			if len(picked) == 2 {
				break
			}
		}
	}
	w.orgA, w.orgB = picked[0], picked[1]
	w.names = map[string][]string{}
	for _, o := range w.pop.Orgs {
		w.names[o.Name] = append(w.names[o.Name], o.ID)
	}
	pub, err := privacy.Publish(ctx, w.db, w.reg, privacy.Request{Cycle: w.released, Epsilon: 3})
	if err != nil {
		return nil, err
	}
	w.release = pub.Release.ID

	for _, k := range []struct {
		name string
		role warehouse.Role
		org  string
	}{{pAdmin, warehouse.RoleAdmin, ""}, {pResearcher, warehouse.RoleResearcher, ""}, {pAnalyst, warehouse.RoleAnalyst, ""},
		{pProvider, warehouse.RoleProvider, w.orgA.ID}, {pOther, warehouse.RoleProvider, w.orgB.ID}, {pRevoked, warehouse.RoleProvider, w.orgA.ID}} {
		key, token, err := w.db.CreateKey(ctx, k.role, k.org, "test "+k.name)
		if err != nil {
			return nil, err
		}
		w.tokens[k.name] = token
		if k.name == pRevoked {
			if _, err := w.db.RevokeKey(ctx, key.ID); err != nil {
				return nil, err
			}
		}
	}
	w.tokens[pGarbage] = "hczk_" + strings.Repeat("x", 43)

	loader := openapi3.NewLoader()
	w.doc, err = loader.LoadFromData(api.OpenAPIYAML())
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if err := w.doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	w.router, err = legacy.NewRouter(w.doc)
	if err != nil {
		return nil, err
	}
	// Authentication failures are limited in their own test; here the matrix fails on
	// purpose many times from one address.
	pages, err := dashboards.New(dashboards.Config{}, dashboards.Deps{Models: w.reg, Releases: w.db,
		Orgs: dashboards.OrgScoped(w.db), Auth: api.KeyAuthenticator(w.db), Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	w.srv, w.base, err = serve(api.Config{AuthFailureBurst: -1}, api.Deps{Models: w.reg, Warehouse: w.db, Pages: pages})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (w *world) close() {
	_ = w.db.Close()
	_ = os.RemoveAll(w.dir)
}

// serve runs a real server on a loopback port for the life of the test binary.
func serve(cfg api.Config, deps api.Deps) (*api.Server, string, error) {
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	srv, err := api.New(cfg, deps)
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	go func() { _ = srv.Serve(context.Background(), l) }()
	return srv, "http://" + l.Addr().String(), nil
}

// startServer runs a server for one test and stops it at the end.
func startServer(t *testing.T, cfg api.Config, deps api.Deps) string {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	srv, err := api.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return "http://" + l.Addr().String()
}

// req is one request of a test.
type req struct {
	method, path string
	principal    string // a key from world.tokens, or pNone
	token        string // overrides principal
	body         []byte
	ctype        string
	header       map[string]string
}

// resp is an answer, read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, truncate(string(r.body), 600)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// noRedirects answers with the redirect itself, so that tests see the 303s of the pages.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request to base and validates the answer against the OpenAPI document.
func (w *world) do(t testing.TB, base string, r req) resp {
	t.Helper()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	tok := r.token
	if tok == "" && r.principal != "" && r.principal != pNone {
		tok = w.tokens[r.principal]
	}
	if tok != "" {
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	hresp, err := noRedirects.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(hresp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := resp{status: hresp.StatusCode, header: hresp.Header, body: data}
	w.validate(t, hr, out)
	return out
}

// validate checks an answer against the OpenAPI document with kin-openapi: its status
// must be documented for the operation, and its body must match the schema. Answers to
// requests no operation matches (unknown routes, wrong methods) must be the error body.
func (w *world) validate(t testing.TB, hr *http.Request, r resp) {
	t.Helper()
	if r.header.Get("X-Request-ID") == "" {
		t.Errorf("%s %s: no X-Request-ID", hr.Method, hr.URL.Path)
	}
	route, params, err := w.router.FindRoute(hr)
	if err != nil {
		var re *routers.RouteError
		if !errors.As(err, &re) {
			t.Fatalf("%s %s: find route: %v", hr.Method, hr.URL.Path, err)
		}
		if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: no documented operation, but answered %s", hr.Method, hr.URL.Path, r)
		}
		schema := w.doc.Components.Schemas["Error"].Value
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s %s: error body is not JSON: %s", hr.Method, hr.URL.Path, r)
			return
		}
		if err := schema.VisitJSON(v); err != nil {
			t.Errorf("%s %s: error body does not match the Error schema: %v\n%s", hr.Method, hr.URL.Path, err, r)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route},
		Status:                 r.status,
		Header:                 r.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(r.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: answer does not match the OpenAPI document: %v\n%s", hr.Method, hr.URL.Path, err, r)
	}
}

// errorBody decodes a standard error body.
func errorBody(t testing.TB, r resp) api.ErrorBody {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("error body %s: %v", r, err)
	}
	return eb
}

var orgIDPattern = regexp.MustCompile(`ORG-\d{4,}`)

// leaks lists what a body reveals about organisations other than own ("" for a key
// bound to none): their IDs, and names no organisation of the own ID shares.
func (w *world) leaks(body []byte, own string) []string {
	var out []string
	for _, id := range orgIDPattern.FindAllString(string(body), -1) {
		if id != own {
			out = append(out, "id "+id)
		}
	}
	ownName := ""
	for _, o := range w.pop.Orgs {
		if o.ID == own {
			ownName = o.Name
		}
	}
	s := string(body)
	for name := range w.names {
		if name != ownName && strings.Contains(s, name) {
			out = append(out, "name "+name)
		}
	}
	return out
}

// jsonBody marshals v for a request body.
func jsonBody(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
