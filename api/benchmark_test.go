package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// TestBenchmarkComesFromTheRelease checks the peer benchmark against the stored release:
// the same bytes on every call, the cohort choice and the percentile exactly as
// privacy.PeerCohort and PeerPosition give them on the decoded stored release, and the
// provider's own figures exactly as stored.
func TestBenchmarkComesFromTheRelease(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	path := "/api/v1/benchmark/" + w.released
	first := w.do(t, w.base, req{method: "GET", path: path, principal: pProvider})
	if first.status != 200 {
		t.Fatalf("%s", first)
	}
	for range 3 {
		again := w.do(t, w.base, req{method: "GET", path: path, principal: pProvider})
		if !bytes.Equal(again.body, first.body) {
			t.Fatal("the benchmark changed between calls")
		}
	}
	var b api.Benchmark
	if err := json.Unmarshal(first.body, &b); err != nil {
		t.Fatal(err)
	}

	body, err := w.db.ReleaseBody(ctx, w.release)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := privacy.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if b.Release.ID != w.release || b.Release.SHA256 != hex.EncodeToString(sum[:]) || b.Release.Confidence != rel.Request.Confidence {
		t.Errorf("release ref %+v", b.Release)
	}
	own, err := w.db.CurrentSubmission(ctx, w.orgA.ID, w.released)
	if err != nil {
		t.Fatal(err)
	}
	if b.OrgID != w.orgA.ID || b.Own.SubmissionID != own.ID || b.Own.Index != own.Score.Index || b.Own.Posture != own.Score.Posture ||
		len(b.Own.BindingConstraints) != len(own.Score.Binding) || len(b.Own.NextSteps) != len(own.Score.NextSteps) {
		t.Errorf("own figures %+v differ from the stored submission", b.Own)
	}

	// Overall percentile.
	view, err := privacy.PeerCohort(rel, own.Keys, privacy.FamilyOverallQuantiles)
	if err != nil {
		t.Fatalf("no cohort with quantiles: %v", err)
	}
	want, err := privacy.PeerPosition(view.Cohort, own.Score.Index)
	if err != nil {
		t.Fatal(err)
	}
	if b.Percentile.Position == nil || *b.Percentile.Position != want {
		t.Errorf("percentile %+v, release says %+v", b.Percentile.Position, want)
	}
	if !b.Percentile.Cohort.Available || b.Percentile.Cohort.Level != view.Level || *b.Percentile.Cohort.Key != view.Cohort.Key ||
		len(b.Percentile.Cohort.Skipped) != len(view.Skipped) || b.Percentile.Cohort.FellBack != view.FellBack() {
		t.Errorf("percentile cohort %+v, release gives %s %v skipped %v", b.Percentile.Cohort, view.Level, view.Cohort.Key, view.Skipped)
	}
	if b.Percentile.Position.Low > b.Percentile.Position.Percentile || b.Percentile.Position.High < b.Percentile.Position.Percentile {
		t.Errorf("percentile range %+v", b.Percentile.Position)
	}

	// Posture distribution.
	pv, err := privacy.PeerCohort(rel, own.Keys, privacy.FamilyPosture)
	if err != nil {
		t.Fatal(err)
	}
	gotHist, _ := json.Marshal(b.Posture.Distribution)
	wantHist, _ := json.Marshal(pv.Cohort.Posture)
	if b.Posture.Cohort.Level != pv.Level || !bytes.Equal(gotHist, wantHist) || *b.Posture.Count != *pv.Cohort.Count || b.Posture.OwnPosture != own.Score.Posture {
		t.Errorf("posture view %s %s, release %s %s", b.Posture.Cohort.Level, gotHist, pv.Level, wantHist)
	}

	// Domain percentiles.
	dv, err := privacy.PeerCohort(rel, own.Keys, privacy.FamilyDomainQuantiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Domains.Domains) != len(own.Score.Domains) || b.Domains.Cohort.Level != dv.Level {
		t.Fatalf("domains %+v", b.Domains.Cohort)
	}
	positions := 0
	for i, d := range own.Score.Domains {
		got := b.Domains.Domains[i]
		if got.Domain != d.ID || got.OwnIndex != d.Index {
			t.Errorf("domain %d: %+v vs %+v", i, got, d)
		}
		if !d.Assessed {
			continue
		}
		want, err := privacy.PeerDomainPosition(dv.Cohort, d.ID, d.Index)
		if err != nil {
			if got.Position != nil || got.Reason == "" {
				t.Errorf("domain %s: release has no position (%v) but the answer has %+v", d.ID, err, got)
			}
			continue
		}
		positions++
		if got.Position == nil || *got.Position != want {
			t.Errorf("domain %s: %+v, release says %+v", d.ID, got.Position, want)
		}
	}
	if positions == 0 {
		t.Error("no domain percentile at all; the test population should publish national domain quantiles")
	}
}

