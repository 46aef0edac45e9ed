// Package api serves the HTTP JSON API under /api/v1 with gin: routes, authentication,
// the mapping from error kinds to statuses, and the OpenAPI document.
//
// Privacy is the product, so the package is built so that a route cannot reveal a figure
// about another organisation by mistake: provider routes read private data only through
// an orgScope bound to the key's own organisation (scope.go), and every cross-organisation
// figure comes from a stored release, served as stored (releases.go, benchmark.go).
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/dashboards"
	"github.com/hcztmm/warehouse/model"
)

// Config holds the server's settings; zero values get sensible defaults.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:8080".
	Addr string
	// TrustedProxies lists proxy addresses whose X-Forwarded-For is believed; empty trusts none.
	// It decides the client IP that failed authentication is rate-limited by.
	TrustedProxies []string
	// MaxBodyBytes bounds JSON request bodies (default 1 MiB); larger ones get 413.
	MaxBodyBytes int64
	// MaxUploadBytes bounds bulk submission uploads (default 32 MiB, far above a real
	// population file of one organisation's history); larger ones get 413.
	MaxUploadBytes int64
	// Logger receives structured request logs.
	Logger *slog.Logger

	// AuthFailureBurst is how many failed authentications one client IP may make before
	// it gets 429 (default 20); AuthFailureRefill is how often one failure is forgiven
	// (default 3s). A negative burst turns the limit off (tests of other things).
	AuthFailureBurst  int
	AuthFailureRefill time.Duration
	// WriteBurst and WriteRefill limit writes (POST, DELETE) per API key with a token
	// bucket; WriteBurst 0 (the default) means no per-key limit.
	WriteBurst  int
	WriteRefill time.Duration

	// KeyCacheTTL is how long an authenticated key is trusted from memory (default 1m).
	// Revocation through the API drops the key at once; the TTL bounds how long a key
	// revoked some other way keeps working.
	KeyCacheTTL time.Duration
	// OwnDataTTL bounds how long a provider's own figures are served from memory (default
	// 30s). Submissions through the API drop them at once.
	OwnDataTTL time.Duration
	// ReleaseListTTL is how often the latest release of a cycle is looked up again
	// (default 2s). Releases published through the API are seen at once.
	ReleaseListTTL time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = 32 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AuthFailureBurst == 0 {
		c.AuthFailureBurst = 20
	}
	if c.AuthFailureRefill <= 0 {
		c.AuthFailureRefill = 3 * time.Second
	}
	if c.WriteRefill <= 0 {
		c.WriteRefill = 100 * time.Millisecond
	}
	if c.KeyCacheTTL <= 0 {
		c.KeyCacheTTL = time.Minute
	}
	if c.OwnDataTTL <= 0 {
		c.OwnDataTTL = 30 * time.Second
	}
	if c.ReleaseListTTL <= 0 {
		c.ReleaseListTTL = 2 * time.Second
	}
	return c
}

// Readiness reports whether the server's dependencies can serve requests.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Deps are the parts the API serves from.
type Deps struct {
	// Models resolves model versions; required.
	Models *model.Registry
	// Ready backs /readyz; nil means always ready.
	Ready Readiness
	// Warehouse backs every /api/v1 route but the model ones; *warehouse.DB satisfies
	// it. Nil serves the model and health routes only and refuses every API key.
	Warehouse Warehouse
	// Pages, when set, are the dashboards, mounted under their prefix (see mountPages);
	// build them with Auth: KeyAuthenticator(db). Revoking a key through the API also
	// ends the key's dashboard sessions.
	Pages *dashboards.Pages
}

// Server is the HTTP API server.
type Server struct {
	cfg     Config
	deps    Deps
	wh      Warehouse
	engine  *gin.Engine
	http    *http.Server
	keys    *keyCache
	authLim *limiter
	writeLm *limiter
	audits  *auditGroup
	rels    *releaseCache
	bench   *benchCache
	metrics *metrics
	spec    []byte
}

