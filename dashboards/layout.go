package dashboards

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

// Pages are server-rendered with html/template, so every string from data is escaped
// for where it lands (text, attribute, URL). The only unescaped insertion is each
// chart's option JSON (template.JS), which encoding/json has already made HTML-safe.

//go:embed templates/*.html
var templateFiles embed.FS

// The page templates, parsed once: each is the shared layout and partials plus one page.
var templates = map[string]*template.Template{
	"benchmark": parsePage("benchmark"),
	"findings":  parsePage("findings"),
	"explorer":  parsePage("explorer"),
	"signin":    parsePage("signin"),
	"message":   parsePage("message"),
}

func parsePage(name string) *template.Template {
	return template.Must(template.New("layout.html").ParseFS(templateFiles,
		"templates/layout.html", "templates/partials.html", "templates/"+name+".html"))
}

// layout is what the shared layout needs, with the page's own data in Page.
type layout struct {
	Title   string
	Signed  bool
	Role    Role
	Nav     []navLink
	Style   string
	Scripts []string
	Page    any
}

// navLink is one entry of the top navigation.
type navLink struct {
	Href, Label string
	Current     bool
}

// navFor lists the pages a viewer may open, marking the current one.
func navFor(v Viewer, signed bool, current string) []navLink {
	if !signed {
		return nil
	}
	var out []navLink
	add := func(path, label string, roles []Role) {
		if v.Is(roles...) {
			out = append(out, navLink{Href: path, Label: label, Current: path == current})
		}
	}
	add(pathBenchmark, "Peer benchmark", benchmarkRoles)
	add(pathFindings, "Industry findings", findingsRoles)
	add(pathExplorer, "Cohort explorer", explorerRoles)
	return out
}

// figure is a chart with its table: the same numbers, readable without the chart
// (screen readers, print, no JavaScript) and copyable.
type figure struct {
	Chart chartBlock
	Table table
	Notes []string // suppressed or withheld figures, fallbacks: said in words
	Wide  bool     // the table goes under the chart rather than beside it
}

// table is a plain data table; cells are preformatted text (escaped by the template).
type table struct {
	Caption string
	Head    []string
	Num     []bool // right-aligned numeric columns, by index
	Rows    []row
}

// row is one table row; Class is "you" (the viewer's own position) or "muted"
// (suppressed, withheld).
type row struct {
	Cells []string
	Class string
}

// cell is one rendered table cell.
type cell struct {
	Text string
	Num  bool
}

// tableView is a table ready for the template: alignment resolved per cell, so that
// rendering a 700-row analyst table calls no methods per cell.
type tableView struct {
	Caption string
	Head    []cell
	Rows    []rowView
}

type rowView struct {
	Class string
	Cells []cell
}

// View resolves the table for the template.
func (t table) View() tableView {
	num := func(i int) bool { return i < len(t.Num) && t.Num[i] }
	v := tableView{Caption: t.Caption, Head: make([]cell, len(t.Head)), Rows: make([]rowView, len(t.Rows))}
	for i, h := range t.Head {
		v.Head[i] = cell{h, num(i)}
	}
	for i, r := range t.Rows {
		cells := make([]cell, len(r.Cells))
		for j, c := range r.Cells {
			cells[j] = cell{c, num(j)}
		}
		v.Rows[i] = rowView{Class: r.Class, Cells: cells}
	}
	return v
}

// scriptsFor lists the scripts a page needs: the echarts file(s) go-echarts asks for
// (under our assets host) followed by the chart bootstrap. The bootstrap comes even on a
// page whose charts are all suppressed, so that every page marks itself drawn
// (data-charts-drawn) the same way: browser tests and the time-to-chart benchmark wait
// for that mark.
func scriptsFor(figs ...[]figure) []string {
	var out []string
	seen := map[string]bool{}
	for _, fs := range figs {
		for _, f := range fs {
			for _, a := range f.Chart.Assets {
				if !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	return append(out, appScript)
}

// render executes a page template into a buffer first, so that a template error turns
// into a clean error page instead of half a page.
func render(w http.ResponseWriter, status int, name string, l layout) error {
	var buf bytes.Buffer
	l.Style = appStyle
	if err := templates[name].ExecuteTemplate(&buf, "layout.html", l); err != nil {
		return err
	}
	pageHeaders(w.Header())
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// contentSecurityPolicy allows scripts and styles from our own server only. Inline
// styles are allowed because echarts styles its tooltips inline; inline scripts are not
// (chart options are inert JSON, drawn by static/…/dashboards.js).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageHeaders are set on every HTML response: pages hold an organisation's own figures,
// so nothing may cache or frame them.
func pageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: under no-referrer Chromium posts forms with
	// "Origin: null", which the sign-in CSRF check must refuse; nothing leaves the site
	// either way, since pages load nothing from elsewhere.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Add("Vary", "Cookie")
}
