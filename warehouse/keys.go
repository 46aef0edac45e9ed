package warehouse

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/hcztmm/warehouse/model"
)

// Role is what an API key may do. The API maps each role to its routes; the warehouse
// only stores it and keeps the organisation binding consistent with it.
type Role string

// The roles of API keys (DESIGN.md §6).
const (
	// RoleAdmin manages cycles, releases, keys and reads the audit log.
	RoleAdmin Role = "admin"
	// RoleResearcher reads releases and cycle budgets.
	RoleResearcher Role = "researcher"
	// RoleAnalyst reads releases (and exports them).
	RoleAnalyst Role = "analyst"
	// RoleProvider reads and writes the data of exactly one organisation.
	RoleProvider Role = "provider"
)

// Roles lists every role, in the order help texts show them.
func Roles() []Role { return []Role{RoleAdmin, RoleResearcher, RoleAnalyst, RoleProvider} }

// ParseRole reads a role name (KindInvalid for anything else).
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", model.Invalid("unknown role", model.FieldError{Field: "role", Rule: "unknown_role", Value: shorten(s),
		Message: fmt.Sprintf("role %q is not one of admin, researcher, analyst, provider", shorten(s))})
}

// APIKey describes a stored key. It never holds the token: after CreateKey returns, the
// token exists only with whoever it was given to.
type APIKey struct {
	// ID is public: logs, the audit log and revocation name a key by it.
	ID   string `json:"id"`
	Role Role   `json:"role"`
	// OrgID is the organisation a provider key is bound to; empty for other roles.
	OrgID     string     `json:"org_id,omitempty"`
	Label     string     `json:"label"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Revoked reports whether the key has been revoked.
func (k APIKey) Revoked() bool { return k.RevokedAt != nil }

// Token format: a fixed prefix (so that secret scanners and people can recognise a
// leaked key) and 32 random bytes in unpadded base64url.
const (
	tokenPrefix    = "hczk_"
	tokenRandBytes = 32
	tokenLen       = len(tokenPrefix) + 43 // base64.RawURLEncoding.EncodedLen(32)
	keyIDPrefix    = "key_"
	maxLabelLen    = 200
)

// keyOrgPattern is the organisation ID syntax the model accepts (model.ValidateProfile),
// so that a provider key can be bound to any organisation that can submit.
var keyOrgPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)

// TokenDigest returns the hex SHA-256 of a token: what is stored and looked up. Callers
// that cache keys (the API) key their cache by it, so that no comparison ever runs over
// the secret itself.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// WellFormedToken reports whether s has the shape of a token CreateKey mints. It lets a
// caller refuse garbage without a query; it says nothing about whether the key exists.
func WellFormedToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, tokenPrefix) {
		return false
	}
	for i := len(tokenPrefix); i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validateKey(role Role, orgID, label string) error {
	var errs []model.FieldError
	if _, err := ParseRole(string(role)); err != nil {
		errs = append(errs, err.(*model.Error).Details...)
	}
	switch {
	case role == RoleProvider && orgID == "":
		errs = append(errs, model.FieldError{Field: "org_id", Rule: "required",
			Message: "a provider key must name the organisation it is bound to"})
	case role == RoleProvider && !keyOrgPattern.MatchString(orgID):
		errs = append(errs, model.FieldError{Field: "org_id", Rule: "format", Value: shorten(orgID),
			Message: fmt.Sprintf("org_id %q must be 1-64 letters, digits, '-', '_', '.' or '+'", shorten(orgID))})
	case role != RoleProvider && orgID != "":
		errs = append(errs, model.FieldError{Field: "org_id", Rule: "forbidden", Value: shorten(orgID),
			Message: fmt.Sprintf("only provider keys are bound to an organisation; a %s key must not name one", role)})
	}
	if len(label) > maxLabelLen {
		errs = append(errs, model.FieldError{Field: "label", Rule: "too_long", Value: shorten(label),
			Message: fmt.Sprintf("label is longer than %d bytes", maxLabelLen)})
	} else if strings.IndexFunc(label, unicode.IsControl) >= 0 {
		// Labels end up in logs and terminals; control characters could forge lines there.
		errs = append(errs, model.FieldError{Field: "label", Rule: "control_characters", Value: shorten(label),
			Message: "label must not contain control characters"})
	}
	if len(errs) > 0 {
		return model.Invalid("invalid API key request", errs...)
	}
	return nil
}

// CreateKey mints a key and returns it with its token. The token is returned here once
// and never stored: only its SHA-256 digest is. A provider key must name the
// organisation it is bound to (which need not have submitted yet); other roles must not.
func (db *DB) CreateKey(ctx context.Context, role Role, orgID, label string) (APIKey, string, error) {
	if err := validateKey(role, orgID, label); err != nil {
		return APIKey{}, "", fmt.Errorf("warehouse: create key: %w", err)
	}
	var secret [tokenRandBytes]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return APIKey{}, "", fmt.Errorf("warehouse: create key: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	digest := TokenDigest(token)
	k := APIKey{Role: role, OrgID: orgID, Label: label, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	var org any
	if orgID != "" {
		org = orgID
	}
	err := db.do(ctx, func(w *writer) error {
		ctx := context.Background()
		// The ID is a short random name, independent of the token; on the rare clash
		// another is drawn.
		for range 8 {
			var b [4]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			id := keyIDPrefix + hex.EncodeToString(b[:])
			var n int
			if err := w.conn.QueryRowContext(ctx, `SELECT count(*) FROM `+w.t("api_keys")+` WHERE key_id = ?`, id).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			k.ID = id
			_, err := w.conn.ExecContext(ctx, `INSERT INTO `+w.t("api_keys")+
				` (key_id, digest, role, org_id, label, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				id, digest, string(role), org, label, k.CreatedAt)
			return err
		}
		return errors.New("could not draw an unused key ID")
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("warehouse: create key: %w", err)
	}
	return k, token, nil
}

