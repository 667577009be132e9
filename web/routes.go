package web

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"zhufang"
)

// routes lists every route in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Open to all: health, sign-in and the console's own assets.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.api(s.readyz))
	mux.HandleFunc("GET /metrics", s.serveMetrics) // loopback or the metrics token; see serveMetrics
	mux.HandleFunc("POST /api/v1/session", s.api(s.createSession))
	mux.HandleFunc("GET /favicon.ico", serveFavicon(faviconICO()))
	mux.HandleFunc("GET /login", s.page(s.loginPage))
	mux.HandleFunc("POST /login", s.page(s.login))
	mux.Handle("GET /static/", staticHandler())

	// The API, for people (a session) and devices (a device token).
	mux.HandleFunc("DELETE /api/v1/session", s.userAPI(s.deleteSession))
	mux.HandleFunc("GET /api/v1/org/summary", s.userAPI(s.orgSummary))
	mux.HandleFunc("GET /api/v1/locate", s.userAPI(s.locate))
	mux.HandleFunc("GET /api/v1/categories", s.userAPI(s.listCategories))
	mux.HandleFunc("POST /api/v1/incidents", s.userAPI(s.createIncident))
	mux.HandleFunc("GET /api/v1/incidents", s.userAPI(s.listIncidents))
	mux.HandleFunc("GET /api/v1/incidents/{id}", s.userAPI(s.getIncident))
	mux.HandleFunc("POST /api/v1/incidents/{id}/transitions", s.userAPI(s.transitionIncident))
	mux.HandleFunc("POST /api/v1/incidents/{id}/lane", s.userAPI(s.overrideLane))
	mux.HandleFunc("GET /api/v1/compliance", s.userAPI(s.compliance))
	mux.HandleFunc("POST /api/v1/positions", s.authAPI(s.positions))
	mux.HandleFunc("GET /api/v1/units", s.userAPI(s.listUnits))
	mux.HandleFunc("GET /api/v1/units/{id}", s.userAPI(s.getUnit))
	mux.HandleFunc("POST /api/v1/units/{id}/status", s.authAPI(s.setUnitStatus))
	mux.HandleFunc("GET /api/v1/incidents/{id}/recommendations", s.userAPI(s.recommendations))
	mux.HandleFunc("POST /api/v1/incidents/{id}/assignments", s.userAPI(s.assign))
	mux.HandleFunc("GET /api/v1/incidents/{id}/assignments", s.userAPI(s.listAssignments))
	mux.HandleFunc("GET /api/v1/assignments/{id}", s.authAPI(s.getAssignment))
	mux.HandleFunc("POST /api/v1/assignments/{id}/transitions", s.authAPI(s.advanceAssignment))
	mux.HandleFunc("GET /api/v1/audit", s.userAPI(s.listAudit))
	mux.HandleFunc("GET /api/v1/posture", s.userAPI(s.posture))
	mux.HandleFunc("GET /api/", s.api(s.apiNotFound))

	// The console.
	mux.HandleFunc("GET /{$}", s.authPage(s.home))
	mux.HandleFunc("GET /board", s.authPage(s.board))
	mux.HandleFunc("GET /board/rows/{id}", s.authPage(s.boardRowFragment))
	mux.HandleFunc("GET /board/units", s.authPage(s.unitsFragment))
	mux.HandleFunc("GET /board/breaches", s.authPage(s.breachPanel))
	mux.HandleFunc("GET /alarms/{id}", s.authPage(s.alarmItem))
	mux.HandleFunc("GET /map", s.authPage(s.mapView))
	mux.HandleFunc("GET /map/incidents/{id}", s.authPage(s.mapIncidentFragment))
	mux.HandleFunc("GET /map/posture", s.authPage(s.postureFragment))
	mux.HandleFunc("GET /map/tiles", s.authPage(s.mapTiles))
	mux.HandleFunc("GET /incidents/{id}", s.authPage(s.incidentPage))
	mux.HandleFunc("POST /incidents", s.authPage(s.intake))
	mux.HandleFunc("POST /incidents/{id}/assign", s.authPage(s.assignForm))
	mux.HandleFunc("POST /incidents/{id}/state", s.authPage(s.stateForm))
	mux.HandleFunc("GET /units/{id}", s.authPage(s.unitPage))
	mux.HandleFunc("GET /stations/{id}", s.authPage(s.stationPage))
	mux.HandleFunc("GET /org", s.authPage(s.orgPage))
	mux.HandleFunc("GET /audit", s.authPage(s.auditList))
	mux.HandleFunc("GET /users", s.authPage(s.usersList))
	mux.HandleFunc("POST /users", s.authPage(s.addUser))
	mux.HandleFunc("POST /users/{username}/active", s.authPage(s.setUserActive))
	mux.HandleFunc("POST /users/{username}/password", s.authPage(s.resetPassword))
	mux.HandleFunc("POST /users/{username}/role", s.authPage(s.setUserRole))
	mux.HandleFunc("GET /events", s.authPage(s.events))
	mux.HandleFunc("POST /lang", s.authPage(s.setLang))
	mux.HandleFunc("POST /logout", s.authPage(s.logout))
	imgSrc := ""
	if s.Tiles != nil {
		imgSrc = s.Tiles.Origin
	}
	return s.observe(securityHeaders(s.pageMuxErrors(mux, jsonMuxErrors(mux)), imgSrc))
}

