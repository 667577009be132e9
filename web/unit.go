package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"zhufang"
)

// maxReports bounds one batch of position reports, and maxReportsBody its
// body: a thousand reports with speed and heading take about 130 KB.
const (
	maxReports     = 1000
	maxReportsBody = 256 << 10
)

// positionsRequest is the body of POST /api/v1/positions.
type positionsRequest struct {
	Reports []zhufang.PositionReport `json:"reports"`
}

// deviceUnit is the unit the request's device token speaks for.
func (s *Server) deviceUnit(r *http.Request) (int64, error) {
	a := zhufang.ActorFromContext(r.Context())
	if a == nil || a.DeviceUnit == 0 {
		return 0, zhufang.Errorf(zhufang.EFORBIDDEN, "only a unit's device reports positions; send its token as Authorization: Bearer zfd_…")
	}
	return a.DeviceUnit, nil
}

// positions takes a batch of position reports from one device. Every report
// is checked before any is kept; each goes into the unit's track (a repeat
// once), and the newest moves the unit on the live picture.
func (s *Server) positions(w http.ResponseWriter, r *http.Request) error {
	unit, err := s.deviceUnit(r)
	if err != nil {
		return err
	}
	var req positionsRequest
	if err := decodeJSONLimit(w, r, &req, maxReportsBody); err != nil {
		return err
	}
	if len(req.Reports) == 0 || len(req.Reports) > maxReports {
		return zhufang.Errorf(zhufang.EINVALID, "send 1 to %d reports", maxReports)
	}
	now := s.Intake.Clock.Now()
	for i := range req.Reports {
		rep := &req.Reports[i]
		if rep.UnitID == 0 {
			rep.UnitID = unit
		}
		if rep.UnitID != unit {
			return zhufang.Errorf(zhufang.EFORBIDDEN, "report %d is for unit %d; this device speaks only for unit %d", i, rep.UnitID, unit)
		}
		if err := rep.Validate(now); err != nil {
			return zhufang.Errorf(zhufang.EINVALID, "report %d: %s", i, zhufang.ErrorMessage(err))
		}
		if _, in := s.Locator.Locate(rep.Point); !in {
			return zhufang.Errorf(zhufang.EINVALID, "report %d: position (%g, %g) lies outside the city's jurisdiction", i, rep.Point.Lon, rep.Point.Lat)
		}
		rep.At = rep.At.UTC().Truncate(time.Microsecond)
	}
	stored, err := s.Devices.AppendTrack(r.Context(), req.Reports)
	if err != nil {
		return err
	}
	applied := 0
	for _, rep := range req.Reports {
		// Kept in the track already; a unit this node does not know yet (added
		// after it started) is picked up from other nodes' events or a restart.
		if ok, _ := s.Fleet.Apply(rep); ok {
			applied++
		}
	}
	if e, err := zhufang.NewEvent(zhufang.PositionsReported{Reports: req.Reports}, now); err == nil && s.Events != nil {
		// Other nodes move the unit on their pictures; positions are not
		// state changes, so they skip the outbox.
		s.Events.Publish(r.Context(), e)
	}
	s.Metrics.positionsAccepted(len(req.Reports))
	writeJSON(w, http.StatusOK, map[string]int{"received": len(req.Reports), "stored": stored, "applied": applied})
	return nil
}

// listUnits returns the units on the user's ground with their live state.
func (s *Server) listUnits(w http.ResponseWriter, r *http.Request) error {
	var station int64
	if v := r.URL.Query().Get("station_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return zhufang.Errorf(zhufang.EINVALID, "station_id must be a positive whole number")
		}
		station = n
	}
	units, err := s.liveUnits(r)
	if err != nil {
		return err
	}
	out := make([]*zhufang.LiveUnit, 0, len(units))
	for _, u := range units {
		if station == 0 || u.StationID == station {
			out = append(out, u)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"units": out})
	return nil
}

// getUnit returns one unit on the user's ground.
func (s *Server) getUnit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.liveUnit(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// unitStatusRequest is the body of POST /api/v1/units/{id}/status.
type unitStatusRequest struct {
	Status zhufang.UnitStatus `json:"status"`
	Actor  string             `json:"actor"`
}

func (s *Server) setUnitStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req unitStatusRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.Devices.SetUnitStatus(r.Context(), id, req.Status, actorName(r))
	if err != nil {
		return err
	}
	s.Fleet.SetStatus(id, u.Status)
	writeJSON(w, http.StatusOK, u)
	return nil
}

