package dashboards

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"
)

// Charts are built with go-echarts, a new chart per request (rendering mutates a chart),
// and written into the page as plain JSON options that the embedded dashboards.js hands
// to the embedded echarts. Three rules keep them safe:
//
//   - Only model labels, fixed wording, cycle and release IDs (checked by safeID) and
//     numbers go into options; builders take no organisation or submission text at all.
//   - Options are marshalled with encoding/json's HTML escaping, so "<", ">" and "&"
//     become \u003c, \u003e and \u0026 and nothing in them can close the <script> element
//     they sit in, whatever a label says.
//   - No JavaScript functions in options (no formatter callbacks): tooltip texts are
//     precomputed strings, HTML-escaped because echarts shows them as HTML.
//
// The go-echarts chart IDs are fixed per page (not random) so that golden files of the
// options are stable.

// Colours: colour-blind-safe (Okabe–Ito), with "you" in the one warm colour.
const (
	colorPeer   = "#0072B2"
	colorYou    = "#D55E00"
	colorBand   = "#56B4E9"
	colorError  = "#333333"
	colorMuted  = "#999999"
	colorMedian = "#009E73"
)

// postureColors colour posture levels 0..4 (and a spare for "not assessed").
var postureColors = []string{"#CC79A7", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#999999"}

// chartBlock is one chart of a page with what the template needs to place it.
type chartBlock struct {
	ID      string         // DOM id of the chart element
	Title   string         // heading above the chart
	Caption string         // one sentence saying what the chart shows, in words
	Tall    bool           // taller chart (radar, heatmap)
	XTall   bool           // much taller chart (one row per capability)
	Option  map[string]any // the echarts option, plain JSON values (for golden files)
	JSON    template.JS    // Option, marshalled with HTML escaping
	Assets  []string       // script URLs go-echarts asks for, under the embedded assets host
}

// echart is what finish needs of a go-echarts chart.
type echart interface {
	Validate()
	JSON() map[string]interface{}
	GetAssets() opts.Assets
}

// initOpts gives a chart its fixed ID and points go-echarts at our embedded assets, by a
// relative URL, so pages work offline and behind any path prefix.
func initOpts(id string) charts.GlobalOpts {
	return charts.WithInitializationOpts(opts.Initialization{ChartID: id, AssetsHost: echartsAssetsHost})
}

// baseOption is merged into every chart: no animation (charts are read, and printed,
// not watched), one font, tooltips kept inside the chart.
var baseOption = map[string]any{
	"animation": false,
	"textStyle": map[string]any{"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
	"tooltip":   map[string]any{"trigger": "item", "confine": true},
}

// finish validates a go-echarts chart, takes its option as plain JSON, merges the
// patches (styling go-echarts has no typed field for) and marshals the result safely.
func finish(id, title, caption string, c echart, patches ...map[string]any) (chartBlock, error) {
	c.Validate()
	raw, err := json.Marshal(c.JSON())
	if err != nil {
		return chartBlock{}, fmt.Errorf("chart %s: %w", id, err)
	}
	var opt map[string]any
	if err := json.Unmarshal(raw, &opt); err != nil {
		return chartBlock{}, fmt.Errorf("chart %s: %w", id, err)
	}
	// go-echarts always writes an empty toolbox and title; we title charts in HTML.
	delete(opt, "toolbox")
	delete(opt, "title")
	merge(opt, baseOption)
	for _, p := range patches {
		merge(opt, p)
	}
	js, err := json.Marshal(opt) // escapes <, > and & (HTML-safe by default)
	if err != nil {
		return chartBlock{}, fmt.Errorf("chart %s: %w", id, err)
	}
	return chartBlock{ID: id, Title: title, Caption: caption, Option: opt, JSON: template.JS(js),
		Assets: append([]string(nil), c.GetAssets().JSAssets.Values...)}, nil
}

// merge copies src into dst: maps merge key by key, a list of maps merges element by
// element (so a patch can style series[1]), anything else replaces.
func merge(dst, src map[string]any) {
	for k, sv := range src {
		switch s := sv.(type) {
		case map[string]any:
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, s)
				continue
			}
			dst[k] = deepCopy(s)
		case []any:
			if d, ok := dst[k].([]any); ok && len(d) == len(s) && allMaps(d) && allMaps(s) {
				for i := range s {
					merge(d[i].(map[string]any), s[i].(map[string]any))
				}
				continue
			}
			dst[k] = deepCopy(s)
		default:
			dst[k] = sv
		}
	}
}

func allMaps(xs []any) bool {
	for _, x := range xs {
		if _, ok := x.(map[string]any); !ok {
			return false
		}
	}
	return true
}

