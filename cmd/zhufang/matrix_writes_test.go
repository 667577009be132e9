package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"zhufang"
	"zhufang/sqlstore/sqltest"
)

// checkWrites: every write, by every principal, on each ground.
func (w *matrixWorld) checkWrites(t *testing.T) {
	a := w.places[0]
	// The unit sent where the incident's ground is the question: D's, a
	// patrol car of A's station, on the ground of everyone who may send.
	own := w.places[1].unit
	for _, p := range w.principals {
		if p.can("assign") && !p.covers(own.ground) {
			t.Fatalf("unit %d is not on the ground of %s, who may send units", own.id, p)
		}
	}
	record := func(need string, on func(p *matrixPrincipal, pl *matrixPlace) bool) func(p *matrixPrincipal, pl *matrixPlace) matrixWant {
		return func(p *matrixPrincipal, pl *matrixPlace) matrixWant { return matrixRecordWant(p, on(p, pl), need) }
	}
	intake := func(p *matrixPrincipal, pl *matrixPlace) matrixWant {
		if !p.can("intake") || !p.covers(pl.ground) {
			return matrixForbidden // no record to hide: the place is named in the request
		}
		return matrixAllow
	}
	// An incident is there for a user who reads incidents, on their ground;
	// for anyone else a write to it answers as to one that does not exist.
	onIncident := func(p *matrixPrincipal, pl *matrixPlace) bool { return p.can("view_incidents") && p.covers(pl.ground) }
	// An assignment of a place's unit to the place's incident is seen by
	// whoever reads incidents and covers either ground, and moved on by
	// the unit's crew (crew on its ground) or by who sends units there
	// (assign on the incident's ground); others who see it get 403.
	onAssignment := func(p *matrixPrincipal, pl *matrixPlace) matrixWant {
		switch {
		case p.can("crew") && p.covers(pl.unit.ground) || p.can("assign") && p.covers(pl.ground):
			return matrixAllow
		case p.can("view_incidents") && (p.covers(pl.ground) || p.covers(pl.unit.ground)):
			return matrixForbidden
		}
		return matrixHidden
	}
	path := func(format string, id int64) string { return fmt.Sprintf(format, id) }
	writes := []matrixWrite{
		{"POST /api/v1/incidents/{id}/transitions", "move on", http.StatusOK, record("handle", onIncident),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.pick(t, pl, allowed)
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/transitions", inc.id), `{"to":"dispatched","note":"矩阵"}`)
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/transitions", matrixUnknown), `{"to":"dispatched","note":"矩阵"}`)
			}},
		{"POST /api/v1/incidents/{id}/transitions", "mark own as duplicate of the ground's", http.StatusOK,
			record("handle", func(p *matrixPrincipal, pl *matrixPlace) bool { return onIncident(p, a) && onIncident(p, pl) }),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.pick(t, a, allowed)
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/transitions", inc.id),
					fmt.Sprintf(`{"to":"duplicate","duplicate_of":%d}`, pl.inc.id))
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/transitions", a.inc.id),
					fmt.Sprintf(`{"to":"duplicate","duplicate_of":%d}`, matrixUnknown))
			}},
		{"POST /api/v1/incidents/{id}/lane", "override", http.StatusOK, record("handle", onIncident),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.pick(t, pl, allowed)
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/lane", inc.id), `{"lane":"case","reason":"矩阵"}`)
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/lane", matrixUnknown), `{"lane":"case","reason":"矩阵"}`)
			}},
		{"POST /api/v1/incidents/{id}/assignments", "send an own unit", http.StatusCreated, record("assign", onIncident),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.pick(t, pl, allowed)
				r := w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/assignments", inc.id), fmt.Sprintf(`{"unit_id":%d}`, own.id))
				if r.status == http.StatusCreated {
					w.cancel(t, inc.id)
				}
				return r
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/assignments", matrixUnknown), fmt.Sprintf(`{"unit_id":%d}`, own.id))
			}},
		{"POST /api/v1/incidents/{id}/assignments", "send the ground's unit to an own incident", http.StatusCreated,
			record("assign", func(p *matrixPrincipal, pl *matrixPlace) bool { return onIncident(p, a) && p.covers(pl.unit.ground) }),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.pick(t, a, allowed)
				r := w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/assignments", inc.id), fmt.Sprintf(`{"unit_id":%d}`, pl.unit.id))
				if r.status == http.StatusCreated {
					w.cancel(t, inc.id)
				}
				return r
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.call(t, p, http.MethodPost, path("/api/v1/incidents/%d/assignments", a.inc.id), fmt.Sprintf(`{"unit_id":%d}`, matrixUnknown))
			}},
		{"POST /api/v1/assignments/{id}/transitions", "acknowledge", http.StatusOK, onAssignment,
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.fresh(t, pl)
				r := w.call(t, w.setup, http.MethodPost, path("/api/v1/incidents/%d/assignments", inc.id), fmt.Sprintf(`{"unit_id":%d}`, pl.unit.id))
				var as struct{ ID int64 }
				matrixDecode(t, r, &as)
				if r.status != http.StatusCreated {
					t.Fatalf("setting up: assign unit %d to incident %d: %d %s", pl.unit.id, inc.id, r.status, r.body)
				}
				r = w.call(t, p, http.MethodPost, path("/api/v1/assignments/%d/transitions", as.ID), `{"to":"acknowledged"}`)
				w.cancel(t, inc.id)
				return r
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.call(t, p, http.MethodPost, path("/api/v1/assignments/%d/transitions", matrixUnknown), `{"to":"acknowledged"}`)
			}},
		{"POST /api/v1/units/{id}/status", "off duty", http.StatusOK,
			record("crew", func(p *matrixPrincipal, pl *matrixPlace) bool { return p.covers(pl.unit.ground) }),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				r := w.call(t, p, http.MethodPost, path("/api/v1/units/%d/status", pl.unit.id), `{"status":"off_duty"}`)
				if r.status == http.StatusOK {
					if b := w.call(t, w.setup, http.MethodPost, path("/api/v1/units/%d/status", pl.unit.id), `{"status":"available"}`); b.status != http.StatusOK {
						t.Fatalf("back on duty: %d %s", b.status, b.body)
					}
				}
				return r
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.call(t, p, http.MethodPost, path("/api/v1/units/%d/status", matrixUnknown), `{"status":"off_duty"}`)
			}},
		{"POST /api/v1/incidents", "take a call on the ground", http.StatusCreated, intake,
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				return w.call(t, p, http.MethodPost, "/api/v1/incidents", matrixIntake(pl))
			}, nil},
		{"POST /incidents/{id}/state", "console: move on", http.StatusSeeOther, record("handle", onIncident),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.pick(t, pl, allowed)
				r := w.form(t, p, path("/incidents/%d/state", inc.id), url.Values{"to": {"dispatched"}, "note": {"矩阵"}})
				if r.status == http.StatusSeeOther && r.location != path("/incidents/%d", inc.id) {
					t.Errorf("state form as %s went to %q", p, r.location)
				}
				return r
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.form(t, p, path("/incidents/%d/state", matrixUnknown), url.Values{"to": {"dispatched"}, "note": {"矩阵"}})
			}},
		{"POST /incidents/{id}/assign", "console: send an own unit", http.StatusSeeOther, record("assign", onIncident),
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				inc := w.pick(t, pl, allowed)
				r := w.form(t, p, path("/incidents/%d/assign", inc.id), url.Values{"unit_id": {strconv.FormatInt(own.id, 10)}})
				if r.status == http.StatusSeeOther {
					if r.location != path("/board?sel=%d", inc.id) {
						t.Errorf("assign form as %s went to %q, want the board with the incident, sent", p, r.location)
					}
					w.cancel(t, inc.id)
				}
				return r
			},
			func(t *testing.T, p *matrixPrincipal) matrixResponse {
				return w.form(t, p, path("/incidents/%d/assign", matrixUnknown), url.Values{"unit_id": {strconv.FormatInt(own.id, 10)}})
			}},
		{"POST /incidents", "console: take a call on the ground", http.StatusSeeOther, intake,
			func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse {
				return w.form(t, p, "/incidents", url.Values{"caller_name": {"王小明"}, "caller_phone": {"13912345678"},
					"address": {"矩阵 " + pl.name}, "category": {"200100"}, "description": {"有人打架"},
					"position": {fmt.Sprintf("%f, %f", pl.at.Lon, pl.at.Lat)}})
			}, nil},
	}
	for _, wr := range writes {
		w.routes[wr.route] = true
		t.Run(wr.route+" "+wr.name, func(t *testing.T) {
			for _, p := range w.principals {
				for _, pl := range w.places {
					want := wr.want(p, pl)
					got := wr.do(t, p, pl, want == matrixAllow)
					var unknown func() matrixResponse
					if wr.unknown != nil {
						unknown = func() matrixResponse { return wr.unknown(t, p) }
					}
					w.judge(t, fmt.Sprintf("%s (%s) as %s on %s's ground", wr.route, wr.name, p, pl.name), want, wr.ok, got, unknown)
				}
			}
		})
	}
	// The markers stood through every refused write unchanged.
	for _, pl := range w.places {
		var got struct {
			State  string
			Triage struct{ Lane string }
		}
		matrixDecode(t, w.call(t, w.setup, http.MethodGet, path("/api/v1/incidents/%d", pl.inc.id), ""), &got)
		if got.State != "received" || got.Triage.Lane != "street" && pl.inc.street {
			t.Errorf("%s's incident after the refused writes: %+v, want it received and in its lane", pl.name, got)
		}
	}
}

