package dashboards

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// ReleaseReader reads stored releases: the only source of figures about other
// organisations on any page (DESIGN.md §5.2). *warehouse.DB satisfies it.
type ReleaseReader interface {
	// ListReleases lists the releases of a cycle ("" for all), oldest first.
	ListReleases(ctx context.Context, cycle string) ([]warehouse.ReleaseInfo, error)
	// ReleaseBody returns a published release's stored bytes, exactly as stored.
	ReleaseBody(ctx context.Context, id string) ([]byte, error)
}

// OwnOrgReader reads the submissions of one organisation. Which organisation is fixed
// when the reader is made (OrgReaders) and no method takes an organisation ID, so a page
// holding one cannot ask for anybody else's rows, whatever the request says.
type OwnOrgReader interface {
	// CurrentSubmission returns the organisation's current submission in a cycle, scored.
	CurrentSubmission(ctx context.Context, cycle string) (*warehouse.StoredSubmission, error)
	// ListSubmissions returns the organisation's own history, oldest first.
	ListSubmissions(ctx context.Context) ([]warehouse.SubmissionSummary, error)
}

// OrgReaders makes the OwnOrgReader of one organisation. Pages call it only with the
// OrgID of the signed-in provider (Viewer), never with anything from the request.
type OrgReaders func(orgID string) OwnOrgReader

// SubmissionStore is the part of the warehouse that OrgScoped narrows down to one
// organisation; *warehouse.DB satisfies it. The wiring (cmd, api) holds it; pages never do.
type SubmissionStore interface {
	CurrentSubmission(ctx context.Context, orgID, cycleID string) (*warehouse.StoredSubmission, error)
	ListSubmissions(ctx context.Context, orgID string) ([]warehouse.SubmissionSummary, error)
}

// OrgScoped returns OrgReaders over a store. Each reader passes its own fixed
// organisation ID and also checks that every row the store returns belongs to it, so a
// store bug cannot leak another organisation's rows onto a provider's page.
func OrgScoped(s SubmissionStore) OrgReaders {
	return func(orgID string) OwnOrgReader { return ownOrg{store: s, orgID: orgID} }
}

type ownOrg struct {
	store SubmissionStore
	orgID string
}

func (o ownOrg) CurrentSubmission(ctx context.Context, cycle string) (*warehouse.StoredSubmission, error) {
	if o.orgID == "" {
		return nil, model.Errorf(model.KindForbidden, "no organisation")
	}
	s, err := o.store.CurrentSubmission(ctx, o.orgID, cycle)
	if err != nil {
		return nil, err
	}
	if s == nil || s.OrgID != o.orgID || s.Submission.Organisation.ID != o.orgID {
		return nil, model.Errorf(model.KindInternal, "dashboards: store returned a submission of another organisation")
	}
	return s, nil
}

func (o ownOrg) ListSubmissions(ctx context.Context) ([]warehouse.SubmissionSummary, error) {
	if o.orgID == "" {
		return nil, model.Errorf(model.KindForbidden, "no organisation")
	}
	list, err := o.store.ListSubmissions(ctx, o.orgID)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if s.OrgID != o.orgID {
			return nil, model.Errorf(model.KindInternal, "dashboards: store returned a submission of another organisation")
		}
	}
	return list, nil
}

// releaseCacheSize bounds the decoded releases kept in memory. A release is immutable
// once published (its bytes are served as stored forever), so a decoded copy never goes
// stale; the bound only caps memory.
const releaseCacheSize = 32

// releases reads and decodes stored releases for the pages, caching decoded ones by ID.
// Decoded releases are shared between requests and must be treated as read-only.
type releases struct {
	reader ReleaseReader
	mu     sync.Mutex
	cache  map[string]*privacy.Release
	order  []string // insertion order, for eviction
}

func newReleases(r ReleaseReader) *releases {
	return &releases{reader: r, cache: map[string]*privacy.Release{}}
}

// published lists every published release, ordered by cycle and then oldest first (the
// storage order), so the last one of a cycle is its newest: a correction is a new release.
func (rs *releases) published(ctx context.Context) ([]warehouse.ReleaseInfo, error) {
	all, err := rs.reader.ListReleases(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]warehouse.ReleaseInfo, 0, len(all))
	for _, r := range all {
		if r.Status == warehouse.ReleasePublished {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cycle < out[j].Cycle })
	return out, nil
}

// latestPerCycle keeps the newest published release of each cycle, in cycle order.
func latestPerCycle(infos []warehouse.ReleaseInfo) []warehouse.ReleaseInfo {
	var out []warehouse.ReleaseInfo
	for _, r := range infos {
		if n := len(out); n > 0 && out[n-1].Cycle == r.Cycle {
			out[n-1] = r
			continue
		}
		out = append(out, r)
	}
	return out
}

// show loads the release info names for a page: the release, the model its labels come
// from and the footnote that says which release it is.
func (p *Pages) show(ctx context.Context, info warehouse.ReleaseInfo) (*privacy.Release, *model.Model, *releaseMeta, error) {
	rel, err := p.rel.load(ctx, info)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := p.deps.Models.Get(rel.ModelVersion)
	if err != nil {
		return nil, nil, nil, err
	}
	meta := metaOf(info, rel)
	return rel, m, &meta, nil
}

// load returns the decoded release, checking the stored body against the digest the
// warehouse recorded when it published it.
func (rs *releases) load(ctx context.Context, info warehouse.ReleaseInfo) (*privacy.Release, error) {
	rs.mu.Lock()
	r, ok := rs.cache[info.ID]
	rs.mu.Unlock()
	if ok {
		return r, nil
	}
	body, err := rs.reader.ReleaseBody(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	if info.SHA256 != "" {
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != info.SHA256 {
			return nil, model.Errorf(model.KindInternal, "dashboards: release %s does not match its recorded digest", info.ID)
		}
	}
	r, err = privacy.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("dashboards: release %s: %w", info.ID, err)
	}
	if r.ID != info.ID {
		return nil, model.Errorf(model.KindInternal, "dashboards: release %s holds release %q", info.ID, r.ID)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if prev, ok := rs.cache[info.ID]; ok {
		return prev, nil
	}
	if len(rs.order) >= releaseCacheSize {
		delete(rs.cache, rs.order[0])
		rs.order = rs.order[1:]
	}
	rs.cache[info.ID] = r
	rs.order = append(rs.order, info.ID)
	return r, nil
}

// The warehouse is what the wiring passes in; these fail to compile if it drifts.
var (
	_ ReleaseReader   = (*warehouse.DB)(nil)
	_ SubmissionStore = (*warehouse.DB)(nil)
)
