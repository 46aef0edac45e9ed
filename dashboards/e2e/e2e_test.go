// Package e2e_test drives the dashboards in a real headless Chromium against the real
// `hcztmm serve --demo` binary on loopback: sign-in per role, charts drawn (canvas
// present), no console errors, no request leaving 127.0.0.1, a provider confined to its
// own organisation, and a full-page screenshot of every page kept as a test artefact.
//
// It needs Debian's chromium at /usr/bin/chromium (.ci/run installs it). Without it the
// test skips, except under CI=true where it fails. It skips under -short.
package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// The whole test (build, seed, browser, every page) must finish well inside this.
const overallTimeout = 150 * time.Second

// demoKeys are the keys `serve --demo` prints at start.
type demoKeys struct {
	admin, researcher, analyst string
	providers                  []provider // in printed order
}

type provider struct{ org, key string }

// lockedBuffer collects a child process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	reRoleKey     = regexp.MustCompile(`(?m)^\s+(admin|researcher|analyst): (hczk_\S+)\s*$`)
	reProviderKey = regexp.MustCompile(`(?m)^\s+provider, organisation (\S+): (hczk_\S+)\s*$`)
)

func parseKeys(out string) demoKeys {
	var k demoKeys
	for _, m := range reRoleKey.FindAllStringSubmatch(out, -1) {
		switch m[1] {
		case "admin":
			k.admin = m[2]
		case "researcher":
			k.researcher = m[2]
		case "analyst":
			k.analyst = m[2]
		}
	}
	for _, m := range reProviderKey.FindAllStringSubmatch(out, -1) {
		k.providers = append(k.providers, provider{org: m[1], key: m[2]})
	}
	return k
}

func (k demoKeys) complete() bool {
	return k.admin != "" && k.researcher != "" && k.analyst != "" && len(k.providers) >= 2
}

// moduleRoot is the directory of go.mod, found with `go env GOMOD`.
func moduleRoot(t *testing.T, goBin string) string {
	t.Helper()
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		t.Fatalf("go env GOMOD: not inside a module (%q)", mod)
	}
	return filepath.Dir(mod)
}

// freeAddr picks a free loopback port. The port is released before the server takes it,
// which is a small race that a test run can live with.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// server is a running `hcztmm serve --demo`.
type server struct {
	base string // http://127.0.0.1:port
	keys demoKeys
}

// startServer builds the binary and starts it with demo data; it is stopped at cleanup.
func startServer(ctx context.Context, t *testing.T, goBin, root string) server {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "hcztmm")

	start := time.Now()
	build := exec.CommandContext(ctx, goBin, "build", "-tags", "duckdb_arrow", "-o", bin, "./cmd/hcztmm")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/hcztmm: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Millisecond))

	addr := freeAddr(t)
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "--demo", "--demo-orgs", "6000",
		"--db", filepath.Join(dir, "x.duckdb"), "--addr", addr, "--log-level", "warn")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hcztmm serve: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("hcztmm serve stderr:\n%s", tail(stderr.String(), 4000))
		}
	})

	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("hcztmm serve exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s",
				err, tail(stdout.String(), 4000), tail(stderr.String(), 4000))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("hcztmm serve not ready at %s/readyz after %s\nstdout:\n%s\nstderr:\n%s",
				base, time.Since(start).Round(time.Millisecond), tail(stdout.String(), 4000), tail(stderr.String(), 4000))
		}
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			// The keys are printed before the server accepts connections, but the
			// copy of its output to our buffer may lag a little.
			if k := parseKeys(stdout.String()); resp.StatusCode == http.StatusOK && k.complete() {
				t.Logf("hcztmm serve --demo ready at %s after %s (%d provider keys)",
					base, time.Since(start).Round(time.Millisecond), len(k.providers))
				return server{base: base, keys: k}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// artifactsDir is where screenshots go: $HCZTMM_ARTIFACTS, else <root>/artifacts/screenshots.
func artifactsDir(t *testing.T, root string) string {
	t.Helper()
	dir := os.Getenv("HCZTMM_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(root, "artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artefacts directory: %v", err)
	}
	return dir
}

// tab is one browser tab in its own browser context (own cookies), with everything it
// saw recorded.
type tab struct {
	ctx  context.Context
	host string // 127.0.0.1:port of the server

	mu       sync.Mutex
	requests []string
	errs     []string
}

func newTab(t *testing.T, browser context.Context, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	u, _ := url.Parse(base)
	tb := &tab{ctx: ctx, host: u.Host}
	// Listen starts the tab; fn runs on the reader goroutine, so it only records.
	err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			tb.requests = append(tb.requests, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					if a.Value != nil {
						parts = append(parts, string(a.Value))
					} else {
						parts = append(parts, a.Description)
					}
				}
				tb.errs = append(tb.errs, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			tb.errs = append(tb.errs, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *log.EventEntryAdded:
			// CSP violations and failed loads reach the console through the Log domain.
			// Chromium's own favicon probe (the pages declare no icon) is not a page error.
			if e := ev.Entry; e != nil && e.Level == log.EntryLevelError && !strings.HasSuffix(e.URL, "/favicon.ico") {
				tb.errs = append(tb.errs, fmt.Sprintf("log (%s): %s %s", e.Source, e.Text, e.URL))
			}
		}
	})
	if err != nil {
		t.Fatalf("open browser tab: %v", err)
	}
	return tb
}