// jsonMuxErrors makes the mux's own 404 and 405 answers under /api/ speak
// JSON like every other API error.
func jsonMuxErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&muxErrorWriter{ResponseWriter: w, r: r}, r)
	})
}

// pageMuxErrors answers a GET of a console path that no route serves
// with the console's 404 page, in the user's language, rather than the
// mux's English plain text.
func (s *Server) pageMuxErrors(mux *http.ServeMux, h http.Handler) http.Handler {
	notFound := s.authPage(s.pageNotFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.HasPrefix(r.URL.Path, "/api/") {
			if _, pattern := mux.Handler(r); pattern == "" {
				notFound(w, r)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

type muxErrorWriter struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (m *muxErrorWriter) WriteHeader(code int) {
	plain := strings.HasPrefix(m.Header().Get("Content-Type"), "text/plain")
	if plain && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		m.swallow = true
		var body errorBody
		body.Error.Code = zhufang.ENOTFOUND
		body.Error.Message = "no such API endpoint: " + m.r.URL.Path
		if code == http.StatusMethodNotAllowed {
			body.Error.Code = "method_not_allowed"
			body.Error.Message = m.r.Method + " is not allowed on " + m.r.URL.Path + "; allowed: " + m.Header().Get("Allow")
		}
		m.Header().Del("X-Content-Type-Options")
		writeJSON(m.ResponseWriter, code, body)
		return
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *muxErrorWriter) Write(b []byte) (int, error) {
	if m.swallow {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}

// securityHeaders sets the headers every response carries: no framing, no
// type sniffing, and a policy that runs only the console's own scripts and
// styles (no inline script at all). Images come from the console itself
// and, when a tile server is configured, from tileOrigin alone.
func securityHeaders(h http.Handler, tileOrigin string) http.Handler {
	imgSrc := "img-src 'self' data:; "
	if tileOrigin != "" {
		imgSrc = "img-src 'self' data: " + tileOrigin + "; "
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+imgSrc+
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// staticHandler serves the console's embedded scripts, styles and icons:
// files only. A directory (/static/ itself, or any path naming one, with
// or without its slash) is 404 rather than a listing of what is there.
func staticHandler() http.Handler {
	files := http.FileServerFS(staticFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if fi, err := fs.Stat(staticFiles, name); strings.HasSuffix(r.URL.Path, "/") || err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}