// checkGuessing: the community officer of A walks every ID there is, and
// finds exactly A's incidents, units and assignments; everything else
// answers as if it did not exist.
func (w *matrixWorld) checkGuessing(t *testing.T) {
	var officer *matrixPrincipal
	for _, p := range w.principals {
		if p.role == zhufang.RoleCommunityOfficer {
			officer = p
		}
	}
	db := sqltest.Raw(t, w.dsn)
	defer db.Close()
	truth := func(q string) map[int64]int64 {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]int64{}
		for rows.Next() {
			var id, community int64
			if err := rows.Scan(&id, &community); err != nil {
				t.Fatal(err)
			}
			out[id] = community
		}
		return out
	}
	home := officer.home.community
	type probe struct {
		method, path, body string
		own                []int // what an own record may answer; any other must answer as an unknown ID does
	}
	read := []int{http.StatusOK}
	refused := []int{http.StatusBadRequest, http.StatusConflict} // refused after the ground check: nothing changes
	kinds := []struct {
		name, truth string // the record's community, from the database
		probes      []probe
	}{
		{"incident", `SELECT id, COALESCE(community_id, 0) FROM incidents`, []probe{
			{http.MethodGet, "/api/v1/incidents/%d", "", read},
			{http.MethodGet, "/api/v1/incidents/%d?personal=1", "", read},
			{http.MethodGet, "/api/v1/incidents/%d/assignments", "", read},
			{http.MethodGet, "/incidents/%d", "", read},
			{http.MethodPost, "/api/v1/incidents/%d/lane", `{"lane":"bogus"}`, refused},
		}},
		{"unit", `SELECT id, COALESCE(community_id, 0) FROM units`, []probe{
			{http.MethodGet, "/api/v1/units/%d", "", read},
			{http.MethodPost, "/api/v1/units/%d/status", `{"status":"bogus"}`, refused},
		}},
		// An assignment is the officer's when its incident or its unit is
		// in their community; they may move on only their community's
		// units' (403 for the others they see, before the state is read).
		{"assignment", fmt.Sprintf(`SELECT a.id, CASE WHEN u.community_id = %d THEN u.community_id ELSE COALESCE(i.community_id, 0) END
			FROM assignments a JOIN incidents i ON i.id = a.incident_id JOIN units u ON u.id = a.unit_id`, home), []probe{
			{http.MethodGet, "/api/v1/assignments/%d", "", read},
			{http.MethodPost, "/api/v1/assignments/%d/transitions", `{"to":"bogus"}`, append(refused, http.StatusForbidden)},
		}},
	}
	w.routes["GET /api/v1/assignments/{id}"] = true // only guessed: no place holds an assignment standing
	for _, k := range kinds {
		t.Run(k.name+"s", func(t *testing.T) {
			records := truth(k.truth)
			last, mine := int64(0), 0
			for id, c := range records {
				last = max(last, id)
				if c == home {
					mine++
				}
			}
			for _, pr := range k.probes {
				unknown := w.call(t, officer, pr.method, fmt.Sprintf(pr.path, matrixUnknown), pr.body)
				found := 0
				for id := int64(1); id <= last+5; id++ {
					w.guesses++
					path := fmt.Sprintf(pr.path, id)
					r := w.call(t, officer, pr.method, path, pr.body)
					c, exists := records[id]
					switch {
					case exists && c == home:
						found++
						if !slices.Contains(pr.own, r.status) {
							t.Errorf("%s %s as the community officer of %d, their own %s: %d %s", pr.method, path, home, k.name, r.status, r.gist())
						}
					case r.status != unknown.status || matrixShape(r.body) != matrixShape(unknown.body):
						t.Errorf("%s %s as the community officer of %d: a %s of community %d (exists: %v) answers %d %q, unlike an unknown ID's %d %q",
							pr.method, path, home, k.name, c, exists, r.status, r.gist(), unknown.status, unknown.gist())
					}
				}
				if found != mine || mine == 0 {
					t.Errorf("%s %s: the community officer found %d of their %d %ss", pr.method, pr.path, found, mine, k.name)
				}
			}
		})
	}
	// Searching by every station finds nothing but A's.
	t.Run("search", func(t *testing.T) {
		stations := make([]int64, 0, len(w.stations))
		for s := range w.stations {
			stations = append(stations, s)
		}
		slices.Sort(stations)
		for _, s := range stations {
			w.guesses++
			var list struct {
				Incidents []struct {
					ID        int64
					Community int64 `json:"community_id"`
				}
			}
			r := w.call(t, officer, http.MethodGet, fmt.Sprintf("/api/v1/incidents?limit=1000&station_id=%d", s), "")
			matrixDecode(t, r, &list)
			for _, inc := range list.Incidents {
				if inc.Community != home {
					t.Errorf("incidents of station %d as the community officer of %d: incident %d of community %d", s, home, inc.ID, inc.Community)
				}
			}
		}
	})
}

