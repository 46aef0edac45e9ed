package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakDuration is how long TestSoak loads the server: a short round in `make test`,
// several minutes in `make soak` (go test ... -args -soak 5m).
var (
	soakDuration = flag.Duration("soak", 15*time.Second, "how long TestSoak loads the server")
	soakWriters  = flag.Int("soak-writers", 8, "TestSoak's concurrent submitting clients (each cycles through three organisations)")
	soakReaders  = flag.Int("soak-readers", 6, "TestSoak's concurrent reading clients")
	soakQuiet    = flag.Duration("soak-quiet", 0, "how long TestSoak goes on reading after the writers stop (0: a quarter of -soak, at least 10s)")
)

// Limits of the soak's memory check. After the warm-up, memory outside DuckDB's buffers
// may wander (Go's heap goal, allocator caches) but must not trend upwards faster than the
// data it serves: the growth the least-squares line predicts over the measured window
// must stay below the larger of soakGrowthFloor and soakGrowthPerSubmission for every
// submission stored in that window. DuckDB keeps a little per stored row outside its
// buffer accounting (0.7-1.5 KB per submission measured); the leak this guards against
// (an Arrow view registered per transaction, see warehouse/feed.go) cost 6-8 KB per
// submission under the same load.
const (
	soakGrowthFloor         = 24 << 20
	soakGrowthPerSubmission = 3 << 10
)

