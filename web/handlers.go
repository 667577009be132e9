package web

import (
	"net/http"
	"strconv"
	"strings"

	"zhufang"
)

// healthz says the process is up; it checks nothing else.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz says whether the database is reachable and migrated.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.Ready == nil {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "not ready", errNotReady)
	}
	if err := s.Ready(r.Context()); err != nil {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "not ready: "+zhufang.ErrorMessage(err), err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) orgSummary(w http.ResponseWriter, r *http.Request) error {
	sum, err := s.Org.OrgSummary(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

// locateResponse is the answer of /api/v1/locate.
type locateResponse struct {
	Point        zhufang.Point         `json:"point"`
	Jurisdiction *zhufang.Jurisdiction `json:"jurisdiction"`
}

// locate answers whose ground a coordinate is. A point outside the city is
// a 404 whose message says so.
func (s *Server) locate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lon, err := coordinate(q.Get("lon"), "lon")
	if err != nil {
		return err
	}
	lat, err := coordinate(q.Get("lat"), "lat")
	if err != nil {
		return err
	}
	p := zhufang.Point{Lon: lon, Lat: lat}
	if err := p.Validate(); err != nil {
		return err
	}
	if s.Locator == nil {
		return zhufang.Errorf(zhufang.EUNAVAILABLE, "the jurisdiction index is not loaded")
	}
	j, ok := s.Locator.Locate(p)
	if !ok {
		return zhufang.Errorf(zhufang.ENOTFOUND, "outside: the point (%g, %g) lies outside the city's jurisdiction", lon, lat)
	}
	writeJSON(w, http.StatusOK, locateResponse{Point: p, Jurisdiction: &j})
	return nil
}

// coordinate parses one coordinate parameter.
func coordinate(v, name string) (float64, error) {
	if v == "" {
		return 0, zhufang.Errorf(zhufang.EINVALID, "parameter %s is required (decimal degrees, WGS-84)", name)
	}
	if len(v) > 40 {
		return 0, zhufang.Errorf(zhufang.EINVALID, "parameter %s is too long", name)
	}
	// Plain decimals only: ParseFloat would also take hex, NaN and Inf.
	plain := strings.Trim(v, "0123456789.+-eE") == ""
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !plain {
		return 0, zhufang.Errorf(zhufang.EINVALID, "parameter %s must be a decimal number of degrees", name)
	}
	return f, nil
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) error {
	return zhufang.Errorf(zhufang.ENOTFOUND, "no such API endpoint: %s", r.URL.Path)
}
