package main

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
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// httpReads loads the hot read path, a provider's peer benchmark served by the real API
// server on loopback, against a static 1 KB gin handler on loopback in the same run and
// the same process, with the same Go load generator (50 keep-alive clients, fixed time).
// It also sends 50 concurrent clients' submissions through the API and counts them after.
type httpReads struct{}

const (
	httpClients  = 50
	httpDuration = 3 * time.Second
	httpOrgs     = 6000
	submitEach   = 20 // submissions per client in the write test
)

func (httpReads) Name() string { return "http" }

func (httpReads) Run(ctx context.Context, env *Env) ([]Row, error) {
	db, subs, _, err := releasedPopulation(ctx, env, "http.duckdb")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	m := env.Model
	cycle := subs[0].Cycle
	srv, err := api.New(api.Config{Logger: slog.New(slog.DiscardHandler)}, api.Deps{Models: env.Reg, Warehouse: db})
	if err != nil {
		return nil, err
	}
	apiBase, stopAPI, err := serveOnLoopback(srv.Handler())
	if err != nil {
		return nil, err
	}
	defer stopAPI()
	static, stopStatic, err := serveOnLoopback(staticHandler())
	if err != nil {
		return nil, err
	}
	defer stopStatic()

	_, token, err := db.CreateKey(ctx, warehouse.RoleProvider, subs[0].Organisation.ID, "bench")
	if err != nil {
		return nil, err
	}
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	ours, err := loadGET(ctx, apiBase+"/api/v1/benchmark/"+cycle, hdr)
	if err != nil {
		return nil, fmt.Errorf("peer benchmark: %w", err)
	}
	ceiling, err := loadGET(ctx, static+"/static", nil)
	if err != nil {
		return nil, fmt.Errorf("static handler: %w", err)
	}
	writes, err := concurrentSubmissions(ctx, db, m, subs, apiBase)
	if err != nil {
		return nil, err
	}
	return []Row{
		{
			Path:    fmt.Sprintf("Peer benchmark GET /api/v1/benchmark/{cycle} (provider key, %d organisations, %d KB answer), %d clients on loopback", len(subs), ours.bytes/1024, httpClients),
			Ours:    Figure{Value: ours.rate, Unit: "req/s"},
			Ceiling: Figure{Value: ceiling.rate, Unit: "req/s", Label: "static 1 KB gin handler, same load generator"},
			Target:  0.5,
			Extras: []Extra{
				{Name: "p50", Value: ours.p50, Unit: "ms"}, {Name: "p99", Value: ours.p99, Unit: "ms"},
				{Name: "static p99", Value: ceiling.p99, Unit: "ms"}, {Name: "errors", Value: float64(ours.errors + ceiling.errors)},
			},
			Note: "server, clients and load generator share the 2 cores; Go client, keep-alive, request logs off",
		},
		writes,
	}, nil
}

// staticHandler is the ceiling: the cheapest gin handler answering 1 KB of JSON.
func staticHandler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(gin.Recovery())
	body := []byte(`{"data":"` + string(bytes.Repeat([]byte("x"), 1008-11)) + `"}`)
	e.GET("/static", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", body) })
	return e
}

func serveOnLoopback(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go s.Serve(l) //nolint:errcheck // ends with Close
	return "http://" + l.Addr().String(), func() { s.Close() }, nil
}

type loadResult struct {
	rate, p50, p99 float64
	errors, bytes  int
}

// loadGET sends GETs from httpClients keep-alive clients for httpDuration.
func loadGET(ctx context.Context, url string, hdr http.Header) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: httpClients, MaxConnsPerHost: httpClients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var count, errs atomic.Int64
	var size atomic.Int64
	lat := make([][]float64, httpClients)
	deadline := time.Now().Add(httpDuration)
	var wg sync.WaitGroup
	for g := range httpClients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Header = hdr.Clone()
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				size.Store(n)
				lat[g] = append(lat[g], float64(time.Since(t))/float64(time.Millisecond))
				count.Add(1)
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return loadResult{}, errors.New("no successful request")
	}
	return loadResult{rate: float64(count.Load()) / httpDuration.Seconds(), p50: all[len(all)/2], p99: all[len(all)*99/100],
		errors: int(errs.Load()), bytes: int(size.Load())}, nil
}

