package dashboards

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// postForm sends a sign-in or sign-out form as a browser on the same site would.
func postForm(h http.Handler, path string, form url.Values, cookies []*http.Cookie, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://example.com") // httptest's Host
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func getWith(h http.Handler, path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieBaseName {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", rec.Header()["Set-Cookie"])
	return nil
}

func TestSignInSetsAStrictHttpOnlyCookie(t *testing.T) {
	e := newTestPages(t, defaultName)
	rec := postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-provider"}}, nil, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/dashboards/benchmark" {
		t.Fatalf("sign-in: %d → %q", rec.Code, rec.Header().Get("Location"))
	}
	c := sessionCookie(t, rec)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/dashboards" || c.MaxAge <= 0 {
		t.Fatalf("cookie %+v is not HttpOnly, SameSite=Strict, Path=/dashboards with a lifetime", c)
	}
	if len(c.Value) < 40 || strings.Contains(c.Value, "key-provider") {
		t.Fatalf("cookie value %q is not a fresh random token", c.Value)
	}
	page := getWith(e.handler, "/dashboards/benchmark", []*http.Cookie{c})
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), testOrg) {
		t.Fatalf("session did not open the benchmark: %d", page.Code)
	}
	// Each role lands on its own page.
	for key, home := range map[string]string{"key-researcher": "findings", "key-analyst": "explorer", "key-admin": "findings"} {
		rec := postForm(e.handler, "/dashboards/signin", url.Values{"key": {key}}, nil, nil)
		if got := rec.Header().Get("Location"); got != "/dashboards/"+home {
			t.Errorf("%s lands on %q", key, got)
		}
	}
}

func TestSignInRefusesBadKeysAndForeignPosts(t *testing.T) {
	e := newTestPages(t, defaultName)
	for _, key := range []string{"", "nope", strings.Repeat("x", 600)} {
		rec := postForm(e.handler, "/dashboards/signin", url.Values{"key": {key}}, nil, nil)
		if rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
			t.Errorf("key %.10q: status %d, cookies %v", key, rec.Code, rec.Result().Cookies())
		}
		if !strings.Contains(rec.Body.String(), "That key was not accepted.") {
			t.Errorf("key %.10q: no message", key)
		}
	}
	for name, h := range map[string]map[string]string{
		"cross-site origin":                  {"Origin": "https://evil.example"},
		"cross-site fetch":                   {"Sec-Fetch-Site": "cross-site"},
		"same-site fetch":                    {"Sec-Fetch-Site": "same-site"},
		"null origin without fetch metadata": {"Origin": "null", "Sec-Fetch-Site": ""},
		"null origin cross-site":             {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
	} {
		rec := postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-provider"}}, nil, h)
		if rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: status %d, cookies %v", name, rec.Code, rec.Result().Cookies())
		}
	}
	// A browser that withholds the origin still signs in from our own form.
	rec := postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-provider"}}, nil,
		map[string]string{"Origin": "null", "Sec-Fetch-Site": "same-origin"})
	if rec.Code != http.StatusSeeOther || len(rec.Result().Cookies()) == 0 {
		t.Errorf("same-origin form with Origin: null: status %d", rec.Code)
	}
	// The post-sign-in destination is one of our pages, never an arbitrary URL.
	for _, next := range []string{"https://evil.example", "//evil.example", "/etc", "../api/v1/keys"} {
		rec := postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-analyst"}, "next": {next}}, nil, nil)
		if got := rec.Header().Get("Location"); got != "/dashboards/explorer" {
			t.Errorf("next=%q redirected to %q", next, got)
		}
	}
	rec = postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-researcher"}, "next": {"explorer"}}, nil, nil)
	if got := rec.Header().Get("Location"); got != "/dashboards/explorer" {
		t.Errorf("next=explorer redirected to %q", got)
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	e := newTestPages(t, defaultName)
	c := sessionCookie(t, postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-researcher"}}, nil, nil))
	// A foreign page cannot sign the viewer out either.
	if rec := postForm(e.handler, "/dashboards/signout", nil, []*http.Cookie{c}, map[string]string{"Origin": "https://evil.example"}); rec.Code != http.StatusForbidden {
		t.Fatalf("foreign sign-out: %d", rec.Code)
	}
	rec := postForm(e.handler, "/dashboards/signout", nil, []*http.Cookie{c}, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/dashboards/signin" {
		t.Fatalf("sign-out: %d → %q", rec.Code, rec.Header().Get("Location"))
	}
	if cleared := sessionCookie(t, rec); cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Fatalf("cookie not cleared: %+v", cleared)
	}
	// The old token no longer opens anything, even if the browser kept it.
	if got := getWith(e.handler, "/dashboards/findings", []*http.Cookie{c}); got.Code != http.StatusSeeOther {
		t.Fatalf("old session still valid: %d", got.Code)
	}
	if e.pages.Sessions().Len() != 0 {
		t.Fatalf("%d sessions left", e.pages.Sessions().Len())
	}
}

