package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// storedRelease is a published release as stored: its description, its canonical bytes
// and, decoded once on first use, the release itself. A published release never changes,
// so an entry never goes stale and is never evicted.
type storedRelease struct {
	info warehouse.ReleaseInfo
	body []byte
	etag string

	once sync.Once
	rel  *privacy.Release
	err  error
}

// decoded returns the release decoded from the stored bytes, decoding it once.
func (sr *storedRelease) decoded() (*privacy.Release, error) {
	sr.once.Do(func() { sr.rel, sr.err = privacy.Decode(sr.body) })
	return sr.rel, sr.err
}

// releaseCache serves stored releases from memory. Bodies are cached by ID forever
// (releases are immutable); which release is the latest of a cycle is looked up again
// after a TTL, or at once after this server published one.
type releaseCache struct {
	rr  ReleaseReader
	ttl time.Duration

	mu     sync.RWMutex
	byID   map[string]*storedRelease
	latest map[string]latestRelease

	loadMu sync.Mutex // one load at a time: loads are rare and this keeps them single
}

type latestRelease struct {
	id      string // "" when the cycle has no published release
	expires time.Time
}

// maxLatestEntries bounds the cycle map, whose keys come from request paths.
const maxLatestEntries = 1024

func newReleaseCache(rr ReleaseReader, ttl time.Duration) *releaseCache {
	return &releaseCache{rr: rr, ttl: ttl, byID: map[string]*storedRelease{}, latest: map[string]latestRelease{}}
}

// get returns a published release by ID (KindNotFound if there is none, or it is only
// reserved).
func (rc *releaseCache) get(ctx context.Context, id string) (*storedRelease, error) {
	rc.mu.RLock()
	sr, ok := rc.byID[id]
	rc.mu.RUnlock()
	if ok {
		return sr, nil
	}
	rc.loadMu.Lock()
	defer rc.loadMu.Unlock()
	rc.mu.RLock()
	sr, ok = rc.byID[id]
	rc.mu.RUnlock()
	if ok {
		return sr, nil
	}
	info, err := rc.rr.GetRelease(ctx, id)
	if err != nil {
		return nil, err
	}
	if info.Status != warehouse.ReleasePublished {
		return nil, model.Errorf(model.KindNotFound, "release %s is reserved but not published", info.ID)
	}
	body, err := rc.rr.ReleaseBody(ctx, id)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	if info.SHA256 != "" && info.SHA256 != digest {
		// The bytes are not the ones published: refuse rather than serve them.
		return nil, fmt.Errorf("api: release %s: stored body does not match its recorded SHA-256", id)
	}
	sr = &storedRelease{info: info, body: body, etag: `"` + digest + `"`}
	rc.mu.Lock()
	rc.byID[id] = sr
	rc.mu.Unlock()
	return sr, nil
}

// latestOf returns the latest published release of a cycle (KindNotFound if none).
func (rc *releaseCache) latestOf(ctx context.Context, cycle string) (*storedRelease, error) {
	now := time.Now()
	rc.mu.RLock()
	l, ok := rc.latest[cycle]
	rc.mu.RUnlock()
	if !ok || now.After(l.expires) {
		var err error
		if l, err = rc.refreshLatest(ctx, cycle, now); err != nil {
			return nil, err
		}
	}
	if l.id == "" {
		return nil, model.Errorf(model.KindNotFound, "no release of cycle %q has been published yet", truncate(cycle))
	}
	return rc.get(ctx, l.id)
}

func (rc *releaseCache) refreshLatest(ctx context.Context, cycle string, now time.Time) (latestRelease, error) {
	rc.loadMu.Lock()
	defer rc.loadMu.Unlock()
	rc.mu.RLock()
	l, ok := rc.latest[cycle]
	rc.mu.RUnlock()
	if ok && !now.After(l.expires) {
		return l, nil // another request refreshed it while this one waited
	}
	infos, err := rc.rr.ListReleases(ctx, cycle)
	if err != nil {
		return l, err
	}
	l = latestRelease{expires: time.Now().Add(rc.ttl)}
	for _, info := range infos { // oldest first
		if info.Status == warehouse.ReleasePublished {
			l.id = info.ID
		}
	}
	rc.mu.Lock()
	if len(rc.latest) >= maxLatestEntries {
		clear(rc.latest)
	}
	rc.latest[cycle] = l
	rc.mu.Unlock()
	return l, nil
}