// TestBenchmarkFollowsSubmissionsAndReleases checks the caches: a new submission and a
// new release show at once.
func TestBenchmarkFollowsSubmissionsAndReleases(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	m := w.reg.Latest()
	// A cycle of its own, with orgB's organisation and a population around it.
	cycle := "bench-follow"
	if err := w.db.CreateCycle(ctx, warehouse.Cycle{ID: cycle, ModelVersion: m.Version, Epsilon: 8, Delta: 1e-6}); err != nil {
		t.Fatal(err)
	}
	subs := w.pop.CycleSubmissions(w.released)
	scored := make([]warehouse.ScoredSubmission, 0, len(subs))
	for _, s := range subs {
		s.Cycle = cycle
		keys, _ := m.CohortKeysOf(s.Organisation)
		scored = append(scored, warehouse.ScoredSubmission{Submission: s, Keys: keys, Score: m.Assess(s.Answers), ContentHash: "x" + s.Organisation.ID, Source: "test"})
	}
	if _, err := w.db.Commit(ctx, scored, true); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/benchmark/" + cycle
	if r := w.do(t, w.base, req{method: "GET", path: path, principal: pOther}); r.status != 404 {
		t.Fatalf("benchmark before any release: %s", r)
	}
	first := w.do(t, w.base, req{method: "POST", path: "/api/v1/releases", principal: pAdmin, ctype: "application/json",
		body: []byte(`{"cycle":"` + cycle + `","epsilon":2}`)})
	if first.status != 201 {
		t.Fatalf("release: %s", first)
	}
	var b1 api.Benchmark
	r := w.do(t, w.base, req{method: "GET", path: path, principal: pOther})
	if r.status != 200 || json.Unmarshal(r.body, &b1) != nil || b1.Release.ID != cycle+"-r001" {
		t.Fatalf("first benchmark: %s", r)
	}

	// Another provider's view before orgB changes its answers: the differencing attack
	// below reads it again and must get the same bytes until a new release is paid for.
	bystander := w.do(t, w.base, req{method: "GET", path: path, principal: pProvider})
	if bystander.status != 200 {
		t.Fatalf("bystander's benchmark: %s", bystander)
	}

	// A resubmission with every answer at 4 moves the own figures at once.
	sub := w.subB[w.released]
	sub.Cycle = cycle
	sub.Answers = map[string]model.Answer{}
	for _, id := range m.CapabilityIDs() {
		sub.Answers[id] = 4
	}
	var doc bytes.Buffer
	if err := fixtures.WriteJSON(&doc, &sub); err != nil {
		t.Fatal(err)
	}
	post := w.do(t, w.base, req{method: "POST", path: "/api/v1/submissions", principal: pOther, body: doc.Bytes(), ctype: "application/json"})
	var res api.SubmissionResult
	if post.status != 201 || json.Unmarshal(post.body, &res) != nil || res.Status != warehouse.StatusSuperseded || res.Replaces == 0 {
		t.Fatalf("resubmission: %s", post)
	}
	var b2 api.Benchmark
	r = w.do(t, w.base, req{method: "GET", path: path, principal: pOther})
	if json.Unmarshal(r.body, &b2) != nil || b2.Own.SubmissionID != res.ID || b2.Own.Index != 100 || b2.Own.Posture != m.MaxPosture() {
		t.Fatalf("benchmark after resubmission still shows %+v", b2.Own)
	}
	if b2.Percentile.Position != nil && b2.Percentile.Position.Percentile < b1.Percentile.Position.Percentile {
		t.Errorf("percentile fell from %v to %v with a perfect score", b1.Percentile.Position, b2.Percentile.Position)
	}

	// orgB's change reaches nobody else before a new release: the other provider's
	// answer is byte for byte what it was, so comparing the two reveals nothing.
	if again := w.do(t, w.base, req{method: "GET", path: path, principal: pProvider}); again.status != 200 || !bytes.Equal(again.body, bystander.body) {
		t.Fatalf("another provider's benchmark changed after orgB resubmitted, without a new release:\nbefore %s\nafter  %s", bystander, again)
	}

	// A second release is used at once.
	second := w.do(t, w.base, req{method: "POST", path: "/api/v1/releases", principal: pAdmin, ctype: "application/json",
		body: []byte(`{"cycle":"` + cycle + `","epsilon":2}`)})
	if second.status != 201 {
		t.Fatalf("second release: %s", second)
	}
	var b3 api.Benchmark
	r = w.do(t, w.base, req{method: "GET", path: path, principal: pOther})
	if json.Unmarshal(r.body, &b3) != nil || b3.Release.ID != cycle+"-r002" {
		t.Fatalf("benchmark after a new release: %s", r)
	}

	// A provider without a submission in the cycle gets 404, as does a cycle with no release.
	if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/benchmark/" + w.open, principal: pProvider}); r.status != 404 {
		t.Errorf("cycle without release: %s", r)
	}
	if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/benchmark/no-such-cycle", principal: pProvider}); r.status != 404 {
		t.Errorf("unknown cycle: %s", r)
	}
}

