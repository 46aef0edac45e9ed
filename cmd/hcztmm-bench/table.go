package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Machine describes where the numbers were measured; it is printed above the table.
type Machine struct {
	CPU        string
	Cores      int
	GOMAXPROCS int
	GoVersion  string
	DuckDB     string
	// Load is the 1-minute load average when the run started ("" when unknown).
	Load string
	Runs int
	Date string
}

func (m Machine) String() string {
	s := fmt.Sprintf("Machine: %s, %d cores, GOMAXPROCS=%d, %s, DuckDB %s", m.CPU, m.Cores, m.GOMAXPROCS, m.GoVersion, m.DuckDB)
	if m.Load != "" {
		s += ", load average " + m.Load + " at start"
	}
	if m.Runs == 1 {
		return s + fmt.Sprintf(". One run, %s.", m.Date)
	}
	return s + fmt.Sprintf(". Medians of %d runs, %s.", m.Runs, m.Date)
}

// writeTable writes the machine line and the rows as one markdown table.
func writeTable(w io.Writer, m Machine, rows []Row) error {
	var b strings.Builder
	b.WriteString(m.String())
	b.WriteString("\n\n| path | ours | ceiling (same run) | ratio | notes |\n|---|---:|---:|---:|---|\n")
	for _, r := range rows {
		cells := []string{r.Path, formatFigure(r.Ours), formatCeiling(r.Ceiling), formatRatio(r), formatNotes(r)}
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatFigure(f Figure) string {
	if f.Unit == "" {
		return formatNumber(f.Value)
	}
	return formatNumber(f.Value) + " " + f.Unit
}

func formatCeiling(f Figure) string {
	if f.Value == 0 {
		return "–"
	}
	if f.Label == "" {
		return formatFigure(f)
	}
	return f.Label + ": " + formatFigure(f)
}

func formatRatio(r Row) string {
	x := r.Ratio()
	if x == 0 {
		return "–"
	}
	s := formatSig(x) + "×"
	if r.Target > 0 {
		verdict := "met"
		if x < r.Target {
			verdict = "MISSED"
		}
		s += fmt.Sprintf(" (target ≥ %s: %s)", formatSig(r.Target), verdict)
	}
	return s
}

func formatNotes(r Row) string {
	var parts []string
	for _, e := range r.Extras {
		s := e.Name + " " + formatNumber(e.Value)
		if e.Unit != "" {
			s += " " + e.Unit
		}
		if e.Note != "" {
			s += " (" + e.Note + ")"
		}
		parts = append(parts, s)
	}
	if r.Note != "" {
		parts = append(parts, r.Note)
	}
	return strings.Join(parts, "; ")
}

// formatNumber writes numbers from 100,000 with k/M and three significant digits,
// whole numbers and numbers from 1,000 as integers with thousands separators, and
// everything else with three significant digits.
func formatNumber(x float64) string {
	switch ax := math.Abs(x); {
	case ax >= 1e6:
		return formatSig(x/1e6) + " M"
	case ax >= 1e5:
		return formatSig(x/1e3) + " k"
	case ax >= 1e3 || x == math.Trunc(x):
		return thousands(int64(math.Round(x)))
	}
	return formatSig(x)
}

// formatSig writes x with three significant digits, without exponent or trailing zeros
// beyond them (1.18, 12.3, 123, 1234).
func formatSig(x float64) string {
	if x == 0 {
		return "0"
	}
	digits := 2 - int(math.Floor(math.Log10(math.Abs(x))))
	if digits < 0 {
		digits = 0
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