// TestSoak runs `hcztmm serve` on loopback under a mixed load for -soak: providers
// submitting new answers, providers, researchers and analysts reading through the API
// and the dashboards, and an administrator publishing releases. It fails on any 5xx,
// transport error or unexpected status, on any acknowledged submission or release not
// stored as acknowledged, on memory outside DuckDB's buffers that grows faster than the
// data stored, and on memory that grows at all in the quiet tail, when only reads arrive.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak runs a server under load")
	}
	writers, readers := *soakWriters, *soakReaders
	w := newServedWorld(t, 1500, max(3*writers, 2))
	srv := startServe(t, w.db)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: writers + readers + 2}, Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()
	st := newSoakStats()
	ops := soakReads(t, w, srv.base)

	// Writers and the administrator stop after -soak; readers and the memory sampler go
	// on through the quiet tail, where no data arrives and memory must hold level.
	quiet := quietTail(*soakDuration, *soakQuiet)
	ctx, cancel := context.WithTimeout(context.Background(), *soakDuration)
	defer cancel()
	readCtx, cancelReads := context.WithTimeout(context.Background(), *soakDuration+quiet)
	defer cancelReads()
	start := time.Now()
	var wg sync.WaitGroup
	var cutOff, storedCount atomic.Int64
	for g := range writers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				p := w.providers[g+writers*(i%3)]
				began := time.Now()
				status, err := p.submit(ctx, client, srv.base)
				if ctx.Err() != nil && status == 0 {
					cutOff.Add(1) // the run ended under this request: stored or not, never acknowledged
					return
				}
				st.record("POST /api/v1/submissions", status, time.Since(began), err)
				if err == nil {
					storedCount.Add(1)
				}
			}
		})
	}
	for g := range readers {
		rng := rand.New(rand.NewPCG(uint64(g), 99))
		wg.Go(func() {
			for readCtx.Err() == nil {
				op := ops[rng.IntN(len(ops))]
				began := time.Now()
				status, err := op.do(readCtx, client)
				if readCtx.Err() != nil && status == 0 {
					return
				}
				st.record(op.name, status, time.Since(began), err)
			}
		})
	}
	releases := &ackedReleases{sha: map[string]string{}}
	// A release every few seconds, as an administrator refreshing figures would.
	wg.Go(func() {
		every(ctx, max(*soakDuration/8, 2*time.Second), func() bool {
			began := time.Now()
			rel, err := postRelease(ctx, client, srv.base, w.admin, w.cycle, 0.05)
			if ctx.Err() != nil && rel.status == 0 {
				return false
			}
			st.record("POST /api/v1/releases", rel.status, time.Since(began), err)
			if err == nil {
				releases.add(rel)
			}
			return true
		})
	})
	var samples []memSample
	wg.Go(func() {
		every(readCtx, 500*time.Millisecond, func() bool {
			rss, err := srv.rss()
			if err != nil {
				t.Errorf("server memory: %v", err)
				return false
			}
			heap, duck, err := serverMemory(client, srv.base, w.admin)
			if err != nil {
				if readCtx.Err() == nil {
					t.Errorf("server memory: %v", err)
				}
				return false
			}
			samples = append(samples, memSample{at: time.Since(start), rss: rss, heap: heap, duck: duck, stored: storedCount.Load()})
			return true
		})
	})
	wg.Wait()
	elapsed := time.Since(start)
	srv.stop(t)

	t.Logf("soak of %s against %s (%d organisations, %d writers and releases every %s for %s, %d readers throughout):\n%s",
		elapsed.Round(time.Second), srv.base, w.population, writers, max(*soakDuration/8, 2*time.Second), soakDuration.Round(time.Second), readers, st.table(elapsed))
	if st.failures() > 0 {
		t.Errorf("%d requests failed (5xx, transport error or unexpected status):\n%s", st.failures(), strings.Join(st.firstErrors, "\n"))
	}
	stored := verifyStored(t, w)
	verifyReleases(t, w, releases)
	acked := 0
	for _, p := range w.providers {
		acked += len(p.acknowledged())
	}
	if extra := stored - w.initialSubmissions - acked; extra < 0 || extra > int(cutOff.Load()) {
		t.Errorf("%d submissions stored: %d initial + %d acknowledged + %d, but only %d requests were cut off by the end of the run",
			stored, w.initialSubmissions, acked, extra, cutOff.Load())
	}
	if writers > 0 && acked == 0 {
		t.Error("no submission was acknowledged")
	}

	rep, err := memoryTrend(samples, warmup(*soakDuration), *soakDuration)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memory under mixed load, after %s warm-up: %s", warmup(*soakDuration), rep)
	if allowed := rep.allowedGrowth(); rep.rest.growth > allowed {
		t.Errorf("memory outside DuckDB's buffers grows through the soak: %.1f MiB over the measured window (%d submissions stored in it), more than the %.1f MiB allowed",
			rep.rest.growth/(1<<20), rep.stored, allowed/(1<<20))
	}
	settled := *soakDuration + quietSettle
	tail, err := memoryTrend(samples, settled, *soakDuration+quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memory in the quiet tail (reads only), after %s to settle: %s", quietSettle, tail)
	if tail.rest.growth > soakQuietGrowth || tail.rss.growth > soakQuietGrowth {
		t.Errorf("memory grows while only reads arrive: %.1f MiB outside DuckDB's buffers, %.1f MiB resident over %s, more than the %.0f MiB allowed",
			tail.rest.growth/(1<<20), tail.rss.growth/(1<<20), tail.window.Round(time.Second), float64(soakQuietGrowth)/(1<<20))
	}
}

// quietTail is how long the soak goes on reading after its writers stop: -soak-quiet when
// set, else a quarter of the soak, at least 10 s so that the trend has samples to stand on.
func quietTail(soak, set time.Duration) time.Duration {
	if set > 0 {
		return set
	}
	return max(soak/4, 10*time.Second)
}

// quietSettle is left out at the start of the quiet tail: requests cut off by the end
// of the writing phase finish, a last release is decoded and cached.
const quietSettle = 2 * time.Second

// soakQuietGrowth bounds memory growth in the quiet tail. With no new data nothing has a
// reason to grow: the bound only absorbs the Go heap's and the allocator's sawtooth.
const soakQuietGrowth = 8 << 20

// every calls fn each period until ctx ends or fn returns false.
func every(ctx context.Context, period time.Duration, fn func() bool) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !fn() {
			return
		}
	}
}

