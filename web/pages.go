package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"zhufang"
)

// timelineItem is one line of an incident's history.
type timelineItem struct {
	At    time.Time
	Kind  string // transition, assignment
	What  string // a message key
	Actor string
	Note  string
	Args  []any // of What, when its message takes any
}

// incidentPage is an incident with everything that happened to it.
type incidentPage struct {
	Row         *boardRow
	Personal    bool // the caller's name and phone are shown in full
	CallerName  string
	CallerPhone string
	Timeline    []timelineItem
	Assignments []*zhufang.Assignment
	CallSigns   map[int64]string
	Results     []zhufang.StageResult
	Next        []zhufang.IncidentState
	Recommend   []zhufang.Recommendation
	First       *zhufang.Recommendation
	Outlook     *zhufang.OnSceneOutlook // of the units offered, nil when not judged
}

// incidentPage shows one incident's full timeline: intake, triage and why,
// each assignment, each state with its time, and the 1-3-5 results. A user
// who may see personal data sees the caller in full, and that view is
// written to the audit trail.
func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	c, err := s.city(ctx)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.FindIncidentByID(ctx, id)
	if err != nil {
		return err
	}
	ts, err := s.Incidents.FindTransitions(ctx, id)
	if err != nil {
		return err
	}
	as, err := s.Assignments.FindAssignments(ctx, id)
	if err != nil {
		return err
	}
	u := zhufang.ActorFromContext(ctx).User
	d := &incidentPage{Row: s.rowFrom(langOf(r), c, inc, ts), Assignments: as, CallSigns: map[int64]string{},
		CallerName: zhufang.MaskName(inc.CallerName), CallerPhone: zhufang.MaskPhone(inc.CallerPhone)}
	if u.Can(zhufang.PermViewPersonal) && (inc.CallerName != "" || inc.CallerPhone != "") {
		if err := s.Audit.RecordAudit(ctx, zhufang.AuditViewPersonal, "incident:"+strconv.FormatInt(id, 10), "caller"); err != nil {
			return err
		}
		d.Personal, d.CallerName, d.CallerPhone = true, inc.CallerName, inc.CallerPhone
	}
	for _, t := range ts {
		d.Timeline = append(d.Timeline, timelineItem{At: t.At, Kind: "transition", What: "state." + string(t.To), Actor: t.Actor, Note: t.Note})
	}
	for _, a := range as {
		if ref := s.unitRef(a.UnitID); ref != nil {
			d.CallSigns[a.UnitID] = ref.CallSign
		}
		d.Timeline = append(d.Timeline, timelineItem{At: a.CreatedAt, Kind: "assignment", What: "assign.sent", Actor: a.AssignedBy,
			Note: d.CallSigns[a.UnitID]})
	}
	d.Results = zhufang.IncidentResults(inc, ts, s.now())
	for _, res := range d.Results {
		// Each stage missed is on the timeline at its deadline, as the
		// watcher raised it.
		if res.Breached {
			d.Timeline = append(d.Timeline, timelineItem{At: res.Due, Kind: "breach", What: "timeline.breach",
				Args: []any{s.catalogs.translate(langOf(r), "breach."+string(res.Stage)), clockText(res.Due)}})
		}
	}
	slices.SortStableFunc(d.Timeline, func(a, b timelineItem) int { return a.At.Compare(b.At) })
	if u.Can(zhufang.PermHandle) {
		for _, st := range zhufang.IncidentStates {
			if zhufang.CanTransition(inc.State, st) && st != zhufang.StateDuplicate {
				d.Next = append(d.Next, st)
			}
		}
	}
	if u.Can(zhufang.PermAssign) && !inc.State.Terminal() {
		d.Recommend, d.First = s.recommend(r, c, inc, 5, nil)
		d.Outlook = s.outlook(inc, d.Recommend, d.First)
	}
	return s.renderPage(w, r, "incident", s.newPage(r, "incident.title", "board", d))
}

