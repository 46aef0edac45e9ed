package api

import (
	"strings"

	"github.com/hcztmm/warehouse/warehouse"
)

// CurlExamples returns curl command lines a newcomer can paste to try a key of the given
// role against a server at base (e.g. "http://127.0.0.1:8080"); cycle fills the routes
// that need one. The lines carry the token, so they are for whoever was just given it
// (`serve --demo`, `keys create`). They are built here, next to the routes, so that they
// cannot drift from them (TestCurlExamplesUseRealRoutes).
func CurlExamples(base string, role warehouse.Role, token, cycle string) []string {
	base = strings.TrimRight(base, "/")
	auth := "-H 'Authorization: Bearer " + token + "' "
	get := func(path string) string { return "curl -s " + auth + base + path }
	post := func(path, ctype, data string) string {
		return "curl -s " + auth + "-H 'Content-Type: " + ctype + "' " + data + " " + base + path
	}
	switch role {
	case warehouse.RoleProvider:
		return []string{
			get("/api/v1/organisations/me"),
			get("/api/v1/benchmark/" + cycle),
			get("/api/v1/scorecards/" + cycle),
			get("/api/v1/submissions"),
			post("/api/v1/submissions", "application/json", "--data-binary @submission.json"),
			post("/api/v1/submissions/bulk?filename=history.csv", "text/csv", "--data-binary @history.csv"),
		}
	case warehouse.RoleResearcher:
		return []string{
			get("/api/v1/releases?cycle=" + cycle),
			get("/api/v1/cycles/" + cycle + "/budget"),
		}
	case warehouse.RoleAnalyst:
		return []string{
			get("/api/v1/releases?cycle=" + cycle),
			get("/api/v1/cycles"),
		}
	case warehouse.RoleAdmin:
		return []string{
			get("/api/v1/audit?limit=20"),
			get("/api/v1/keys"),
			post("/api/v1/keys", "application/json", `-d '{"role":"researcher","label":"a colleague"}'`),
			post("/api/v1/releases", "application/json", `-d '{"cycle":"`+cycle+`","epsilon":0.5}'`),
			get("/metrics"),
		}
	}
	return nil
}
