package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// The jurisdiction matrix: every role, at every level it may sit, placed on
// the ground of one community A, against every read and write endpoint,
// on four grounds: A itself, D (another community of A's station), B
// (another station of A's county) and C (another county).

// matrixRoles is who may do what, written out here as the design says it
// rather than read from zhufang, so that a slip in the production table
// fails this test instead of moving its expectations along with it.
var matrixRoles = []matrixRole{
	{zhufang.RoleCityCommander, []zhufang.ScopeLevel{zhufang.ScopeCity},
		"view_incidents handle assign view_units view_personal view_org view_stats"},
	{zhufang.RoleCountyCommander, []zhufang.ScopeLevel{zhufang.ScopeCounty},
		"view_incidents handle assign view_units view_personal view_org view_stats"},
	{zhufang.RoleDispatcher, []zhufang.ScopeLevel{zhufang.ScopeCity, zhufang.ScopeCounty},
		"view_incidents intake handle assign crew view_units view_personal view_org view_stats"},
	{zhufang.RoleStationChief, []zhufang.ScopeLevel{zhufang.ScopeStation},
		"view_incidents handle assign crew view_units view_personal view_org view_stats"},
	{zhufang.RoleCommunityOfficer, []zhufang.ScopeLevel{zhufang.ScopeCommunity},
		"view_incidents handle crew view_units view_personal view_org"},
	{zhufang.RoleAuxiliary, []zhufang.ScopeLevel{zhufang.ScopeCommunity}, "view_incidents crew view_units view_org"},
	{zhufang.RoleCaseOfficer, []zhufang.ScopeLevel{zhufang.ScopeStation}, "view_incidents handle view_personal view_org"},
	{zhufang.RoleMediator, []zhufang.ScopeLevel{zhufang.ScopeStation, zhufang.ScopeCommunity}, "view_incidents view_org"},
	{zhufang.RoleDronePilot, []zhufang.ScopeLevel{zhufang.ScopeCounty, zhufang.ScopeCity}, "view_incidents crew view_units view_org"},
	{zhufang.RoleAnalyst, []zhufang.ScopeLevel{zhufang.ScopeCity, zhufang.ScopeCounty}, "view_incidents view_units view_org view_stats"},
	{zhufang.RoleAdmin, []zhufang.ScopeLevel{zhufang.ScopeCity}, "view_org manage_users view_audit"},
}

type matrixRole struct {
	role   zhufang.Role
	levels []zhufang.ScopeLevel
	perms  string // the permissions' names, as zhufang spells them
}

// matrixUnknown is an ID no record has.
const matrixUnknown = 987654321

// matrixGround is where a record lies.
type matrixGround struct{ county, station, community int64 }

type matrixIncident struct {
	id     int64
	number string
	street bool // triaged to street dispatch: the recommender adds a first responder
	ground matrixGround
}

type matrixUnit struct {
	id     int64
	ground matrixGround
	token  string // its device's
}

// matrixPlace is one of the four grounds: a point, the incident marked
// there, and a unit of that ground.
type matrixPlace struct {
	name   string
	at     zhufang.Point
	ground matrixGround
	inc    matrixIncident
	unit   matrixUnit
}

// matrixPrincipal is a signed-in user: a role at a level of A's ground.
type matrixPrincipal struct {
	role        zhufang.Role
	level       zhufang.ScopeLevel
	perms       []string
	home        matrixGround
	token, csrf string
	label       string // role@level
}

func (p *matrixPrincipal) String() string { return p.label }

// can reports whether the role carries every permission named.
func (p *matrixPrincipal) can(need string) bool {
	for _, n := range strings.Fields(need) {
		if !slices.Contains(p.perms, n) {
			return false
		}
	}
	return true
}

// covers is jurisdiction as the design says it: a record is on a user's
// ground when it lies in the user's city, county, station or community.
func (p *matrixPrincipal) covers(g matrixGround) bool {
	switch p.level {
	case zhufang.ScopeCity:
		return true
	case zhufang.ScopeCounty:
		return g.county == p.home.county
	case zhufang.ScopeStation:
		return g.station == p.home.station
	case zhufang.ScopeCommunity:
		return g.community != 0 && g.community == p.home.community
	}
	return false
}

