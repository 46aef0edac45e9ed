package dashboards

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/hcztmm/warehouse/model"
)

// Paths of the pages, relative to the mount prefix. Pages link to each other and to
// their assets relatively, so the prefix appears only in routing and the cookie path.
const (
	pathBenchmark = "benchmark"
	pathFindings  = "findings"
	pathExplorer  = "explorer"
	pathSignIn    = "signin"
	pathSignOut   = "signout"
)

// DefaultPrefix is where the API mounts the pages unless told otherwise.
const DefaultPrefix = "/dashboards"

// maxFormBytes bounds the sign-in form: a key and little else.
const maxFormBytes = 4 << 10

// Deps are what the pages read. None of them can reach another organisation's rows: the
// releases are the stored DP publications, and Orgs hands out readers fixed to one
// organisation, which the pages ask for only with the signed-in provider's own ID.
type Deps struct {
	// Models resolves a release's or submission's model version to its labels.
	Models *model.Registry
	// Releases reads stored releases (*warehouse.DB).
	Releases ReleaseReader
	// Orgs makes one organisation's reader (OrgScoped(*warehouse.DB)).
	Orgs OrgReaders
	// Auth checks API keys at sign-in (the API's key store). Without it the sign-in page
	// refuses every key, and viewers must come from the API's own middleware.
	Auth Authenticator
	// Logger receives internal errors; default slog.Default().
	Logger *slog.Logger
}

// Config places the pages; zero values get defaults.
type Config struct {
	// Prefix is the path the pages are mounted under; default "/dashboards".
	Prefix string
	// Session tunes the sign-in sessions; its Path is always Prefix.
	Session SessionConfig
	// ExportBase is where the API serves release exports: links are
	// ExportBase + "{id}/export?format=csv". Default "/api/v1/releases/".
	ExportBase string
}

// Pages serves the dashboards: sign-in, the three pages and their embedded assets.
type Pages struct {
	cfg      Config
	deps     Deps
	rel      *releases
	sessions *Sessions
	log      *slog.Logger
}

// New checks the dependencies and builds the pages. Nothing is read until a request.
func New(cfg Config, deps Deps) (*Pages, error) {
	if deps.Models == nil || deps.Releases == nil || deps.Orgs == nil {
		return nil, model.Errorf(model.KindInternal, "dashboards: Models, Releases and Orgs are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	cfg.Prefix = "/" + strings.Trim(cfg.Prefix, "/")
	if cfg.ExportBase == "" {
		cfg.ExportBase = "/api/v1/releases/"
	}
	cfg.Session.Path = cfg.Prefix
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Pages{cfg: cfg, deps: deps, rel: newReleases(deps.Releases),
		sessions: NewSessions(deps.Auth, cfg.Session), log: deps.Logger}, nil
}

// Prefix is the path the pages are mounted under.
func (p *Pages) Prefix() string { return p.cfg.Prefix }

// Sessions is the sign-in session table, e.g. for RevokeKey when the API revokes a key.
func (p *Pages) Sessions() *Sessions { return p.sessions }

// Handler serves everything under Prefix: the assets (public), sign-in and sign-out,
// and the pages (viewer from the context, else from the session cookie). The API mounts
// it as it is, e.g. with gin: engine.Any(prefix+"/*path", gin.WrapH(pages.Handler())).
func (p *Pages) Handler() http.Handler {
	mux := http.NewServeMux()
	pre := p.cfg.Prefix
	mux.Handle("GET "+pre+"/static/", p.Static())
	mux.HandleFunc("GET "+pre+"/"+pathSignIn, p.signInForm)
	mux.HandleFunc("POST "+pre+"/"+pathSignIn, p.signIn)
	mux.HandleFunc("POST "+pre+"/"+pathSignOut, p.signOut)
	mux.Handle("GET "+pre+"/"+pathBenchmark, p.Benchmark())
	mux.Handle("GET "+pre+"/"+pathFindings, p.Findings())
	mux.Handle("GET "+pre+"/"+pathExplorer, p.Explorer())
	mux.HandleFunc("GET "+pre+"/{$}", p.home)
	mux.HandleFunc("GET "+pre, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, pre+"/", http.StatusSeeOther)
	})
	mux.HandleFunc(pre+"/", func(w http.ResponseWriter, r *http.Request) {
		v, ok := ViewerFrom(r.Context())
		p.message(w, http.StatusNotFound, v, ok, "Page not found", "There is no page at this address.")
	})
	return p.sessions.Middleware(mux)
}

// Static serves the embedded assets under Prefix/static/<version>/. It needs no viewer.
func (p *Pages) Static() http.Handler { return staticHandler(p.cfg.Prefix) }

// Benchmark is the provider's peer benchmark. It reads the viewer from the request
// context (WithViewer) and only the viewer's own organisation; any organisation named in
// the request is ignored.
func (p *Pages) Benchmark() http.Handler {
	return p.page(pathBenchmark, benchmarkRoles, p.benchmarkPage)
}