// deepCopy copies patch values so that the shared baseOption is never aliased into a
// per-request option.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// barPoint is one bar: a post-processed value with its interval, or a missing value.
type barPoint struct {
	Label            string
	Value, Low, High float64
	Missing          bool
	Highlight        bool
}

// barSpec describes a bar chart with error bars.
type barSpec struct {
	ID, Title, Caption string
	Series             string // what the bars measure, e.g. "Share of peers"
	Points             []barPoint
	Horizontal         bool    // categories on the vertical axis (long labels)
	Percent            bool    // values are percentages
	Max                float64 // value axis maximum; 0 lets echarts choose
	Mark               string  // pin text on the highlighted bar, e.g. "You"
	// Interval names what the error bars are; default "95% interval".
	Interval string
}

// errorBars draws bars with their intervals as error bars. echarts has no error-bar
// series, and a custom series would need a JavaScript renderItem; a boxplot whose box
// collapses on the value ([low, v, v, v, high]) draws exactly an error bar with caps at
// the interval's ends and a tick at the value, from plain data. The boxplot lays itself
// out along whichever axis is the category axis, so it works for horizontal bars too.
func errorBars(s barSpec) (chartBlock, error) {
	if s.Interval == "" {
		s.Interval = "95% interval"
	}
	b := charts.NewBar()
	b.SetGlobalOptions(initOpts(s.ID))
	labels := make([]string, len(s.Points))
	bars := make([]opts.BarData, len(s.Points))
	errs := make([]opts.BoxPlotData, len(s.Points))
	mark := -1
	for i, p := range s.Points {
		labels[i] = p.Label
		tip := tooltipText(p, s.Percent, s.Interval)
		bars[i] = opts.BarData{Value: "-", Tooltip: &opts.Tooltip{Formatter: types.FuncStr(tip)}}
		errs[i] = opts.BoxPlotData{Value: []any{"-", "-", "-", "-", "-"}, Tooltip: &opts.Tooltip{Formatter: types.FuncStr(tip)}}
		if !p.Missing {
			v, lo, hi := round1(p.Value), round1(p.Low), round1(p.High)
			bars[i].Value = v
			errs[i].Value = []any{lo, v, v, v, hi}
		}
		if p.Highlight {
			bars[i].ItemStyle = &opts.ItemStyle{Color: colorYou}
			if !p.Missing {
				mark = i
			}
		}
	}
	b.SetXAxis(labels)
	b.AddSeries(s.Series, bars)
	eb := charts.NewBoxPlot()
	eb.AddSeries(s.Interval, errs)
	b.Overlap(eb)
	valueAxis := map[string]any{"type": "value", "name": s.Series, "nameLocation": "middle", "nameGap": 44}
	if s.Percent {
		valueAxis["axisLabel"] = map[string]any{"formatter": "{value}%"}
	}
	if s.Max > 0 {
		valueAxis["max"] = s.Max
	}
	catAxis := map[string]any{"type": "category", "data": labels, "axisLabel": categoryLabel(s.Horizontal)}
	barSeries := map[string]any{"itemStyle": map[string]any{"color": colorPeer}, "barMaxWidth": 48}
	if mark >= 0 && s.Mark != "" {
		p := s.Points[mark]
		coord := []any{mark, round1(p.High)}
		pos := "top"
		if s.Horizontal {
			coord = []any{round1(p.High), mark}
			pos = "right"
		}
		barSeries["markPoint"] = map[string]any{
			"symbol": "pin", "symbolSize": 44, "itemStyle": map[string]any{"color": colorYou},
			"label":   map[string]any{"color": "#fff", "fontWeight": "bold"},
			"tooltip": map[string]any{"show": false},
			"data":    []any{map[string]any{"name": s.Mark, "value": s.Mark, "coord": coord, "symbolOffset": offsetFor(pos)}},
		}
	}
	// containLabel leaves out the rotated value-axis name, so the grid keeps room for it.
	grid := map[string]any{"containLabel": true, "left": 40, "right": 24, "top": 28, "bottom": 16}
	if s.Horizontal {
		grid = map[string]any{"containLabel": true, "left": 12, "right": 24, "top": 28, "bottom": 44}
	}
	patch := map[string]any{
		"legend": map[string]any{"show": false},
		"grid":   grid,
		"series": []any{barSeries, map[string]any{
			"itemStyle": map[string]any{"color": "rgba(0,0,0,0)", "borderColor": colorError, "borderWidth": 1.5},
			"boxWidth":  []any{8, 16},
		}},
	}
	if s.Horizontal {
		catAxis["inverse"] = true // first category on top, as in the table
		patch["yAxis"] = []any{catAxis}
		patch["xAxis"] = []any{valueAxis}
	} else {
		patch["xAxis"] = []any{catAxis}
		patch["yAxis"] = []any{valueAxis}
	}
	blk, err := finish(s.ID, s.Title, s.Caption, b, patch)
	if err != nil {
		return blk, err
	}
	if s.Horizontal {
		// A reversed bar chart carries its categories on the y axis only.
		if xs, ok := blk.Option["xAxis"].([]any); ok && len(xs) > 0 {
			delete(xs[0].(map[string]any), "data")
		}
		js, err := json.Marshal(blk.Option)
		if err != nil {
			return blk, err
		}
		blk.JSON = template.JS(js)
	}
	return blk, nil
}

