package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"time"

	"zhufang"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

// checkLists: every list and search, by every principal; the answer must
// hold each ground's record exactly when it is the user's.
func (w *matrixWorld) checkLists(t *testing.T) {
	incidents := func(station bool) func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
		return func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
			var list struct {
				Incidents []struct {
					ID        int64
					Community int64 `json:"community_id"`
					Station   int64 `json:"station_id"`
					Bureau    int64 `json:"bureau_id"`
				}
			}
			matrixDecode(t, r, &list)
			shown := false
			for _, inc := range list.Incidents {
				g := matrixGround{inc.Bureau, inc.Station, inc.Community}
				if !p.covers(g) || station && inc.Station != pl.ground.station {
					t.Errorf("incident list as %s holds incident %d %+v, off the user's ground or the station asked for", p, inc.ID, g)
				}
				shown = shown || inc.ID == pl.inc.id
			}
			return shown
		}
	}
	units := func(station bool) func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
		return func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
			var list struct{ Units []struct{ ID int64 } }
			matrixDecode(t, r, &list)
			shown := false
			for _, u := range list.Units {
				if g := w.units[u.ID]; !p.covers(g) || station && g.station != pl.unit.ground.station {
					t.Errorf("unit list as %s holds unit %d %+v, off the user's ground or the station asked for", p, u.ID, g)
				}
				shown = shown || u.ID == pl.unit.id
			}
			var of int64
			if station {
				of = pl.unit.ground.station
			}
			if n := w.visibleUnits(p, of); len(list.Units) != n {
				t.Errorf("unit list as %s holds %d units, want the %d the user may see", p, len(list.Units), n)
			}
			return shown
		}
	}
	numbers := func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
		for _, inc := range w.known {
			if !p.covers(inc.ground) && strings.Contains(r.body, inc.number) {
				t.Errorf("page as %s shows incident %s %+v, off the user's ground", p, inc.number, inc.ground)
			}
		}
		return strings.Contains(r.body, pl.inc.number)
	}
	onIncident := func(p *matrixPrincipal, pl *matrixPlace) bool { return p.covers(pl.ground) }
	// posture lists the units a plan moves: none off the user's ground, and
	// the place's station's when the user may see them.
	posture := func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
		var plan struct {
			Bureaus []struct {
				Units []struct {
					UnitID int64 `json:"unit_id"`
				}
				Posts []struct {
					UnitID int64 `json:"unit_id"`
				}
			}
		}
		matrixDecode(t, r, &plan)
		shown := false
		for _, b := range plan.Bureaus {
			for _, u := range b.Units {
				g := w.units[u.UnitID]
				if !p.covers(g) {
					t.Errorf("posture as %s plans unit %d %+v, off the user's ground", p, u.UnitID, g)
				}
				shown = shown || g.station == pl.unit.ground.station
			}
			for _, u := range b.Posts {
				if g := w.units[u.UnitID]; !p.covers(g) {
					t.Errorf("posture as %s posts unit %d %+v, off the user's ground", p, u.UnitID, g)
				}
			}
		}
		return shown
	}
	lists := []struct {
		route, name string
		path        func(pl *matrixPlace) string
		need        string
		want        func(p *matrixPrincipal, pl *matrixPlace) bool
		shown       func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool
	}{
		{"GET /api/v1/incidents", "list", func(*matrixPlace) string { return "/api/v1/incidents?limit=1000" },
			"view_incidents", onIncident, incidents(false)},
		{"GET /api/v1/incidents", "search by station", func(pl *matrixPlace) string {
			return fmt.Sprintf("/api/v1/incidents?limit=1000&station_id=%d", pl.ground.station)
		}, "view_incidents", onIncident, incidents(true)},
		{"GET /api/v1/units", "list", func(*matrixPlace) string { return "/api/v1/units" },
			"view_units", func(p *matrixPrincipal, pl *matrixPlace) bool { return p.covers(pl.unit.ground) }, units(false)},
		{"GET /api/v1/units", "search by station", func(pl *matrixPlace) string {
			return fmt.Sprintf("/api/v1/units?station_id=%d", pl.unit.ground.station)
		}, "view_units", func(p *matrixPrincipal, pl *matrixPlace) bool { return p.covers(pl.unit.ground) }, units(true)},
		{"GET /api/v1/compliance", "by station", func(*matrixPlace) string { return "/api/v1/compliance?by=station" },
			"view_stats", func(p *matrixPrincipal, pl *matrixPlace) bool {
				return slices.ContainsFunc(w.known, func(i matrixIncident) bool { return i.ground.station == pl.ground.station && p.covers(i.ground) })
			}, w.compliance},
		{"GET /api/v1/posture", "plan", func(*matrixPlace) string { return "/api/v1/posture" }, "view_units view_incidents",
			func(p *matrixPrincipal, pl *matrixPlace) bool {
				// The plan moves police cars and motorcycles, which belong to
				// a station, never to a community.
				return p.level != zhufang.ScopeCommunity && p.coversStation(pl.unit.ground.station, pl.unit.ground.county)
			}, posture},
		{"GET /board", "board", func(*matrixPlace) string { return "/board" }, "view_incidents", onIncident, numbers},
		{"GET /board", "board with one selected", func(pl *matrixPlace) string { return fmt.Sprintf("/board?sel=%d", pl.inc.id) },
			"view_incidents", onIncident, numbers},
		{"GET /map", "map", func(*matrixPlace) string { return "/map" }, "view_incidents", onIncident, numbers},
		{"GET /org", "org", func(*matrixPlace) string { return "/org" }, "view_org", func(p *matrixPrincipal, pl *matrixPlace) bool {
			return p.coversStation(pl.ground.station, pl.ground.county)
		}, func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
			return strings.Contains(r.body, fmt.Sprintf(`<td class="n org-id">%d</td>`, pl.ground.station))
		}},
	}
	for _, l := range lists {
		w.routes[l.route] = true
		t.Run(l.route+" "+l.name, func(t *testing.T) {
			for _, p := range w.principals {
				asked := map[string]matrixResponse{} // a list that names no place is asked for once
				for _, pl := range w.places {
					want := matrixAllow
					if !p.can(l.need) {
						want = matrixForbidden
					}
					path := l.path(pl)
					got, ok := asked[path]
					if !ok {
						got = w.call(t, p, http.MethodGet, path, "")
						asked[path] = got
					}
					if !w.judge(t, fmt.Sprintf("GET %s as %s, for %s's record", path, p, pl.name), want, http.StatusOK, got, nil) {
						continue
					}
					if shown, want := l.shown(t, p, pl, got), l.want(p, pl); shown != want {
						t.Errorf("GET %s as %s: %s's record shown %v, want %v", path, p, pl.name, shown, want)
					}
				}
			}
		})
	}
	// The lists that are the user's, not a ground's.
	wholes := []struct {
		route, path, need string
		check             func(t *testing.T, p *matrixPrincipal, r matrixResponse)
	}{
		{"GET /api/v1/audit", "/api/v1/audit", "view_audit", nil},
		{"GET /audit", "/audit", "view_audit", nil},
		{"GET /board/breaches", "/board/breaches", "view_incidents", func(t *testing.T, p *matrixPrincipal, r matrixResponse) {
			// The matrix's incidents may be overdue by now (a slow run, the
			// race detector): whatever the list shows must be on the
			// user's ground. An incident of no place is one the writes
			// made; only the city sees it for certain.
			if !strings.Contains(r.body, `id="breach-panel"`) {
				t.Errorf("breach list as %s: no panel: %s", p, r.body)
			}
			for _, m := range regexp.MustCompile(`<li data-incident="([0-9]+)"`).FindAllStringSubmatch(r.body, -1) {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				on := p.level == zhufang.ScopeCity
				for _, pl := range w.places {
					if pl.inc.id == id {
						on = p.covers(pl.inc.ground)
					}
				}
				if !on {
					t.Errorf("breach list as %s shows incident %d, off the user's ground: %s", p, id, r.body)
				}
			}
		}},
		{"GET /board/units", "/board/units", "", func(t *testing.T, p *matrixPrincipal, r matrixResponse) {
			n := 0
			for _, m := range regexp.MustCompile(`<b>([0-9]+)</b>`).FindAllStringSubmatch(r.body, -1) {
				k, _ := strconv.Atoi(m[1])
				n += k
			}
			if want := w.visibleUnits(p, 0); n != want {
				t.Errorf("units panel as %s counts %d units, want the %d the user may see", p, n, want)
			}
		}},
	}
	// The posture layer shows posts of the user's units only. The matrix
	// city's plans may hold none, so this is in the wholes, not the lists
	// of each ground.
	wholes = append(wholes, struct {
		route, path, need string
		check             func(t *testing.T, p *matrixPrincipal, r matrixResponse)
	}{"GET /map/posture", "/map/posture", "view_units view_incidents", func(t *testing.T, p *matrixPrincipal, r matrixResponse) {
		for _, m := range regexp.MustCompile(`id="mp-([0-9]+)"`).FindAllStringSubmatch(r.body, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			if g, ok := w.units[id]; !ok || !p.covers(g) {
				t.Errorf("posture layer as %s shows a post of unit %d, off the user's ground", p, id)
			}
		}
		if !strings.Contains(r.body, `id="posture-summary"`) {
			t.Errorf("posture layer as %s has no summary", p)
		}
	}})
	for _, wh := range wholes {
		w.routes[wh.route] = true
		t.Run(wh.route, func(t *testing.T) {
			for _, p := range w.principals {
				want := matrixAllow
				if !p.can(wh.need) {
					want = matrixForbidden
				}
				got := w.call(t, p, http.MethodGet, wh.path, "")
				if w.judge(t, fmt.Sprintf("GET %s as %s", wh.path, p), want, http.StatusOK, got, nil) && wh.check != nil {
					wh.check(t, p, got)
				}
			}
		})
	}
}

