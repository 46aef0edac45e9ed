package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// The Scaling table answers "does cost grow linearly with the number of organisations?"
// from rows already in the main table: every row with a Family, one per size, is set
// against its population, and time ∝ organisations^b is fitted over the sizes.

// linearSlack is how far the fitted exponent may stray from 1 and still be called
// linear: between runs on a shared 2-core machine, b moves by a few hundredths.
const linearSlack = 0.1

// scalePoint is one family's measurement at one population size.
type scalePoint struct {
	Orgs           int
	Seconds        float64 // ours
	CeilingSeconds float64 // 0: no ceiling
	Ratio          float64 // Row.Ratio
}

// scaleSeries is one family's points, smallest population first.
type scaleSeries struct {
	Family string
	Points []scalePoint
}

// scalingSeries groups the rows with a Family and a size into series, in the order the
// families first appear, each sorted by size. A size measured twice keeps its first
// row; a family with fewer than two sizes has nothing to fit and is left out.
func scalingSeries(rows []Row) []scaleSeries {
	var out []scaleSeries
	index := map[string]int{}
	for _, r := range rows {
		if r.Family == "" || r.Orgs <= 0 {
			continue
		}
		i, ok := index[r.Family]
		if !ok {
			i = len(out)
			index[r.Family] = i
			out = append(out, scaleSeries{Family: r.Family})
		}
		if slices.ContainsFunc(out[i].Points, func(p scalePoint) bool { return p.Orgs == r.Orgs }) {
			continue
		}
		out[i].Points = append(out[i].Points, scalePoint{Orgs: r.Orgs, Seconds: r.Seconds(r.Ours),
			CeilingSeconds: r.Seconds(r.Ceiling), Ratio: r.Ratio()})
	}
	out = slices.DeleteFunc(out, func(s scaleSeries) bool { return len(s.Points) < 2 })
	for _, s := range out {
		slices.SortFunc(s.Points, func(a, b scalePoint) int { return cmp.Compare(a.Orgs, b.Orgs) })
	}
	return out
}

// growthExponent fits seconds = a·orgs^b by least squares on (ln orgs, ln seconds) and
// returns b. ok is false with fewer than two distinct sizes or a time that is not
// positive (nothing measured), where there is no exponent to speak of.
func growthExponent(orgs []int, seconds []float64) (b float64, ok bool) {
	if len(orgs) != len(seconds) || len(orgs) < 2 {
		return 0, false
	}
	var sx, sy float64
	for i := range orgs {
		if orgs[i] <= 0 || !(seconds[i] > 0) {
			return 0, false
		}
		sx += math.Log(float64(orgs[i]))
		sy += math.Log(seconds[i])
	}
	n := float64(len(orgs))
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range orgs {
		dx := math.Log(float64(orgs[i])) - mx
		sxx += dx * dx
		sxy += dx * (math.Log(seconds[i]) - my)
	}
	if sxx == 0 {
		return 0, false // one size, however often
	}
	return sxy / sxx, true
}

// growthWords says what an exponent means: "linear (b = 1.02)", "super-linear (b =
// 1.31)" or "sub-linear (b = 0.78)", the last usually fixed costs (process start, open)
// that weigh on the smallest sizes.
func growthWords(b float64) string {
	word := "linear"
	switch {
	case b > 1+linearSlack:
		word = "super-linear"
	case b < 1-linearSlack:
		word = "sub-linear"
	}
	return fmt.Sprintf("%s (b = %.2f)", word, b)
}

// exponent is the fitted b of the series' points from the from-th on, for ours or for
// the ceiling.
func (s scaleSeries) exponent(from int, ceiling bool) (float64, bool) {
	pts := s.Points[from:]
	orgs := make([]int, len(pts))
	secs := make([]float64, len(pts))
	for i, p := range pts {
		orgs[i], secs[i] = p.Orgs, p.Seconds
		if ceiling {
			secs[i] = p.CeilingSeconds
		}
	}
	return growthExponent(orgs, secs)
}

// writeScaling writes the Scaling table of rows, or nothing when no family was measured
// at two sizes or more.
func writeScaling(w io.Writer, rows []Row) error {
	series := scalingSeries(rows)
	if len(series) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("Scaling: the rows above that measure a path at several population sizes, time against organisations. " +
		"Growth is b of time ∝ organisations^b, least squares on log–log over every size, then over the two largest alone " +
		"(b ≈ 1: linear; fixed costs such as process start and database open weigh on the small sizes and pull b below 1).\n\n" +
		"| path | organisations | time | per organisation | ceiling per organisation | ratio | growth |\n" +
		"|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range series {
		for i, p := range s.Points {
			path, growth := "…", ""
			if i == 0 {
				path, growth = s.Family, growthCell(s)
			}
			ratio := "–"
			if p.Ratio > 0 {
				ratio = formatSig(p.Ratio) + "×"
			}
			cells := []string{path, thousands(int64(p.Orgs)), formatSeconds(p.Seconds),
				formatPerOrg(p.Seconds, p.Orgs), formatPerOrg(p.CeilingSeconds, p.Orgs), ratio, growth}
			for j := range cells {
				cells[j] = cell(cells[j])
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// growthCell is the growth column: b over every size, then over the two largest alone
// (with three sizes or more), where fixed costs no longer weigh and the marginal cost
// shows; ours, then the ceiling's, so that a bend shared with the ceiling reads as the
// machine's, not ours.
func growthCell(s scaleSeries) string {
	var parts []string
	for _, ceiling := range []bool{false, true} {
		b, ok := s.exponent(0, ceiling)
		if !ok {
			continue
		}
		part := growthWords(b)
		if n := len(s.Points); n > 2 {
			if top, ok := s.exponent(n-2, ceiling); ok {
				part += fmt.Sprintf(", %s–%s %s", thousands(int64(s.Points[n-2].Orgs)), thousands(int64(s.Points[n-1].Orgs)), growthWords(top))
			}
		}
		if ceiling {
			part = "ceiling " + part
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, "; ")
}

func formatSeconds(s float64) string {
	if s <= 0 {
		return "–"
	}
	return formatSig(s) + " s"
}

// formatPerOrg is a time per organisation in µs: the unit in which both ingest (tens
// of µs) and release (hundreds) read without leading zeros.
func formatPerOrg(seconds float64, orgs int) string {
	if seconds <= 0 || orgs <= 0 {
		return "–"
	}
	return formatNumber(seconds/float64(orgs)*1e6) + " µs"
}

// writeReport writes the main table and, below it, the Scaling table: what stdout and
// -out get.
func writeReport(w io.Writer, m Machine, rows []Row) error {
	if err := writeTable(w, m, rows); err != nil {
		return err
	}
	if len(scalingSeries(rows)) == 0 {
		return nil
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	return writeScaling(w, rows)
}
