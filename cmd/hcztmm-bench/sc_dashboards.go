package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/hcztmm/warehouse/api"
	"github.com/hcztmm/warehouse/dashboards"
	"github.com/hcztmm/warehouse/warehouse"
)

// dashboardPages measures each dashboard page twice: the server's render time (a GET on
// loopback, against serving the stored release the page is built from), and, when
// Debian chromium is installed, the time until the page's charts are drawn in headless
// Chromium (the page's own data-charts-drawn mark, against a blank page's first script).
type dashboardPages struct{}

const (
	pageRenders = 40 // GETs per page for the server median
	pageLoads   = 5  // Chromium loads per page for the drawn median
)

func (dashboardPages) Name() string { return "dashboards" }

type benchPage struct {
	path string
	role warehouse.Role
}

func (dashboardPages) Run(ctx context.Context, env *Env) ([]Row, error) {
	db, subs, pub, err := releasedPopulation(ctx, env, "pages.duckdb")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	logger := slog.New(slog.DiscardHandler)
	pages, err := dashboards.New(dashboards.Config{}, dashboards.Deps{Models: env.Reg, Releases: db,
		Orgs: dashboards.OrgScoped(db), Auth: api.KeyAuthenticator(db), Logger: logger})
	if err != nil {
		return nil, err
	}
	srv, err := api.New(api.Config{Logger: logger}, api.Deps{Models: env.Reg, Warehouse: db, Pages: pages})
	if err != nil {
		return nil, err
	}
	base, stop, err := serveOnLoopback(srv.Handler())
	if err != nil {
		return nil, err
	}
	defer stop()
	blank, stopBlank, err := serveOnLoopback(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><body><script>document.documentElement.setAttribute("data-charts-drawn", performance.now())</script></body></html>`) //nolint:errcheck // bench page
	}))
	if err != nil {
		return nil, err
	}
	defer stopBlank()

	tokens := map[warehouse.Role]string{}
	for _, r := range []warehouse.Role{warehouse.RoleProvider, warehouse.RoleResearcher, warehouse.RoleAnalyst} {
		org := ""
		if r == warehouse.RoleProvider {
			org = subs[0].Organisation.ID
		}
		_, tok, err := db.CreateKey(ctx, r, org, "bench")
		if err != nil {
			return nil, err
		}
		tokens[r] = tok
	}
	list := []benchPage{{"/dashboards/benchmark", warehouse.RoleProvider}, {"/dashboards/findings", warehouse.RoleResearcher},
		{"/dashboards/explorer", warehouse.RoleAnalyst}}

	client := &http.Client{Timeout: 10 * time.Second}
	releaseMs, _, err := medianGET(ctx, client, base+"/api/v1/releases/"+pub.Release.ID, tokens[warehouse.RoleAnalyst])
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, p := range list {
		ms, size, err := medianGET(ctx, client, base+p.path, tokens[p.role])
		if err != nil {
			return nil, err
		}
		rows = append(rows, Row{
			Path:          fmt.Sprintf("Dashboard %s (%s), server render, %d organisations", p.path, p.role, len(subs)),
			Ours:          Figure{Value: ms, Unit: "ms/page"},
			Ceiling:       Figure{Value: releaseMs, Unit: "ms", Label: "GET of the stored release it is built from"},
			LowerIsBetter: true,
			Extras:        []Extra{{Name: "page", Value: float64(size) / 1024, Unit: "KiB"}},
			Note:          fmt.Sprintf("median of %d GETs on loopback, Bearer key", pageRenders),
		})
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		env.Logf("chromium not installed: time-to-chart rows skipped")
		return rows, nil
	}
	blankMs, err := drawnMedian(ctx, chromium, blank+"/", "")
	if err != nil {
		return nil, fmt.Errorf("blank page in chromium: %w", err)
	}
	for _, p := range list {
		ms, err := drawnMedian(ctx, chromium, base+p.path, tokens[p.role])
		if err != nil {
			return nil, fmt.Errorf("%s in chromium: %w", p.path, err)
		}
		rows = append(rows, Row{
			Path:          fmt.Sprintf("Dashboard %s (%s), time to drawn charts in headless Chromium", p.path, p.role),
			Ours:          Figure{Value: ms, Unit: "ms"},
			Ceiling:       Figure{Value: blankMs, Unit: "ms", Label: "a blank page's first script"},
			LowerIsBetter: true,
			Note:          fmt.Sprintf("the page's own data-charts-drawn mark (ms after navigation start), median of %d fresh loads", pageLoads),
		})
	}
	return rows, nil
}

func medianGET(ctx context.Context, client *http.Client, url, token string) (float64, int, error) {
	var ms []float64
	size := 0
	for range pageRenders {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
		}
		ms = append(ms, float64(time.Since(t))/float64(time.Millisecond))
		size = len(b)
	}
	return median(ms), size, nil
}

// drawnMedian loads url in a fresh headless Chromium tab pageLoads times and returns the
// median of the page's own data-charts-drawn mark.
func drawnMedian(ctx context.Context, chromium, url, token string) (float64, error) {
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1366, 900))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		return 0, err
	}
	var marks []float64
	for range pageLoads {
		tab, cancelTab := chromedp.NewContext(browser)
		tctx, cancelT := context.WithTimeout(tab, 20*time.Second)
		var err error
		if token != "" {
			if _, err = chromedp.Call(tctx, network.Enable, network.EnableParams{}); err == nil {
				_, err = chromedp.Call(tctx, network.SetExtraHTTPHeaders,
					network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + token}})
			}
		}
		if err == nil {
			err = chromedp.Do(tctx, chromedp.Navigate(url))
		}
		var mark string
		for err == nil && mark == "" {
			mark, err = chromedp.Run(tctx, chromedp.Evaluate[string](`document.documentElement.getAttribute("data-charts-drawn") || ""`))
			if mark == "" && err == nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
		cancelT()
		cancelTab()
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseFloat(mark, 64)
		if err != nil {
			return 0, fmt.Errorf("data-charts-drawn %q: %w", mark, err)
		}
		marks = append(marks, v)
	}
	slices.Sort(marks)
	return median(marks), nil
}
