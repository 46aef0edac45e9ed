package api

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/ingest"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// SubmissionResult answers POST /submissions: what happened to the submission and its
// full scorecard, computed by the same pipeline as every other ingest.
type SubmissionResult struct {
	ID int64 `json:"id"`
	// Status is accepted (new), superseded (replaced the organisation's earlier
	// submission for the cycle, which is kept as history) or unchanged (identical to the
	// current one; nothing was written and ID is the current submission's).
	Status       warehouse.OutcomeStatus `json:"status"`
	Replaces     int64                   `json:"replaces,omitempty"`
	OrgID        string                  `json:"org_id"`
	Cycle        string                  `json:"cycle"`
	ModelVersion string                  `json:"model_version"`
	CohortKeys   model.CohortKeys        `json:"cohort_keys"`
	Scorecard    model.Scorecard         `json:"scorecard"`
}

// BulkResult answers POST /submissions/bulk when anything was stored (or found
// unchanged): OK is false when some submissions were rejected, which the report lists.
type BulkResult struct {
	OK     bool           `json:"ok"`
	Report *ingest.Report `json:"report"`
}

// maxReportedProblems bounds the problems one upload reports: enough to fix a file, small
// enough that a broken 30 MB upload does not answer with 30 MB of problems.
const maxReportedProblems = 1000

// postSubmission ingests one JSON submission document of the key's own organisation.
func (s *Server) postSubmission(c *gin.Context) {
	scope, err := s.scope(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := requireJSON(c.Request); err != nil {
		writeError(c, err)
		return
	}
	data, err := readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		writeError(c, err)
		return
	}
	// A body naming another organisation is refused before anything else, valid or not.
	if where := otherOrgIn(ingest.FormatJSON, data, scope.org); where != "" {
		writeError(c, errOtherOrg("the submission"))
		return
	}
	k, _ := principalOf(c)
	var committed []ingest.Committed
	in := ingest.Input{Name: "submission.json", Reader: bytes.NewReader(data), Format: ingest.FormatJSON,
		Size: int64(len(data)), Source: "api:" + k.ID}
	rep, err := ingest.Ingest(c.Request.Context(), orgGuard{st: s.wh, org: scope.org}, s.deps.Models, []ingest.Input{in},
		ingest.Options{Workers: 1, MaxBytes: s.cfg.MaxBodyBytes, MaxProblems: maxReportedProblems,
			OnCommit: func(cm ingest.Committed) { committed = append(committed, cm) }})
	s.afterCommit(scope.org, committed)
	if err != nil {
		writeError(c, err)
		return
	}
	if len(committed) != 1 {
		writeError(c, problemsError("the submission is invalid", rep.Problems()))
		return
	}
	cm := committed[0]
	o := cm.Outcome
	if o.Status == warehouse.StatusRejected {
		writeError(c, o.Err)
		return
	}
	sub := cm.Submission
	res := SubmissionResult{ID: o.SubmissionID, Status: o.Status, Replaces: o.Replaced, OrgID: scope.org,
		Cycle: sub.Submission.Cycle, ModelVersion: sub.Submission.ModelVersion, CohortKeys: sub.Keys, Scorecard: sub.Score}
	status := http.StatusCreated
	if o.Status == warehouse.StatusUnchanged {
		status = http.StatusOK // nothing was created
	} else {
		s.audit(c, "submission.create", fmt.Sprintf("submission/%d", o.SubmissionID),
			fmt.Sprintf("org %s cycle %s: %s", scope.org, sub.Submission.Cycle, o.Status))
	}
	c.Header("Location", fmt.Sprintf("/api/v1/submissions/%d", o.SubmissionID))
	c.JSON(status, res)
}

// afterCommit counts outcomes and drops the organisation's cached figures.
func (s *Server) afterCommit(org string, committed []ingest.Committed) {
	if len(committed) == 0 {
		return
	}
	for _, cm := range committed {
		s.metrics.submissions.WithLabelValues(string(cm.Outcome.Status)).Inc()
	}
	s.bench.invalidateOrg(org)
}

// problemsError turns an ingest report's problems into a 400 with one detail each; the
// location goes into the message, as FieldError has no row.
func problemsError(msg string, problems []ingest.Problem) error {
	details := make([]model.FieldError, 0, len(problems))
	for _, p := range problems {
		fe := p.FieldError()
		if p.Row > 0 || p.Pointer != "" {
			fe.Message = p.String()
		}
		details = append(details, fe)
	}
	if len(details) == 0 {
		details = append(details, model.FieldError{Field: "body", Rule: "rejected", Message: "nothing was stored"})
	}
	return model.Invalid(fmt.Sprintf("%s: %d problem(s)", msg, len(problems)), details...)
}

