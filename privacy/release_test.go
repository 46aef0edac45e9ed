package privacy

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The canonical encoding is stable: encoding twice, or decoding and encoding again,
// gives the same bytes, so a stored release can be served byte for byte and re-verified.
func TestEncodingIsCanonical(t *testing.T) {
	m := testModel()
	recs := population(m, 2000, 8)
	for _, req := range []Request{
		{Cycle: "2025", Epsilon: 5, Split: FullSplit()},
		{Cycle: "2025", Epsilon: 1},
		{Cycle: "2025", Epsilon: 2, Noise: Gaussian, Delta: 1e-6, Split: FullSplit(National, ByRegion)},
	} {
		rel := mustBuild(t, m, mustPlan(t, m, req), recs)
		rel.ID = "rel-0001"
		b1, err := rel.Encode()
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := rel.Encode()
		b3, _ := json.Marshal(rel)
		if !bytes.Equal(b1, b2) || !bytes.Equal(b1, b3) {
			t.Fatal("encoding the same release twice gives different bytes")
		}
		back, err := Decode(b1)
		if err != nil {
			t.Fatal(err)
		}
		b4, err := back.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b4) {
			i := 0
			for i < len(b1) && i < len(b4) && b1[i] == b4[i] {
				i++
			}
			t.Fatalf("decode+encode changes the bytes at %d: %q vs %q", i, b1[max(0, i-40):min(len(b1), i+40)], b4[max(0, i-40):min(len(b4), i+40)])
		}
		if !reflect.DeepEqual(rel.Values(), back.Values()) {
			t.Fatal("decoded release has other values")
		}
		for _, bad := range []string{"NaN", "Inf", "\n", "-0,", "-0}"} {
			if bytes.Contains(b1, []byte(bad)) {
				t.Fatalf("encoding contains %q", bad)
			}
		}
		if !bytes.HasPrefix(b1, []byte(`{"id":"rel-0001","cycle":"2025","model_version":"`+m.Version+`","created_at":"`)) {
			t.Fatalf("unexpected field order: %.120s", b1)
		}
		if rel.CreatedAt.Nanosecond()%1000 != 0 || rel.CreatedAt.Location() != time.UTC {
			t.Fatalf("created_at %v is not UTC microseconds", rel.CreatedAt)
		}
	}
}

func TestDecodeIsStrict(t *testing.T) {
	if _, err := Decode([]byte(`{"id":"x","surprise":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
	if _, err := Decode([]byte(`{"id":"x"} {"id":"y"}`)); err == nil {
		t.Error("trailing document accepted")
	}
	if _, err := Decode([]byte(`[`)); err == nil {
		t.Error("broken JSON accepted")
	}
}

// The long form has one row per published figure, a single row per suppressed cohort
// and per withheld estimate, the noise parameters on every figure row, and a stable order.
func TestValuesRows(t *testing.T) {
	m := testModel()
	recs := population(m, 2000, 8)
	plan := mustPlan(t, m, Request{Cycle: "c", Epsilon: 3, Split: FullSplit()})
	rel := mustBuild(t, m, plan, recs)
	rows := rel.Values()
	if !reflect.DeepEqual(rows, rel.Values()) {
		t.Fatal("Values is not deterministic")
	}
	want := 0
	for _, c := range rel.Cohorts {
		if c.Suppressed {
			want++
			continue
		}
		want++ // count
		hist := func(h *Histogram) int {
			if h.Withheld {
				return 1
			}
			return 2 * len(h.Buckets)
		}
		est := func(withheld bool, n int) int {
			if withheld {
				return 1
			}
			return n
		}
		want += hist(c.Posture) + est(c.OverallMean.Withheld, 1) + est(c.OverallQuantiles.Withheld, len(QuantileRanks))
		for _, d := range c.Domains {
			want += hist(d.Posture) + est(d.Mean.Withheld, 1) + est(d.Quantiles.Withheld, len(QuantileRanks))
		}
		for _, cs := range c.Capabilities {
			want += hist(cs.Answers)
		}
	}
	if len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		switch {
		case r.Suppressed:
			if r.Metric != MetricCohort || r.Value != nil || r.Reason != ReasonNotEnoughPeers {
				t.Fatalf("suppressed row %+v", r)
			}
		case r.Withheld:
			if r.Value != nil || r.Reason != ReasonTooFewForEstimate {
				t.Fatalf("withheld row %+v", r)
			}
		default:
			if r.Value == nil || r.Raw == nil || r.CILow == nil || r.CIHigh == nil || *r.CILow > *r.Value || *r.CIHigh < *r.Value {
				t.Fatalf("figure row %+v", r)
			}
			e, ok := plan.Cost.entry(r.Partitioning, r.Family)
			if !ok || r.Epsilon != e.Epsilon || r.Noise != string(Laplace) || r.L0 == 0 || r.LInf == 0 || r.NoiseScale <= 0 {
				t.Fatalf("row %+v lacks its noise parameters", r)
			}
		}
		seen[r.Metric] = true
		if r.Metric == MetricOverallQuantile && !r.Withheld && !strings.HasPrefix(r.Bucket, "p") {
			t.Fatalf("quantile bucket %q", r.Bucket)
		}
	}
	for _, mtr := range []string{MetricCohort, MetricCount, MetricPostureCount, MetricPostureShare, MetricOverallMean, MetricOverallQuantile,
		MetricDomainPostCount, MetricDomainPostShare, MetricDomainMean, MetricDomainQuantile, MetricCapabilityCount, MetricCapabilityShare} {
		if !seen[mtr] {
			t.Errorf("no %s rows", mtr)
		}
	}
	if QuantileLabel(0.5) != "p50" || QuantileLabel(0.1) != "p10" || QuantileLabel(0.9) != "p90" {
		t.Error("quantile labels")
	}
}
