package main

// scenarios is the registry, in table order. A new row (a DP release against an exact
// GROUP BY, the HTTP peer benchmark against a static gin handler, ...) is a new Scenario
// in its own file, added here.
func scenarios() []Scenario {
	return []Scenario{
		bulkIngest{},
		&concurrentCommit{},
		scoring{},
		release{},
		httpReads{},
		dashboardPages{},
	}
}
