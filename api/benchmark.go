package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// Benchmark answers GET /benchmark/{cycle}: a provider's own exact scores beside the
// latest published release of the cycle. Every peer figure in it is read from that
// release (through privacy.PeerCohort and PeerPosition); the only exact figures are the
// provider's own.
type Benchmark struct {
	OrgID   string     `json:"org_id"`
	Cycle   string     `json:"cycle"`
	Release ReleaseRef `json:"release"`
	Own     OwnScores  `json:"own"`
	// Posture is the posture distribution of the finest cohort that publishes it.
	Posture PosturePeers `json:"posture"`
	// Percentile places the overall index among the finest cohort with quantiles.
	Percentile PercentilePeers `json:"percentile"`
	// Domains places each domain index among the finest cohort with domain quantiles.
	Domains DomainPeers `json:"domains"`
}

// ReleaseRef names the release the peer figures come from and its privacy parameters.
type ReleaseRef struct {
	ID           string     `json:"id"`
	ModelVersion string     `json:"model_version"`
	PublishedAt  *time.Time `json:"published_at,omitempty"`
	Noise        string     `json:"noise"`
	Epsilon      float64    `json:"epsilon"`
	Delta        float64    `json:"delta"`
	// Confidence is the coverage of every interval in the release.
	Confidence float64 `json:"confidence"`
	SHA256     string  `json:"sha256"`
}

// OwnScores are the provider's own exact figures from its current submission.
type OwnScores struct {
	SubmissionID       int64               `json:"submission_id"`
	ModelVersion       string              `json:"model_version"`
	CohortKeys         model.CohortKeys    `json:"cohort_keys"`
	Posture            int                 `json:"posture"`
	PostureName        string              `json:"posture_name"`
	Index              float64             `json:"index"`
	Domains            []model.DomainScore `json:"domains"`
	BindingConstraints []model.Constraint  `json:"binding_constraints"`
	NextSteps          []model.NextStep    `json:"next_steps"`
}

// PeerGroup says which cohort a view uses: the finest of size × region, size, national
// that publishes what the view needs, and why finer ones were passed over.
type PeerGroup struct {
	Available bool                   `json:"available"`
	Level     privacy.Partitioning   `json:"level,omitempty"`
	Key       *privacy.Key           `json:"key,omitempty"`
	FellBack  bool                   `json:"fell_back"`
	Skipped   []privacy.SkippedLevel `json:"skipped"`
}

// PosturePeers is the cohort's posture distribution (and mean index, where published)
// with the provider's own posture to mark on it.
type PosturePeers struct {
	Cohort       PeerGroup          `json:"cohort"`
	Count        *privacy.Figure    `json:"count,omitempty"`
	Distribution *privacy.Histogram `json:"distribution,omitempty"`
	Mean         *privacy.Mean      `json:"mean,omitempty"`
	OwnPosture   int                `json:"own_posture"`
}

// PercentilePeers is the provider's overall percentile, with its range, read off the
// cohort's released quantiles.
type PercentilePeers struct {
	Cohort    PeerGroup          `json:"cohort"`
	Count     *privacy.Figure    `json:"count,omitempty"`
	Position  *privacy.Position  `json:"position,omitempty"`
	Quantiles *privacy.Quantiles `json:"quantiles,omitempty"`
}

// DomainPeers places each domain among the cohort's released domain figures.
type DomainPeers struct {
	Cohort  PeerGroup       `json:"cohort"`
	Count   *privacy.Figure `json:"count,omitempty"`
	Domains []DomainPeer    `json:"domains"`
}

// DomainPeer is one domain: own exact index and posture, the cohort's mean and quantiles
// of the domain index (the radar's median and quartile band), and the percentile, or why
// there is none. The cohort's domain posture histograms are in the release itself; they
// are left out here to keep the hot answer small.
type DomainPeer struct {
	Domain     string             `json:"domain"`
	Name       string             `json:"name"`
	Assessed   bool               `json:"assessed"`
	OwnIndex   float64            `json:"own_index"`
	OwnPosture int                `json:"own_posture"`
	Position   *privacy.Position  `json:"position,omitempty"`
	Mean       *privacy.Mean      `json:"mean,omitempty"`
	Quantiles  *privacy.Quantiles `json:"quantiles,omitempty"`
	Reason     string             `json:"reason,omitempty"`
}