// liveScripts are the page scripts that follow live events (they register
// with app.js for server-sent events).
var liveScripts = map[string]bool{"board.js": true, "map.js": true, "incident.js": true, "station.js": true}

// Live reports whether the page follows live events, so that only such a
// page shows the connection badge: on a page that never connects, a grey
// "offline" reads as a fault.
func (p *pageData) Live() bool {
	for _, s := range p.Scripts {
		if liveScripts[s] {
			return true
		}
	}
	return false
}

// pageNotFound answers a console path that names no page.
func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request) error {
	return zhufang.Errorf(zhufang.ENOTFOUND, "no such page: %s", r.URL.Path)
}

// unitPage is a unit with its recent track.
type unitPage struct {
	Unit    *zhufang.Unit
	Station string
	Track   []zhufang.PositionReport
	Line    string // the track as SVG points, in its own box
	ViewBox string
	Hours   int
}

// unitPage shows a unit and its track over the last hours.
func (s *Server) unitPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	units, err := s.liveUnit(r, id)
	if err != nil {
		return err
	}
	c, err := s.city(ctx)
	if err != nil {
		return err
	}
	hours := 2
	if v, err := strconv.Atoi(r.URL.Query().Get("hours")); err == nil && v >= 1 && v <= 72 {
		hours = v
	}
	now := s.now()
	track, err := s.Units.FindTrack(ctx, id, now.Add(-time.Duration(hours)*time.Hour), now)
	if err != nil {
		return err
	}
	d := &unitPage{Unit: units, Track: track, Hours: hours}
	if st := c.stations[units.StationID]; st != nil {
		d.Station = st.Name
	}
	d.Line, d.ViewBox = trackLine(c.proj, track)
	if len(d.Track) > 50 {
		d.Track = d.Track[len(d.Track)-50:]
	}
	p := s.newPage(r, "unit.title", "", d)
	// A unit belongs to its station: the nav marks the station tab when
	// it is the user's, and no tab otherwise (the page is reached from the
	// map, the board and station pages alike).
	if p.StationLink() == units.StationID {
		p.Nav = "station"
	}
	return s.renderPage(w, r, "unit", p)
}

// liveUnit returns one unit on the user's ground with its live state.
func (s *Server) liveUnit(r *http.Request, id int64) (*zhufang.Unit, error) {
	u, err := s.Units.FindUnitByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	for _, l := range s.Fleet.Units(u.StationID) {
		if l.ID == id {
			u.Status, u.Position, u.PositionAt = l.Status, l.Position, l.PositionAt
		}
	}
	return u, nil
}

// trackLine draws a track as a polyline in a box fitted around it.
func trackLine(p projection, track []zhufang.PositionReport) (points, viewBox string) {
	if len(track) == 0 {
		return "", "0 0 100 100"
	}
	var b strings.Builder
	minX, minY, maxX, maxY := 1e18, 1e18, -1e18, -1e18
	for _, t := range track {
		x, y := p.XY(t.Point)
		minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
		fmt.Fprintf(&b, "%.2f,%.2f ", x, y)
	}
	pad := max((maxX-minX)*0.1, (maxY-minY)*0.1, 0.5)
	return strings.TrimSpace(b.String()), fmt.Sprintf("%.2f %.2f %.2f %.2f", minX-pad, minY-pad, maxX-minX+2*pad, maxY-minY+2*pad)
}

// orgPage is the org browser: the counties and stations on the user's
// ground with their counts.
type orgPage struct {
	Tree    *zhufang.OrgTree
	Summary *zhufang.OrgSummary
	// StationPages links each station to its dashboard, for the roles
	// that may open it.
	StationPages bool
}

