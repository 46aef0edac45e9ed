package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
)

// getOwnOrganisation returns the key's organisation's stored profile and cohort keys.
func (s *Server) getOwnOrganisation(c *gin.Context) {
	scope, err := s.scope(c)
	if err != nil {
		writeError(c, err)
		return
	}
	org, err := scope.profile(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, org)
}

// Scorecard answers GET /scorecards/{cycle}: the organisation's current scorecard.
type Scorecard struct {
	OrgID        string           `json:"org_id"`
	Cycle        string           `json:"cycle"`
	SubmissionID int64            `json:"submission_id"`
	ModelVersion string           `json:"model_version"`
	CohortKeys   model.CohortKeys `json:"cohort_keys"`
	Scorecard    model.Scorecard  `json:"scorecard"`
}

func (s *Server) getScorecard(c *gin.Context) {
	scope, err := s.scope(c)
	if err != nil {
		writeError(c, err)
		return
	}
	sub, err := scope.current(c.Request.Context(), c.Param("cycle"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, Scorecard{OrgID: scope.org, Cycle: sub.Cycle, SubmissionID: sub.ID, ModelVersion: sub.ModelVersion,
		CohortKeys: sub.Keys, Scorecard: sub.Score})
}
