package api

import (
	"context"
	"fmt"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// orgScope is the only way provider handlers read private data: it is bound to the
// authenticated key's organisation and has no method that takes another one. A row of
// another organisation that a lookup by ID happens to find is reported exactly as a row
// that does not exist, so that a provider cannot even learn that it exists.
type orgScope struct {
	r   OwnOrgReader
	org string
}

// scope returns the orgScope of a provider request. Routes that call it admit only
// provider keys, so a missing organisation is a wiring bug, reported as internal.
func (s *Server) scope(c *gin.Context) (orgScope, error) {
	k, ok := principalOf(c)
	if !ok || k.Role != roleProvider || k.OrgID == "" || s.wh == nil {
		return orgScope{}, fmt.Errorf("api: provider route without a provider key")
	}
	return orgScope{r: s.wh, org: k.OrgID}, nil
}

// profile returns the organisation's stored profile.
func (o orgScope) profile(ctx context.Context) (warehouse.Organisation, error) {
	org, err := o.r.Organisation(ctx, o.org)
	if model.ErrorKind(err) == model.KindNotFound {
		return org, model.Errorf(model.KindNotFound, "organisation %s has not submitted anything yet", o.org)
	}
	return org, err
}

// current returns the organisation's current submission in a cycle.
func (o orgScope) current(ctx context.Context, cycle string) (*warehouse.StoredSubmission, error) {
	sub, err := o.r.CurrentSubmission(ctx, o.org, cycle)
	if model.ErrorKind(err) == model.KindNotFound {
		return nil, model.Errorf(model.KindNotFound, "organisation %s has no submission in cycle %q", o.org, truncate(cycle))
	}
	return sub, err
}

// history lists the organisation's submissions, oldest first.
func (o orgScope) history(ctx context.Context) ([]warehouse.SubmissionSummary, error) {
	return o.r.ListSubmissions(ctx, o.org)
}

// submission returns one of the organisation's submissions by ID. The ID is first looked
// up in the organisation's own history, so another organisation's row is never read at
// all: its ID takes exactly the path of an ID that was never issued, in the answer and
// in the time it takes.
func (o orgScope) submission(ctx context.Context, id int64) (*warehouse.StoredSubmission, error) {
	hist, err := o.r.ListSubmissions(ctx, o.org)
	if err != nil {
		return nil, err
	}
	own := false
	for _, s := range hist {
		own = own || s.ID == id
	}
	if !own {
		return nil, errNoSubmission(id)
	}
	sub, err := o.r.GetSubmission(ctx, id)
	if err != nil {
		return nil, err
	}
	if sub.OrgID != o.org { // cannot happen; checked again because this is the line that matters
		return nil, errNoSubmission(id)
	}
	return sub, nil
}

func errNoSubmission(id int64) error {
	return model.Errorf(model.KindNotFound, "submission %d does not exist", id)
}

// errOtherOrg refuses an upload naming another organisation. It does not echo the ID:
// the caller knows what it sent, and the answer must not differ with whether that
// organisation exists.
func errOtherOrg(where string) error {
	return model.Errorf(model.KindForbidden, "%s names an organisation other than the one this key is bound to; a provider key submits for its own organisation only, so nothing was stored", where)
}

// orgGuard is the ingest.Store the API hands to ingest: it commits only submissions of
// the key's own organisation and refuses the whole call otherwise (nothing of it is
// stored), and it reads no other organisation's stored profile.
type orgGuard struct {
	st  ingest.Store
	org string
}

// Commit stores subs if every one belongs to the guard's organisation.
func (g orgGuard) Commit(ctx context.Context, subs []warehouse.ScoredSubmission, atomic bool) ([]warehouse.Outcome, error) {
	for i := range subs {
		if subs[i].Submission.Organisation.ID != g.org {
			return nil, errOtherOrg("the upload")
		}
	}
	return g.st.Commit(ctx, subs, atomic)
}

// Organisation returns the stored profile of the guard's organisation only.
func (g orgGuard) Organisation(ctx context.Context, orgID string) (warehouse.Organisation, error) {
	if orgID != g.org {
		return warehouse.Organisation{}, errOtherOrg("the upload")
	}
	return g.st.Organisation(ctx, orgID)
}