// checkRoutes: every route in routes.go is in the matrix, or named here
// with the reason it has no ground.
func (w *matrixWorld) checkRoutes(t *testing.T) {
	exempt := map[string]string{
		"GET /healthz":                    "says the process is up",
		"GET /readyz":                     "says the database answers",
		"GET /metrics":                    "counts and timings for the operator's Prometheus, no personal data; loopback or the metrics token, not a session (web TestMetricsAccess)",
		"POST /api/v1/session":            "signs in",
		"DELETE /api/v1/session":          "signs the caller's own session out",
		"GET /login":                      "the sign-in form",
		"POST /login":                     "signs in",
		"POST /logout":                    "signs the caller's own session out",
		"POST /lang":                      "the caller's own language",
		"GET /static/":                    "the console's scripts and styles",
		"GET /api/":                       "the JSON 404 for unknown API paths",
		"GET /{$}":                        "redirects to the user's start page",
		"POST /api/v1/positions":          "devices only, each for its own unit (e2e checkDispatchAPI)",
		"GET /api/v1/org/summary":         "the city's organisation counts, reference data for every user",
		"GET /api/v1/locate":              "whose ground a point is, reference data for every user",
		"GET /api/v1/categories":          "the incident categories, reference data for every user",
		"GET /favicon.ico":                "the console's icon",
		"GET /map/tiles":                  "where the base map's tiles lie for a view, no record of anyone's ground (web TestTilesFor)",
		"GET /users":                      "administrators only, who work at the city level (TestUsersPage)",
		"POST /users":                     "administrators only (TestUsersPage)",
		"POST /users/{username}/active":   "administrators only (TestUsersPage)",
		"POST /users/{username}/password": "administrators only (TestUsersPage)",
		"POST /users/{username}/role":     "administrators only (TestUsersPage)",
	}
	src, err := os.ReadFile("../../web/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < len(exempt)+len(w.routes) {
		t.Fatalf("found %d routes in web/routes.go, fewer than the matrix knows: has its form changed?", len(routes))
	}
	served := map[string]bool{}
	for _, m := range routes {
		served[m[1]] = true
		if _, ok := exempt[m[1]]; !ok && !w.routes[m[1]] {
			t.Errorf("route %q is neither in the jurisdiction matrix nor exempt from it", m[1])
		}
	}
	for r := range w.routes {
		if !served[r] {
			t.Errorf("the matrix names route %q, which web/routes.go does not serve", r)
		}
	}
}