// categoryLabel styles category axis labels: every label shown, long ones wrapped onto
// lines with room between them (echarts overlaps wrapped lines without a lineHeight).
func categoryLabel(vertical bool) map[string]any {
	if vertical {
		return map[string]any{"interval": 0, "width": 190, "overflow": "break", "lineHeight": 14}
	}
	return map[string]any{"interval": 0, "width": 92, "overflow": "break", "lineHeight": 14}
}

// offsetFor nudges a pin away from the error bar's cap it points at.
func offsetFor(pos string) []any {
	if pos == "right" {
		return []any{18, 0}
	}
	return []any{0, -6}
}

// tooltipText is the hover text of a bar: label, value and interval. echarts renders
// tooltip strings as HTML, so the label is escaped even though it comes from the model.
func tooltipText(p barPoint, percent bool, interval string) string {
	label := html.EscapeString(p.Label)
	if p.Missing {
		return label + ": not published"
	}
	unit := ""
	if percent {
		unit = "%"
	}
	return fmt.Sprintf("%s: %.1f%s (%s %.1f–%.1f%s)", label, p.Value, unit, html.EscapeString(interval), p.Low, p.High, unit)
}

// crossSeries is one group of crossbars, e.g. one posture level across cohorts.
type crossSeries struct {
	Name   string
	Color  string
	Points []barPoint // one per category
}

// crossSpec describes grouped crossbars: for each category, one box per series from
// the interval's low to high end with a line at the value.
type crossSpec struct {
	ID, Title, Caption string
	Categories         []string
	Series             []crossSeries
	Percent            bool
	Max                float64
	AxisName           string
}

// crossbars draws grouped estimates with their intervals. Grouped bars cannot carry
// error bars in echarts without JavaScript (an overlaid boxplot does not follow the bar
// offsets), but boxplot series place themselves side by side, so each estimate is drawn
// as a box spanning its interval with a line at the value: the interval is the shape.
func crossbars(s crossSpec) (chartBlock, error) {
	bp := charts.NewBoxPlot()
	bp.SetGlobalOptions(initOpts(s.ID))
	bp.SetXAxis(s.Categories)
	var seriesPatch []any
	for _, sr := range s.Series {
		data := make([]opts.BoxPlotData, len(sr.Points))
		for i, p := range sr.Points {
			tip := html.EscapeString(sr.Name) + " · " + tooltipText(p, s.Percent, "95% interval")
			data[i] = opts.BoxPlotData{Value: []any{"-", "-", "-", "-", "-"}, Tooltip: &opts.Tooltip{Formatter: types.FuncStr(tip)}}
			if !p.Missing {
				v, lo, hi := round1(p.Value), round1(p.Low), round1(p.High)
				data[i].Value = []any{lo, lo, v, hi, hi}
			}
		}
		bp.AddSeries(sr.Name, data)
		seriesPatch = append(seriesPatch, map[string]any{
			"itemStyle": map[string]any{"color": fade(sr.Color), "borderColor": sr.Color, "borderWidth": 1.5},
			"boxWidth":  []any{6, 18},
		})
	}
	valueAxis := map[string]any{"type": "value", "name": s.AxisName, "nameLocation": "middle", "nameGap": 44}
	if s.Percent {
		valueAxis["axisLabel"] = map[string]any{"formatter": "{value}%"}
	}
	if s.Max > 0 {
		valueAxis["max"] = s.Max
	}
	names := make([]any, len(s.Series))
	for i, sr := range s.Series {
		names[i] = sr.Name
	}
	return finish(s.ID, s.Title, s.Caption, bp, map[string]any{
		"legend": map[string]any{"show": true, "top": 0, "data": names},
		"grid":   map[string]any{"containLabel": true, "left": 40, "right": 24, "top": 48, "bottom": 16},
		"xAxis":  []any{map[string]any{"type": "category", "data": s.Categories, "axisLabel": categoryLabel(false)}},
		"yAxis":  []any{valueAxis},
		"series": seriesPatch,
	})
}

