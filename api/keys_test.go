package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/warehouse"
)

// TestKeysThroughTheAPI mints, uses, lists and revokes keys as an admin: the token is
// shown once and nowhere after, and a revoked key stops working at once although keys
// are cached.
func TestKeysThroughTheAPI(t *testing.T) {
	w := getWorld(t)
	r := w.do(t, w.base, req{method: "POST", path: "/api/v1/keys", principal: pAdmin, ctype: "application/json",
		body: []byte(`{"role":"provider","org_id":"` + w.orgA.ID + `","label":"second key"}`)})
	var created api.CreatedKey
	if r.status != 201 || json.Unmarshal(r.body, &created) != nil || !warehouse.WellFormedToken(created.Token) ||
		created.Key.Role != warehouse.RoleProvider || created.Key.OrgID != w.orgA.ID || r.header.Get("Location") != "/api/v1/keys/"+created.Key.ID {
		t.Fatalf("create: %s", r)
	}
	use := func() resp {
		return w.do(t, w.base, req{method: "GET", path: "/api/v1/organisations/me", token: created.Token})
	}
	for range 2 { // the second from the cache
		if r := use(); r.status != 200 || !strings.Contains(string(r.body), w.orgA.ID) {
			t.Fatalf("new key: %s", r)
		}
	}
	list := w.do(t, w.base, req{method: "GET", path: "/api/v1/keys", principal: pAdmin})
	if list.status != 200 || !strings.Contains(string(list.body), created.Key.ID) || strings.Contains(string(list.body), created.Token) ||
		strings.Contains(string(list.body), created.Token[5:]) {
		t.Fatalf("list shows the token or misses the key: %s", list)
	}
	for _, tok := range w.tokens {
		if strings.Contains(string(list.body), tok) {
			t.Fatal("list shows a token")
		}
	}
	del := w.do(t, w.base, req{method: "DELETE", path: "/api/v1/keys/" + created.Key.ID, principal: pAdmin})
	var revoked warehouse.APIKey
	if del.status != 200 || json.Unmarshal(del.body, &revoked) != nil || revoked.RevokedAt == nil {
		t.Fatalf("revoke: %s", del)
	}
	if r := use(); r.status != 401 {
		t.Fatalf("revoked key still works: %s", r)
	}
	if r := w.do(t, w.base, req{method: "DELETE", path: "/api/v1/keys/" + created.Key.ID, principal: pAdmin}); r.status != 409 {
		t.Errorf("revoke twice: %s", r)
	}
	if r := w.do(t, w.base, req{method: "DELETE", path: "/api/v1/keys/key_00000000", principal: pAdmin}); r.status != 404 {
		t.Errorf("revoke unknown: %s", r)
	}

	bad := []struct {
		body, field, rule string
	}{
		{`{"role":"root"}`, "role", "unknown_role"},
		{`{"role":"provider"}`, "org_id", "required"},
		{`{"role":"analyst","org_id":"ORG-1"}`, "org_id", "forbidden"},
		{`{"role":"admin","label":"` + strings.Repeat("x", 300) + `"}`, "label", "too_long"},
	}
	for _, b := range bad {
		r := w.do(t, w.base, req{method: "POST", path: "/api/v1/keys", principal: pAdmin, ctype: "application/json", body: []byte(b.body)})
		eb := errorBody(t, r)
		if r.status != 400 || len(eb.Error.Details) == 0 || eb.Error.Details[0].Field != b.field || eb.Error.Details[0].Rule != b.rule {
			t.Errorf("%s: %s", b.body, r)
		}
	}

	// Every admin action above is in the audit log, by key ID, never by token.
	audit := w.do(t, w.base, req{method: "GET", path: "/api/v1/audit?limit=1000", principal: pAdmin})
	var entries struct{ Entries []warehouse.AuditEntry }
	if err := json.Unmarshal(audit.body, &entries); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries.Entries {
		if e.Object == "key/"+created.Key.ID {
			seen[e.Action] = true
			if !strings.HasPrefix(e.Actor, "key_") || strings.Contains(e.Actor, "hczk_") {
				t.Errorf("actor %q", e.Actor)
			}
		}
	}
	if !seen["key.create"] || !seen["key.revoke"] {
		t.Errorf("audit misses key actions: %v", seen)
	}
	for _, q := range []string{"0", "1001", "x"} {
		if r := w.do(t, w.base, req{method: "GET", path: "/api/v1/audit?limit=" + q, principal: pAdmin}); r.status != 400 {
			t.Errorf("limit %s: %s", q, r)
		}
	}
}

// TestAuthFailuresAreRateLimited checks that one address failing authentication too
// often gets 429 with Retry-After, for every key including valid ones (so a guesser
// learns nothing while limited), and that X-Forwarded-For from an untrusted peer does
// not get around it.
func TestAuthFailuresAreRateLimited(t *testing.T) {
	w := getWorld(t)
	base := startServer(t, api.Config{AuthFailureBurst: 3, AuthFailureRefill: time.Hour}, api.Deps{Models: w.reg, Warehouse: w.db})
	for i := range 3 {
		if r := w.do(t, base, req{method: "GET", path: "/api/v1/cycles", principal: pGarbage}); r.status != 401 {
			t.Fatalf("failure %d: %s", i, r)
		}
	}
	for _, r := range []req{
		{method: "GET", path: "/api/v1/cycles", principal: pGarbage},
		{method: "GET", path: "/api/v1/cycles", principal: pAdmin},
		{method: "GET", path: "/api/v1/cycles", principal: pAdmin, header: map[string]string{"X-Forwarded-For": "203.0.113.9"}},
	} {
		got := w.do(t, base, r)
		if got.status != 429 || got.header.Get("Retry-After") == "" || errorBody(t, got).Error.Code != "rate_limited" {
			t.Errorf("%s %v: %s", r.principal, r.header, got)
		}
	}
	// Public routes are not behind authentication, so not behind its limit either.
	if r := w.do(t, base, req{method: "GET", path: "/healthz"}); r.status != 200 {
		t.Errorf("healthz: %s", r)
	}
}

// TestWritesAreRateLimitedPerKey checks the optional per-key write limit.
func TestWritesAreRateLimitedPerKey(t *testing.T) {
	w := getWorld(t)
	base := startServer(t, api.Config{AuthFailureBurst: -1, WriteBurst: 1, WriteRefill: time.Hour}, api.Deps{Models: w.reg, Warehouse: w.db})
	post := func() resp {
		return w.do(t, base, req{method: "POST", path: "/api/v1/cycles", principal: pAdmin, ctype: "application/json", body: []byte(`{"id":"x y"}`)})
	}
	if r := post(); r.status != 400 {
		t.Fatalf("first write: %s", r)
	}
	if r := post(); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("second write: %s", r)
	}
	if r := w.do(t, base, req{method: "GET", path: "/api/v1/cycles", principal: pAdmin}); r.status != 200 {
		t.Errorf("reads are not limited: %s", r)
	}
}