func (s *Server) orgPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	tree, err := s.Org.FindOrgTree(ctx)
	if err != nil {
		return err
	}
	sum, err := s.Org.OrgSummary(ctx)
	if err != nil {
		return err
	}
	scope := zhufang.ScopeFromContext(ctx)
	var counties []*zhufang.BureauNode
	for _, b := range tree.Counties {
		var sts []*zhufang.StationNode
		for _, st := range b.Stations {
			if scope.Covers(b.Bureau.ID, st.Station.ID, 0) || (scope.Level == zhufang.ScopeCommunity && scope.StationID == st.Station.ID) {
				sts = append(sts, st)
			}
		}
		if len(sts) > 0 {
			counties = append(counties, &zhufang.BureauNode{Bureau: b.Bureau, Stations: sts})
		}
	}
	tree.Counties = counties
	return s.renderPage(w, r, "org", s.newPage(r, "org.title", "org", &orgPage{Tree: tree, Summary: sum,
		StationPages: mayViewStation(zhufang.ActorFromContext(ctx).User)}))
}

// mapPage is the SVG map of the user's ground.
type mapPage struct {
	ViewBox     string
	Counties    []mapArea
	Stations    []mapArea
	Communities []mapArea
	Incidents   []mapIncident
	Units       []mapUnit
	Focus       string // the bbox to open on: the user's ground
	LastEvent   int64
	// Zoom is what the zoom list offers: the areas of the user's own
	// ground (outlines drawn for orientation are not offered).
	Zoom []zoomGroup
	// Tiles says a tile server draws a base map (GET /map/tiles).
	Tiles bool
}

// zoomGroup is one group of the map's zoom list.
type zoomGroup struct {
	Label string // a message key
	Areas []mapArea
}

// mapIncident is an incident's marker: the "map-incident" template draws
// it on the map page and alone for the live map (mapIncidentFragment).
type mapIncident struct {
	Row  *boardRow
	X, Y float64 // in map units, rounded as XY1 rounds
}

// mapIncidentOf is an open incident as the map marks it.
func (s *Server) mapIncidentOf(lang string, c *cityRef, inc *zhufang.Incident) mapIncident {
	x, y := c.proj.XY1(inc.Position)
	return mapIncident{Row: s.rowFrom(lang, c, inc, nil), X: x, Y: y}
}

type mapUnit struct {
	Unit *zhufang.LiveUnit
	X, Y float64
}

// mapView draws the boundaries, open incidents and units of the user's
// ground; the page's script moves units and adds incidents live.
func (s *Server) mapView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := s.city(ctx)
	if err != nil {
		return err
	}
	scope := *zhufang.ScopeFromContext(ctx)
	d := &mapPage{ViewBox: c.proj.ViewBox(), LastEvent: s.hub.last.Load()}
	for _, a := range c.paths.Counties {
		d.Counties = append(d.Counties, a)
		if scope.Level == zhufang.ScopeCounty && a.ID == scope.BureauID {
			d.Focus = a.BBox
		}
	}
	for _, a := range c.paths.Stations {
		if coversArea(scope, a) || (scope.Level == zhufang.ScopeCommunity && a.ID == scope.StationID) {
			d.Stations = append(d.Stations, a)
			if scope.Level == zhufang.ScopeStation && a.ID == scope.StationID {
				d.Focus = a.BBox
			}
		}
	}
	for _, a := range c.paths.Communities {
		if coversArea(scope, a) {
			d.Communities = append(d.Communities, a)
			if scope.Level == zhufang.ScopeCommunity && a.ID == scope.CommunityID {
				d.Focus = a.BBox
			}
		}
	}
	d.Zoom, d.Tiles = zoomList(scope, c.paths), s.Tiles != nil
	incs, err := s.Incidents.FindIncidents(ctx, zhufang.IncidentFilter{Open: true, Limit: boardLimit})
	if err != nil {
		return err
	}
	for _, inc := range incs {
		d.Incidents = append(d.Incidents, s.mapIncidentOf(langOf(r), c, inc))
	}
	if zhufang.ActorFromContext(ctx).User.Can(zhufang.PermViewUnits) {
		units, err := s.liveUnits(r)
		if err != nil {
			return err
		}
		for _, u := range units {
			if u.Position.Lon == 0 && u.Position.Lat == 0 {
				continue
			}
			x, y := c.proj.XY1(u.Position)
			d.Units = append(d.Units, mapUnit{Unit: u, X: x, Y: y})
		}
	}
	return s.renderPage(w, r, "map", s.newPage(r, "map.title", "map", d))
}