// getBenchmark serves the peer benchmark. It is the hot read path: the release is
// decoded once per server, and the answer for an organisation and cycle is encoded once
// per (release, submission) and served from memory after that.
func (s *Server) getBenchmark(c *gin.Context) {
	scope, err := s.scope(c)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	cycle := c.Param("cycle")
	sr, err := s.rels.latestOf(ctx, cycle)
	if err != nil {
		writeError(c, err)
		return
	}
	now := time.Now()
	gen := s.bench.generation(scope.org)
	if body, ok := s.bench.get(scope.org, cycle, sr.info.ID, gen, now); ok {
		writeJSONBytes(c, body)
		return
	}
	sub, err := scope.current(ctx, cycle)
	if err != nil {
		writeError(c, err)
		return
	}
	b, err := buildBenchmark(scope.org, sub, sr)
	if err != nil {
		writeError(c, err)
		return
	}
	body, err := json.Marshal(b)
	if err != nil {
		writeError(c, err)
		return
	}
	s.bench.put(scope.org, cycle, sr.info.ID, gen, body, now)
	writeJSONBytes(c, body)
}

// writeJSONBytes answers 200 with encoded JSON. The length is set so that net/http sends
// a body larger than its buffer in one piece rather than in chunks (measured: a third
// more requests per second for the benchmark answer over loopback).
func writeJSONBytes(c *gin.Context, body []byte) {
	h := c.Writer.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(body)
}

var jsonContentType = []string{"application/json"}

// buildBenchmark puts an organisation's own submission beside a stored release. It reads
// nothing but the two.
func buildBenchmark(org string, sub *warehouse.StoredSubmission, sr *storedRelease) (Benchmark, error) {
	rel, err := sr.decoded()
	if err != nil {
		return Benchmark{}, err
	}
	sc := sub.Score
	b := Benchmark{OrgID: org, Cycle: sub.Cycle,
		Release: ReleaseRef{ID: sr.info.ID, ModelVersion: rel.ModelVersion, PublishedAt: sr.info.PublishedAt, Noise: sr.info.Noise,
			Epsilon: sr.info.Epsilon, Delta: sr.info.Delta, Confidence: rel.Request.Confidence, SHA256: sr.info.SHA256},
		Own: OwnScores{SubmissionID: sub.ID, ModelVersion: sub.ModelVersion, CohortKeys: sub.Keys, Posture: sc.Posture,
			PostureName: sc.PostureName, Index: sc.Index, Domains: sc.Domains, BindingConstraints: sc.Binding, NextSteps: sc.NextSteps},
	}
	if b.Release.SHA256 == "" {
		b.Release.SHA256 = sr.etag[1 : len(sr.etag)-1]
	}

	view, group, err := peerGroup(rel, sub.Keys, privacy.FamilyPosture)
	if err != nil {
		return Benchmark{}, err
	}
	b.Posture = PosturePeers{Cohort: group, OwnPosture: sc.Posture}
	if c := view.Cohort; c != nil {
		b.Posture.Count, b.Posture.Distribution = c.Count, c.Posture
		if c.Has(privacy.FamilyOverallMean) {
			b.Posture.Mean = c.OverallMean
		}
	}

	view, group, err = peerGroup(rel, sub.Keys, privacy.FamilyOverallQuantiles)
	if err != nil {
		return Benchmark{}, err
	}
	b.Percentile = PercentilePeers{Cohort: group}
	if c := view.Cohort; c != nil {
		pos, err := privacy.PeerPosition(c, sc.Index)
		if err != nil {
			return Benchmark{}, err
		}
		b.Percentile.Count, b.Percentile.Position, b.Percentile.Quantiles = c.Count, &pos, c.OverallQuantiles
	}

	view, group, err = peerGroup(rel, sub.Keys, privacy.FamilyDomainQuantiles)
	if err != nil {
		return Benchmark{}, err
	}
	b.Domains = DomainPeers{Cohort: group, Domains: make([]DomainPeer, 0, len(sc.Domains))}
	if view.Cohort != nil {
		b.Domains.Count = view.Cohort.Count
	}
	for _, d := range sc.Domains {
		dp := DomainPeer{Domain: d.ID, Name: d.Name, Assessed: d.Assessed, OwnIndex: d.Index, OwnPosture: d.Posture}
		c := view.Cohort
		switch {
		case c == nil:
			dp.Reason = "no cohort publishes domain quantiles"
		case !d.Assessed:
			dp.Reason = "not assessed: every capability of the domain was answered na"
		}
		if c != nil {
			if stat, ok := c.Domain(d.ID); ok {
				dp.Mean, dp.Quantiles = stat.Mean, stat.Quantiles
			}
			if d.Assessed {
				pos, err := privacy.PeerDomainPosition(c, d.ID, d.Index)
				switch {
				case err == nil:
					dp.Position = &pos
				case model.ErrorKind(err) == model.KindNotFound:
					dp.Reason = "no percentile: " + errMessage(err)
				default:
					return Benchmark{}, err
				}
			}
		}
		b.Domains.Domains = append(b.Domains.Domains, dp)
	}
	return b, nil
}