// Signing in replaces whatever session the browser came with (no fixation).
func TestSignInReplacesTheOldSession(t *testing.T) {
	e := newTestPages(t, defaultName)
	first := sessionCookie(t, postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-researcher"}}, nil, nil))
	second := sessionCookie(t, postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-provider"}}, []*http.Cookie{first}, nil))
	if first.Value == second.Value {
		t.Fatal("token reused")
	}
	if getWith(e.handler, "/dashboards/findings", []*http.Cookie{first}).Code != http.StatusSeeOther {
		t.Fatal("the replaced session still works")
	}
	if e.pages.Sessions().Len() != 1 {
		t.Fatalf("%d sessions, want 1", e.pages.Sessions().Len())
	}
}

// fakeClock is a settable clock for session expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSessionsExpireAndCanBeRevoked(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	auth := AuthenticatorFunc(func(_ context.Context, key string) (Viewer, error) {
		return Viewer{Role: RoleAnalyst, KeyID: key}, nil
	})
	revoked := map[string]bool{}
	s := NewSessions(auth, SessionConfig{Path: "/d", IdleTimeout: 10 * time.Minute, MaxAge: time.Hour, MaxSessions: 3, Now: clock.Now,
		Check: func(_ context.Context, v Viewer) error {
			if revoked[v.KeyID] {
				return errors.New("revoked")
			}
			return nil
		}})
	signIn := func(key string) *http.Cookie {
		rec := httptest.NewRecorder()
		if _, err := s.SignIn(rec, httptest.NewRequest(http.MethodPost, "/d/signin", nil), key); err != nil {
			t.Fatal(err)
		}
		return rec.Result().Cookies()[0]
	}
	lookup := func(c *http.Cookie) bool {
		req := httptest.NewRequest(http.MethodGet, "/d/x", nil)
		req.AddCookie(c)
		_, ok := s.Lookup(req)
		return ok
	}
	a := signIn("a")
	// Activity keeps a session alive up to its maximum age.
	for range 5 {
		clock.Add(9 * time.Minute)
		if !lookup(a) {
			t.Fatal("active session ended early")
		}
	}
	clock.Add(11 * time.Minute) // idle too long
	if lookup(a) {
		t.Fatal("idle session still valid")
	}
	b := signIn("b")
	for range 7 {
		clock.Add(9 * time.Minute)
		lookup(b)
	}
	if lookup(b) {
		t.Fatal("session outlived MaxAge")
	}
	// Revocation: by key ID, or by the Check hook.
	c1, c2 := signIn("c"), signIn("d")
	if n := s.RevokeKey("c"); n != 1 || lookup(c1) {
		t.Fatalf("RevokeKey ended %d sessions", n)
	}
	revoked["d"] = true
	if lookup(c2) {
		t.Fatal("Check did not end the session")
	}
	// The table is bounded: the least recently used session goes first.
	x, y := signIn("x"), signIn("y")
	clock.Add(time.Second)
	lookup(x)
	signIn("z")
	signIn("w")
	if lookup(y) || !lookup(x) {
		t.Fatal("eviction did not drop the least recently used session")
	}
	if s.Len() > 3 {
		t.Fatalf("%d sessions held, max 3", s.Len())
	}
}

func TestSecureCookieNames(t *testing.T) {
	for _, c := range []struct {
		path   string
		secure bool
		want   string
	}{
		{"/", true, "__Host-hcztmm_session"},
		{"/dashboards", true, "__Secure-hcztmm_session"},
		{"/dashboards", false, "hcztmm_session"},
	} {
		if got := NewSessions(nil, SessionConfig{Path: c.path, Secure: c.secure}).CookieName(); got != c.want {
			t.Errorf("%+v: %q", c, got)
		}
	}
}

// A viewer the API puts in the context (its own Bearer authentication) wins over any
// session cookie, and pages work with it alone.
func TestAPIViewerTakesPrecedence(t *testing.T) {
	e := newTestPages(t, defaultName)
	c := sessionCookie(t, postForm(e.handler, "/dashboards/signin", url.Values{"key": {"key-researcher"}}, nil, nil))
	req := httptest.NewRequest(http.MethodGet, "/dashboards/benchmark", nil)
	req.AddCookie(c)
	req = req.WithContext(WithViewer(req.Context(), *provider()))
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestHomeRedirects(t *testing.T) {
	e := newTestPages(t, defaultName)
	for _, c := range []struct {
		v    *Viewer
		path string
		want string
	}{
		{nil, "/dashboards", "/dashboards/"},
		{nil, "/dashboards/", "/dashboards/signin"},
		{provider(), "/dashboards/", "/dashboards/benchmark"},
		{analyst(), "/dashboards/", "/dashboards/explorer"},
		{researcher(), "/dashboards/signin", "/dashboards/findings"},
	} {
		rec := e.get(t, c.v, c.path)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != c.want {
			t.Errorf("%s: %d → %q, want %q", c.path, rec.Code, rec.Header().Get("Location"), c.want)
		}
	}
}
