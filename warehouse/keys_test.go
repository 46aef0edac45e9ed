package warehouse

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hcztmm/warehouse/model"
)

func TestKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})

	admin, adminToken, err := db.CreateKey(ctx, RoleAdmin, "", "ops")
	if err != nil {
		t.Fatal(err)
	}
	prov, provToken, err := db.CreateKey(ctx, RoleProvider, "ORG-000001", "St Elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(admin.ID, keyIDPrefix) || len(admin.ID) != len(keyIDPrefix)+8 || admin.ID == prov.ID {
		t.Fatalf("key IDs %q %q", admin.ID, prov.ID)
	}
	if !WellFormedToken(adminToken) || adminToken == provToken || strings.Contains(adminToken, admin.ID) {
		t.Fatalf("tokens %q %q", adminToken, provToken)
	}

	// Only the digest is stored: the token appears nowhere in the table.
	var stored string
	if err := db.sql.QueryRowContext(ctx, `SELECT string_agg(key_id || digest || label, ',') FROM api_keys`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, adminToken) || strings.Contains(stored, adminToken[len(tokenPrefix):]) ||
		!strings.Contains(stored, TokenDigest(adminToken)) {
		t.Fatalf("stored keys hold the token or miss its digest: %s", stored)
	}

	got, err := db.LookupKey(ctx, provToken)
	if err != nil || got.ID != prov.ID || got.Role != RoleProvider || got.OrgID != "ORG-000001" || got.Label != "St Elsewhere" || got.Revoked() {
		t.Fatalf("lookup = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "Bearer " + provToken, provToken + "x", provToken[:len(provToken)-1] + "!",
		tokenPrefix + strings.Repeat("A", 43)} {
		if _, err := db.LookupKey(ctx, bad); model.ErrorKind(err) != model.KindUnauthorized {
			t.Errorf("lookup(%q) = %v, want unauthorized", bad, err)
		}
	}

	revoked, err := db.RevokeKey(ctx, prov.ID)
	if err != nil || !revoked.Revoked() {
		t.Fatalf("revoke = %+v, %v", revoked, err)
	}
	k, err := db.LookupKey(ctx, provToken)
	if model.ErrorKind(err) != model.KindUnauthorized || k.ID != prov.ID {
		t.Fatalf("lookup of revoked key = %+v, %v", k, err)
	}
	// Revoked and unknown keys get the same words, so a guesser learns nothing.
	_, errUnknown := db.LookupKey(ctx, tokenPrefix+strings.Repeat("B", 43))
	if err.Error() != errUnknown.Error() {
		t.Errorf("revoked %q and unknown %q differ", err, errUnknown)
	}
	if _, err := db.RevokeKey(ctx, prov.ID); model.ErrorKind(err) != model.KindConflict {
		t.Errorf("second revoke = %v", err)
	}
	if _, err := db.RevokeKey(ctx, "key_00000000"); model.ErrorKind(err) != model.KindNotFound {
		t.Errorf("revoke unknown = %v", err)
	}
	if _, err := db.GetKey(ctx, "key_nothere"); model.ErrorKind(err) != model.KindNotFound {
		t.Errorf("get unknown = %v", err)
	}

	keys, err := db.ListKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != admin.ID || !keys[1].Revoked() {
		t.Fatalf("list = %+v, %v", keys, err)
	}

	// Keys survive a reopen, revocation included.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := reopen(t, path, Options{})
	if k, err := db2.LookupKey(ctx, adminToken); err != nil || k.ID != admin.ID {
		t.Fatalf("after reopen: %+v, %v", k, err)
	}
	if _, err := db2.LookupKey(ctx, provToken); model.ErrorKind(err) != model.KindUnauthorized {
		t.Fatalf("revoked key works after reopen: %v", err)
	}
}

func TestCreateKeyValidation(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	tests := []struct {
		name        string
		role        Role
		org, label  string
		field, rule string
	}{
		{"unknown role", "root", "", "", "role", "unknown_role"},
		{"provider without org", RoleProvider, "", "", "org_id", "required"},
		{"provider bad org", RoleProvider, "ORG 1; DROP", "", "org_id", "format"},
		{"admin with org", RoleAdmin, "ORG-1", "", "org_id", "forbidden"},
		{"researcher with org", RoleResearcher, "ORG-1", "", "org_id", "forbidden"},
		{"long label", RoleAnalyst, "", strings.Repeat("x", 201), "label", "too_long"},
		{"control label", RoleAnalyst, "", "a\nb", "label", "control_characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, token, err := db.CreateKey(ctx, tt.role, tt.org, tt.label)
			if token != "" || model.ErrorKind(err) != model.KindInvalid {
				t.Fatalf("err = %v, token %q", err, token)
			}
			var me *model.Error
			if !asModelError(err, &me) || len(me.Details) == 0 || me.Details[0].Field != tt.field || me.Details[0].Rule != tt.rule {
				t.Fatalf("details = %+v", me)
			}
		})
	}
	if keys, _ := db.ListKeys(ctx); len(keys) != 0 {
		t.Fatalf("invalid requests stored keys: %+v", keys)
	}
}

func TestCreateKeysConcurrently(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	const n = 40
	var wg sync.WaitGroup
	tokens := make([]string, n)
	for i := range n {
		wg.Go(func() {
			_, tok, err := db.CreateKey(ctx, RoleResearcher, "", "")
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, tok := range tokens {
		k, err := db.LookupKey(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		ids[k.ID] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct keys of %d", len(ids), n)
	}
}