// fade turns "#RRGGBB" into a translucent fill of the same colour.
func fade(hex string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return "rgba(0,0,0,0.15)"
	}
	return fmt.Sprintf("rgba(%d,%d,%d,0.25)", r, g, b)
}

// radarSeries is one polygon of a radar chart.
type radarSeries struct {
	Name   string
	Values []float64
	Color  string
	Dashed bool
	Fill   string // area fill colour; empty for none
	Bold   bool
}

// radarSpec describes a radar over the model's domains.
type radarSpec struct {
	ID, Title, Caption string
	Axes               []string // domain names
	Series             []radarSeries
}

// radar draws the domains as axes (0-100). The interquartile band is drawn the way
// echarts allows without code: the upper quartile filled, the lower quartile filled with
// the background on top of it, leaving the band between them coloured.
func radar(s radarSpec) (chartBlock, error) {
	r := charts.NewRadar()
	ind := make([]*opts.Indicator, len(s.Axes))
	for i, a := range s.Axes {
		ind[i] = &opts.Indicator{Name: a, Max: 100}
	}
	r.SetGlobalOptions(initOpts(s.ID), charts.WithRadarComponentOpts(opts.RadarComponent{Indicator: ind}))
	var seriesPatch []any
	for _, sr := range s.Series {
		vals := make([]float64, len(sr.Values))
		for i, v := range sr.Values {
			vals[i] = round1(v)
		}
		r.AddSeries(sr.Name, []opts.RadarData{{Name: sr.Name, Value: vals}})
		line := map[string]any{"color": sr.Color, "width": 1.5}
		if sr.Dashed {
			line["type"] = "dashed"
		}
		if sr.Bold {
			line["width"] = 3
		}
		p := map[string]any{"lineStyle": line, "itemStyle": map[string]any{"color": sr.Color}, "symbolSize": 5}
		if sr.Fill != "" {
			p["areaStyle"] = map[string]any{"color": sr.Fill, "opacity": 1}
		}
		if !sr.Bold {
			p["symbol"] = "none"
		}
		seriesPatch = append(seriesPatch, p)
	}
	return finish(s.ID, s.Title, s.Caption, r, map[string]any{
		"legend": map[string]any{"show": true, "bottom": 0},
		"radar": map[string]any{"radius": "58%", "center": []any{"50%", "50%"},
			"axisName": map[string]any{"color": "#333", "width": 100, "overflow": "break", "lineHeight": 14}},
		"series": seriesPatch,
	})
}

// heatCell is one cell of a heatmap; Missing cells are left blank.
type heatCell struct {
	X, Y    int
	Value   float64
	Missing bool
}

// heatSpec describes a heatmap of shares in percent.
type heatSpec struct {
	ID, Title, Caption string
	XLabels, YLabels   []string
	Cells              []heatCell
	// TruncateY keeps each row label on one line (many rows leave no room to wrap).
	TruncateY bool
}

// heatmap draws shares (percent) on a single-hue scale with the value printed in each cell.
func heatmap(s heatSpec) (chartBlock, error) {
	h := charts.NewHeatMap()
	h.SetGlobalOptions(initOpts(s.ID))
	h.SetXAxis(s.XLabels)
	data := make([]opts.HeatMapData, 0, len(s.Cells))
	for _, c := range s.Cells {
		var v any = "-"
		if !c.Missing {
			v = round1(c.Value)
		}
		data = append(data, opts.HeatMapData{Value: []any{c.X, c.Y, v}})
	}
	h.AddSeries("Share of organisations (%)", data)
	yLabel := categoryLabel(true)
	if s.TruncateY {
		yLabel = map[string]any{"interval": 0, "width": 260, "overflow": "truncate"}
	}
	return finish(s.ID, s.Title, s.Caption, h, map[string]any{
		"legend":  map[string]any{"show": false},
		"tooltip": map[string]any{"show": false},
		"grid":    map[string]any{"containLabel": true, "left": 12, "right": 24, "top": 12, "bottom": 48},
		"xAxis":   []any{map[string]any{"type": "category", "data": s.XLabels, "position": "top", "splitArea": map[string]any{"show": true}, "axisLabel": categoryLabel(false)}},
		"yAxis": []any{map[string]any{"type": "category", "data": s.YLabels, "inverse": true, "splitArea": map[string]any{"show": true},
			"axisLabel": yLabel}},
		"visualMap": []any{map[string]any{"type": "continuous", "min": 0, "max": 100, "calculable": false, "orient": "horizontal",
			"left": "center", "bottom": 0, "text": []any{"100%", "0%"}, "inRange": map[string]any{"color": []any{"#f7fbff", "#08519c"}}}},
		"series": []any{map[string]any{"label": map[string]any{"show": true}}},
	})
}

