package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/warehouse"
)

// Defaults of a new cycle's privacy budget, as `hcztmm cycles create` has them.
const (
	defaultCycleEpsilon = 5.0
	defaultCycleDelta   = 1e-6
)

// CycleRequest is the body of POST /cycles. Omitted fields take the defaults: the latest
// model version, ε = 5 and δ = 1e-6.
type CycleRequest struct {
	ID           string   `json:"id"`
	ModelVersion string   `json:"model_version"`
	Epsilon      *float64 `json:"epsilon"`
	Delta        *float64 `json:"delta"`
}

func (s *Server) listCycles(c *gin.Context) {
	cycles, err := s.wh.ListCycles(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"cycles": cycles})
}

func (s *Server) getCycle(c *gin.Context) {
	cy, err := s.wh.GetCycle(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, cy)
}

func (s *Server) postCycle(c *gin.Context) {
	var req CycleRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	cy := warehouse.Cycle{ID: req.ID, ModelVersion: req.ModelVersion, Epsilon: defaultCycleEpsilon, Delta: defaultCycleDelta}
	if cy.ModelVersion == "" {
		cy.ModelVersion = s.deps.Models.Latest().Version
	}
	if req.Epsilon != nil {
		cy.Epsilon = *req.Epsilon
	}
	if req.Delta != nil {
		cy.Delta = *req.Delta
	}
	ctx := c.Request.Context()
	if err := s.wh.CreateCycle(ctx, cy); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "cycle.create", "cycle/"+cy.ID, fmt.Sprintf("model %s, epsilon %g, delta %g", cy.ModelVersion, cy.Epsilon, cy.Delta))
	created, err := s.wh.GetCycle(ctx, cy.ID)
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Location", "/api/v1/cycles/"+cy.ID)
	c.JSON(http.StatusCreated, created)
}

func (s *Server) closeCycle(c *gin.Context) {
	id := c.Param("id")
	ctx := c.Request.Context()
	if err := s.wh.CloseCycle(ctx, id); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "cycle.close", "cycle/"+id, "")
	cy, err := s.wh.GetCycle(ctx, id)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, cy)
}

func (s *Server) getBudget(c *gin.Context) {
	b, err := s.wh.Budget(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, b)
}