// coversStation says whether a station's page is the user's to open: a
// community's officer has their own station's (showing only their
// community), a station's people theirs, a county's its stations.
func (p *matrixPrincipal) coversStation(station, county int64) bool {
	switch p.level {
	case zhufang.ScopeCity:
		return true
	case zhufang.ScopeCounty:
		return county == p.home.county
	}
	return station == p.home.station
}

// matrixWant is what a cell should answer.
type matrixWant int

const (
	matrixAllow     matrixWant = iota // the endpoint's success status
	matrixForbidden                   // 403: the role may not, on its own ground
	matrixHidden                      // 404: off the user's ground, as if it did not exist
	matrixDenied                      // 403 or 404 (a role without the permission, off its ground), as an unknown ID answers
)

func (w matrixWant) admits(status, ok int) bool {
	switch w {
	case matrixAllow:
		return status == ok
	case matrixForbidden:
		return status == http.StatusForbidden
	case matrixHidden:
		return status == http.StatusNotFound
	}
	return status == http.StatusForbidden || status == http.StatusNotFound
}

func (w matrixWant) describe(ok int) string {
	return [...]string{fmt.Sprintf("%d (allowed)", ok), "403 (forbidden)", "404 (hidden)", "403 or 404 (denied)"}[w]
}

// matrixRecordWant is the rule for a record addressed by ID: a role
// without the permission is refused on its own ground; a record off the
// ground does not exist for the user.
func matrixRecordWant(p *matrixPrincipal, covered bool, need string) matrixWant {
	switch {
	case !p.can(need) && covered:
		return matrixForbidden
	case !p.can(need):
		return matrixDenied
	case !covered:
		return matrixHidden
	}
	return matrixAllow
}

type matrixResponse struct {
	status         int
	body, location string
}

var (
	matrixDigits       = regexp.MustCompile(`[0-9]+`)
	matrixErrorMessage = regexp.MustCompile(`(?s)<p class="error-message">(.*?)</p>\s*<p class="muted">(.*?)</p>`)
)

// gist is what a failure message shows of a response: an error page's
// message, or the start of a JSON body.
func (r matrixResponse) gist() string {
	if m := matrixErrorMessage.FindStringSubmatch(r.body); m != nil {
		return "page: " + m[1] + " " + m[2]
	}
	b := []rune(strings.Join(strings.Fields(r.body), " "))
	return string(b[:min(len(b), 240)])
}

// matrixShape is a response with its numbers blanked: an ID, the clock.
func matrixShape(body string) string { return matrixDigits.ReplaceAllString(body, "#") }

// matrixWorld is the served demo city, its four grounds and its users.
type matrixWorld struct {
	base, dsn  string
	client     *http.Client
	setup      *matrixPrincipal // a city dispatcher who sets the stage
	places     []*matrixPlace   // A, D, B, C
	guard      matrixUnit       // a guard team off A's station, parked at A
	stations   map[int64]int64  // station → county bureau
	units      map[int64]matrixGround
	known      []matrixIncident // the incidents made before the writes
	principals []*matrixPrincipal

	cells, oracles, guesses int
	routes                  map[string]bool // routes.go patterns the matrix reached
}

// TestMatrixJurisdiction serves the demo city and checks every cell of
// role × endpoint × ground against the design's expectation.
func TestMatrixJurisdiction(t *testing.T) {
	t.Parallel()
	start := time.Now()
	w := matrixSetUp(t)
	t.Run("reads", w.checkReads)
	t.Run("lists", w.checkLists)
	t.Run("events", w.checkEvents)
	t.Run("writes", w.checkWrites)
	t.Run("guessing", w.checkGuessing)
	t.Run("routes", w.checkRoutes)
	t.Logf("jurisdiction matrix: %d principals (%d roles) × %d grounds (A, D same station, B same county, C other county) × %d routes: "+
		"%d cells, %d of them also compared with an unknown ID, plus %d ID guesses, in %.1f s",
		len(w.principals), len(matrixRoles), len(w.places), len(w.routes), w.cells, w.oracles, w.guesses, time.Since(start).Seconds())
}

