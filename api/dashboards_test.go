package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/dashboards"
	"github.com/hcztmm/warehouse/warehouse"
)

// TestDashboardSessions signs in to the mounted pages with an API key, uses the session,
// and checks that revoking the key through the API ends the session at once.
func TestDashboardSessions(t *testing.T) {
	w := getWorld(t)
	k, token, err := w.db.CreateKey(context.Background(), warehouse.RoleProvider, w.orgA.ID, "browser")
	if err != nil {
		t.Fatal(err)
	}
	form := []byte(url.Values{"key": {token}, "next": {"benchmark"}}.Encode())
	r := w.do(t, w.base, req{method: "POST", path: "/dashboards/signin", ctype: "application/x-www-form-urlencoded", body: form})
	cookie := r.header.Get("Set-Cookie")
	if r.status != 303 || cookie == "" {
		t.Fatalf("sign-in: %s", r)
	}
	session := map[string]string{"Cookie": strings.Split(cookie, ";")[0]}
	r = w.do(t, w.base, req{method: "GET", path: "/dashboards/benchmark", header: session})
	if r.status != 200 || !strings.Contains(string(r.body), "Signed in as") {
		t.Fatalf("page with the session: %s", r)
	}
	if l := w.leaks(r.body, w.orgA.ID); len(l) > 0 {
		t.Errorf("the benchmark page reveals %v", l)
	}
	if del := w.do(t, w.base, req{method: "DELETE", path: "/api/v1/keys/" + k.ID, principal: pAdmin}); del.status != 200 {
		t.Fatal(del)
	}
	if r := w.do(t, w.base, req{method: "GET", path: "/dashboards/benchmark", header: session}); r.status != 303 {
		t.Errorf("the session outlived its key: %s", r)
	}
}

// TestDashboardSignInIsRateLimited checks that failed sign-ins count against the same
// per-address limit as failed API keys.
func TestDashboardSignInIsRateLimited(t *testing.T) {
	w := getWorld(t)
	pages, err := dashboards.New(dashboards.Config{}, dashboards.Deps{Models: w.reg, Releases: w.db,
		Orgs: dashboards.OrgScoped(w.db), Auth: api.KeyAuthenticator(w.db), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, api.Config{AuthFailureBurst: 2, AuthFailureRefill: time.Hour}, api.Deps{Models: w.reg, Warehouse: w.db, Pages: pages})
	bad := []byte(url.Values{"key": {"hczk_" + strings.Repeat("g", 43)}}.Encode())
	for i := range 2 {
		if r := w.do(t, base, req{method: "POST", path: "/dashboards/signin", ctype: "application/x-www-form-urlencoded", body: bad}); r.status != 401 {
			t.Fatalf("failure %d: %s", i, r)
		}
	}
	good := []byte(url.Values{"key": {w.tokens[pResearcher]}}.Encode())
	if r := w.do(t, base, req{method: "POST", path: "/dashboards/signin", ctype: "application/x-www-form-urlencoded", body: good}); r.status != 429 {
		t.Errorf("after the limit: %s", r)
	}
	if r := w.do(t, base, req{method: "GET", path: "/api/v1/cycles", principal: pResearcher}); r.status != 429 {
		t.Errorf("the API shares the limit: %s", r)
	}
}