// published makes the next lookup of a cycle's latest release ask the warehouse.
func (rc *releaseCache) published(cycle string) {
	rc.mu.Lock()
	delete(rc.latest, cycle)
	rc.mu.Unlock()
}

// listReleases lists releases (of one cycle with ?cycle=), reserved ones included.
func (s *Server) listReleases(c *gin.Context) {
	infos, err := s.wh.ListReleases(c.Request.Context(), c.Query("cycle"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"releases": infos})
}

// getRelease serves a release's stored bytes exactly as published, never re-encoded:
// answering with fresh noise, or even a re-encoding, would invite averaging and
// confusion. The ETag is the SHA-256 of the bytes.
func (s *Server) getRelease(c *gin.Context) {
	sr, err := s.rels.get(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	h := c.Writer.Header()
	h.Set("ETag", sr.etag)
	h.Set("Cache-Control", "private, no-cache")
	if inm := c.GetHeader("If-None-Match"); inm != "" && etagMatches(inm, sr.etag) {
		c.Status(http.StatusNotModified)
		return
	}
	writeJSONBytes(c, sr.body)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// ReleaseCreated answers POST /releases: the stored release and the cycle's budget after it.
type ReleaseCreated struct {
	Release warehouse.ReleaseInfo `json:"release"`
	Budget  warehouse.Budget      `json:"budget"`
}

// publishTimeout bounds one release computation.
const publishTimeout = 5 * time.Minute

// postRelease computes and stores a release. The budget is reserved before any noise is
// drawn; a release that does not fit is 422 budget_exceeded, saying what is left.
func (s *Server) postRelease(c *gin.Context) {
	var req privacy.Request
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	// Once the budget is reserved it is spent, so a client hanging up must not abandon
	// the computation half way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), publishTimeout)
	defer cancel()
	pub, err := privacy.Publish(ctx, s.wh, s.deps.Models, req)
	if err != nil {
		if model.ErrorKind(err) == model.KindBudgetExceeded {
			err = s.budgetExceeded(ctx, req, err)
		}
		writeError(c, err)
		return
	}
	s.rels.published(req.Cycle)
	s.audit(c, "release.create", "release/"+pub.Release.ID,
		fmt.Sprintf("cycle %s, epsilon %g, delta %g, noise %s", req.Cycle, pub.Release.Cost.Epsilon, pub.Release.Cost.Delta, pub.Release.Request.Noise))
	info, err := s.wh.GetRelease(ctx, pub.Release.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Location", "/api/v1/releases/"+info.ID)
	c.JSON(http.StatusCreated, ReleaseCreated{Release: info, Budget: pub.Budget})
}

// budgetExceeded adds to a refusal the figures a client needs to ask again: what the
// request wanted and what the cycle has left.
func (s *Server) budgetExceeded(ctx context.Context, req privacy.Request, err error) error {
	msg := err.Error()
	var me *model.Error
	if errors.As(err, &me) {
		msg = me.Message
	}
	out := &model.Error{Kind: model.KindBudgetExceeded, Message: msg, Err: err}
	b, berr := s.wh.Budget(ctx, req.Cycle)
	if berr != nil {
		return out
	}
	out.Details = []model.FieldError{
		{Field: "epsilon", Rule: "budget_exceeded", Value: fmt.Sprint(req.Epsilon),
			Message: fmt.Sprintf("cycle %s has epsilon %.6g left of %.6g", b.Cycle, b.EpsilonLeft, b.EpsilonTotal)},
		{Field: "delta", Rule: "budget_exceeded", Value: fmt.Sprint(req.Delta),
			Message: fmt.Sprintf("cycle %s has delta %.6g left of %.6g", b.Cycle, b.DeltaLeft, b.DeltaTotal)},
	}
	return out
}