func matrixSetUp(t *testing.T) *matrixWorld {
	t.Helper()
	if len(matrixRoles) != len(zhufang.Roles) {
		t.Fatalf("the matrix knows %d roles, zhufang has %d: add the new role's row to matrixRoles", len(matrixRoles), len(zhufang.Roles))
	}
	for _, r := range zhufang.Roles {
		if !slices.ContainsFunc(matrixRoles, func(m matrixRole) bool { return m.role == r }) {
			t.Fatalf("role %s has no row in matrixRoles", r)
		}
	}
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	base, stop := startServe(t, demoArgs(t, dsn)...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve ended with %v", err)
		}
	})
	w := &matrixWorld{base: base, dsn: dsn, routes: map[string]bool{},
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	w.setup = w.addUser(t, "mx_setup", zhufang.RoleDispatcher, zhufang.ScopeCity, 0)
	w.findGrounds(t)
	a := w.places[0]
	for _, r := range matrixRoles {
		for _, level := range r.levels {
			org := map[zhufang.ScopeLevel]int64{zhufang.ScopeCounty: a.ground.county, zhufang.ScopeStation: a.ground.station,
				zhufang.ScopeCommunity: a.ground.community}[level]
			p := w.addUser(t, "mx_"+string(r.role)+"_"+string(level), r.role, level, org)
			p.perms, p.home = strings.Fields(r.perms), a.ground
			w.principals = append(w.principals, p)
		}
	}
	// The first event of the city is never replayed (a console resumes
	// after an ID); let it be one the matrix does not look at.
	w.known = append(w.known, w.fresh(t, w.places[3]))
	for _, pl := range w.places {
		pl.inc = w.fresh(t, pl)
		w.known = append(w.known, pl.inc)
	}
	// Devices for the units, all reporting beside A: the recommender then
	// offers every one of them for A's incident, and must keep each user's
	// offer to their own ground.
	for _, u := range append([]*matrixUnit{&w.guard}, w.placeUnits()...) {
		u.token = device(t, dsn, u.id)
	}
	w.report(t, append([]*matrixUnit{&w.guard}, w.placeUnits()...)...)
	return w
}

func (w *matrixWorld) placeUnits() []*matrixUnit {
	var us []*matrixUnit
	for _, pl := range w.places {
		us = append(us, &pl.unit)
	}
	return us
}

// addUser adds a user through the CLI and signs them in through the API.
func (w *matrixWorld) addUser(t *testing.T, username string, role zhufang.Role, level zhufang.ScopeLevel, org int64) *matrixPrincipal {
	t.Helper()
	pw := writeFile(t, t.TempDir(), "pw", "a long test password\n")
	args := []string{"user", "add", "--db", w.dsn, "--name", "矩阵 " + username, "--role", string(role), "--scope", string(level),
		"--password-file", pw}
	if org != 0 {
		args = append(args, "--org", strconv.FormatInt(org, 10))
	}
	if err := run(context.Background(), append(args, username), func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatalf("user add %s: %v", username, err)
	}
	r := w.call(t, nil, http.MethodPost, "/api/v1/session", `{"username":"`+username+`","password":"a long test password"}`)
	var sess struct{ Token, CSRF string }
	matrixDecode(t, r, &sess)
	if r.status != http.StatusCreated || sess.Token == "" || sess.CSRF == "" {
		t.Fatalf("sign in as %s: %d %s", username, r.status, r.body)
	}
	return &matrixPrincipal{role: role, level: level, token: sess.Token, csrf: sess.CSRF,
		label: string(role) + "@" + string(level)}
}