// trendLine is one line of a trend chart; nil values are gaps.
type trendLine struct {
	Name   string
	Values []*float64
	Color  string
	Dashed bool
}

// trendBand is an interval band around a line; nil ends are gaps.
type trendBand struct {
	Name      string
	Low, High []*float64
	Color     string
}

// trendSpec describes a line chart over cycles with uncertainty bands.
type trendSpec struct {
	ID, Title, Caption string
	Cycles             []string
	Lines              []trendLine
	Bands              []trendBand
	Percent            bool
	Max                float64
	AxisName           string
}

// trend draws lines over cycles. A band is two stacked lines: an invisible one at the
// low end and a filled one of height high-low on top of it, echarts' code-free way of
// shading an interval.
func trend(s trendSpec) (chartBlock, error) {
	l := charts.NewLine()
	l.SetGlobalOptions(initOpts(s.ID))
	l.SetXAxis(s.Cycles)
	var seriesPatch []any
	var legend []any
	for i, b := range s.Bands {
		stack := fmt.Sprintf("band%d", i)
		lows := make([]opts.LineData, len(s.Cycles))
		widths := make([]opts.LineData, len(s.Cycles))
		for j := range s.Cycles {
			lows[j], widths[j] = opts.LineData{Value: "-"}, opts.LineData{Value: "-"}
			if j < len(b.Low) && j < len(b.High) && b.Low[j] != nil && b.High[j] != nil {
				lo, hi := round1(*b.Low[j]), round1(*b.High[j])
				lows[j], widths[j] = opts.LineData{Value: lo}, opts.LineData{Value: round1(hi - lo)}
			}
		}
		l.AddSeries(b.Name+" (low)", lows)
		l.AddSeries(b.Name, widths)
		seriesPatch = append(seriesPatch,
			map[string]any{"stack": stack, "symbol": "none", "lineStyle": map[string]any{"opacity": 0}, "tooltip": map[string]any{"show": false}, "silent": true},
			map[string]any{"stack": stack, "symbol": "none", "lineStyle": map[string]any{"opacity": 0}, "tooltip": map[string]any{"show": false}, "silent": true,
				"itemStyle": map[string]any{"color": b.Color}, "areaStyle": map[string]any{"color": b.Color, "opacity": 0.3}})
		legend = append(legend, b.Name)
	}
	for _, ln := range s.Lines {
		data := make([]opts.LineData, len(s.Cycles))
		for j := range s.Cycles {
			data[j] = opts.LineData{Value: "-"}
			if j < len(ln.Values) && ln.Values[j] != nil {
				data[j] = opts.LineData{Value: round1(*ln.Values[j])}
			}
		}
		l.AddSeries(ln.Name, data)
		style := map[string]any{"color": ln.Color, "width": 2.5}
		if ln.Dashed {
			style["type"] = "dashed"
		}
		seriesPatch = append(seriesPatch, map[string]any{"lineStyle": style, "itemStyle": map[string]any{"color": ln.Color},
			"symbolSize": 8, "label": map[string]any{"show": true, "position": "top"}})
		legend = append(legend, ln.Name)
	}
	valueAxis := map[string]any{"type": "value", "min": 0, "name": s.AxisName, "nameLocation": "middle", "nameGap": 44}
	if s.Max > 0 {
		valueAxis["max"] = s.Max
	}
	if s.Percent {
		valueAxis["axisLabel"] = map[string]any{"formatter": "{value}%"}
	}
	return finish(s.ID, s.Title, s.Caption, l, map[string]any{
		"legend":  map[string]any{"show": true, "top": 0, "data": legend},
		"tooltip": map[string]any{"trigger": "axis"},
		"grid":    map[string]any{"containLabel": true, "left": 40, "right": 24, "top": 40, "bottom": 16},
		"xAxis":   []any{map[string]any{"type": "category", "boundaryGap": false}},
		"yAxis":   []any{valueAxis},
		"series":  seriesPatch,
	})
}

// round1 rounds for display: one decimal is all the precision DP figures carry here, and
// rounding keeps golden files readable.
func round1(x float64) float64 { return math.Round(x*10) / 10 }

// ptr returns a pointer to a copy of x, for trend values.
func ptr(x float64) *float64 { return &x }
