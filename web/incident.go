package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"zhufang"
)

// incidentRequest is the body of POST /api/v1/incidents.
type incidentRequest struct {
	Source      zhufang.IncidentSource `json:"source"`
	ReceivedAt  *time.Time             `json:"received_at"`
	CallerName  string                 `json:"caller_name"`
	CallerPhone string                 `json:"caller_phone"`
	Address     string                 `json:"address"`
	Position    *zhufang.Point         `json:"position"`
	Category    string                 `json:"category"`
	PlaceType   string                 `json:"place_type"`
	Description string                 `json:"description"`
	Flags       zhufang.IncidentFlags  `json:"flags"`
	// Actor is accepted for older clients and ignored: who acts is the
	// signed-in user.
	Actor string `json:"actor"`
}

// incidentView is an incident as the API shows it: the caller's phone
// masked, with its history and 1-3-5 standing when asked for one.
type incidentView struct {
	*zhufang.Incident
	Transitions []zhufang.Transition  `json:"transitions,omitempty"`
	Compliance  []zhufang.StageResult `json:"compliance,omitempty"`
}

func view(inc *zhufang.Incident) incidentView { return incidentView{Incident: inc.Masked()} }

// actorName is who acts in this request, for transitions and assignments.
func actorName(r *http.Request) string { return zhufang.ActorFromContext(r.Context()).Name() }

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) error {
	var req incidentRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Position == nil {
		return zhufang.Errorf(zhufang.EINVALID, "position [lon, lat] is required")
	}
	inc := &zhufang.Incident{Source: req.Source, CallerName: req.CallerName, CallerPhone: req.CallerPhone,
		Address: req.Address, Position: *req.Position, Category: req.Category, PlaceType: req.PlaceType,
		Description: req.Description, Flags: req.Flags}
	if req.ReceivedAt != nil {
		inc.ReceivedAt = req.ReceivedAt.UTC().Truncate(time.Microsecond)
	}
	if err := s.Intake.Receive(r.Context(), inc, actorName(r)); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10))
	writeJSON(w, http.StatusCreated, view(inc))
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, zhufang.Errorf(zhufang.EINVALID, "ID %q must be a positive whole number", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.FindIncidentByID(r.Context(), id)
	if err != nil {
		return err
	}
	ts, err := s.Incidents.FindTransitions(r.Context(), id)
	if err != nil {
		return err
	}
	v := view(inc)
	// Only ?personal=1 shows the caller in full, to a role that may see it,
	// and the view is audited.
	if r.URL.Query().Get("personal") == "1" {
		if err := zhufang.Authorize(r.Context(), zhufang.PermViewPersonal); err != nil {
			return err
		}
		if err := s.Audit.RecordAudit(r.Context(), zhufang.AuditViewPersonal, "incident:"+strconv.FormatInt(id, 10), "caller via API"); err != nil {
			return err
		}
		v.CallerName, v.CallerPhone = inc.CallerName, inc.CallerPhone
	}
	v.Transitions = ts
	v.Compliance = zhufang.IncidentResults(inc, ts, s.Intake.Clock.Now())
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := zhufang.IncidentFilter{State: zhufang.IncidentState(q.Get("state")), Lane: zhufang.Lane(q.Get("lane")), Open: q.Get("open") == "1" || q.Get("open") == "true"}
	if f.State != "" && !slices.Contains(zhufang.IncidentStates, f.State) {
		return zhufang.Errorf(zhufang.EINVALID, "state %q is not an incident state", f.State)
	}
	if f.Lane != "" {
		if err := zhufang.CheckLane(f.Lane); err != nil {
			return err
		}
	}
	for name, dst := range map[string]*int64{"station_id": &f.StationID} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return zhufang.Errorf(zhufang.EINVALID, "%s must be a positive whole number", name)
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (name == "limit" && n > 1000) || n > 10_000_000 {
				return zhufang.Errorf(zhufang.EINVALID, "limit must be 0 to 1000 and offset a whole number of at least 0")
			}
			*dst = n
		}
	}
	list, err := s.Incidents.FindIncidents(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]incidentView, len(list))
	for i, inc := range list {
		out[i] = view(inc)
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out})
	return nil
}

func (s *Server) transitionIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req zhufang.TransitionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Actor = actorName(r)
	inc, err := s.Incidents.TransitionIncident(r.Context(), id, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view(inc))
	return nil
}

// laneRequest is the body of POST /api/v1/incidents/{id}/lane.
type laneRequest struct {
	Lane     zhufang.Lane `json:"lane"`
	By       string       `json:"by"` // ignored: the signed-in user overrides
	Reason   string       `json:"reason"`
	AssignTo string       `json:"assign_to"`
}

func (s *Server) overrideLane(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req laneRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	inc, err := s.Incidents.OverrideLane(r.Context(), id, req.Lane, actorName(r), req.Reason, req.AssignTo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view(inc))
	return nil
}

func (s *Server) listCategories(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"categories": s.Intake.Categories.All()})
	return nil
}

// parseDay reads a date (China time) or an RFC 3339 time.
func parseDay(v, name string) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", v, zhufang.ChinaTime); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, zhufang.Errorf(zhufang.EINVALID, "%s must be a date YYYY-MM-DD or an RFC 3339 time", name)
}

// compliance reports 1-3-5 standing grouped by zone, station, day or month
// over a period (default: the last 7 days).
func (s *Server) compliance(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	now := s.Intake.Clock.Now()
	from, to := now.AddDate(0, 0, -7), now
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = parseDay(v, "from"); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parseDay(v, "to"); err != nil {
			return err
		}
	}
	if !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		return zhufang.Errorf(zhufang.EINVALID, "the period must run forwards and last at most a year")
	}
	by := q.Get("by")
	if by == "" {
		by = "zone"
	}
	incs, err := s.Compliance.FindClockedIncidents(r.Context(), from, to)
	if err != nil {
		return err
	}
	rows, err := zhufang.AggregateCompliance(incs, by, now)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "by": by, "rows": rows})
	return nil
}
