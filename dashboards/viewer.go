package dashboards

import (
	"context"
	"slices"
)

// Role is what an authenticated caller may see. The names are the API's roles, so a key
// minted for the API signs in to the dashboards with the same rights.
type Role string

// The roles of the product (DESIGN.md §6).
const (
	// RoleAdmin manages cycles, releases and keys; on the dashboards it sees what
	// researchers and analysts see (releases only), never an organisation's own page.
	RoleAdmin Role = "admin"
	// RoleResearcher reads releases: the industry findings and the cohort explorer.
	RoleResearcher Role = "researcher"
	// RoleAnalyst reads releases: the cohort explorer and the industry findings.
	RoleAnalyst Role = "analyst"
	// RoleProvider is bound to one organisation and sees its own peer benchmark.
	RoleProvider Role = "provider"
)

// Viewer is the authenticated caller of a page. It is made by the sign-in (Sessions) or
// by the API's own authentication, never from anything in the request the caller controls
// (query string, form, headers), which is what keeps a provider on its own organisation.
type Viewer struct {
	// Role decides which pages the viewer may open.
	Role Role
	// OrgID is the provider's organisation; empty for every other role.
	OrgID string
	// KeyID names the API key the viewer signed in with (not the key itself), so that
	// revoking a key can end its sessions. Optional.
	KeyID string
}

// Valid reports whether the viewer is a known role, with an organisation exactly when
// it is a provider.
func (v Viewer) Valid() bool {
	switch v.Role {
	case RoleProvider:
		return v.OrgID != ""
	case RoleAdmin, RoleResearcher, RoleAnalyst:
		return v.OrgID == ""
	}
	return false
}

// Is reports whether the viewer has one of the roles.
func (v Viewer) Is(roles ...Role) bool { return slices.Contains(roles, v.Role) }

type viewerKey struct{}

// WithViewer returns a context carrying the authenticated viewer. The API calls it after
// its own authentication (or Sessions.Middleware does, from the session cookie); page
// handlers read the viewer back with ViewerFrom and nothing else.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer WithViewer stored, if any, and only when it is Valid.
func ViewerFrom(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(Viewer)
	if !ok || !v.Valid() {
		return Viewer{}, false
	}
	return v, true
}

// Page access. Cross-organisation figures on every page come from stored releases, so the
// release pages are open to every release-reading role; only the benchmark shows an
// organisation's own rows and it is for that organisation's providers alone.
var (
	benchmarkRoles = []Role{RoleProvider}
	findingsRoles  = []Role{RoleResearcher, RoleAnalyst, RoleAdmin}
	explorerRoles  = []Role{RoleAnalyst, RoleResearcher, RoleAdmin}
)

// homePage is where a viewer lands after signing in.
func homePage(v Viewer) string {
	switch v.Role {
	case RoleProvider:
		return pathBenchmark
	case RoleAnalyst:
		return pathExplorer
	default:
		return pathFindings
	}
}