// errBadKey is the one answer to every token that does not authenticate, so that the
// answer does not tell a guesser which part was wrong.
func errBadKey() error {
	return model.Errorf(model.KindUnauthorized, "the API key is not valid (unknown, revoked or malformed)")
}

const keyColumns = `key_id, role, coalesce(org_id, ''), label, created_at, revoked_at`

func scanKey(sc interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var role string
	var revoked sql.NullTime
	if err := sc.Scan(&k.ID, &role, &k.OrgID, &k.Label, &k.CreatedAt, &revoked); err != nil {
		return k, err
	}
	k.Role = Role(role)
	k.CreatedAt = k.CreatedAt.UTC()
	if revoked.Valid {
		t := revoked.Time.UTC()
		k.RevokedAt = &t
	}
	return k, nil
}

// LookupKey authenticates a token. An unknown, malformed or revoked token is a
// KindUnauthorized error with the same message for all three; for a revoked key the
// key itself is returned too, so that the caller can log which key was used. The token
// is hashed and the digest looked up: no comparison runs over the secret, so timing
// reveals nothing about it.
func (db *DB) LookupKey(ctx context.Context, token string) (APIKey, error) {
	if !WellFormedToken(token) {
		return APIKey{}, errBadKey()
	}
	k, err := scanKey(db.sql.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE digest = ?`, TokenDigest(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, errBadKey()
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("warehouse: lookup key: %w", err)
	}
	if k.Revoked() {
		return k, errBadKey()
	}
	return k, nil
}

// GetKey describes one key by its public ID (KindNotFound if there is none).
func (db *DB) GetKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanKey(db.sql.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE key_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, model.Errorf(model.KindNotFound, "API key %q does not exist", shorten(id))
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("warehouse: get key: %w", err)
	}
	return k, nil
}

// RevokeKey revokes a key for good and returns it as revoked. Revoking an unknown key is
// KindNotFound, revoking a revoked one KindConflict. Callers that cache keys must drop
// the key from their cache (the API does).
func (db *DB) RevokeKey(ctx context.Context, id string) (APIKey, error) {
	var k APIKey
	err := db.do(ctx, func(w *writer) error {
		ctx := context.Background()
		var err error
		k, err = scanKey(w.conn.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM `+w.t("api_keys")+` WHERE key_id = ?`, bindableKey(id)))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return model.Errorf(model.KindNotFound, "API key %q does not exist", shorten(id))
		case err != nil:
			return err
		case k.Revoked():
			return model.Errorf(model.KindConflict, "API key %s is already revoked", k.ID)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		if _, err := w.conn.ExecContext(ctx, `UPDATE `+w.t("api_keys")+` SET revoked_at = ? WHERE key_id = ?`, now, id); err != nil {
			return err
		}
		k.RevokedAt = &now
		return nil
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("warehouse: revoke key: %w", err)
	}
	return k, nil
}

// ListKeys returns every key, revoked ones included, oldest first. Tokens are not stored,
// so none is returned.
func (db *DB) ListKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, key_id`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: list keys: %w", err)
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("warehouse: list keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: list keys: %w", err)
	}
	return out, nil
}

// shorten keeps a caller's value short enough to echo in an error message.
func shorten(s string) string { return model.Clip(s, model.MaxQuoted) }