// warmup is the part of a soak left out of the memory check: caches fill, the Go heap
// finds its goal, DuckDB's buffer pool takes the working set.
func warmup(d time.Duration) time.Duration { return max(d/4, 3*time.Second) }

// soakOp is one kind of read in the soak's mix.
type soakOp struct {
	name string
	do   func(ctx context.Context, c *http.Client) (int, error)
}

// soakReads returns the read mix: what providers, researchers and analysts do all day,
// through the API and the dashboards (with a signed-in session per role).
func soakReads(t *testing.T, w *servedWorld, base string) []soakOp {
	t.Helper()
	get := func(name, path, token string, jar http.CookieJar) soakOp {
		return soakOp{name: name, do: func(ctx context.Context, c *http.Client) (int, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				return 0, err
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if jar != nil {
				for _, ck := range jar.Cookies(req.URL) {
					req.AddCookie(ck)
				}
			}
			resp, err := c.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return 0, err
			}
			if resp.StatusCode != http.StatusOK {
				return resp.StatusCode, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
			}
			return resp.StatusCode, nil
		}}
	}
	p0, p1 := w.providers[0], w.providers[len(w.providers)-1]
	providerJar := signIn(t, base, p1.token)
	researcherJar := signIn(t, base, w.researcher)
	analystJar := signIn(t, base, w.analyst)
	return []soakOp{
		get("GET /api/v1/benchmark/{cycle}", "/api/v1/benchmark/"+w.cycle, p0.token, nil),
		get("GET /api/v1/benchmark/{cycle}", "/api/v1/benchmark/"+w.cycle, p1.token, nil),
		get("GET /api/v1/scorecards/{cycle}", "/api/v1/scorecards/"+w.cycle, p0.token, nil),
		get("GET /api/v1/submissions", "/api/v1/submissions", p1.token, nil),
		get("GET /api/v1/organisations/me", "/api/v1/organisations/me", p0.token, nil),
		get("GET /api/v1/releases", "/api/v1/releases", w.researcher, nil),
		get("GET /api/v1/releases/{id}", "/api/v1/releases/"+w.release, w.researcher, nil),
		get("GET /api/v1/releases/{id}/export", "/api/v1/releases/"+w.release+"/export?format=csv", w.analyst, nil),
		get("GET /api/v1/releases/{id}/export", "/api/v1/releases/"+w.release+"/export?format=parquet", w.analyst, nil),
		get("GET /api/v1/model", "/api/v1/model", "", nil),
		get("GET /dashboards/benchmark", "/dashboards/benchmark", "", providerJar),
		get("GET /dashboards/findings", "/dashboards/findings", "", researcherJar),
		get("GET /dashboards/explorer", "/dashboards/explorer", "", analystJar),
	}
}

// signIn signs in to the dashboards with key through the real form and returns the
// cookie jar holding the session.
func signIn(t *testing.T, base, key string) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodPost, base+"/dashboards/signin", strings.NewReader(url.Values{"key": {key}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dashboards sign-in: %d", resp.StatusCode)
	}
	return jar
}

// serverMemory reads the server's in-use Go heap and DuckDB's buffer-manager memory
// from its Prometheus metrics.
func serverMemory(c *http.Client, base, adminToken string) (heap, duck int64, err error) {
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	want := map[string]*int64{"go_memstats_heap_inuse_bytes": &heap, "hcztmm_duckdb_memory_bytes": &duck}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if dst := want[name]; ok && dst != nil {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/metrics %s %q: %w", name, v, err)
			}
			*dst = int64(f)
			found++
		}
	}
	if found != len(want) {
		return 0, 0, fmt.Errorf("/metrics (%d) lacks go_memstats_heap_inuse_bytes or hcztmm_duckdb_memory_bytes", resp.StatusCode)
	}
	return heap, duck, sc.Err()
}

// soakStats counts requests per operation.
type soakStats struct {
	mu          sync.Mutex
	ops         map[string]*opStats
	failed      atomic.Int64
	firstErrors []string
}