// Findings is the researchers' industry findings, from releases only.
func (p *Pages) Findings() http.Handler { return p.page(pathFindings, findingsRoles, p.findingsPage) }

// Explorer is the analysts' cohort explorer, from releases only.
func (p *Pages) Explorer() http.Handler { return p.page(pathExplorer, explorerRoles, p.explorerPage) }

// pageFunc builds one page's data for a viewer from the query string.
type pageFunc func(ctx context.Context, v Viewer, q url.Values) (template string, title string, data any, err error)

func (p *Pages) page(current string, roles []Role, build pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := ViewerFrom(r.Context())
		if !ok {
			http.Redirect(w, r, pathSignIn+"?next="+url.QueryEscape(current), http.StatusSeeOther)
			return
		}
		if !v.Is(roles...) {
			p.message(w, http.StatusForbidden, v, true, "Not available for your role",
				"This page is not available to the "+string(v.Role)+" role. The pages you can open are listed above.")
			return
		}
		name, title, data, err := build(r.Context(), v, r.URL.Query())
		if err != nil {
			p.fail(w, r, v, err)
			return
		}
		l := layout{Title: title, Signed: true, Role: v.Role, Nav: navFor(v, true, current), Page: data}
		if s, ok := data.(interface{ scripts() []string }); ok {
			l.Scripts = s.scripts()
		}
		if err := render(w, http.StatusOK, name, l); err != nil {
			p.fail(w, r, v, err)
		}
	})
}

// fail turns an error into an error page: kinds the reader can act on say what went
// wrong; anything else is logged and shown as a generic failure.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, v Viewer, err error) {
	var me *model.Error
	msg := "Something went wrong on our side; it has been logged."
	if errors.As(err, &me) {
		msg = me.Message
	}
	switch model.ErrorKind(err) {
	case model.KindNotFound:
		p.message(w, http.StatusNotFound, v, true, "Not found", msg)
	case model.KindInvalid:
		p.message(w, http.StatusBadRequest, v, true, "Invalid request", msg)
	case model.KindForbidden:
		p.message(w, http.StatusForbidden, v, true, "Not allowed", msg)
	default:
		p.log.ErrorContext(r.Context(), "dashboards: page failed", "path", r.URL.Path, "role", string(v.Role), "err", err)
		p.message(w, http.StatusInternalServerError, v, true, "Page failed", "Something went wrong on our side; it has been logged.")
	}
}

// messageData is the data of the plain message page.
type messageData struct{ Heading, Text string }

func (p *Pages) message(w http.ResponseWriter, status int, v Viewer, signed bool, heading, text string) {
	l := layout{Title: heading, Signed: signed, Role: v.Role, Nav: navFor(v, signed, ""), Page: messageData{heading, text}}
	if err := render(w, status, "message", l); err != nil {
		p.log.Error("dashboards: message page failed", "err", err)
		http.Error(w, heading, status)
	}
}

// signInData is the sign-in form's data.
type signInData struct {
	Next  string
	Error string
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	if v, ok := ViewerFrom(r.Context()); ok {
		http.Redirect(w, r, homePage(v), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, pathSignIn, http.StatusSeeOther)
}

func (p *Pages) signInForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if v, ok := ViewerFrom(r.Context()); ok {
		if next == "" {
			next = homePage(v)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.renderSignIn(w, http.StatusOK, signInData{Next: next})
}

func (p *Pages) renderSignIn(w http.ResponseWriter, status int, d signInData) {
	if err := render(w, status, "signin", layout{Title: "Sign in", Page: d}); err != nil {
		p.log.Error("dashboards: sign-in page failed", "err", err)
		http.Error(w, "sign-in page failed", http.StatusInternalServerError)
	}
}

func (p *Pages) signIn(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		p.message(w, http.StatusForbidden, Viewer{}, false, "Not allowed", "Sign-in must come from this site's own sign-in page.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.renderSignIn(w, http.StatusBadRequest, signInData{Error: "The form could not be read."})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	v, err := p.sessions.SignIn(w, r, r.PostForm.Get("key"))
	if err != nil {
		if model.ErrorKind(err) != model.KindUnauthorized {
			p.log.ErrorContext(r.Context(), "dashboards: sign-in failed", "err", err)
		}
		p.renderSignIn(w, http.StatusUnauthorized, signInData{Next: next, Error: "That key was not accepted."})
		return
	}
	if next == "" {
		next = homePage(v)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Pages) signOut(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		p.message(w, http.StatusForbidden, Viewer{}, false, "Not allowed", "Sign-out must come from this site's own pages.")
		return
	}
	p.sessions.SignOut(w, r)
	http.Redirect(w, r, pathSignIn, http.StatusSeeOther)
}

// safeNext accepts only our own page names as a post-sign-in destination, so the form
// cannot be used to redirect elsewhere.
func safeNext(next string) string {
	switch next {
	case pathBenchmark, pathFindings, pathExplorer:
		return next
	}
	return ""
}
