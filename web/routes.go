package web

import (
	"net/http"
	"strings"

	"zhufang"
)

// routes lists every route in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.api(s.readyz))
	mux.HandleFunc("GET /api/v1/org/summary", s.api(s.orgSummary))
	mux.HandleFunc("GET /api/v1/locate", s.api(s.locate))
	mux.HandleFunc("GET /api/v1/categories", s.api(s.listCategories))
	mux.HandleFunc("POST /api/v1/incidents", s.api(s.createIncident))
	mux.HandleFunc("GET /api/v1/incidents", s.api(s.listIncidents))
	mux.HandleFunc("GET /api/v1/incidents/{id}", s.api(s.getIncident))
	mux.HandleFunc("POST /api/v1/incidents/{id}/transitions", s.api(s.transitionIncident))
	mux.HandleFunc("POST /api/v1/incidents/{id}/lane", s.api(s.overrideLane))
	mux.HandleFunc("GET /api/v1/compliance", s.api(s.compliance))
	mux.HandleFunc("POST /api/v1/positions", s.api(s.positions))
	mux.HandleFunc("GET /api/v1/units", s.api(s.listUnits))
	mux.HandleFunc("POST /api/v1/units/{id}/status", s.api(s.setUnitStatus))
	mux.HandleFunc("GET /api/v1/incidents/{id}/recommendations", s.api(s.recommendations))
	mux.HandleFunc("POST /api/v1/incidents/{id}/assignments", s.api(s.assign))
	mux.HandleFunc("GET /api/v1/incidents/{id}/assignments", s.api(s.listAssignments))
	mux.HandleFunc("POST /api/v1/assignments/{id}/transitions", s.api(s.advanceAssignment))
	mux.HandleFunc("GET /api/", s.api(s.apiNotFound))
	mux.HandleFunc("GET /{$}", s.page(s.home))
	return securityHeaders(jsonMuxErrors(mux))
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

// securityHeaders sets the headers every response carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
		h.ServeHTTP(w, r)
	})
}