// TestReleaseServedAsStored checks that a release is served byte for byte with its
// SHA-256 as ETag, and that a reserved-only or unknown release is not found.
func TestReleaseServedAsStored(t *testing.T) {
	w := getWorld(t)
	ctx := context.Background()
	stored, err := w.db.ReleaseBody(ctx, w.release)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(stored)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	for _, p := range []string{pResearcher, pAnalyst, pProvider, pAdmin} {
		r := w.do(t, w.base, req{method: "GET", path: "/api/v1/releases/" + w.release, principal: p})
		if r.status != 200 || !bytes.Equal(r.body, stored) || r.header.Get("ETag") != etag || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d etag %s type %s, same bytes %v", p, r.status, r.header.Get("ETag"), r.header.Get("Content-Type"), bytes.Equal(r.body, stored))
		}
	}
	r := w.do(t, w.base, req{method: "GET", path: "/api/v1/releases/" + w.release, principal: pResearcher, header: map[string]string{"If-None-Match": etag}})
	if r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-None-Match: %s", r)
	}
	id, _, err := w.db.ReserveRelease(ctx, warehouse.ReleaseReservation{Cycle: w.open, ModelVersion: w.reg.Latest().Version, Noise: "laplace",
		Request: []byte(`{}`), Entries: []warehouse.LedgerEntry{{Partitioning: "national", Family: "count", EpsilonUnits: 1000, L0: 1, Cohorts: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rid := range []string{id, "nope-r001"} {
		if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/releases/" + rid, principal: pResearcher}); r.status != 404 {
			t.Errorf("release %s: %s", rid, r)
		}
	}
	list := w.do(t, w.base, req{method: "GET", path: "/api/v1/releases?cycle=" + w.open, principal: pAnalyst})
	var got struct{ Releases []warehouse.ReleaseInfo }
	if json.Unmarshal(list.body, &got) != nil || len(got.Releases) != 1 || got.Releases[0].Status != warehouse.ReleaseReserved {
		t.Errorf("list: %s", list)
	}
}

// TestCreateReleaseBudget checks publishing through the API and the 422 that says what
// is left.
func TestCreateReleaseBudget(t *testing.T) {
	w := getWorld(t)
	post := func(body string) resp {
		return w.do(t, w.base, req{method: "POST", path: "/api/v1/releases", principal: pAdmin, ctype: "application/json", body: []byte(body)})
	}
	if r := w.do(t, w.base, req{method: "POST", path: "/api/v1/cycles", principal: pAdmin, ctype: "application/json",
		body: []byte(`{"id":"budget-test","epsilon":1}`)}); r.status != 201 {
		t.Fatal(r)
	}
	r := post(`{"cycle":"budget-test","epsilon":0.75}`)
	var created api.ReleaseCreated
	if r.status != 201 || json.Unmarshal(r.body, &created) != nil || created.Release.Status != warehouse.ReleasePublished ||
		created.Budget.EpsilonLeft < 0.2499 || created.Budget.EpsilonLeft > 0.2501 || r.header.Get("Location") != "/api/v1/releases/"+created.Release.ID {
		t.Fatalf("first release: %s", r)
	}
	r = post(`{"cycle":"budget-test","epsilon":0.5}`)
	eb := errorBody(t, r)
	if r.status != 422 || eb.Error.Code != "budget_exceeded" || len(eb.Error.Details) != 2 || eb.Error.Details[0].Field != "epsilon" ||
		!bytes.Contains([]byte(eb.Error.Details[0].Message), []byte("0.25 left")) {
		t.Fatalf("over budget: %s", r)
	}
	budget := w.do(t, w.base, req{method: "GET", path: "/api/v1/cycles/budget-test/budget", principal: pResearcher})
	var b warehouse.Budget
	if json.Unmarshal(budget.body, &b) != nil || b.Releases != 1 || b.EpsilonSpent < 0.7499 || b.EpsilonSpent > 0.7501 {
		t.Errorf("budget after refusal: %s", budget)
	}
	tests := []struct {
		body   string
		status int
		field  string
	}{
		{`{"cycle":"budget-test","epsilon":-1}`, 400, "epsilon"},
		{`{"cycle":"budget-test","epsilon":0.1,"noise":"uniform"}`, 400, "noise"},
		{`{"cycle":"budget-test","epsilon":0.1,"split":[{"partitioning":"galaxy","family":"count","weight":1}]}`, 400, "split[0].partitioning"},
		{`{"cycle":"budget-test","epsilon":"lots"}`, 400, "epsilon"},
		{`{"cycle":"budget-test","epsilon":0.1,"colour":"blue"}`, 400, "colour"},
		{`{"cycle":"no-such-cycle","epsilon":0.1}`, 404, ""},
	}
	for _, tt := range tests {
		r := post(tt.body)
		eb := errorBody(t, r)
		if r.status != tt.status || (tt.field != "" && (len(eb.Error.Details) == 0 || eb.Error.Details[0].Field != tt.field)) {
			t.Errorf("%s: %s", tt.body, r)
		}
	}
}

// BenchmarkPeerBenchmark measures the peer benchmark endpoint beside a static 1 KB gin
// handler, both in process (the handler without a socket: what the endpoint itself
// costs) and over loopback HTTP with 50 keep-alive clients (what the load test
// compares), and reports requests per second of each.
func BenchmarkPeerBenchmark(b *testing.B) {
	w := getWorld(b)
	// Request logs off, as a load test would run: formatting a log line per request
	// costs about as much as the rest of the handler.
	srv, err := api.New(api.Config{Logger: slog.New(slog.DiscardHandler)}, api.Deps{Models: w.reg, Warehouse: w.db})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	path := "/api/v1/benchmark/" + w.released
	auth := "Bearer " + w.tokens[pProvider]
	gin.SetMode(gin.ReleaseMode)
	static := gin.New()
	kb := bytes.Repeat([]byte("x"), 1024)
	static.GET("/static", func(c *gin.Context) { c.Data(200, "application/octet-stream", kb) })

	inProcess := func(b *testing.B, h http.Handler, path, auth string) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// One request and one discarding writer per goroutine, reused: what is
			// measured is the handler, not the test's allocations.
			r := httptest.NewRequest("GET", path, nil)
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			dw := &discardWriter{h: http.Header{}}
			for pb.Next() {
				clear(dw.h)
				dw.code = 0
				h.ServeHTTP(dw, r)
				if dw.code != 200 {
					b.Errorf("status %d", dw.code)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	loopback := func(b *testing.B, h http.Handler, path, auth string) {
		ts := httptest.NewServer(h)
		defer ts.Close()
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r, _ := http.NewRequest("GET", ts.URL+path, nil)
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			for pb.Next() {
				resp, err := client.Do(r)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("inprocess/peer", func(b *testing.B) { inProcess(b, h, path, auth) })
	b.Run("inprocess/static-1KB", func(b *testing.B) { inProcess(b, static, "/static", "") })
	b.Run("loopback/peer", func(b *testing.B) { loopback(b, h, path, auth) })
	b.Run("loopback/static-1KB", func(b *testing.B) { loopback(b, static, "/static", "") })
}

// discardWriter is an http.ResponseWriter that keeps the status and drops the body, as a
// socket would once written.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (d *discardWriter) Header() http.Header { return d.h }

func (d *discardWriter) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}

func (d *discardWriter) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	d.n += len(p)
	return len(p), nil
}