type opStats struct {
	ok       int
	statuses map[int]int
	lat      []float64 // ms
}

func newSoakStats() *soakStats { return &soakStats{ops: map[string]*opStats{}} }

// record counts one request; err marks it failed (every failure is one: the mix only
// sends requests that must succeed).
func (s *soakStats) record(op string, status int, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ops[op]
	if o == nil {
		o = &opStats{statuses: map[int]int{}}
		s.ops[op] = o
	}
	o.statuses[status]++
	if err != nil {
		s.failed.Add(1)
		if len(s.firstErrors) < 10 {
			s.firstErrors = append(s.firstErrors, fmt.Sprintf("%s: %v", op, err))
		}
		return
	}
	o.ok++
	o.lat = append(o.lat, float64(d)/float64(time.Millisecond))
}

func (s *soakStats) failures() int64 { return s.failed.Load() }

// table renders the counts as an aligned text table.
func (s *soakStats) table(elapsed time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range s.ops {
			if !yield(n) {
				return
			}
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "  %-36s %8s %8s %8s %8s %8s  %s\n", "operation", "ok", "per s", "p50 ms", "p99 ms", "5xx", "statuses")
	total, fivexx := 0, 0
	for _, n := range names {
		o := s.ops[n]
		slices.Sort(o.lat)
		p50, p99 := 0.0, 0.0
		if len(o.lat) > 0 {
			p50, p99 = o.lat[len(o.lat)/2], o.lat[len(o.lat)*99/100]
		}
		bad := 0
		var sts []string
		for code, c := range o.statuses {
			if code >= 500 {
				bad += c
			}
			sts = append(sts, fmt.Sprintf("%d×%d", code, c))
		}
		slices.Sort(sts)
		total += o.ok
		fivexx += bad
		fmt.Fprintf(&b, "  %-36s %8d %8.1f %8.1f %8.1f %8d  %s\n", n, o.ok, float64(o.ok)/elapsed.Seconds(), p50, p99, bad, strings.Join(sts, " "))
	}
	fmt.Fprintf(&b, "  %-36s %8d %8.1f %8s %8s %8d  failed %d", "all", total, float64(total)/elapsed.Seconds(), "", "", fivexx, s.failed.Load())
	return b.String()
}

// memSample is the server's memory at one moment of the soak.
type memSample struct {
	at              time.Duration
	rss, heap, duck int64 // resident set, Go heap in use, DuckDB buffer manager
	stored          int64 // submissions acknowledged so far
}

// trend describes one memory series after the warm-up.
type trend struct {
	median, first, last, max float64
	// growth is what the least-squares line rises by over the measured window.
	growth float64
}

func (t trend) String() string {
	mib := func(x float64) float64 { return x / (1 << 20) }
	return fmt.Sprintf("median %.1f MiB (first %.1f, last %.1f, max %.1f), trend %+.1f MiB",
		mib(t.median), mib(t.first), mib(t.last), mib(t.max), mib(t.growth))
}

// memReport summarises the server's memory after the warm-up.
type memReport struct {
	samples int
	window  time.Duration
	stored  int64 // submissions acknowledged within the window
	// rss is the resident set; duck DuckDB's buffer manager (the working set of the
	// data, which grows with it); rest the resident set outside DuckDB's accounting
	// (Go heap, stacks, allocator caches, cgo allocations), which must stay flat.
	rss, duck, rest, heap trend
}

func (r memReport) String() string {
	return fmt.Sprintf("%d samples over %s, %d submissions stored in it:\n  resident        %s\n  DuckDB buffers  %s\n  outside DuckDB  %s\n  Go heap in use  %s",
		r.samples, r.window.Round(time.Second), r.stored, r.rss, r.duck, r.rest, r.heap)
}