// visibleUnits counts the units (of a station, or all for 0) the user may
// see: those on their ground, for a role that may see units at all.
func (w *matrixWorld) visibleUnits(p *matrixPrincipal, station int64) int {
	if !p.can("view_units") {
		return 0
	}
	n := 0
	for _, g := range w.units {
		if p.covers(g) && (station == 0 || g.station == station) {
			n++
		}
	}
	return n
}

// compliance reports only stations on the user's ground.
func (w *matrixWorld) compliance(t *testing.T, p *matrixPrincipal, pl *matrixPlace, r matrixResponse) bool {
	var rep struct{ Rows []struct{ Key string } }
	matrixDecode(t, r, &rep)
	shown := false
	for _, row := range rep.Rows {
		s, _ := strconv.ParseInt(row.Key, 10, 64)
		if !p.coversStation(s, w.stations[s]) {
			t.Errorf("compliance by station as %s reports station %d, off the user's ground", p, s)
		}
		shown = shown || s == pl.ground.station
	}
	return shown
}

// matrixStream is one console's live updates: the incidents and the unit
// positions they brought.
type matrixStream struct {
	p         *matrixPrincipal
	status    int
	cancel    context.CancelFunc
	done      chan struct{}
	mu        sync.Mutex
	incidents map[int64]bool
	units     map[int64]bool
}