// recommendations proposes units for an incident: the best police units by
// estimated arrival and, for a street incident, the nearest guard team as
// first responder (警保联动).
func (s *Server) recommendations(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	k := 5
	if v := r.URL.Query().Get("k"); v != "" {
		if k, err = strconv.Atoi(v); err != nil || k < 1 || k > 50 {
			return zhufang.Errorf(zhufang.EINVALID, "k must be a whole number from 1 to 50")
		}
	}
	var needs []string
	if v := r.URL.Query().Get("needs"); v != "" {
		needs = strings.Split(v, ",")
	}
	inc, err := s.Incidents.FindIncidentByID(r.Context(), id)
	if err != nil {
		return err
	}
	if err := zhufang.Authorize(r.Context(), zhufang.PermViewUnits); err != nil {
		return err
	}
	c, err := s.city(r.Context())
	if err != nil {
		return err
	}
	units, first := s.recommend(r, c, inc, k, needs)
	out := map[string]any{"incident_id": id, "units": units}
	if first != nil {
		out["first_responder"] = first
	}
	if o := s.outlook(inc, units, first); o != nil {
		out["on_scene"] = o // hopeless when no unit offered can make the on-scene deadline
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// assignRequest is the body of POST /api/v1/incidents/{id}/assignments.
type assignRequest struct {
	UnitID     int64  `json:"unit_id"`
	AssignedBy string `json:"assigned_by"` // ignored: the signed-in user assigns
	Role       string `json:"role"`
	ETASeconds int64  `json:"eta_seconds"`
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req assignRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	a := &zhufang.Assignment{IncidentID: id, UnitID: req.UnitID, AssignedBy: actorName(r), Role: req.Role,
		ETA: time.Duration(req.ETASeconds) * time.Second}
	if err := s.Assignments.Assign(r.Context(), a); err != nil {
		return err
	}
	s.Fleet.SetStatus(a.UnitID, zhufang.UnitDispatched)
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	as, err := s.Assignments.FindAssignments(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"assignments": as})
	return nil
}

// getAssignment returns one assignment the actor may see
// (zhufang.SeesAssignment): on an incident on their ground, of a unit on
// their ground, or a device's own unit's.
func (s *Server) getAssignment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := s.Assignments.FindAssignmentByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// assignmentStepRequest is the body of POST /api/v1/assignments/{id}/transitions.
type assignmentStepRequest struct {
	To    zhufang.AssignmentState `json:"to"`
	Actor string                  `json:"actor"`
}

// advanceAssignment moves an assignment on: from the unit's own device
// (bearer token, only its own assignments), by the unit's own station or
// by a dispatcher over the incident (zhufang.AuthorizeAssignment).
func (s *Server) advanceAssignment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req assignmentStepRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	// The store asks zhufang.AuthorizeAssignment, the rule its reads of
	// assignments follow too.
	a, err := s.Assignments.AdvanceAssignment(r.Context(), id, req.To, actorName(r))
	if err != nil {
		return err
	}
	s.Fleet.SetStatus(a.UnitID, zhufang.UnitStatusFor(a.State))
	writeJSON(w, http.StatusOK, a)
	return nil
}

// listAudit returns audit entries for administrators, filtered by actor,
// record, action and period.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	if err := zhufang.Authorize(r.Context(), zhufang.PermViewAudit); err != nil {
		return err
	}
	q := r.URL.Query()
	f := zhufang.AuditFilter{Actor: q.Get("actor"), Record: q.Get("record"), Action: q.Get("action")}
	var err error
	if v := q.Get("from"); v != "" {
		if f.From, err = parseDay(v, "from"); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = parseDay(v, "to"); err != nil {
			return err
		}
	}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.Atoi(v); err != nil || *dst < 0 || *dst > 10_000_000 {
				return zhufang.Errorf(zhufang.EINVALID, "%s must be a whole number of at least 0", name)
			}
		}
	}
	es, err := s.Audit.FindAudit(r.Context(), f)
	if err != nil {
		return err
	}
	if es == nil {
		es = []*zhufang.AuditEntry{} // an empty list is [], not null
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
	return nil
}
