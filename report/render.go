package report

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strings"
)

// Markdown renders the report as Markdown: each statement a bullet, its release values
// as sub-bullets, charts as tables.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	b.WriteString(r.metaLine() + "\n\n")
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Title)
		if s.Intro != "" {
			b.WriteString(s.Intro + "\n\n")
		}
		for _, st := range s.Statements {
			fmt.Fprintf(&b, "- %s\n", mdEscape(st.Text))
			for _, t := range st.Traces {
				fmt.Fprintf(&b, "  - <sub>`%s`</sub>\n", t.String())
			}
		}
		b.WriteString("\n")
		for _, ch := range s.Charts {
			fmt.Fprintf(&b, "| %s | value | %.0f%% interval |\n|---|---:|---:|\n", mdEscape(ch.Title), r.Confidence*100)
			for _, bar := range ch.Bars {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", mdEscape(bar.Label), ch.fmt(bar.Value), ch.fmt(bar.Low)+"–"+ch.fmt(bar.High))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(r.footer() + "\n")
	return b.Bytes()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func (c Chart) fmt(x float64) string {
	if c.Percent {
		return fmt.Sprintf("%.0f%%", math.Round(x*100))
	}
	return fmt.Sprintf("%.1f", x)
}

func (r *Report) metaLine() string {
	s := fmt.Sprintf("Release %s · cycle %s · model %s · %s noise, ε = %g", r.ReleaseID, r.Cycle, r.ModelVersion, r.Noise, r.Epsilon)
	if r.Delta > 0 {
		s += fmt.Sprintf(", δ = %g", r.Delta)
	}
	s += fmt.Sprintf(" · computed %s", r.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	if r.PreviousID != "" {
		s += fmt.Sprintf(" · compared with release %s (cycle %s)", r.PreviousID, r.PreviousCycle)
	}
	return s
}

func (r *Report) footer() string {
	return fmt.Sprintf("Every figure is a differentially private release value with its %.0f%% interval; each statement lists the release values it rests on (partitioning/cohort · metric[subject,bucket] = value [interval low, high]). Differences and changes are stated only where intervals do not overlap. %s.",
		r.Confidence*100, r.ModelTitle)
}

const css = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.3rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.meta{color:#57606a;font-size:.85rem}.intro{color:#424a53}
ul.statements{padding-left:1.2rem}ul.statements>li{margin:.5rem 0}
ul.traces{list-style:none;padding-left:0;margin:.15rem 0 0;font:.72rem/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#57606a}
figure{margin:1rem 0;break-inside:avoid}figcaption{font-size:.85rem;color:#424a53;margin-bottom:.3rem}
svg text{font:11px system-ui,Arial,sans-serif;fill:#1b1f24}
footer{margin-top:2rem;font-size:.8rem;color:#57606a}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}li{break-inside:avoid}}`

// HTML renders the report as one self-contained page: inline CSS, charts as inline SVG,
// no script and no external reference, printable.
func (r *Report) HTML() []byte {
	var b bytes.Buffer
	e := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", e(r.Title), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"meta\">%s</p>\n", e(r.Title), e(r.metaLine()))
	for si, s := range r.Sections {
		fmt.Fprintf(&b, "<section>\n<h2>%s</h2>\n", e(s.Title))
		if s.Intro != "" {
			fmt.Fprintf(&b, "<p class=\"intro\">%s</p>\n", e(s.Intro))
		}
		for ci, ch := range s.Charts {
			b.WriteString(ch.svg(fmt.Sprintf("c%d-%d", si, ci), r.Confidence))
		}
		b.WriteString("<ul class=\"statements\">\n")
		for _, st := range s.Statements {
			fmt.Fprintf(&b, "<li id=\"%s\">%s", e(st.ID), e(st.Text))
			if len(st.Traces) > 0 {
				b.WriteString("\n<ul class=\"traces\">")
				for _, t := range st.Traces {
					fmt.Fprintf(&b, "<li>%s</li>", e(t.String()))
				}
				b.WriteString("</ul>")
			}
			b.WriteString("</li>\n")
		}
		b.WriteString("</ul>\n</section>\n")
	}
	fmt.Fprintf(&b, "<footer>%s</footer>\n</body>\n</html>\n", e(r.footer()))
	return b.Bytes()
}

// svg draws a horizontal bar chart with interval whiskers.
func (c Chart) svg(id string, confidence float64) string {
	const (
		labelW = 300.0
		plotW  = 360.0
		valueW = 110.0
		rowH   = 24.0
		top    = 8.0
		axisH  = 22.0
	)
	e := html.EscapeString
	max := c.Max
	if max <= 0 {
		max = 1
	}
	x := func(v float64) float64 { return labelW + plotW*math.Min(math.Max(v/max, 0), 1) }
	h := top + rowH*float64(len(c.Bars)) + axisH
	w := labelW + plotW + valueW
	var b strings.Builder
	fmt.Fprintf(&b, "<figure>\n<figcaption>%s (bars: value; whiskers: %.0f%% interval)</figcaption>\n", e(c.Title), confidence*100)
	fmt.Fprintf(&b, "<svg role=\"img\" aria-labelledby=\"%s-t\" viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" style=\"max-width:%.0fpx\">\n<title id=\"%s-t\">%s</title>\n",
		id, w, h, w, id, e(c.Title))
	for i := 0; i <= 4; i++ {
		gx := labelW + plotW*float64(i)/4
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d0d7de\" stroke-width=\"1\"/>\n", gx, top, gx, h-axisH)
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", gx, h-6, c.fmt(max*float64(i)/4))
	}
	for i, bar := range c.Bars {
		y := top + rowH*float64(i)
		label := bar.Label
		if len([]rune(label)) > 48 {
			label = string([]rune(label)[:47]) + "…"
		}
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", labelW-8, y+rowH/2+4, e(label))
		fmt.Fprintf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4f7fb8\"/>\n", labelW, y+5, x(bar.Value)-labelW, rowH-10)
		lo, hi := x(bar.Low), x(bar.High)
		my := y + rowH/2
		fmt.Fprintf(&b, "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f\" stroke=\"#1b1f24\" stroke-width=\"1.2\" fill=\"none\"/>\n",
			lo, my, hi, lo, my-5, my+5, hi, my-5, my+5)
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%.1f\">%s (%s–%s)</text>\n", labelW+plotW+6, my+4, c.fmt(bar.Value), c.fmt(bar.Low), c.fmt(bar.High))
	}
	b.WriteString("</svg>\n</figure>\n")
	return b.String()
}
