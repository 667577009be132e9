package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// checkReads: every read of one record, by every principal, on each ground.
func (w *matrixWorld) checkReads(t *testing.T) {
	reads := []struct {
		route, path string
		on          matrixTarget
		need        string
		check       func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse)
	}{
		{"GET /api/v1/incidents/{id}", "/api/v1/incidents/%d", matrixOnIncident, "view_incidents", w.masked},
		{"GET /api/v1/incidents/{id}", "/api/v1/incidents/%d?personal=1", matrixOnIncident, "view_incidents view_personal", w.unmasked},
		{"GET /api/v1/incidents/{id}/assignments", "/api/v1/incidents/%d/assignments", matrixOnIncident, "view_incidents", nil},
		{"GET /api/v1/incidents/{id}/recommendations", "/api/v1/incidents/%d/recommendations", matrixOnIncident,
			"view_incidents view_units", w.recommended},
		{"GET /api/v1/units/{id}", "/api/v1/units/%d", matrixOnUnit, "view_units", nil},
		{"GET /incidents/{id}", "/incidents/%d", matrixOnIncident, "view_incidents", w.incidentPage},
		{"GET /board/rows/{id}", "/board/rows/%d", matrixOnIncident, "view_incidents", func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
			if !strings.Contains(r.body, pl.inc.number) {
				t.Errorf("board row of %s's incident as %s lacks its number", pl.name, p)
			}
		}},
		{"GET /alarms/{id}", "/alarms/%d?stage=acknowledge", matrixOnIncident, "view_incidents", func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
			if !strings.Contains(r.body, `class="alarm-item"`) || !strings.Contains(r.body, pl.inc.number) {
				t.Errorf("breach alarm of %s's incident as %s lacks its number: %s", pl.name, p, r.body)
			}
		}},
		{"GET /map/incidents/{id}", "/map/incidents/%d", matrixOnIncident, "view_incidents", func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
			if !strings.Contains(r.body, fmt.Sprintf(`<circle id="mi-%d"`, pl.inc.id)) || !strings.Contains(r.body, pl.inc.number) {
				t.Errorf("map marker of %s's incident as %s lacks its circle or its number: %s", pl.name, p, r.body)
			}
		}},
		{"GET /units/{id}", "/units/%d", matrixOnUnit, "view_units", nil},
		{"GET /stations/{id}", "/stations/%d", matrixOnStation, "view_stats", w.stationPage},
	}
	for _, rd := range reads {
		w.routes[rd.route] = true
		t.Run(strings.ReplaceAll(rd.path, "%d", "{id}"), func(t *testing.T) {
			for _, p := range w.principals {
				for _, pl := range w.places {
					id, covered := w.target(p, pl, rd.on)
					cell := fmt.Sprintf("GET %s as %s, %s's", fmt.Sprintf(rd.path, id), p, pl.name)
					got := w.call(t, p, http.MethodGet, fmt.Sprintf(rd.path, id), "")
					unknown := func() matrixResponse { return w.call(t, p, http.MethodGet, fmt.Sprintf(rd.path, matrixUnknown), "") }
					if w.judge(t, cell, matrixRecordWant(p, covered, rd.need), http.StatusOK, got, unknown) && rd.check != nil {
						rd.check(t, p, pl, got)
					}
				}
			}
		})
	}
}

// masked: without asking, nobody sees the caller in full.
func (w *matrixWorld) masked(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
	var inc struct {
		ID          int64
		CallerName  string `json:"caller_name"`
		CallerPhone string `json:"caller_phone"`
	}
	matrixDecode(t, r, &inc)
	if inc.ID != pl.inc.id || inc.CallerPhone != "****5678" || inc.CallerName != "王**" {
		t.Errorf("incident %d as %s: %+v, want it with the caller masked", pl.inc.id, p, inc)
	}
}

// unmasked: asked for, a role that may see personal data sees the caller.
func (w *matrixWorld) unmasked(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
	var inc struct {
		CallerName  string `json:"caller_name"`
		CallerPhone string `json:"caller_phone"`
	}
	matrixDecode(t, r, &inc)
	if inc.CallerPhone != "13912345678" || inc.CallerName != "王小明" {
		t.Errorf("incident %d with personal=1 as %s: %+v, want the caller in full", pl.inc.id, p, inc)
	}
}

// recommended: the units offered are all on the user's ground, and for A's
// incident, beside which every test unit waits, exactly those.
func (w *matrixWorld) recommended(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
	var rec struct {
		Units []struct {
			UnitID int64 `json:"unit_id"`
		}
		First *struct {
			UnitID int64 `json:"unit_id"`
		} `json:"first_responder"`
	}
	matrixDecode(t, r, &rec)
	offered := map[int64]bool{}
	for _, u := range rec.Units {
		offered[u.UnitID] = true
		if !p.covers(w.units[u.UnitID]) {
			t.Errorf("recommendations for %s's incident as %s offer unit %d %+v, off the user's ground", pl.name, p, u.UnitID, w.units[u.UnitID])
		}
	}
	if rec.First != nil && !p.covers(w.units[rec.First.UnitID]) {
		t.Errorf("recommendations for %s's incident as %s offer first responder %d %+v, off the user's ground", pl.name, p, rec.First.UnitID, w.units[rec.First.UnitID])
	}
	if pl != w.places[0] {
		return
	}
	w.cells++
	for _, other := range w.places[1:] { // A's own unit is a volunteer team: not a police unit the recommender sends
		if want := p.covers(other.unit.ground); offered[other.unit.id] != want {
			t.Errorf("recommendations for A's incident as %s: unit %d of %s offered %v, want %v (%+v)", p, other.unit.id, other.name, !want, want, rec)
		}
	}
	if want := pl.inc.street && p.covers(w.guard.ground); (rec.First != nil) != want {
		t.Errorf("recommendations for A's incident as %s: first responder %+v, want one: %v", p, rec.First, want)
	}
}

// incidentPage: the caller in full only for a role that may see them.
func (w *matrixWorld) incidentPage(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
	full := strings.Contains(r.body, "13912345678")
	if !strings.Contains(r.body, pl.inc.number) || full != p.can("view_personal") || !full && !strings.Contains(r.body, "****5678") {
		t.Errorf("incident page of %s as %s: number shown %v, phone in full %v, want %v", pl.name, p, strings.Contains(r.body, pl.inc.number), full, p.can("view_personal"))
	}
}

// stationPage lists only the incidents on the user's ground.
func (w *matrixWorld) stationPage(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) {
	for _, inc := range w.known {
		want := inc.ground.station == pl.ground.station && p.covers(inc.ground)
		if strings.Contains(r.body, inc.number) != want {
			t.Errorf("station %d's page as %s shows incident %s %+v: %v, want %v", pl.ground.station, p, inc.number, inc.ground, !want, want)
		}
	}
}