// New builds the router. It does not listen; call Serve, or use Handler in process (tests,
// benchmarks and load generators drive it without a socket).
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Models == nil {
		return nil, errors.New("api: Deps.Models is required")
	}
	cfg = cfg.withDefaults()
	spec, err := openAPIJSON()
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	e.HandleMethodNotAllowed = true
	// Redirects would answer a mistyped path with a 301 and no error body; a client is
	// better served by a 404 that names the path.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	s := &Server{cfg: cfg, deps: deps, wh: deps.Warehouse, engine: e, spec: spec,
		keys:    newKeyCache(cfg.KeyCacheTTL),
		authLim: newLimiter(cfg.AuthFailureBurst, cfg.AuthFailureRefill),
		writeLm: newLimiter(cfg.WriteBurst, cfg.WriteRefill),
		metrics: newMetrics(deps.Warehouse),
	}
	s.rels = newReleaseCache(s.wh, cfg.ReleaseListTTL)
	if s.wh != nil {
		s.audits = newAuditGroup(s.wh)
	}
	s.bench = newBenchCache(cfg.OwnDataTTL)
	e.Use(s.recoverer(), s.requestIDMiddleware(), s.metrics.middleware(), s.logRequests(), securityHeaders(), validUTF8())
	e.NoRoute(func(c *gin.Context) {
		writeError(c, model.Errorf(model.KindNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(writeMethodNotAllowed)
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

// Handler exposes the router, for tests, benchmarks and load generators that drive it
// without a socket.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists the registered routes (method and gin path, e.g. /api/v1/cycles/:id), for
// the test that holds them against the OpenAPI document, and for tools.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

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

// routes registers every route. Each authenticated route names the roles it admits; the
// OpenAPI document lists the same routes (checked by TestOpenAPICoversRoutes).
func (s *Server) routes() {
	e := s.engine
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.json", s.getOpenAPI)
	e.GET("/metrics", s.auth(roleAdmin), s.metrics.handler())

	v1 := e.Group("/api/v1")
	v1.GET("/model", s.getLatestModel)
	v1.GET("/models/:version", s.getModel)

	// A provider's own organisation: read and write, nothing else.
	v1.GET("/organisations/me", s.auth(roleProvider), s.getOwnOrganisation)
	v1.POST("/submissions", s.auth(roleProvider), s.postSubmission)
	v1.POST("/submissions/bulk", s.auth(roleProvider), s.postBulk)
	v1.GET("/submissions", s.auth(roleProvider), s.listSubmissions)
	v1.GET("/submissions/:id", s.auth(roleProvider), s.getSubmission)
	v1.GET("/scorecards/:cycle", s.auth(roleProvider), s.getScorecard)
	v1.GET("/benchmark/:cycle", s.auth(roleProvider), s.getBenchmark)

	// Cycles: everyone reads them (providers need to know where to submit); admins
	// manage them; the budget is for those who spend or study it.
	v1.GET("/cycles", s.auth(anyRole...), s.listCycles)
	v1.POST("/cycles", s.auth(roleAdmin), s.postCycle)
	v1.GET("/cycles/:id", s.auth(anyRole...), s.getCycle)
	v1.POST("/cycles/:id/close", s.auth(roleAdmin), s.closeCycle)
	v1.GET("/cycles/:id/budget", s.auth(roleAdmin, roleResearcher), s.getBudget)

	// Releases are differentially private by construction: any key may read them.
	v1.GET("/releases", s.auth(anyRole...), s.listReleases)
	v1.GET("/releases/:id", s.auth(anyRole...), s.getRelease)
	v1.POST("/releases", s.auth(roleAdmin), s.postRelease)
	// Exports are files of the same stored figures, for analysts (and admins).
	v1.GET("/releases/:id/export", s.auth(roleAdmin, roleAnalyst), s.exportRelease)

	v1.GET("/audit", s.auth(roleAdmin), s.listAudit)
	v1.POST("/keys", s.auth(roleAdmin), s.postKey)
	v1.GET("/keys", s.auth(roleAdmin), s.listKeys)
	v1.DELETE("/keys/:id", s.auth(roleAdmin), s.deleteKey)

	s.mountPages()
}

func (s *Server) readyz(c *gin.Context) {
	if s.deps.Ready != nil {
		if err := s.deps.Ready.Ready(c.Request.Context()); err != nil {
			loggerOf(c).WarnContext(c.Request.Context(), "not ready", "err", err)
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

const (
	requestIDKey = "request_id"
	loggerKey    = "logger"
)

// requestIDMiddleware gives every request an ID (answered in X-Request-ID, logged with
// every line) and makes the server's logger reachable from helpers that only have the
// gin context.
func (s *Server) requestIDMiddleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		// Always our own ID: a client-chosen one could be used to forge log lines.
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		c.Set(requestIDKey, id)
		c.Set(loggerKey, s.cfg.Logger)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// loggerOf returns the server's logger (the default one before the middleware ran).
func loggerOf(c *gin.Context) *slog.Logger {
	if v, ok := c.Get(loggerKey); ok {
		if l, ok := v.(*slog.Logger); ok {
			return l
		}
	}
	return slog.Default()
}

func (s *Server) logRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", c.ClientIP()),
		}
		// The key's public ID, never the token, so that a log line names who did what.
		if p, ok := principalOf(c); ok {
			attrs = append(attrs, slog.String("key", p.ID))
		}
		s.cfg.Logger.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", attrs...)
	}
}

// securityHeaderValues are set on every answer. The keys are canonical and the value
// slices shared (net/http only reads them), so that the hot path does not canonicalise
// and allocate six headers per request.
var securityHeaderValues = map[string][]string{
	"X-Content-Type-Options":     {"nosniff"},
	"X-Frame-Options":            {"DENY"},
	"Referrer-Policy":            {"no-referrer"},
	"Cross-Origin-Opener-Policy": {"same-origin"},
	"Content-Security-Policy":    {"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"},
	// Answers carry private scores: no shared cache may keep them.
	"Cache-Control": {"no-store"},
}

func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for k, v := range securityHeaderValues {
			h[k] = v
		}
		c.Next()
	}
}

// validUTF8 makes path parameters and query values valid UTF-8 before any handler reads
// them, replacing bad bytes with U+FFFD. Every stored ID and name is valid UTF-8, so
// such a value cannot name anything, and the answer is what any other unknown value gets
// (404, an empty filter); but DuckDB refuses to bind it at all, which made it a 500.
func validUTF8() gin.HandlerFunc {
	return func(c *gin.Context) {
		for i, p := range c.Params {
			if !utf8.ValidString(p.Value) {
				c.Params[i].Value = strings.ToValidUTF8(p.Value, "\uFFFD")
			}
		}
		u := c.Request.URL
		if raw := u.RawQuery; strings.IndexByte(raw, '%') >= 0 || !utf8.ValidString(raw) {
			if q, err := url.QueryUnescape(raw); err == nil && !utf8.ValidString(q) {
				clean := url.Values{}
				for k, vs := range u.Query() {
					for _, v := range vs {
						clean.Add(strings.ToValidUTF8(k, "\uFFFD"), strings.ToValidUTF8(v, "\uFFFD"))
					}
				}
				u.RawQuery = clean.Encode()
			}
		}
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
				loggerOf(c).ErrorContext(c.Request.Context(), "panic", "request_id", requestID(c), "panic", r)
				writeError(c, errors.New("panic in handler"))
			}
		}()
		c.Next()
	}
}
