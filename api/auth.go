package api

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hcztmm/warehouse/model"
	"github.com/hcztmm/warehouse/warehouse"
)

// Short names for the roles, as routes list them.
const (
	roleAdmin      = warehouse.RoleAdmin
	roleResearcher = warehouse.RoleResearcher
	roleAnalyst    = warehouse.RoleAnalyst
	roleProvider   = warehouse.RoleProvider
)

// anyRole admits every authenticated key.
var anyRole = []warehouse.Role{roleAdmin, roleResearcher, roleAnalyst, roleProvider}

const principalKey = "principal"

// principalOf returns the key that authenticated the request.
func principalOf(c *gin.Context) (warehouse.APIKey, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return warehouse.APIKey{}, false
	}
	k, ok := v.(warehouse.APIKey)
	return k, ok
}

// auth authenticates the request's bearer token and admits only the given roles:
// 401 without a valid key, 429 for a client IP that failed too often, 403 for a valid
// key of another role. Writes are also limited per key when Config.WriteBurst is set.
func (s *Server) auth(roles ...warehouse.Role) gin.HandlerFunc {
	allowed := map[warehouse.Role]bool{}
	names := make([]string, len(roles))
	for i, r := range roles {
		allowed[r] = true
		names[i] = string(r)
	}
	forbidden := "this route is for " + strings.Join(names, ", ") + " keys"
	return func(c *gin.Context) {
		k, ok := s.authenticate(c)
		if !ok {
			return
		}
		c.Set(principalKey, k)
		if !allowed[k.Role] {
			writeError(c, model.Errorf(model.KindForbidden, "%s; this key is a %s key", forbidden, k.Role))
			return
		}
		if c.Request.Method != http.MethodGet {
			if ok, wait := s.writeLm.take(k.ID, time.Now()); !ok {
				s.metrics.rateLimited.WithLabelValues("write").Inc()
				c.Header("Retry-After", retryAfter(wait))
				writeError(c, model.Errorf(model.KindRateLimited, "too many writes with this key; retry in %s", retryAfter(wait)+"s"))
				return
			}
		}
		c.Next()
	}
}

// authenticate finds the key of the request, or answers 401 or 429 and returns false.
func (s *Server) authenticate(c *gin.Context) (warehouse.APIKey, bool) {
	ip := c.ClientIP()
	now := time.Now()
	// A client that failed too often is refused before its token is even looked at, so
	// that a guesser gets no answer at all, right or wrong, until its bucket refills.
	if blocked, wait := s.authLim.blocked(ip, now); blocked {
		s.metrics.rateLimited.WithLabelValues("auth").Inc()
		c.Header("Retry-After", retryAfter(wait))
		writeError(c, model.Errorf(model.KindRateLimited, "too many failed authentications from this address; retry in %ss", retryAfter(wait)))
		return warehouse.APIKey{}, false
	}
	h := c.GetHeader("Authorization")
	if h == "" {
		s.unauthorized(c, "missing", "an API key is required: send Authorization: Bearer <key>")
		return warehouse.APIKey{}, false
	}
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || !warehouse.WellFormedToken(strings.TrimSpace(token)) {
		s.authLim.fail(ip, now)
		s.unauthorized(c, "malformed", "the Authorization header must be Bearer followed by an API key")
		return warehouse.APIKey{}, false
	}
	k, err := s.lookupKey(c.Request.Context(), strings.TrimSpace(token))
	if err != nil {
		if model.ErrorKind(err) != model.KindUnauthorized {
			writeError(c, err)
			return warehouse.APIKey{}, false
		}
		s.authLim.fail(ip, now)
		if k.ID != "" {
			loggerOf(c).WarnContext(c.Request.Context(), "revoked API key used", "request_id", requestID(c), "key", k.ID, "remote", ip)
		}
		s.unauthorized(c, "invalid", "the API key is not valid (unknown, revoked or malformed)")
		return warehouse.APIKey{}, false
	}
	return k, true
}

func (s *Server) unauthorized(c *gin.Context, reason, msg string) {
	s.metrics.authFailures.WithLabelValues(reason).Inc()
	c.Header("WWW-Authenticate", `Bearer realm="hcztmm"`)
	writeError(c, model.Errorf(model.KindUnauthorized, "%s", msg))
}

// lookupKey authenticates a well-formed token from memory when it can. Only keys that
// authenticated are cached, so garbage tokens cannot grow the cache.
func (s *Server) lookupKey(ctx context.Context, token string) (warehouse.APIKey, error) {
	digest := sha256.Sum256([]byte(token)) // = warehouse.TokenDigest, without the hex
	if k, ok := s.keys.get(digest, time.Now()); ok {
		return k, nil
	}
	if s.wh == nil {
		return warehouse.APIKey{}, model.Errorf(model.KindUnauthorized, "this server has no key store")
	}
	k, err := s.wh.LookupKey(ctx, token)
	if err != nil {
		if model.ErrorKind(err) == model.KindUnauthorized {
			// The warehouse's words are the same for unknown, revoked and malformed.
			return k, model.Errorf(model.KindUnauthorized, "the API key is not valid (unknown, revoked or malformed)")
		}
		return k, err
	}
	s.keys.put(digest, k, time.Now())
	return k, nil
}

func retryAfter(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(secs, 1))
}

// keyCache keeps authenticated keys in memory, by token digest, so that authentication
// costs one hash and one map lookup on the hot path. Keys are few; entries expire after
// a TTL and are dropped at once when revoked through the API.
type keyCache struct {
	mu  sync.RWMutex
	ttl time.Duration
	m   map[[sha256.Size]byte]cachedKey
}

type cachedKey struct {
	key     warehouse.APIKey
	expires time.Time
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: map[[sha256.Size]byte]cachedKey{}}
}

func (kc *keyCache) get(digest [sha256.Size]byte, now time.Time) (warehouse.APIKey, bool) {
	kc.mu.RLock()
	e, ok := kc.m[digest]
	kc.mu.RUnlock()
	if !ok || now.After(e.expires) {
		return warehouse.APIKey{}, false
	}
	return e.key, true
}

func (kc *keyCache) put(digest [sha256.Size]byte, k warehouse.APIKey, now time.Time) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	// Expired entries are swept when the cache grows, so it stays the size of the set of
	// keys in use.
	if len(kc.m) >= 1024 {
		for d, e := range kc.m {
			if now.After(e.expires) {
				delete(kc.m, d)
			}
		}
	}
	kc.m[digest] = cachedKey{key: k, expires: now.Add(kc.ttl)}
}

// drop forgets a key by its public ID (after revocation).
func (kc *keyCache) drop(id string) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	for d, e := range kc.m {
		if e.key.ID == id {
			delete(kc.m, d)
		}
	}
}