// await waits up to 10 s for the stream to bring an incident's news and a
// unit's position (0: none awaited).
func (s *matrixStream) await(incident, unit int64) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s.mu.Lock()
		ok := (incident == 0 || s.incidents[incident]) && (unit == 0 || s.units[unit])
		s.mu.Unlock()
		if ok {
			return
		}
	}
}

// checkEvents: each console's live updates, replayed from the first event
// and then live, carry only what the user may see on their own ground.
func (w *matrixWorld) checkEvents(t *testing.T) {
	w.routes["GET /events"] = true
	w.waitPublished(t)
	var streams []*matrixStream
	for _, p := range w.principals {
		streams = append(streams, w.listen(t, p))
	}
	defer func() {
		for _, s := range streams {
			s.cancel()
			<-s.done
		}
	}()
	// The markers come by replay; these incidents live, through the hub.
	live := map[*matrixPlace]matrixIncident{}
	for _, pl := range slices.Backward(w.places) {
		live[pl] = w.fresh(t, pl)
	}
	w.waitPublished(t)
	// A's incident and unit last: a console that has them has had
	// everything before them, and every other console its chance at it.
	units := append([]*matrixUnit{&w.guard}, w.placeUnits()[1:]...)
	units = append(units, &w.places[0].unit)
	w.report(t, units...)
	for _, s := range streams {
		var inc, unit int64
		if s.p.can("view_incidents") {
			inc = live[w.places[0]].id
		}
		if s.p.can("view_units") {
			unit = w.places[0].unit.id
		}
		s.await(inc, unit)
	}
	time.Sleep(500 * time.Millisecond) // for whatever should not come, to come
	for _, s := range streams {
		s.cancel()
		<-s.done
		if s.status == http.StatusForbidden && !s.p.can("view_incidents") {
			w.cells++ // refusing the stream to a role that sees no incidents is as good as filtering it
			continue
		}
		w.judge(t, "GET /events as "+s.p.String(), matrixAllow, http.StatusOK, matrixResponse{status: s.status}, nil)
		for _, pl := range w.places {
			want := s.p.can("view_incidents") && s.p.covers(pl.ground)
			for how, id := range map[string]int64{"replayed": pl.inc.id, "live": live[pl].id} {
				w.cells++
				if s.incidents[id] != want {
					t.Errorf("updates as %s: %s incident %d of %s sent %v, want %v", s.p, how, id, pl.name, !want, want)
				}
			}
		}
		for _, u := range units {
			w.cells++
			if got, want := s.units[u.id], s.p.can("view_units") && s.p.covers(u.ground); got != want {
				t.Errorf("updates as %s: position of unit %d %+v sent %v, want %v", s.p, u.id, u.ground, got, want)
			}
		}
	}
}