// allowedGrowth is how much memory outside DuckDB's buffers may grow over the window.
func (r memReport) allowedGrowth() float64 {
	return math.Max(soakGrowthFloor, soakGrowthPerSubmission*float64(r.stored))
}

// memoryTrend fits a least-squares line through each series over the samples taken
// from from (after a warm-up or settling) until before to.
func memoryTrend(samples []memSample, from, to time.Duration) (memReport, error) {
	var kept []memSample
	for _, s := range samples {
		if s.at >= from && s.at < to {
			kept = append(kept, s)
		}
	}
	if len(kept) < 5 {
		return memReport{}, fmt.Errorf("only %d memory samples between %s and %s: the soak is too short to judge memory", len(kept), from, to)
	}
	window := kept[len(kept)-1].at - kept[0].at
	at := make([]float64, len(kept))
	for i, s := range kept {
		at[i] = s.at.Seconds()
	}
	series := func(f func(memSample) int64) trend {
		ys := make([]float64, len(kept))
		for i, s := range kept {
			ys[i] = float64(f(s))
		}
		return trend{median: medianOf(ys), first: ys[0], last: ys[len(ys)-1], max: slices.Max(ys),
			growth: slope(at, ys) * window.Seconds()}
	}
	return memReport{samples: len(kept), window: window, stored: kept[len(kept)-1].stored - kept[0].stored,
		rss:  series(func(s memSample) int64 { return s.rss }),
		duck: series(func(s memSample) int64 { return s.duck }),
		rest: series(func(s memSample) int64 { return s.rss - s.duck }),
		heap: series(func(s memSample) int64 { return s.heap }),
	}, nil
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestMemoryTrend(t *testing.T) {
	const mib, kib = 1 << 20, 1 << 10
	// series samples every 0.5 s for 20 s: memory outside DuckDB f(t), and perSec
	// submissions stored each second.
	series := func(perSec float64, f func(sec float64) float64) []memSample {
		var out []memSample
		for i := range 40 {
			at := time.Duration(i) * 500 * time.Millisecond
			v := int64(f(at.Seconds()))
			out = append(out, memSample{at: at, rss: v + 10*mib, duck: 10 * mib, heap: v / 4, stored: int64(perSec * at.Seconds())})
		}
		return out
	}
	tests := []struct {
		name     string
		samples  []memSample
		min, max float64 // bounds of the outside-DuckDB growth, MiB
		pass     bool
	}{
		{"flat", series(0, func(float64) float64 { return 100 * mib }), -0.01, 0.01, true},
		{"sawtooth around a level", series(0, func(s float64) float64 { return 100*mib + float64(int(s*2)%4)*mib }), -1, 1, true},
		{"warm-up growth only", series(0, func(s float64) float64 { return 100*mib + min(s, 4)*20*mib }), -0.01, 0.01, true},
		{"leak of 2 MiB/s without data", series(0, func(s float64) float64 { return 100*mib + 2*s*mib }), 30, 32, false},
		{"1 KB per stored submission", series(1000, func(s float64) float64 { return 100*mib + 1000*s*kib }), 15, 15.2, true},
		{"8 KB per stored submission (the per-transaction view leak)", series(300, func(s float64) float64 { return 100*mib + 300*8*s*kib }), 36, 37, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := memoryTrend(tt.samples, 4*time.Second, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if g := r.rest.growth / mib; g < tt.min || g > tt.max {
				t.Errorf("growth %.2f MiB, want in [%v, %v] (%s)", g, tt.min, tt.max, r)
			}
			if pass := r.rest.growth <= r.allowedGrowth(); pass != tt.pass {
				t.Errorf("judged passing = %v, want %v: growth %.1f MiB, allowed %.1f MiB", pass, tt.pass, r.rest.growth/mib, r.allowedGrowth()/mib)
			}
		})
	}
	if _, err := memoryTrend(series(0, func(float64) float64 { return 0 })[:10], 4*time.Second, time.Hour); err == nil {
		t.Error("a soak with too few samples after warm-up was judged")
	}
}