// drain returns and forgets what the tab recorded so far.
func (tb *tab) drain() (requests, errs []string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	requests, errs = tb.requests, tb.errs
	tb.requests, tb.errs = nil, nil
	return requests, errs
}

// checkClean fails on any console error and any request that is not to our server.
func (tb *tab) checkClean(t *testing.T, what string) {
	t.Helper()
	requests, errs := tb.drain()
	for _, e := range errs {
		t.Errorf("%s: console error: %s", what, e)
	}
	for _, r := range requests {
		if strings.HasPrefix(r, "data:") || r == "about:blank" {
			continue
		}
		u, err := url.Parse(r)
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Errorf("%s: request leaves 127.0.0.1: %s", what, r)
		} else if u.Host != tb.host {
			t.Errorf("%s: request to another port on loopback: %s", what, r)
		}
	}
	t.Logf("%s: %d requests, all to %s", what, len(requests), tb.host)
}

// pageState is what the wait loop reads from the page.
type pageState struct {
	Path   string `json:"path"`
	Drawn  string `json:"drawn"` // data-charts-drawn: performance.now() at draw, in ms
	Canvas int    `json:"canvas"`
	Charts int    `json:"charts"`
	H1     string `json:"h1"`
	Text   string `json:"text"`
}

const stateJS = `({path: location.pathname,
	drawn: document.documentElement.getAttribute("data-charts-drawn") || "",
	canvas: document.querySelectorAll("canvas").length,
	charts: document.querySelectorAll(".chart[data-option]").length,
	h1: (document.querySelector("h1") || {}).textContent || "",
	text: document.body ? document.body.innerText.slice(0, 300) : ""})`

