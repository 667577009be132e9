package web

import "net/http"

// routes lists every route in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.api(s.readyz))
	mux.HandleFunc("GET /api/v1/org/summary", s.api(s.orgSummary))
	mux.HandleFunc("GET /api/v1/locate", s.api(s.locate))
	mux.HandleFunc("GET /api/", s.api(s.apiNotFound))
	mux.HandleFunc("GET /{$}", s.page(s.home))
	return securityHeaders(mux)
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