// concurrentSubmissions has 50 providers, each with its own key, send submitEach
// submissions (each a change of its answers, so each is stored and supersedes the last)
// at once through POST /api/v1/submissions, then counts what the warehouse holds.
func concurrentSubmissions(ctx context.Context, db *warehouse.DB, m *model.Model, subs []model.Submission, base string) (Row, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: httpClients}, Timeout: 30 * time.Second}
	var bad, fivexx atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []float64
	ids := m.CapabilityIDs()
	start := time.Now()
	for g := range httpClients {
		s := subs[g+1] // subs[0] holds the reader's key
		_, token, err := db.CreateKey(ctx, warehouse.RoleProvider, s.Organisation.ID, "bench-writer")
		if err != nil {
			return Row{}, err
		}
		wg.Go(func() {
			for i := range submitEach {
				doc := s
				doc.Answers = map[string]model.Answer{}
				for j, id := range ids {
					doc.Answers[id] = model.Answer((i + j) % 5) // a different submission each time
				}
				body, _ := json.Marshal(doc)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/submissions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained only
				resp.Body.Close()
				mu.Lock()
				lat = append(lat, float64(time.Since(t))/float64(time.Millisecond))
				mu.Unlock()
				if resp.StatusCode >= 500 {
					fivexx.Add(1)
				}
				if resp.StatusCode != http.StatusCreated {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Count after: every accepted submission must be stored, as history of its org.
	stored := 0
	for g := range httpClients {
		hist, err := db.ListSubmissions(ctx, subs[g+1].Organisation.ID)
		if err != nil {
			return Row{}, err
		}
		stored += len(hist) - 1 // minus the one loaded before the test
	}
	sent := httpClients * submitEach
	if stored != sent-int(bad.Load()) {
		return Row{}, fmt.Errorf("lost submissions: %d sent, %d refused, %d stored", sent, bad.Load(), stored)
	}
	slices.Sort(lat)
	return Row{
		Path: fmt.Sprintf("Concurrent submissions POST /api/v1/submissions, %d provider clients × %d", httpClients, submitEach),
		Ours: Figure{Value: float64(sent) / elapsed.Seconds(), Unit: "submissions/s"},
		Extras: []Extra{
			{Name: "stored", Value: float64(stored)}, {Name: "refused", Value: float64(bad.Load())},
			{Name: "5xx", Value: float64(fivexx.Load())}, {Name: "p99", Value: lat[len(lat)*99/100], Unit: "ms"},
		},
		Note: "counted after in the warehouse: stored = sent - refused (each supersedes the last, history kept)",
	}, nil
}

// releasedPopulation opens a fresh database in the run directory holding one cycle of
// the httpOrgs-organisation population and its first default release (epsilon 1): what
// the serving scenarios read. The caller closes the database.
func releasedPopulation(ctx context.Context, env *Env, name string) (*warehouse.DB, []model.Submission, *privacy.Published, error) {
	pop, err := env.Population(httpOrgs)
	if err != nil {
		return nil, nil, nil, err
	}
	m := env.Model
	cycle := pop.Cycles[0]
	db, err := warehouse.Open(ctx, filepath.Join(env.RunDir(), name), env.Reg, warehouse.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (*warehouse.DB, []model.Submission, *privacy.Published, error) {
		return nil, nil, nil, errors.Join(err, db.Close())
	}
	if err := db.CreateCycle(ctx, warehouse.Cycle{ID: cycle, ModelVersion: m.Version, Epsilon: 5, Delta: 1e-6}); err != nil {
		return fail(err)
	}
	subs := pop.CycleSubmissions(cycle)
	scored, err := warehouse.ScoreAll(m, subs, "bench")
	if err != nil {
		return fail(err)
	}
	if _, err := db.Commit(ctx, scored, true); err != nil {
		return fail(err)
	}
	pub, err := privacy.Publish(ctx, db, env.Reg, privacy.Request{Cycle: cycle, Epsilon: 1})
	if err != nil {
		return fail(err)
	}
	return db, subs, pub, nil
}
