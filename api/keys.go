package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/warehouse"
)

// KeyRequest is the body of POST /keys.
type KeyRequest struct {
	Role  string `json:"role"`
	OrgID string `json:"org_id"`
	Label string `json:"label"`
}

// CreatedKey answers POST /keys. Token is shown here once and never again: only its
// SHA-256 digest is stored.
type CreatedKey struct {
	Key   warehouse.APIKey `json:"key"`
	Token string           `json:"token"`
}

func (s *Server) postKey(c *gin.Context) {
	var req KeyRequest
	if err := decodeJSON(c, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(c, err)
		return
	}
	k, token, err := s.wh.CreateKey(c.Request.Context(), warehouse.Role(req.Role), req.OrgID, req.Label)
	if err != nil {
		writeError(c, err)
		return
	}
	detail := "role " + string(k.Role)
	if k.OrgID != "" {
		detail += ", organisation " + k.OrgID
	}
	s.audit(c, "key.create", "key/"+k.ID, detail)
	c.Header("Location", "/api/v1/keys/"+k.ID)
	c.JSON(http.StatusCreated, CreatedKey{Key: k, Token: token})
}

func (s *Server) listKeys(c *gin.Context) {
	keys, err := s.wh.ListKeys(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"keys": keys})
}

// deleteKey revokes a key and drops it from the authentication cache and the dashboards'
// sessions at once. A key may
// revoke itself; the answer is still sent, and the next request with it is 401.
func (s *Server) deleteKey(c *gin.Context) {
	k, err := s.wh.RevokeKey(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	s.keys.drop(k.ID)
	if s.deps.Pages != nil {
		s.deps.Pages.Sessions().RevokeKey(k.ID)
	}
	s.audit(c, "key.revoke", "key/"+k.ID, fmt.Sprintf("role %s", k.Role))
	c.JSON(http.StatusOK, k)
}
