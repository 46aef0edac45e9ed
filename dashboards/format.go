package dashboards

import (
	"fmt"
	"math"
	"time"

	"github.com/hcztmm/warehouse/privacy"
	"github.com/hcztmm/warehouse/warehouse"
)

// Number formatting for tables and sentences. DP figures carry no more than one decimal
// of meaning here; counts are whole organisations.

// pct formats a share in [0,1] as a percentage.
func pct(x float64) string { return fmt.Sprintf("%.1f%%", x*100) }

// pctRange formats a share interval.
func pctRange(lo, hi float64) string { return fmt.Sprintf("%.1f–%.1f%%", lo*100, hi*100) }

// idx formats an index (0-100).
func idx(x float64) string { return fmt.Sprintf("%.1f", x) }

// idxRange formats an index interval.
func idxRange(lo, hi float64) string { return fmt.Sprintf("%.1f–%.1f", lo, hi) }

// count formats a noisy count as whole organisations.
func count(x float64) string { return fmt.Sprintf("%.0f", math.Round(x)) }

// countRange formats a count interval.
func countRange(lo, hi float64) string {
	return fmt.Sprintf("%.0f–%.0f", math.Max(0, math.Floor(lo)), math.Ceil(hi))
}

// raw formats a raw noisy value exactly enough for analysts to recombine.
func raw(x float64) string { return fmt.Sprintf("%.4g", x) }

// ordinal formats a percentile as "58th".
func ordinal(p float64) string {
	n := int(math.Round(p))
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// figureShare is a share figure as percent value and interval, for charts.
func figureShare(f privacy.Figure) (float64, float64, float64) {
	return f.Value * 100, f.Low * 100, f.High * 100
}

// releaseMeta describes the release a page shows, for its footnote.
type releaseMeta struct {
	ID        string
	Cycle     string
	Epsilon   string
	Noise     string
	Published string
	Library   string
}

func metaOf(info warehouse.ReleaseInfo, r *privacy.Release) releaseMeta {
	m := releaseMeta{ID: info.ID, Cycle: info.Cycle, Epsilon: fmt.Sprintf("%g", info.Epsilon), Noise: info.Noise}
	if info.PublishedAt != nil {
		m.Published = info.PublishedAt.UTC().Format(time.DateOnly)
	}
	if r != nil {
		m.Library = r.Library
	}
	return m
}

// option is one entry of a picker.
type option struct {
	Value, Label string
	Selected     bool
}

// picker is a page's selector of what it shows (a cycle, a release), drawn by the
// "picker" partial: a GET form back to the page with one drop-down.
type picker struct {
	Action, Name, Label string
	Options             []option
}

// Picker is the benchmark page's cycle selector.
func (d benchmarkData) Picker() picker {
	return picker{Action: pathBenchmark, Name: "cycle", Label: "Cycle", Options: d.Cycles}
}

// Picker is the findings page's cycle selector.
func (d findingsData) Picker() picker {
	return picker{Action: pathFindings, Name: "cycle", Label: "Cycle", Options: d.Cycles}
}

// Picker is the explorer's release selector.
func (d explorerData) Picker() picker {
	return picker{Action: pathExplorer, Name: "release", Label: "Release", Options: d.Releases}
}
