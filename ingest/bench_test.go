package ingest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchWide writes n CSV-wide submissions (40 answers each) the way a survey tool
// exports them: the full header, one row per organisation, varied answers.
func benchWide(n int) []byte {
	m := testModel()
	states := m.States()
	types := []string{"academic", "community", "health_system", "specialty"}
	var b bytes.Buffer
	b.WriteString(strings.Join(m.WideColumns(), ","))
	b.WriteString("\n")
	ids := m.CapabilityIDs()
	for i := range n {
		fmt.Fprintf(&b, "org-%06d,Hospital %d,%s,%d,%s,2026,%s,2026-03-14T09:26:53Z", i, i, states[i%len(states)], 30+i%900, types[i%len(types)], m.Version)
		x := uint32(i*2654435761 + 1)
		for j, id := range ids {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			switch {
			case id == "DEV-05" && x%17 == 0:
				b.WriteString(",na")
			case j == 1 && x%23 == 0:
				b.WriteString(",unknown")
			default:
				fmt.Fprintf(&b, ",%d", x%5)
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// BenchmarkIngestCSVWide25k is the benchmark target of the brief: 25,000 submissions
// (1,000,000 answers) decoded, validated, scored and hashed, without a store. The
// warehouse adds its commit to this (research/perf.md: ≈0.32 s for 1M rows via Arrow).
func BenchmarkIngestCSVWide25k(b *testing.B) {
	data := benchWide(25_000)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		rep, err := Ingest(context.Background(), nil, testReg, []Input{{Name: "bench.csv", Format: FormatCSVWide, Reader: bytes.NewReader(data)}}, Options{})
		if err != nil || rep.Total.Valid != 25_000 {
			b.Fatalf("%v %s", err, rep)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/25k")
}

// BenchmarkStages splits the 25k path so that the bottleneck is visible: decoding
// alone, decoding plus validation, and model.Score alone (single goroutine).
func BenchmarkStages(b *testing.B) {
	data := benchWide(25_000)
	env := newEnv(testReg)
	decodeAll := func() []item {
		var out []item
		d := &decodeCtx{ctx: context.Background(), env: env, format: FormatCSVWide, seen: map[subKey]int{}}
		jobs := make(chan *block, 1000)
		d.jobs, d.ordered = jobs, make(chan *block, 1000)
		br, _, _ := openInput(bytes.NewReader(data), DefaultMaxBytes)
		if err := d.run(br); err != nil {
			b.Fatal(err)
		}
		_ = d.flush()
		close(jobs)
		for blk := range jobs {
			out = append(out, blk.items...)
		}
		return out
	}
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			decodeAll()
		}
	})
	items := decodeAll()
	m := testModel()
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			for i := range items {
				m.ValidateSubmission(&items[i].sub)
			}
		}
	})
	b.Run("score", func(b *testing.B) {
		for b.Loop() {
			for i := range items {
				m.Score(items[i].sub.Answers)
			}
		}
	})
	b.Run("hash", func(b *testing.B) {
		p := newProcessor(env, "")
		sorted := env.models[m.Version].sorted
		for b.Loop() {
			for i := range items {
				p.hash(&items[i].sub, sorted)
			}
		}
	})
}