// waitPublished waits for the outbox relay to publish every event, which
// a console can replay only then.
func (w *matrixWorld) waitPublished(t *testing.T) {
	t.Helper()
	db := sqltest.Raw(t, w.dsn)
	defer db.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still unpublished after 10 s", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listen opens a console's live updates from the first event on.
func (w *matrixWorld) listen(t *testing.T, p *matrixPrincipal) *matrixStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.base+"/events?last=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &matrixStream{p: p, status: res.StatusCode, cancel: cancel, done: make(chan struct{}),
		incidents: map[int64]bool{}, units: map[int64]bool{}}
	go func() {
		defer close(s.done)
		defer res.Body.Close()
		zhufangtest.ReadSSE(res.Body, func(e zhufangtest.SSEEvent) {
			switch e.Name {
			case "change":
				var m struct {
					IncidentID int64 `json:"incident_id"`
				}
				if json.Unmarshal([]byte(e.Data), &m) == nil && m.IncidentID != 0 {
					s.mu.Lock()
					s.incidents[m.IncidentID] = true
					s.mu.Unlock()
				}
			case "positions":
				var ps [][3]float64
				if json.Unmarshal([]byte(e.Data), &ps) == nil {
					s.mu.Lock()
					for _, q := range ps {
						s.units[int64(q[0])] = true
					}
					s.mu.Unlock()
				}
			}
		})
	}()
	return s
}

// matrixWrite is one write cell: the expectation, the request (with its
// setting up and clearing away) and the same request naming a record that
// does not exist.
type matrixWrite struct {
	route, name string
	ok          int
	want        func(p *matrixPrincipal, pl *matrixPlace) matrixWant
	do          func(t *testing.T, p *matrixPrincipal, pl *matrixPlace, allowed bool) matrixResponse
	unknown     func(t *testing.T, p *matrixPrincipal) matrixResponse
}
