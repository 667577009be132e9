package web

import (
	"net/http"

	"zhufang"
)

// posture answers the command room's posture plan for the current hour:
// where each idle car and motorcycle on the user's ground should wait, and
// which parts of the ground no idle unit reaches in time now.
func (s *Server) posture(w http.ResponseWriter, r *http.Request) error {
	if err := zhufang.Authorize(r.Context(), zhufang.PermViewUnits); err != nil {
		return err
	}
	if err := zhufang.Authorize(r.Context(), zhufang.PermViewIncidents); err != nil {
		return err
	}
	if s.Posture == nil {
		return zhufang.Errorf(zhufang.EUNAVAILABLE, "posture planning is not running on this node")
	}
	live, err := s.liveUnits(r)
	if err != nil {
		return err
	}
	units := make([]zhufang.LiveUnit, len(live))
	for i, u := range live {
		units[i] = *u
	}
	p, err := s.Posture.Posture(r.Context(), s.Intake.Clock.Now(), units)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
