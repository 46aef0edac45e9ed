package dashboards

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hcztmm/warehouse/model"
)

// Sign-in for the pages: a person pastes the API key once, and a session cookie carries
// them afterwards, because a browser cannot send an Authorization header on its own.
//
//   - The key is checked by the API's Authenticator (the dashboards never see how keys
//     are stored) and is not kept: the session remembers only the Viewer it resolved to.
//   - The cookie holds a fresh 256-bit random token; the server keeps only its SHA-256,
//     so a memory dump of the session table cannot be replayed as cookies.
//   - The cookie is HttpOnly (scripts cannot read it), SameSite=Strict (other sites
//     cannot make the browser send it, which is the CSRF defence, with an Origin check on
//     every POST besides), Path = the mount prefix, Secure when served over TLS (and then
//     named with the __Host- prefix).
//   - Sessions end on sign-out, after IdleTimeout without a request, after MaxAge in any
//     case, when the key is revoked (RevokeKey, or the Check hook), and when the server
//     restarts (they live in memory: one process serves the warehouse).
//   - Every sign-in makes a new token and drops the one the browser came with, so a
//     token planted before sign-in is worthless afterwards (no session fixation).

// Authenticator resolves an API key to the viewer it stands for. The API implements it
// over its key store; it returns a model error of KindUnauthorized for an unknown or
// revoked key.
type Authenticator interface {
	Authenticate(ctx context.Context, apiKey string) (Viewer, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, apiKey string) (Viewer, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, apiKey string) (Viewer, error) {
	return f(ctx, apiKey)
}

// SessionConfig tunes Sessions; zero values get the defaults below.
type SessionConfig struct {
	// Path is the cookie path: the prefix the pages are mounted under. Default "/".
	Path string
	// Secure marks the cookie Secure and names it "__Host-hcztmm_session". Set it when
	// the pages are served over HTTPS (also behind a TLS-terminating proxy).
	Secure bool
	// IdleTimeout ends a session that has seen no request for this long. Default 30 min.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after sign-in, however active. Default 8 h.
	MaxAge time.Duration
	// MaxSessions bounds the table; beyond it the least recently used session is dropped.
	// Default 10,000.
	MaxSessions int
	// Check, when set, is asked on every request whether a session may continue (e.g.
	// whether its API key is still valid); an error ends the session.
	Check func(ctx context.Context, v Viewer) error
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Session defaults.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 8 * time.Hour
	DefaultMaxSessions = 10000
	cookieBaseName     = "hcztmm_session"
	sessionTokenBytes  = 32
)

// Sessions is the in-memory session table and the cookie mechanics around it. It is safe
// for concurrent use.
type Sessions struct {
	auth      Authenticator
	cfg       SessionConfig
	mu        sync.Mutex
	byDigest  map[[sha256.Size]byte]*session
	lastSweep time.Time
}

type session struct {
	viewer  Viewer
	created time.Time
	seen    time.Time
}

// NewSessions returns an empty session table that signs in with auth.
func NewSessions(auth Authenticator, cfg SessionConfig) *Sessions {
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sessions{auth: auth, cfg: cfg, byDigest: map[[sha256.Size]byte]*session{}}
}

// CookieName is the session cookie's name. When Secure it carries a browser-enforced
// prefix: "__Host-" (Secure, host-only, Path=/) when mounted at the root, "__Secure-"
// under a path prefix; "hcztmm_session" over plain HTTP on loopback.
func (s *Sessions) CookieName() string {
	if s.cfg.Secure && s.cfg.Path == "/" {
		return "__Host-" + cookieBaseName
	}
	if s.cfg.Secure {
		return "__Secure-" + cookieBaseName
	}
	return cookieBaseName
}

// SignIn checks an API key and, if it stands for a valid viewer, starts a session and
// sets its cookie on w. Any session the request came with is ended first. A refused key
// gives a KindUnauthorized error that says nothing about why.
func (s *Sessions) SignIn(w http.ResponseWriter, r *http.Request, apiKey string) (Viewer, error) {
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" || len(apiKey) > 512 || s.auth == nil {
		return Viewer{}, errNotSignedIn
	}
	v, err := s.auth.Authenticate(r.Context(), apiKey)
	if err != nil || !v.Valid() {
		return Viewer{}, errNotSignedIn
	}
	s.end(r)
	var raw [sessionTokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Viewer{}, model.Errorf(model.KindInternal, "dashboards: session token: %v", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.cfg.Now()
	s.mu.Lock()
	s.sweepLocked(now)
	if len(s.byDigest) >= s.cfg.MaxSessions {
		s.evictOldestLocked()
	}
	s.byDigest[sha256.Sum256([]byte(token))] = &session{viewer: v, created: now, seen: now}
	s.mu.Unlock()
	http.SetCookie(w, s.cookie(token, int(s.cfg.MaxAge/time.Second)))
	return v, nil
}

var errNotSignedIn = model.Errorf(model.KindUnauthorized, "that key was not accepted")

// SignOut ends the request's session, if any, and clears the cookie.
func (s *Sessions) SignOut(w http.ResponseWriter, r *http.Request) {
	s.end(r)
	http.SetCookie(w, s.cookie("", -1))
}

// Lookup returns the viewer of the request's session cookie, if the session is live.
func (s *Sessions) Lookup(r *http.Request) (Viewer, bool) {
	d, ok := s.digest(r)
	if !ok {
		return Viewer{}, false
	}
	now := s.cfg.Now()
	s.mu.Lock()
	sess, ok := s.byDigest[d]
	if ok && s.expired(sess, now) {
		delete(s.byDigest, d)
		ok = false
	}
	var v Viewer
	if ok {
		sess.seen = now
		v = sess.viewer
	}
	s.mu.Unlock()
	if !ok {
		return Viewer{}, false
	}
	if s.cfg.Check != nil {
		if err := s.cfg.Check(r.Context(), v); err != nil {
			s.mu.Lock()
			delete(s.byDigest, d)
			s.mu.Unlock()
			return Viewer{}, false
		}
	}
	return v, true
}

// Middleware puts the session's viewer into the request context (WithViewer) when the
// request has a live session and no viewer yet: a viewer the API set from its own
// authentication wins.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := ViewerFrom(r.Context()); !ok {
			if v, ok := s.Lookup(r); ok {
				r = r.WithContext(WithViewer(r.Context(), v))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// RevokeKey ends every session signed in with the given key ID and reports how many.
// The API calls it when it revokes a key.
func (s *Sessions) RevokeKey(keyID string) int {
	if keyID == "" {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for d, sess := range s.byDigest {
		if sess.viewer.KeyID == keyID {
			delete(s.byDigest, d)
			n++
		}
	}
	return n
}

// Len is the number of sessions held (live or not yet swept).
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byDigest)
}

func (s *Sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: s.CookieName(), Value: value, Path: s.cfg.Path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

func (s *Sessions) digest(r *http.Request) ([sha256.Size]byte, bool) {
	c, err := r.Cookie(s.CookieName())
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256([]byte(c.Value)), true
}

func (s *Sessions) end(r *http.Request) {
	if d, ok := s.digest(r); ok {
		s.mu.Lock()
		delete(s.byDigest, d)
		s.mu.Unlock()
	}
}

func (s *Sessions) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.seen) > s.cfg.IdleTimeout || now.Sub(sess.created) > s.cfg.MaxAge
}

// sweepLocked drops expired sessions, at most once a minute.
func (s *Sessions) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for d, sess := range s.byDigest {
		if s.expired(sess, now) {
			delete(s.byDigest, d)
		}
	}
}

func (s *Sessions) evictOldestLocked() {
	var oldest [sha256.Size]byte
	var at time.Time
	first := true
	for d, sess := range s.byDigest {
		if first || sess.seen.Before(at) {
			oldest, at, first = d, sess.seen, false
		}
	}
	if !first {
		delete(s.byDigest, oldest)
	}
}

// sameOrigin refuses cross-site form posts: when the browser says where a POST comes
// from (Sec-Fetch-Site, or Origin), it must be this host. SameSite=Strict already keeps
// the session cookie off cross-site requests; this also stops a foreign page from signing
// a visitor in with the attacker's key (login CSRF), where no cookie is involved yet.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	// A browser that withholds the origin (a no-referrer policy) sends "null"; the
	// browser-set Sec-Fetch-Site header still vouches for a same-origin form.
	if origin == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
