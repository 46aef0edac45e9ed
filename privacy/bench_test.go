package privacy

import "testing"

// BenchmarkRelease6000 builds a whole release for 6,000 organisations: every partitioning
// of the grid (38 cohorts), 8 domains and 40 capabilities. "default" is the default
// split; "full" releases every family in every partitioning (342 quantile trees).
func BenchmarkRelease6000(b *testing.B) {
	m := testModel()
	recs := population(m, 6000, 1)
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"default", Request{Cycle: "c", Epsilon: 1}},
		{"full", Request{Cycle: "c", Epsilon: 10, Split: FullSplit()}},
	} {
		plan := mustPlan(b, m, tc.req)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(m, plan, recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
