// Package api serves the HTTP JSON API under /api/v1 with gin: routes, authentication,
// the mapping from error kinds to statuses, and the OpenAPI document.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
)

// Config holds the server's settings; zero values get sensible defaults.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:8080".
	Addr string
	// TrustedProxies lists proxy addresses whose X-Forwarded-For is believed; empty trusts none.
	TrustedProxies []string
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// Logger receives structured request logs.
	Logger *slog.Logger
}

// Readiness reports whether the server's dependencies can serve requests.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Deps are the parts the API serves from.
type Deps struct {
	Models *model.Registry
	Ready  Readiness
}

// Server is the HTTP API server.
type Server struct {
	cfg    Config
	deps   Deps
	engine *gin.Engine
	http   *http.Server
}

// New builds the router. It does not listen; call Serve.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	e.HandleMethodNotAllowed = true
	s := &Server{cfg: cfg, deps: deps, engine: e}
	e.Use(s.recoverer(), requestIDMiddleware(), s.logRequests(), securityHeaders())
	e.NoRoute(func(c *gin.Context) {
		writeError(c, model.Errorf(model.KindNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Error: ErrorPayload{Code: "method_not_allowed",
			Message: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path, Details: []model.FieldError{}}})
	})
	s.routes()
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	return s, nil
}

// Handler exposes the router, for tests that drive it without a socket.
func (s *Server) Handler() http.Handler { return s.engine }

// Serve accepts connections on l until ctx is cancelled, then shuts down gracefully,
// letting requests in flight finish for up to 10 seconds.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.http.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) routes() {
	s.engine.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	s.engine.GET("/readyz", s.readyz)
	v1 := s.engine.Group("/api/v1")
	v1.GET("/model", s.getLatestModel)
	v1.GET("/models/:version", s.getModel)
}

func (s *Server) readyz(c *gin.Context) {
	if s.deps.Ready != nil {
		if err := s.deps.Ready.Ready(c.Request.Context()); err != nil {
			slog.WarnContext(c.Request.Context(), "not ready", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable"})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) getLatestModel(c *gin.Context) { c.JSON(http.StatusOK, s.deps.Models.Latest()) }

func (s *Server) getModel(c *gin.Context) {
	m, err := s.deps.Models.Get(c.Param("version"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}

const requestIDKey = "request_id"

func requestIDMiddleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		// Always our own ID: a client-chosen one could be used to forge log lines.
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		c.Set(requestIDKey, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

func (s *Server) logRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		s.cfg.Logger.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", c.ClientIP()))
	}
}

func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		c.Next()
	}
}

func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				slog.ErrorContext(c.Request.Context(), "panic", "request_id", requestID(c), "panic", r)
				writeError(c, errors.New("panic in handler"))
			}
		}()
		c.Next()
	}
}
