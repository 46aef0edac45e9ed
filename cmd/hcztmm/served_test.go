package main

// Shared by the tests that drive a real `hcztmm serve` process over loopback (the soak
// and the crash tests): a prepared warehouse file, the server process, and providers
// that submit and remember exactly what the server acknowledged.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/fixtures"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// servedWorld is a warehouse file ready to be served: one open cycle holding a
// synthetic population and a first release, and API keys for every role.
type servedWorld struct {
	db, cycle, release             string
	admin, researcher, analyst     string // tokens
	providers                      []*provider
	initialSubmissions, population int
}

// newServedWorld prepares the file in-process through the warehouse package (what
// `hcztmm ingest`, `release` and `keys` do), so that the server under test starts from
// a state the test knows exactly.
func newServedWorld(t *testing.T, orgs, providers int) *servedWorld {
	t.Helper()
	ctx := context.Background()
	reg := model.MustBuiltin()
	m := reg.Latest()
	w := &servedWorld{db: filepath.Join(t.TempDir(), "served.duckdb")}
	db, err := warehouse.Open(ctx, w.db, reg, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pop, err := fixtures.Generate(m, fixtures.Options{Orgs: orgs, Cycles: 1, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	w.cycle = pop.Cycles[0]
	// A large budget: the soak publishes small releases while it runs.
	if err := db.CreateCycle(ctx, warehouse.Cycle{ID: w.cycle, ModelVersion: m.Version, Epsilon: 10, Delta: 1e-6}); err != nil {
		t.Fatal(err)
	}
	subs := pop.CycleSubmissions(w.cycle)
	scored, err := warehouse.ScoreAll(m, subs, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(ctx, scored, true); err != nil {
		t.Fatal(err)
	}
	w.initialSubmissions, w.population = len(subs), len(pop.Orgs)
	pub, err := privacy.Publish(ctx, db, reg, privacy.Request{Cycle: w.cycle, Epsilon: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.release = pub.Release.ID
	mint := func(role warehouse.Role, org string) string {
		_, token, err := db.CreateKey(ctx, role, org, "test")
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	w.admin, w.researcher, w.analyst = mint(warehouse.RoleAdmin, ""), mint(warehouse.RoleResearcher, ""), mint(warehouse.RoleAnalyst, "")
	for i := range providers {
		// Spread over the population so that peer groups differ.
		s := subs[i*len(subs)/providers]
		w.providers = append(w.providers, &provider{base: s, token: mint(warehouse.RoleProvider, s.Organisation.ID),
			capIDs: m.CapabilityIDs(), acked: map[int64]acknowledged{}})
	}
	return w
}

// serverProc is a running `hcztmm serve` child process.
type serverProc struct {
	cmd    *exec.Cmd
	base   string
	exited chan error
	stderr *syncBuffer
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe starts the real binary on a free loopback port and returns once /readyz
// answers 200. The process is stopped (SIGINT, then SIGKILL) when the test ends.
func startServe(t *testing.T, db string) *serverProc {
	t.Helper()
	cmd := exec.Command(binPath, "serve", "--addr", "127.0.0.1:0", "--db", db, "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, exited: make(chan error, 1), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	baseCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "serving on "); ok {
				baseCh <- strings.Fields(rest)[0]
			}
		}
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case p.base = <-baseCh:
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("hcztmm serve exited before serving: %v\n%s", err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("hcztmm serve printed no address within a minute\n%s", p.stderr)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("%s/readyz not ready after a minute: %v\n%s", p.base, err, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("hcztmm serve (pid %d) ready at %s after %s", cmd.Process.Pid, p.base, time.Since(start).Round(time.Millisecond))
	return p
}

// kill ends the server with SIGKILL, as a crash or the OOM killer would.
func (p *serverProc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.exited
	p.exited <- err
}

// stop ends the server gracefully (SIGINT) and fails the test if it does not exit
// cleanly within 30 s. Stopping a stopped server does nothing.
func (p *serverProc) stop(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exited: // already gone
		p.exited <- err
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil && !t.Failed() {
			t.Errorf("hcztmm serve did not exit cleanly on SIGINT: %v\n%s", err, tail(p.stderr.String(), 4000))
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("hcztmm serve did not stop within 30 s of SIGINT")
	}
}

// rss is the server's resident set size in bytes, from /proc.
func (p *serverProc) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// provider submits new answers for its own organisation through POST
// /api/v1/submissions and remembers every submission the server acknowledged (201),
// with the answers it sent, so that a test can check each one is stored as sent.
type provider struct {
	base   model.Submission
	token  string
	capIDs []string

	mu    sync.Mutex
	next  int                    // variant of the next submission
	acked map[int64]acknowledged // by submission ID
	sent  int
}

// acknowledged is what was sent in a submission the server acknowledged.
type acknowledged struct {
	answers map[string]model.Answer
	hash    string // ingest.ContentHash of the submission as sent
}

// submit sends the next variant of the organisation's answers. It returns the HTTP
// status (0 when no answer came back: the server died or the request timed out).
func (p *provider) submit(ctx context.Context, client *http.Client, base string) (int, error) {
	p.mu.Lock()
	i := p.next
	p.next++
	p.sent++
	p.mu.Unlock()
	doc := p.base
	doc.Answers = make(map[string]model.Answer, len(p.capIDs))
	for j, id := range p.capIDs {
		// Answer j is digit j mod 10 of i in base 5: no two variants are alike, so each one
		// is stored and supersedes the last, whichever were lost on the way.
		digit := i
		for range j % 10 {
			digit /= 5
		}
		doc.Answers[id] = model.Answer(digit % 5)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/submissions", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err // a cut-off answer is no acknowledgement
	}
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, fmt.Errorf("POST /api/v1/submissions: %d %s", resp.StatusCode, tail(string(data), 300))
	}
	var res struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(data, &res); err != nil || res.ID <= 0 {
		return resp.StatusCode, fmt.Errorf("acknowledgement %q: %v", tail(string(data), 300), err)
	}
	p.mu.Lock()
	p.acked[res.ID] = acknowledged{answers: doc.Answers, hash: ingest.ContentHash(&doc)}
	p.mu.Unlock()
	return resp.StatusCode, nil
}

// acknowledged returns a copy of what the server has acknowledged so far.
func (p *provider) acknowledged() map[int64]acknowledged {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.acked)
}

// openServed opens the served world's warehouse file; the server must be stopped.
func openServed(t *testing.T, w *servedWorld) *warehouse.DB {
	t.Helper()
	db, err := warehouse.Open(context.Background(), w.db, model.MustBuiltin(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// verifyStored opens the warehouse file (the server must be stopped) and checks that
// every acknowledged submission is stored under its organisation with the content hash of
// what was sent, that a random sample of them holds exactly the answers sent, and that the
// file passes the integrity check (every stored submission whole). It returns the
// submissions stored.
func verifyStored(t *testing.T, w *servedWorld) int {
	t.Helper()
	ctx := context.Background()
	db := openServed(t, w)
	defer db.Close()
	acked, sampled := 0, 0
	for _, p := range w.providers {
		org := p.base.Organisation.ID
		hist, err := db.ListSubmissions(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		stored := make(map[int64]string, len(hist))
		for _, s := range hist {
			stored[s.ID] = s.ContentHash
		}
		for id, sent := range p.acknowledged() {
			acked++
			hash, ok := stored[id]
			if !ok {
				t.Fatalf("acknowledged submission %d of %s is not stored", id, org)
			}
			if hash != sent.hash {
				t.Fatalf("acknowledged submission %d of %s is stored with content hash %s, not that of what was sent (%s)", id, org, hash, sent.hash)
			}
			if rand.IntN(20) > 0 { // one in twenty is compared answer by answer
				continue
			}
			sampled++
			got, err := db.GetSubmission(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.Submission.Answers, sent.answers) {
				t.Fatalf("acknowledged submission %d of %s stored with other answers than sent", id, org)
			}
		}
	}
	rep, err := db.CheckIntegrity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("integrity: %+v", rep)
	}
	t.Logf("%d acknowledged submissions stored with the content sent (%d compared answer by answer); %d submissions in the file, integrity clean",
		acked, sampled, rep.Submissions)
	return rep.Submissions
}

// releaseAck is the answer to POST /api/v1/releases: the status (0 when none came back)
// and the release as acknowledged.
type releaseAck struct {
	status int
	id     string
	sha256 string
}

// postRelease asks for a release of the cycle at epsilon.
func postRelease(ctx context.Context, client *http.Client, base, token, cycle string, epsilon float64) (releaseAck, error) {
	body := fmt.Sprintf(`{"cycle":%q,"epsilon":%g}`, cycle, epsilon)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/releases", strings.NewReader(body))
	if err != nil {
		return releaseAck{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return releaseAck{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return releaseAck{}, err
	}
	if resp.StatusCode != http.StatusCreated {
		return releaseAck{status: resp.StatusCode}, fmt.Errorf("POST /api/v1/releases: %d %s", resp.StatusCode, tail(string(data), 300))
	}
	var created struct {
		Release struct {
			ID     string `json:"id"`
			SHA256 string `json:"sha256"`
		} `json:"release"`
	}
	if err := json.Unmarshal(data, &created); err != nil || created.Release.ID == "" || created.Release.SHA256 == "" {
		return releaseAck{status: resp.StatusCode}, fmt.Errorf("release acknowledgement %q: %v", tail(string(data), 300), err)
	}
	return releaseAck{status: resp.StatusCode, id: created.Release.ID, sha256: created.Release.SHA256}, nil
}

// ackedReleases collects acknowledged releases from several goroutines.
type ackedReleases struct {
	mu  sync.Mutex
	sha map[string]string // release ID → acknowledged body SHA-256
}

func (a *ackedReleases) add(r releaseAck) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sha[r.id] = r.sha256
}

// verifyReleases opens the warehouse file (the server must be stopped) and checks that
// every acknowledged release is published with the acknowledged bytes, every other one is
// published whole or reserved, and the cycle's budget covers every release, reserved ones
// included.
func verifyReleases(t *testing.T, w *servedWorld, acked *ackedReleases) {
	t.Helper()
	ctx := context.Background()
	db := openServed(t, w)
	defer db.Close()
	list, err := db.ListReleases(ctx, w.cycle)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]warehouse.ReleaseInfo{}
	reserved, spent := 0, 0.0
	for _, r := range list {
		byID[r.ID] = r
		spent += r.Epsilon
		switch r.Status {
		case warehouse.ReleaseReserved:
			reserved++
		case warehouse.ReleasePublished:
			body, err := db.ReleaseBody(ctx, r.ID)
			if err != nil {
				t.Fatalf("published release %s: %v", r.ID, err)
			}
			if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != r.SHA256 {
				t.Fatalf("release %s: stored body does not match its recorded SHA-256", r.ID)
			}
			if _, err := privacy.Decode(body); err != nil {
				t.Fatalf("release %s: stored body does not decode: %v", r.ID, err)
			}
		default:
			t.Fatalf("release %s has status %q", r.ID, r.Status)
		}
	}
	acked.mu.Lock()
	defer acked.mu.Unlock()
	for id, sha := range acked.sha {
		r, ok := byID[id]
		if !ok || r.Status != warehouse.ReleasePublished || r.SHA256 != sha {
			t.Fatalf("acknowledged release %s (sha256 %s) is stored as %+v", id, sha, r)
		}
	}
	b, err := db.Budget(ctx, w.cycle)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(b.EpsilonSpent-spent) > 1e-9 || b.Releases != len(list) {
		t.Fatalf("budget %+v does not account for the %d releases (epsilon %v) stored", b, len(list), spent)
	}
	t.Logf("%d releases: %d acknowledged and published as acknowledged, %d left reserved by a kill (charged); epsilon %.2f spent of %.0f",
		len(list), len(acked.sha), reserved, b.EpsilonSpent, b.EpsilonTotal)
}
