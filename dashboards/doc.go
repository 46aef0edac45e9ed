// Package dashboards serves the server-rendered pages of the benchmark: the provider's
// peer benchmark, the researchers' industry findings and the analysts' cohort explorer,
// with go-echarts charts that work offline, and the sign-in that lets a browser use them.
//
// # Privacy by construction
//
// Pages never hold the warehouse. They read through two narrow interfaces:
//
//   - ReleaseReader: stored releases, byte for byte (digest-checked, decoded once and
//     cached: a published release never changes). Every figure about other
//     organisations on every page comes from here, through privacy.PeerCohort and
//     privacy.PeerPosition for the benchmark.
//   - OrgReaders: a function that makes an OwnOrgReader fixed to one organisation. Its
//     methods take no organisation ID, and OrgScoped also checks every returned row. The
//     benchmark asks for a reader only with the signed-in provider's OrgID; nothing in
//     the request (query, form, headers) can name another organisation.
//
// Labels in charts come only from the model, fixed wording, safe IDs and numbers; an
// organisation's own name appears only as escaped HTML text on its own page. Chart
// options are data (no JavaScript functions), marshalled HTML-safe into
// <script type="application/json"> elements and drawn by the embedded dashboards.js, so
// pages run under a Content-Security-Policy of script-src 'self'.
//
// # Mounting (for api/)
//
// Build the pages once and mount Handler under its prefix for every method:
//
//	pages, err := dashboards.New(dashboards.Config{Prefix: "/dashboards"}, dashboards.Deps{
//		Models:   registry,
//		Releases: db,                        // *warehouse.DB
//		Orgs:     dashboards.OrgScoped(db),  // one organisation per reader
//		Auth:     keyAuthenticator,          // API key -> Viewer{Role, OrgID, KeyID}
//		Logger:   logger,
//	})
//	h := pages.Handler()
//	engine.Any("/dashboards", gin.WrapH(h))
//	engine.Any("/dashboards/*path", gin.WrapH(h))
//
// Handler serves, under the prefix: GET static/<hash>/… (embedded echarts, CSS, JS; no
// viewer needed), GET/POST signin, POST signout, GET benchmark (provider), GET findings
// (researcher, analyst, admin), GET explorer (analyst, researcher, admin), and GET / (to
// the viewer's home page). It does its own session handling: do not put a middleware that
// requires an Authorization header in front of it. A middleware that authenticates an
// optional Bearer key may call WithViewer on the request context; a viewer found there
// wins over the session cookie. Security headers on pages (CSP, no-store, DENY framing)
// are set by the pages themselves and override the API's.
//
// Sessions: sign-in posts the API key once; Sessions resolves it with Deps.Auth and sets
// an HttpOnly, SameSite=Strict cookie scoped to the prefix (Secure, with a __Host- or
// __Secure- name, when Config.Session.Secure is set for HTTPS). Revoking a key should
// call Pages.Sessions().RevokeKey(keyID), or Config.Session.Check can re-validate keys
// on every request.
package dashboards