// postBulk ingests a file of submissions of the key's own organisation (its history, or
// a survey tool's export). A file naming any other organisation is refused whole.
func (s *Server) postBulk(c *gin.Context) {
	scope, err := s.scope(c)
	if err != nil {
		writeError(c, err)
		return
	}
	up, err := s.readUpload(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if f := c.Query("format"); f != "" {
		if up.format, err = ingest.ParseFormat(f); err != nil {
			writeError(c, model.Invalid("unknown format", model.FieldError{Field: "format", Rule: "unknown_format", Value: truncate(f),
				Message: fmt.Sprintf("format %q is not one of %v", truncate(f), ingest.Formats())}))
			return
		}
	}
	atomic := false
	if a := c.Query("atomic"); a != "" {
		if atomic, err = strconv.ParseBool(a); err != nil {
			writeError(c, model.Invalid("atomic must be true or false", model.FieldError{Field: "atomic", Rule: "wrong_type", Value: truncate(a),
				Message: "atomic must be true or false"}))
			return
		}
	}
	if len(bytes.TrimSpace(up.data)) == 0 {
		writeError(c, model.Invalid("the upload is empty", model.FieldError{Field: "file", Rule: "empty_file", Message: "the file holds no submission"}))
		return
	}
	if up.format == "" {
		head := up.data[:min(len(up.data), ingest.SniffLen)]
		if up.format, err = ingest.Sniff(up.name, head); err != nil {
			writeError(c, err)
			return
		}
	}
	if where := otherOrgIn(up.format, up.data, scope.org); where != "" {
		writeError(c, errOtherOrg(where))
		return
	}
	k, _ := principalOf(c)
	var committed []ingest.Committed
	in := ingest.Input{Name: up.name, Reader: bytes.NewReader(up.data), Format: up.format, Size: int64(len(up.data)), Source: "api:" + k.ID}
	rep, err := ingest.Ingest(c.Request.Context(), orgGuard{st: s.wh, org: scope.org}, s.deps.Models, []ingest.Input{in},
		ingest.Options{Atomic: atomic, MaxBytes: s.cfg.MaxUploadBytes, MaxProblems: maxReportedProblems,
			// One commit for the whole file: the guard then refuses all of it or none.
			ChunkSize: math.MaxInt32,
			OnCommit:  func(cm ingest.Committed) { committed = append(committed, cm) }})
	s.afterCommit(scope.org, committed)
	if err != nil {
		writeError(c, err)
		return
	}
	for _, p := range rep.Problems() {
		switch p.Rule {
		case ingest.RuleUnknownFormat:
			writeError(c, model.Errorf(model.KindUnsupportedMedia, "%s", p.Message))
			return
		case ingest.RuleTooLarge:
			writeError(c, tooLarge(s.cfg.MaxUploadBytes))
			return
		}
	}
	t := rep.Total
	stored := t.Accepted + t.Superseded + t.Unchanged
	if stored == 0 {
		writeError(c, problemsError("nothing was stored", rep.Problems()))
		return
	}
	if t.Accepted+t.Superseded > 0 {
		s.audit(c, "submission.bulk", "org/"+scope.org, fmt.Sprintf("file %s: %d accepted, %d superseded, %d unchanged, %d rejected",
			truncate(up.name), t.Accepted, t.Superseded, t.Unchanged, t.Rejected))
	}
	c.JSON(http.StatusOK, BulkResult{OK: rep.OK(), Report: rep})
}

// listSubmissions lists the key's organisation's submissions, optionally of one cycle.
func (s *Server) listSubmissions(c *gin.Context) {
	scope, err := s.scope(c)
	if err != nil {
		writeError(c, err)
		return
	}
	subs, err := scope.history(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	if cycle := c.Query("cycle"); cycle != "" {
		kept := subs[:0]
		for _, sub := range subs {
			if sub.Cycle == cycle {
				kept = append(kept, sub)
			}
		}
		subs = kept
	}
	c.JSON(http.StatusOK, gin.H{"org_id": scope.org, "submissions": subs})
}

// getSubmission returns one of the organisation's submissions with its answers and
// scorecard; any other ID, another organisation's included, is 404.
func (s *Server) getSubmission(c *gin.Context) {
	scope, err := s.scope(c)
	if err != nil {
		writeError(c, err)
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		// Not echoed: the answer is the same whatever was asked.
		writeError(c, model.Errorf(model.KindNotFound, "no such submission: IDs are positive whole numbers"))
		return
	}
	sub, err := scope.submission(c.Request.Context(), id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, sub)
}
