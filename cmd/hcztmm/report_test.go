package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	fx := filepath.Join(dir, "fx")
	if code, _, stderr := run(t, "fixtures", "--orgs", "1000", "--cycles", "2", "--seed", "3", "--out", fx, "--formats", "csv-wide"); code != exitOK {
		t.Fatalf("fixtures: %s", stderr)
	}
	files, _ := filepath.Glob(filepath.Join(fx, "csv-wide", "*.csv"))
	if len(files) != 2 {
		t.Fatalf("fixtures wrote %v", files)
	}
	var cycles []string
	for _, f := range files {
		cycles = append(cycles, strings.TrimSuffix(filepath.Base(f), ".csv"))
	}
	db := newDB(t, cycles...)
	if code, _, stderr := run(t, append([]string{"ingest", "--db", db}, files...)...); code != exitOK {
		t.Fatalf("ingest: %s", stderr)
	}
	for _, c := range cycles {
		if code, _, stderr := run(t, "release", "--db", db, "--cycle", c, "--epsilon", "5"); code != exitOK {
			t.Fatalf("release %s: %s", c, stderr)
		}
	}
	rel, prev := cycles[1]+"-r001", cycles[0]+"-r001"

	md := filepath.Join(dir, "out", "findings.md")
	code, out, stderr := run(t, "report", "--db", db, "--release", rel, "--out", md)
	if code != exitOK || !strings.Contains(out, "compared with release "+prev) {
		t.Fatalf("report md: %d %s %s", code, out, stderr)
	}
	body, err := os.ReadFile(md)
	if err != nil || !strings.HasPrefix(string(body), "# Zero Trust maturity findings, cycle "+cycles[1]) ||
		!strings.Contains(string(body), "of organisations are at Posture") || !strings.Contains(string(body), "## Change since the previous cycle ("+cycles[0]+")") {
		t.Fatalf("markdown report (%v):\n%s", err, body)
	}

	html := filepath.Join(dir, "findings.html")
	if code, _, stderr := run(t, "report", "--db", db, "--release", rel, "--out", html, "--no-previous"); code != exitOK {
		t.Fatalf("report html: %s", stderr)
	}
	body, _ = os.ReadFile(html)
	if h := string(body); !strings.HasPrefix(h, "<!DOCTYPE html>") || !strings.Contains(h, "<svg") || strings.Contains(h, "<script") ||
		strings.Contains(h, "http://") || strings.Contains(h, "https://") || strings.Contains(h, "Change since the previous cycle") {
		t.Fatal("html report is not self-contained, or compares although told not to")
	}

	// --format wins over the extension.
	txt := filepath.Join(dir, "findings.txt")
	if code, _, stderr := run(t, "report", "--db", db, "--release", rel, "--previous", prev, "--format", "md", "--out", txt); code != exitOK {
		t.Fatalf("report --format md: %s", stderr)
	}
	if body, _ := os.ReadFile(txt); !strings.HasPrefix(string(body), "# ") {
		t.Fatal("--format md did not write Markdown")
	}

	// Failures write nothing.
	missing := filepath.Join(dir, "missing.html")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--release", "1999-r001", "--out", missing}, exitFailure, `"1999-r001" does not exist`},
		{[]string{"--release", rel, "--previous", "1999-r001", "--out", missing}, exitFailure, `"1999-r001" does not exist`},
		{[]string{"--out", missing}, exitUsage, "--release is required"},
		{[]string{"--release", rel}, exitUsage, "--out is required"},
		{[]string{"--release", rel, "--out", filepath.Join(dir, "x.pdf")}, exitUsage, "cannot tell the format"},
		{[]string{"--release", rel, "--out", missing, "--format", "pdf"}, exitUsage, `--format "pdf"`},
		{[]string{"--release", rel, "--out", missing, "--previous", prev, "--no-previous"}, exitUsage, "exclude each other"},
		{[]string{"--release", rel, "--out", missing, "--colour"}, exitUsage, "unknown flag"},
	} {
		code, _, stderr := run(t, append([]string{"report", "--db", db}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("report %v: exit %d %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a failed report left a file behind")
	}
	// A warehouse file that does not exist is not created by report.
	nodb := filepath.Join(dir, "nope.duckdb")
	if code, _, _ := run(t, "report", "--db", nodb, "--release", rel, "--out", missing); code != exitFailure {
		t.Fatalf("missing warehouse: exit %d", code)
	}
	if _, err := os.Stat(nodb); !os.IsNotExist(err) {
		t.Fatal("report created a warehouse")
	}
}