// findGrounds picks the four grounds around Lengshuitan's core: A, a
// community with a volunteer team (a unit of its own); D, another community
// of A's station; B, a community of another station of A's county; C, a
// community of another county. Each is marked at its seat.
func (w *matrixWorld) findGrounds(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, w.dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sts, err := db.FindStations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	comms, err := db.FindCommunities(ctx, zhufang.CommunityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	units, err := db.FindUnits(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.stations, w.units = map[int64]int64{}, map[int64]matrixGround{}
	for _, s := range sts {
		w.stations[s.ID] = s.BureauID
	}
	for _, u := range units {
		w.units[u.ID] = matrixGround{w.stations[u.StationID], u.StationID, u.CommunityID}
	}
	var core struct{ Jurisdiction zhufang.Jurisdiction }
	matrixDecode(t, w.call(t, w.setup, http.MethodGet, "/api/v1/locate?lon=111.6015&lat=26.4372", ""), &core)
	team := map[int64]*zhufang.Unit{}
	for _, u := range units {
		if u.Kind == zhufang.UnitVolunteerTeam && u.CommunityID != 0 {
			team[u.CommunityID] = u
		}
	}
	first := func(ok func(c *zhufang.Community) bool) *zhufang.Community {
		for _, c := range comms {
			if ok(c) {
				return c
			}
		}
		return nil
	}
	coreStation := core.Jurisdiction.Station.ID
	a := first(func(c *zhufang.Community) bool { return c.ID == core.Jurisdiction.Community.ID && team[c.ID] != nil })
	if a == nil {
		a = first(func(c *zhufang.Community) bool { return c.StationID == coreStation && team[c.ID] != nil })
	}
	if a == nil {
		a = first(func(c *zhufang.Community) bool {
			return w.stations[c.StationID] == w.stations[coreStation] && team[c.ID] != nil
		})
	}
	if a == nil {
		t.Fatalf("no community with a volunteer team in the county of station %d", coreStation)
	}
	county := w.stations[a.StationID]
	d := first(func(c *zhufang.Community) bool { return c.StationID == a.StationID && c.ID != a.ID })
	b := first(func(c *zhufang.Community) bool {
		return w.stations[c.StationID] == county && c.StationID != a.StationID
	})
	c := first(func(c *zhufang.Community) bool { return w.stations[c.StationID] != county })
	if d == nil || b == nil || c == nil {
		t.Fatalf("cannot find the grounds around community %d: D %v, B %v, C %v", a.ID, d != nil, b != nil, c != nil)
	}
	patrolCar := func(station int64) *zhufang.Unit {
		for _, u := range units {
			if u.Kind == zhufang.UnitPatrolCar && u.StationID == station {
				return u
			}
		}
		t.Fatalf("no patrol car at station %d", station)
		return nil
	}
	unitOf := func(u *zhufang.Unit) matrixUnit { return matrixUnit{id: u.ID, ground: w.units[u.ID]} }
	for _, g := range []struct {
		name string
		c    *zhufang.Community
		unit *zhufang.Unit
	}{{"A", a, team[a.ID]}, {"D", d, patrolCar(a.StationID)}, {"B", b, patrolCar(b.StationID)}, {"C", c, patrolCar(c.StationID)}} {
		w.places = append(w.places, &matrixPlace{name: g.name, at: g.c.Seat,
			ground: matrixGround{w.stations[g.c.StationID], g.c.StationID, g.c.ID}, unit: unitOf(g.unit)})
	}
	for _, near := range []bool{true, false} {
		for _, u := range units {
			g := w.units[u.ID]
			if u.Kind == zhufang.UnitGuardTeam && g.station != a.StationID && (g.county == county) == near && w.guard.id == 0 {
				w.guard = unitOf(u)
			}
		}
	}
	for _, pl := range w.places {
		t.Logf("ground %s: county %d, station %d, community %d at %v; its unit %d %+v", pl.name, pl.ground.county, pl.ground.station,
			pl.ground.community, pl.at, pl.unit.id, pl.unit.ground)
	}
	t.Logf("guard team %d %+v", w.guard.id, w.guard.ground)
}

// report has each unit's device report a position beside A.
func (w *matrixWorld) report(t *testing.T, units ...*matrixUnit) {
	t.Helper()
	a := w.places[0].at
	for i, u := range units {
		body := fmt.Sprintf(`{"reports":[{"at":%q,"position":[%f,%f]}]}`, time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano),
			a.Lon+0.0004*float64(i+1), a.Lat+0.0003)
		if code, b := postAuth(t, w.base+"/api/v1/positions", u.token, body); code != http.StatusOK {
			t.Fatalf("positions of unit %d: %d %s", u.id, code, b)
		}
	}
}

func (w *matrixWorld) call(t *testing.T, p *matrixPrincipal, method, path, body string) matrixResponse {
	t.Helper()
	req, err := http.NewRequest(method, w.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if p != nil {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	return w.send(t, req)
}

// form posts a console form as the browser does: the session cookie and
// the form's CSRF field.
func (w *matrixWorld) form(t *testing.T, p *matrixPrincipal, path string, v url.Values) matrixResponse {
	t.Helper()
	v.Set("csrf", p.csrf)
	req, err := http.NewRequest(http.MethodPost, w.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "zf_session", Value: p.token})
	return w.send(t, req)
}

func (w *matrixWorld) send(t *testing.T, req *http.Request) matrixResponse {
	t.Helper()
	res, err := w.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return matrixResponse{status: res.StatusCode, body: string(b), location: res.Header.Get("Location")}
}

func matrixDecode(t *testing.T, r matrixResponse, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("%d, not JSON: %.300s", r.status, r.body)
	}
}

// fresh takes a call at the place as the setup dispatcher.
func (w *matrixWorld) fresh(t *testing.T, pl *matrixPlace) matrixIncident {
	t.Helper()
	r := w.call(t, w.setup, http.MethodPost, "/api/v1/incidents", matrixIntake(pl))
	var inc struct {
		ID        int64
		Number    string
		Community int64 `json:"community_id"`
		Station   int64 `json:"station_id"`
		Bureau    int64 `json:"bureau_id"`
		Triage    struct{ Lane string }
	}
	matrixDecode(t, r, &inc)
	g := matrixGround{inc.Bureau, inc.Station, inc.Community}
	if r.status != http.StatusCreated || g != pl.ground {
		t.Fatalf("intake at %s's seat %v: %d, ground %+v, want %+v: %.200s", pl.name, pl.at, r.status, g, pl.ground, r.body)
	}
	return matrixIncident{id: inc.ID, number: inc.Number, street: inc.Triage.Lane == "street", ground: g}
}

func matrixIntake(pl *matrixPlace) string {
	return fmt.Sprintf(`{"source":"call_110","caller_name":"王小明","caller_phone":"13912345678","address":"矩阵 %s","position":[%f,%f],
		"category":"200100","description":"有人打架"}`, pl.name, pl.at.Lon, pl.at.Lat)
}

// pick is the incident a write cell works on: a fresh one where the write
// is expected to go through, else the place's marker, which it must not
// touch.
func (w *matrixWorld) pick(t *testing.T, pl *matrixPlace, allowed bool) matrixIncident {
	t.Helper()
	if allowed {
		return w.fresh(t, pl)
	}
	return pl.inc
}

// cancel ends an incident as the setup dispatcher, which frees its units.
func (w *matrixWorld) cancel(t *testing.T, id int64) {
	t.Helper()
	if r := w.call(t, w.setup, http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/transitions", id), `{"to":"cancelled"}`); r.status != http.StatusOK {
		t.Fatalf("cancel incident %d: %d %s", id, r.status, r.body)
	}
}

// judge checks one cell, and for a denied record also asks for a record
// that does not exist: the two answers must not tell each other apart.
func (w *matrixWorld) judge(t *testing.T, cell string, want matrixWant, ok int, got matrixResponse, unknown func() matrixResponse) bool {
	t.Helper()
	w.cells++
	if !want.admits(got.status, ok) {
		t.Errorf("%s: got %d, want %s: %s", cell, got.status, want.describe(ok), got.gist())
		return false
	}
	if (want == matrixHidden || want == matrixDenied) && unknown != nil {
		w.oracles++
		u := unknown()
		if u.status != got.status || matrixShape(u.body) != matrixShape(got.body) {
			t.Errorf("%s: an existing record off the user's ground answers %d %q, one that does not exist %d %q: "+
				"the difference tells that it exists", cell, got.status, got.gist(), u.status, u.gist())
		}
	}
	return want == matrixAllow
}

// matrixTarget says which record of a place a cell addresses.
type matrixTarget int

const (
	matrixOnIncident matrixTarget = iota
	matrixOnUnit
	matrixOnStation
)

func (w *matrixWorld) target(p *matrixPrincipal, pl *matrixPlace, on matrixTarget) (int64, bool) {
	switch on {
	case matrixOnUnit:
		return pl.unit.id, p.covers(pl.unit.ground)
	case matrixOnStation:
		return pl.ground.station, p.coversStation(pl.ground.station, pl.ground.county)
	}
	return pl.inc.id, p.covers(pl.ground)
}
