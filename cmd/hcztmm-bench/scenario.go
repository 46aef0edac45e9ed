package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Scenario is one benchmark: it measures one or more paths, each against a ceiling it
// measures in the same run. Run makes one measurement (one run) in env.RunDir(), which
// is fresh for every call; the runner calls it -runs times and reports medians. Shared,
// untimed preparation (fixtures, files, binaries) comes memoised from env.
//
// To add a row to the table, add a Scenario to scenarios (registry.go).
type Scenario interface {
	// Name is the key of -only: short, lower case, no spaces.
	Name() string
	// Run measures once and returns the rows, the same rows (same paths, same order)
	// in every run.
	Run(ctx context.Context, env *Env) ([]Row, error)
}

// Scaled is implemented by scenarios whose work grows with the population. The runner
// sets env.Orgs before every Run: to each of HeadlineOrgs for the headline rows, then to
// each -scaling size for the Scaling table (run.go). Others run once, at no set size.
type Scaled interface {
	// HeadlineOrgs is the population sizes of the headline rows given -scale: ingest
	// follows -scale, release stays at the 6,000 organisations the README quotes.
	HeadlineOrgs(scales []int) []int
}

// Figure is one measured number.
type Figure struct {
	Value float64
	// Unit, e.g. "rows/s" or "µs/submission".
	Unit string
	// Label says what was measured, for the ceiling (e.g. "DuckDB COPY FROM csv").
	Label string
}

// Extra is a number worth a note (peak RSS, transactions), aggregated like the figures.
type Extra struct {
	Name  string
	Value float64
	Unit  string
	// Note follows the value, e.g. "target < 500 MB".
	Note string
}

// Row is one line of the table.
type Row struct {
	Path string
	Ours Figure
	// Ceiling is the bound measured in the same run; a zero Value means none.
	Ceiling Figure
	// LowerIsBetter marks per-operation costs (µs): the ratio is then ceiling/ours, so
	// that it is always a throughput ratio (1 = as fast as the ceiling).
	LowerIsBetter bool
	// Target is the ratio we aim for (0: none).
	Target float64
	Extras []Extra
	// Note is free text after the extras.
	Note string

	// Family names, as the Scaling table prints it, the series this row is one size of:
	// one row per scaled scenario and size sets it (ingest's first row, against COPY),
	// so that its time can be set against the population. "" keeps a row out.
	Family string
	// Orgs is the population size the row measured (0: not a population size).
	Orgs int
	// Work is how many units the rate figures count (answers for ingest), so that the
	// Scaling table can turn a rate back into a time; figures in "s" are times already.
	Work float64
}

// Ratio is ours relative to the ceiling as a throughput ratio, or 0 without a ceiling.
func (r Row) Ratio() float64 {
	if r.Ceiling.Value == 0 || r.Ours.Value == 0 {
		return 0
	}
	if r.LowerIsBetter {
		return r.Ceiling.Value / r.Ours.Value
	}
	return r.Ours.Value / r.Ceiling.Value
}

// Seconds is the time a figure of r stands for: its value for a figure in seconds, Work
// over the value for a rate ("…/s"), 0 when it is neither or there is nothing measured.
func (r Row) Seconds(f Figure) float64 {
	switch {
	case f.Value <= 0:
		return 0
	case f.Unit == "s":
		return f.Value
	case strings.HasSuffix(f.Unit, "/s") && r.Work > 0:
		return r.Work / f.Value
	}
	return 0
}

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// aggregate turns the rows of several runs into one row per path holding the medians of
// every figure and extra. Every run must give the same paths and extras in the same order.
func aggregate(runs [][]Row) ([]Row, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	first := runs[0]
	out := make([]Row, len(first))
	for i, r := range first {
		ours, ceil := make([]float64, len(runs)), make([]float64, len(runs))
		extras := make([][]float64, len(r.Extras))
		for k, run := range runs {
			if len(run) != len(first) || run[i].Path != r.Path || len(run[i].Extras) != len(r.Extras) {
				return nil, fmt.Errorf("run %d gave different rows than run 1 (row %d %q)", k+1, i+1, r.Path)
			}
			ours[k], ceil[k] = run[i].Ours.Value, run[i].Ceiling.Value
			for j := range r.Extras {
				if run[i].Extras[j].Name != r.Extras[j].Name {
					return nil, fmt.Errorf("run %d: row %q: extra %d is %q, not %q", k+1, r.Path, j+1, run[i].Extras[j].Name, r.Extras[j].Name)
				}
				extras[j] = append(extras[j], run[i].Extras[j].Value)
			}
		}
		agg := r
		agg.Ours.Value, agg.Ceiling.Value = median(ours), median(ceil)
		agg.Extras = slices.Clone(r.Extras)
		for j := range agg.Extras {
			agg.Extras[j].Value = median(extras[j])
		}
		out[i] = agg
	}
	return out, nil
}

// selectScenarios returns the scenarios named in only (comma-separated; empty: all), in
// registry order, or an error naming the unknown ones.
func selectScenarios(all []Scenario, only string) ([]Scenario, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []Scenario
	for _, s := range all {
		if want[s.Name()] {
			out = append(out, s)
			delete(want, s.Name())
		}
	}
	if len(want) > 0 {
		var unknown, known []string
		for n := range want {
			unknown = append(unknown, n)
		}
		for _, s := range all {
			known = append(known, s.Name())
		}
		slices.Sort(unknown)
		return nil, fmt.Errorf("unknown scenario(s) %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}