// peerGroup finds the cohort of one view. No published cohort at any level is not an
// error: the view says so, with the reason for each level.
func peerGroup(rel *privacy.Release, keys model.CohortKeys, need privacy.Family) (privacy.PeerView, PeerGroup, error) {
	view, err := privacy.PeerCohort(rel, keys, need)
	g := PeerGroup{Skipped: view.Skipped, FellBack: view.FellBack()}
	if g.Skipped == nil {
		g.Skipped = []privacy.SkippedLevel{}
	}
	switch {
	case err == nil:
		g.Available, g.Level = true, view.Level
		k := view.Cohort.Key
		g.Key = &k
	case model.ErrorKind(err) == model.KindNotFound:
		view.Cohort = nil
	default:
		return view, g, err
	}
	return view, g, nil
}

func errMessage(err error) string {
	var me *model.Error
	if errors.As(err, &me) {
		return me.Message
	}
	return err.Error()
}

// benchCache holds encoded benchmark answers by (organisation, cycle), each tagged with
// the release it was built from and the organisation's generation, which every
// submission through the API bumps. An answer built while a submission was being stored
// carries the old generation and is never served. Entries also expire after a TTL, which
// bounds staleness should data change some other way.
type benchCache struct {
	ttl     time.Duration
	mu      sync.RWMutex
	entries map[orgCycle]benchEntry
	gens    map[string]uint64
}

type orgCycle struct{ org, cycle string }

type benchEntry struct {
	release string
	gen     uint64
	body    []byte
	expires time.Time
}

// maxBenchEntries bounds the cache; beyond it the cache starts again (a few MB).
const maxBenchEntries = 20000

func newBenchCache(ttl time.Duration) *benchCache {
	return &benchCache{ttl: ttl, entries: map[orgCycle]benchEntry{}, gens: map[string]uint64{}}
}

func (bc *benchCache) generation(org string) uint64 {
	bc.mu.RLock()
	defer bc.mu.RUnlock()
	return bc.gens[org]
}

func (bc *benchCache) get(org, cycle, release string, gen uint64, now time.Time) ([]byte, bool) {
	bc.mu.RLock()
	e, ok := bc.entries[orgCycle{org, cycle}]
	bc.mu.RUnlock()
	if !ok || e.release != release || e.gen != gen || now.After(e.expires) {
		return nil, false
	}
	return e.body, true
}

func (bc *benchCache) put(org, cycle, release string, gen uint64, body []byte, now time.Time) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.gens[org] != gen {
		return // a submission came in while this answer was built
	}
	if len(bc.entries) >= maxBenchEntries {
		clear(bc.entries)
	}
	bc.entries[orgCycle{org, cycle}] = benchEntry{release: release, gen: gen, body: body, expires: now.Add(bc.ttl)}
}

// invalidateOrg drops an organisation's answers after it submitted.
func (bc *benchCache) invalidateOrg(org string) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	// Bumping the generation is enough: entries of an older one are never served, and
	// the next answer overwrites them.
	bc.gens[org]++
}