// zoomList is what the map's zoom list offers a user: the areas that lie
// on their ground. The city sees counties and stations, a county its own
// and its stations, a station itself and its communities, a community
// only itself.
func zoomList(scope zhufang.Scope, paths mapPaths) []zoomGroup {
	var out []zoomGroup
	add := func(label string, areas []mapArea, want bool) {
		if !want {
			return
		}
		g := zoomGroup{Label: label}
		for _, a := range areas {
			if scope.Covers(a.Scope.BureauID, a.Scope.StationID, a.Scope.CommunityID) {
				g.Areas = append(g.Areas, a)
			}
		}
		if len(g.Areas) > 0 {
			out = append(out, g)
		}
	}
	lv := scope.Level
	add("org.counties", paths.Counties, lv == zhufang.ScopeCity || lv == zhufang.ScopeCounty)
	add("org.stations", paths.Stations, lv != zhufang.ScopeCommunity)
	add("org.community", paths.Communities, lv == zhufang.ScopeStation || lv == zhufang.ScopeCommunity)
	return out
}

// mapIncidentFragment renders one incident's map marker, as the map page
// draws it, for the live map to add or replace after an event. An incident
// the map would not show, because it has ended or is not on the user's
// ground (the store answers as if it did not exist), is a 404, and the
// script removes its marker.
func (s *Server) mapIncidentFragment(w http.ResponseWriter, r *http.Request) error {
	c, inc, err := s.openIncident(r)
	if err != nil {
		return err
	}
	p := s.newPage(r, "", "", s.mapIncidentOf(langOf(r), c, inc))
	return s.render(w, p.Lang, "map-marker", p)
}

// auditPage lists the audit trail for administrators.
type auditPage struct {
	Entries  []*zhufang.AuditEntry
	Filter   zhufang.AuditFilter
	From     string
	To       string
	Page     int
	More     bool
	Verify   *zhufang.AuditBreak
	Checked  int64
	Verified bool
}

const auditPageSize = 100

func (s *Server) auditList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := zhufang.Authorize(ctx, zhufang.PermViewAudit); err != nil {
		return err
	}
	q := r.URL.Query()
	d := &auditPage{Filter: zhufang.AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Record: strings.TrimSpace(q.Get("record")),
		Action: strings.TrimSpace(q.Get("action"))}, From: q.Get("from"), To: q.Get("to")}
	var err error
	if d.From != "" {
		if d.Filter.From, err = parseDay(d.From, "from"); err != nil {
			return err
		}
	}
	if d.To != "" {
		if d.Filter.To, err = parseDay(d.To, "to"); err != nil {
			return err
		}
		d.Filter.To = d.Filter.To.Add(24 * time.Hour)
	}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 0 && p < 100000 {
		d.Page = p
	}
	d.Filter.Limit, d.Filter.Offset = auditPageSize+1, d.Page*auditPageSize
	if d.Entries, err = s.Audit.FindAudit(ctx, d.Filter); err != nil {
		return err
	}
	if len(d.Entries) > auditPageSize {
		d.Entries, d.More = d.Entries[:auditPageSize], true
	}
	if q.Get("verify") == "1" {
		if d.Verify, d.Checked, err = s.Audit.VerifyAudit(ctx); err != nil {
			return err
		}
		d.Verified = true
	}
	return s.renderPage(w, r, "audit", s.newPage(r, "audit.title", "audit", d))
}
