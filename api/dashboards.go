package api

import (
	"context"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/dashboards"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// KeyAuthenticator lets the dashboards' sign-in check API keys against the key store, so
// that one key opens the API and the pages with the same rights. Pass it as
// dashboards.Deps.Auth.
func KeyAuthenticator(ks KeyStore) dashboards.Authenticator {
	return dashboards.AuthenticatorFunc(func(ctx context.Context, key string) (dashboards.Viewer, error) {
		k, err := ks.LookupKey(ctx, strings.TrimSpace(key))
		if err != nil {
			return dashboards.Viewer{}, err
		}
		return viewerOf(k), nil
	})
}

// viewerOf is the dashboards' view of an API key. The role names are the same.
func viewerOf(k warehouse.APIKey) dashboards.Viewer {
	return dashboards.Viewer{Role: dashboards.Role(k.Role), OrgID: k.OrgID, KeyID: k.ID}
}

// mountPages serves the dashboards under their prefix, for GET and POST only. The pages
// do their own sign-in and role checks; in front of them this gate lets a script use a
// Bearer key instead of a session (authenticated exactly as on the API, limits included),
// and counts failed sign-ins against the same per-address limit as failed API keys.
func (s *Server) mountPages() {
	p := s.deps.Pages
	if p == nil {
		return
	}
	h := gin.WrapH(p.Handler())
	gate := s.pagesGate()
	pre := p.Prefix()
	s.engine.GET(pre, gate, h)
	s.engine.GET(pre+"/*path", gate, h)
	s.engine.POST(pre+"/*path", gate, h)
}

func (s *Server) pagesGate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") != "" {
			k, ok := s.authenticate(c)
			if !ok {
				return
			}
			c.Set(principalKey, k)
			c.Request = c.Request.WithContext(dashboards.WithViewer(c.Request.Context(), viewerOf(k)))
			c.Next()
			return
		}
		if c.Request.Method != "POST" {
			c.Next()
			return
		}
		// A sign-in (or sign-out) form: a guessed key must cost as much here as on the API.
		ip, now := c.ClientIP(), time.Now()
		if blocked, wait := s.authLim.blocked(ip, now); blocked {
			s.metrics.rateLimited.WithLabelValues("auth").Inc()
			c.Header("Retry-After", retryAfter(wait))
			writeError(c, model.Errorf(model.KindRateLimited, "too many failed sign-ins from this address; retry in %ss", retryAfter(wait)))
			return
		}
		c.Next()
		if c.Writer.Status() == 401 {
			s.authLim.fail(ip, now)
			s.metrics.authFailures.WithLabelValues("signin").Inc()
		}
	}
}