// waitDrawn polls until the tab shows path with its charts drawn. Evaluation errors while
// a navigation replaces the document are expected and retried.
func (tb *tab) waitDrawn(ctx context.Context, path string) (pageState, error) {
	var last pageState
	var lastErr error
	for {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](stateJS))
		if err == nil {
			last = s
			if s.Path == path && s.Drawn != "" {
				return s, nil
			}
			// An error page will not turn into the page we wait for: stop now.
			if s.Path != path && (s.H1 == "Not allowed" || s.H1 == "Page failed") {
				return s, fmt.Errorf("waiting for %s: the browser shows the error page %q at %s: %q", path, s.H1, s.Path, s.Text)
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("waiting for %s with <html data-charts-drawn>: %w (last state %+v, last error %v)",
				path, ctx.Err(), last, lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (tb *tab) html(t *testing.T) string {
	t.Helper()
	h, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatalf("read page HTML: %v", err)
	}
	return h
}

func (tb *tab) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Errorf("write screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s (%d KB)", p, len(buf)/1024)
}

// signIn fills the sign-in form with key and waits for the landing page's charts.
// It returns the page state and the wall time from submitting to charts drawn.
func (tb *tab) signIn(t *testing.T, base, key, landing string) (pageState, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/dashboards/signin"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key),
	); err != nil {
		t.Fatalf("sign-in form: %v", err)
	}
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="signin"] button[type="submit"]`))); err != nil {
		t.Fatalf("submit sign-in: %v", err)
	}
	s, err := tb.waitDrawn(ctx, landing)
	if err != nil {
		if strings.Contains(s.Text, "must come from this site's own sign-in page") {
			t.Fatalf("after sign-in: %v\nThe server refused the browser's own form post as cross-site. Chromium sends "+
				"\"Origin: null\" on form posts from pages served with Referrer-Policy: no-referrer (Fetch spec), and "+
				"dashboards.sameOrigin rejects it; accept Origin null when Sec-Fetch-Site is same-origin, or serve the "+
				"pages with Referrer-Policy: same-origin.", err)
		}
		t.Fatalf("after sign-in: %v", err)
	}
	return s, time.Since(start)
}

// open navigates to a page of the signed-in tab and waits for its charts.
func (tb *tab) open(t *testing.T, rawURL, path string) (pageState, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(rawURL)); err != nil {
		t.Fatalf("navigate %s: %v", rawURL, err)
	}
	s, err := tb.waitDrawn(ctx, path)
	if err != nil {
		t.Fatalf("%s: %v", rawURL, err)
	}
	return s, time.Since(start)
}

// fetchResult is a same-origin fetch made from inside the page, with its cookies.
type fetchResult struct {
	Status int    `json:"status"`
	URL    string `json:"url"`
	Body   string `json:"body"`
}

func (tb *tab) fetch(t *testing.T, path string, headers map[string]string) fetchResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	hj := "{"
	first := true
	for k, v := range headers {
		if !first {
			hj += ","
		}
		first = false
		hj += fmt.Sprintf("%q:%q", k, v)
	}
	hj += "}"
	js := fmt.Sprintf(`fetch(%q, {credentials: "same-origin", headers: %s}).then(async r => ({status: r.status, url: r.url, body: await r.text()}))`, path, hj)
	r, err := chromedp.Run(ctx, chromedp.Evaluate[fetchResult](js, func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	if err != nil {
		t.Fatalf("fetch %s: %v", path, err)
	}
	return r
}

func TestDashboardsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped under -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing under CI=%s: .ci/run must install Debian's chromium (%v)", chromiumPath, os.Getenv("CI"), err)
		}
		t.Skipf("%s not found (%v): install Debian's chromium (apt-get install chromium) to run the browser tests", chromiumPath, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not on PATH: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), overallTimeout)
	defer cancel()
	root := moduleRoot(t, goBin)
	shots := artifactsDir(t, root)
	srv := startServer(ctx, t, goBin, root)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	start := time.Now()
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	version, _ := chromedp.Run(browser, chromedp.Evaluate[string](`navigator.userAgent`))
	t.Logf("chromium started in %s: %s", time.Since(start).Round(time.Millisecond), version)

	a, b := srv.keys.providers[0], srv.keys.providers[1]

	roles := []struct {
		name, key, landing string
		mustContain        []string
	}{
		{"provider", a.key, "/dashboards/benchmark", []string{"Organisation " + a.org}},
		{"researcher", srv.keys.researcher, "/dashboards/findings", nil},
		{"analyst", srv.keys.analyst, "/dashboards/explorer", nil},
		{"admin", srv.keys.admin, "/dashboards/findings", nil},
	}
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			tb := newTab(t, browser, srv.base)
			s, wall := tb.signIn(t, srv.base, r.key, r.landing)
			page := strings.TrimPrefix(r.landing, "/dashboards/")
			t.Logf("TIME-TO-CHART %s %s (after sign-in): %s wall from submit; data-charts-drawn=%sms after navigation start; %d charts, %d canvases",
				r.name, page, wall.Round(time.Millisecond), s.Drawn, s.Charts, s.Canvas)
			if s.Canvas < 1 {
				t.Errorf("%s: no <canvas> on %s (charts %d)", r.name, r.landing, s.Charts)
			}
			html := tb.html(t)
			for _, want := range r.mustContain {
				if !strings.Contains(html, want) {
					t.Errorf("%s: page %s does not show %q", r.name, r.landing, want)
				}
			}
			tb.screenshot(t, shots, r.name+"-"+page)
			tb.checkClean(t, r.name+" sign-in and "+page)

			// Open the page again, signed in: navigation to drawn charts, no sign-in.
			s, wall = tb.open(t, srv.base+r.landing, r.landing)
			t.Logf("TIME-TO-CHART %s %s (direct): %s wall from navigate; data-charts-drawn=%sms after navigation start",
				r.name, page, wall.Round(time.Millisecond), s.Drawn)
			if s.Canvas < 1 {
				t.Errorf("%s: no <canvas> on %s when opened again", r.name, r.landing)
			}
			tb.checkClean(t, r.name+" "+page+" again")

			// Researchers, analysts and admins can open both release pages.
			if r.name == "researcher" || r.name == "analyst" || r.name == "admin" {
				other := "/dashboards/explorer"
				if r.landing == other {
					other = "/dashboards/findings"
				}
				s, wall = tb.open(t, srv.base+other, other)
				op := strings.TrimPrefix(other, "/dashboards/")
				t.Logf("TIME-TO-CHART %s %s (direct): %s wall from navigate; data-charts-drawn=%sms after navigation start; %d canvases",
					r.name, op, wall.Round(time.Millisecond), s.Drawn, s.Canvas)
				if s.Canvas < 1 {
					t.Errorf("%s: no <canvas> on %s", r.name, other)
				}
				tb.screenshot(t, shots, r.name+"-"+op)
				tb.checkClean(t, r.name+" "+op)
			}
		})
	}

	t.Run("provider-cannot-see-another-organisation", func(t *testing.T) {
		if a.org == b.org {
			t.Fatalf("demo printed the same organisation for two providers: %s", a.org)
		}
		tb := newTab(t, browser, srv.base)
		tb.signIn(t, srv.base, a.key, "/dashboards/benchmark")
		tb.drain()

		// In the browser's address bar: the page names A and never B.
		s, _ := tb.open(t, srv.base+"/dashboards/benchmark?org="+url.QueryEscape(b.org), "/dashboards/benchmark")
		html := tb.html(t)
		if !strings.Contains(html, "Organisation "+a.org) {
			t.Errorf("benchmark?org=%s: page does not show the signed-in organisation %s", b.org, a.org)
		}
		if strings.Contains(html, b.org) {
			t.Errorf("benchmark?org=%s: page shows the other organisation's ID", b.org)
		}
		if s.Canvas < 1 {
			t.Errorf("benchmark?org=%s: no <canvas>", b.org)
		}
		tb.screenshot(t, shots, "provider-attack-org-query")

		// Other tricks, fetched from the signed-in page with its session cookie.
		q := url.QueryEscape(b.org)
		tricks := []struct {
			path    string
			headers map[string]string
		}{
			{"/dashboards/benchmark?org_id=" + q, nil},
			{"/dashboards/benchmark?orgId=" + q + "&OrgID=" + q + "&organisation=" + q + "&organization=" + q, nil},
			{"/dashboards/benchmark?org=" + url.QueryEscape(a.org) + "&org=" + q, nil},
			{"/dashboards/benchmark?org%5B%5D=" + q + "&viewer.OrgID=" + q, nil},
			{"/dashboards/benchmark?cycle=2026&org=" + q, nil},
			{"/dashboards/benchmark/" + q, nil},
			{"/dashboards/benchmark/../benchmark?org=" + q, nil},
			{"/dashboards/" + q + "/benchmark", nil},
			{"/dashboards/benchmark;org=" + q, nil},
			{"/dashboards/benchmark", map[string]string{"X-Org-ID": b.org, "X-Organisation": b.org, "X-Forwarded-User": b.org}},
			{"/dashboards/findings?org=" + q, nil},
			{"/dashboards/explorer?org=" + q, nil},
		}
		for _, tr := range tricks {
			r := tb.fetch(t, tr.path, tr.headers)
			if strings.Contains(r.Body, b.org) {
				t.Errorf("%s %v: status %d, body names the other organisation %s", tr.path, tr.headers, r.Status, b.org)
			}
			if r.Status == http.StatusOK && strings.Contains(r.URL, "/dashboards/benchmark") &&
				strings.Contains(r.Body, "Peer benchmark") && !strings.Contains(r.Body, "Organisation "+a.org) {
				t.Errorf("%s: a benchmark page that is not the signed-in organisation's %s", tr.path, a.org)
			}
			t.Logf("attack %s %v -> %d %s (%d bytes, no %s)", tr.path, tr.headers, r.Status, r.URL, len(r.Body), b.org)
		}
		// A provider is refused the release pages.
		for _, p := range []string{"/dashboards/findings", "/dashboards/explorer"} {
			if r := tb.fetch(t, p, nil); r.Status != http.StatusForbidden {
				t.Errorf("provider opening %s: status %d, want 403", p, r.Status)
			}
		}
		// The tricks above are answered 403/404 on purpose, and Chromium logs each as a
		// failed load; any other console error still fails.
		requests, errs := tb.drain()
		for _, e := range errs {
			if !(strings.HasPrefix(e, "log (network)") && (strings.Contains(e, "status of 403") || strings.Contains(e, "status of 404"))) {
				t.Errorf("provider attacks: console error: %s", e)
			}
		}
		tb.mu.Lock()
		tb.requests = requests
		tb.mu.Unlock()
		tb.checkClean(t, "provider attacks")
	})

	t.Run("signed-out-redirects-to-sign-in", func(t *testing.T) {
		tb := newTab(t, browser, srv.base)
		ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
		defer cancel()
		for _, p := range []string{"/dashboards/benchmark", "/dashboards/benchmark?org=" + url.QueryEscape(a.org), "/dashboards/findings", "/dashboards/explorer", "/dashboards/"} {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+p), chromedp.WaitReady(chromedp.ID("key"))); err != nil {
				t.Errorf("signed out, %s: no sign-in form: %v", p, err)
				continue
			}
			loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
			if err != nil || loc != "/dashboards/signin" {
				t.Errorf("signed out, %s: landed on %q (%v), want /dashboards/signin", p, loc, err)
			}
			html := tb.html(t)
			for _, leak := range []string{"ORG-", "Peer benchmark", "data-option", "<canvas"} {
				if strings.Contains(html, leak) {
					t.Errorf("signed out, %s: sign-in page contains %q", p, leak)
				}
			}
		}
		tb.screenshot(t, shots, "signed-out-signin")

		// A wrong key is refused and shows no data.
		if err := chromedp.Do(ctx,
			chromedp.Navigate(srv.base+"/dashboards/signin"),
			chromedp.WaitVisible(chromedp.ID("key")),
			chromedp.SendKeys(chromedp.ID("key"), "hczk_not-a-real-key"),
			chromedp.Click(chromedp.CSS(`form[action="signin"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`p.error`)),
		); err != nil {
			t.Errorf("wrong key: no error shown: %v", err)
		} else if html := tb.html(t); strings.Contains(html, "ORG-") || strings.Contains(html, "<canvas") {
			t.Errorf("wrong key: page shows data")
		}
		// The refused sign-in answers 401, which Chromium logs as a failed load; that is
		// the expected answer, not a page error.
		requests, errs := tb.drain()
		for _, e := range errs {
			if !strings.Contains(e, "401") {
				t.Errorf("signed out: console error: %s", e)
			}
		}
		for _, r := range requests {
			if u, err := url.Parse(r); !strings.HasPrefix(r, "data:") && r != "about:blank" && (err != nil || u.Host != tb.host) {
				t.Errorf("signed out: request leaves the server: %s", r)
			}
		}
	})

	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the browser test ran past its %s budget", overallTimeout)
	}
}
