package web

import (
	"bytes"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"zhufang"
)

// pageData is what every console page gets: who is looking, in which
// language, the CSRF token for its forms, and the page's own data.
type pageData struct {
	Title string // message key
	Nav   string
	Path  string // this page, to come back to after changing language
	User  *zhufang.User
	Lang  string
	CSRF  string
	Now   time.Time
	Data  any

	// Scripts are the page's own scripts, loaded after app.js (set by
	// render from pageScripts).
	Scripts []string
}

// pageScripts are the scripts of each page that has its own, under
// /static/. Every page loads app.js, the console's shared script (the
// server's clock, the 1-3-5 countdowns, the live connection, the shared
// keys); a page's scripts register with it. All are deferred, so they run
// in this order, after the page is parsed.
var pageScripts = map[string][]string{
	"board":    {"board.js"},
	"map":      {"map.js", "posture.js", "pick.js"},
	"incident": {"incident.js"},
	"station":  {"station.js"},
}

// can lets templates show only what the user may use; the store enforces it.
func (p *pageData) Can(perm string) bool { return p.User.Can(zhufang.Permission(perm)) }

// newPage fills in the common fields from the request.
func (s *Server) newPage(r *http.Request, title, nav string, data any) *pageData {
	rq := requestFrom(r.Context())
	p := &pageData{Title: title, Nav: nav, Path: r.URL.RequestURI(), Lang: "zh", Now: s.now(), Data: data}
	if rq.actor != nil && rq.actor.User != nil {
		p.User, p.Lang = rq.actor.User, rq.actor.User.Lang
	}
	if rq.session != nil {
		p.CSRF = rq.session.CSRF
	}
	return p
}

func (s *Server) now() time.Time { return s.clock().Now() }

// render executes a page template in the user's language into a buffer
// first, so that a template failing halfway sends the error page rather
// than half a page.
func (s *Server) render(w http.ResponseWriter, lang, name string, p *pageData) error {
	return s.renderStatus(w, lang, name, p, http.StatusOK)
}

// renderStatus is render with another status than 200 OK, such as a form
// shown again with what was wrong.
func (s *Server) renderStatus(w http.ResponseWriter, lang, name string, p *pageData, status int) error {
	t := s.tmpl[lang]
	if t == nil {
		t = s.tmpl[zhufang.Languages[0]]
	}
	p.Scripts = pageScripts[name]
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, p); err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "cannot render the page", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := b.WriteTo(w)
	return err
}

// renderPage renders a page for the request's user.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, name string, p *pageData) error {
	return s.render(w, p.Lang, name, p)
}

// home sends each user to where their work is.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	u := requestFrom(r.Context()).actor.User
	switch {
	case mayViewStation(u) && u.Scope.Level == zhufang.ScopeStation:
		http.Redirect(w, r, "/stations/"+strconv.FormatInt(u.Scope.StationID, 10), http.StatusSeeOther)
	case u.Can(zhufang.PermViewIncidents):
		http.Redirect(w, r, "/board", http.StatusSeeOther)
	case u.Can(zhufang.PermViewAudit):
		http.Redirect(w, r, "/audit", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/org", http.StatusSeeOther)
	}
	return nil
}

// stageClock is one of an incident's three 1-3-5 clocks as the board shows
// it: counting down to Due from Start, or stopped at Reached.
type stageClock struct {
	Stage   zhufang.Stage
	Start   time.Time
	Due     time.Time
	Reached time.Time
	Now     time.Time // when the page was drawn; the script ticks on from it

	// What the template writes, worked out once: a board draws thousands.
	Attrs stageAttrs
}

// stageAttrs are a clock's cell: its class and text as drawn, and for the
// script the instants it turns amber and red, or when it stopped.
type stageAttrs struct {
	Class, Text, Amber, Due, Reached string
}

func newStageClock(st zhufang.Stage, start, due, reached, now time.Time) stageClock {
	c := stageClock{Stage: st, Start: start, Due: due, Reached: reached, Now: now}
	if due.IsZero() {
		// The incident's lane does not clock this stage (zhufang.LaneClock).
		c.Attrs = stageAttrs{Class: "none", Text: "—"}
		return c
	}
	c.Attrs = stageAttrs{Class: c.Class(), Text: c.Text(), Due: isoTime(due), Reached: isoTime(reached)}
	if reached.IsZero() {
		c.Attrs.Amber = isoTime(c.AmberAt())
	}
	return c
}

// Met reports a stopped clock that stopped in time.
func (c stageClock) Met() bool { return !c.Reached.IsZero() && !c.Reached.After(c.Due) }

// AmberAt is when a running clock turns amber: the start of its last
// third, the instant from which the time left is at most a third of the
// time given (left·3 ≤ given, to the nanosecond). Class reads it, and the
// board's script gets it as data-amber, so the colour has one rule.
func (c stageClock) AmberAt() time.Time {
	given := c.Due.Sub(c.Start)
	third := given / 3
	if given%3 != 0 && given < 0 {
		third-- // round down, as left·3 ≤ given does
	}
	return c.Due.Add(-third)
}

// Class is the clock's colour: met or late once stopped; while running
// green, amber in its last third (from AmberAt), red when overdue.
func (c stageClock) Class() string {
	switch {
	case !c.Reached.IsZero() && c.Met():
		return "met"
	case !c.Reached.IsZero():
		return "late"
	case !c.Now.Before(c.Due):
		return "red"
	case !c.Now.Before(c.AmberAt()):
		return "amber"
	}
	return "green"
}

// Text is what the clock shows: time left (negative when overdue), or the
// time taken once stopped.
func (c stageClock) Text() string {
	if !c.Reached.IsZero() {
		return mmss(c.Reached.Sub(c.Start))
	}
	return mmss(c.Due.Sub(c.Now))
}

// Urgency is the colour of the incident's most pressing running clock.
func (r *boardRow) Urgency() string {
	worst := "green"
	for _, c := range r.Clocks {
		switch c.Attrs.Class {
		case "red":
			return "red"
		case "amber":
			worst = "amber"
		}
	}
	return worst
}

// boardRow is one open incident on the board.
type boardRow struct {
	Inc       *zhufang.Incident
	Category  zhufang.Category
	Community string
	Station   string
	Phone     string // masked
	Clocks    []stageClock
	Units     []*zhufang.Assignment
	Selected  bool
	Text      rowText // in the reader's language, worked out once per row

	// Sort is the row's place on the board, compared as a string (see
	// zhufang.UrgencyKey); the board's script orders rows by it too. It changes only
	// when the incident does, and every change comes with an event that
	// brings the row again.
	Sort string
}

// rowText is what a board row says, in one language.
type rowText struct {
	Lane, AlsoStreet, State, Zone, Category, Received, Urgency string
}

// langOf is the language of the request's user.
func langOf(r *http.Request) string {
	if a := zhufang.ActorFromContext(r.Context()); a != nil && a.User != nil && a.User.Lang != "" {
		return a.User.Lang
	}
	return zhufang.Languages[0]
}

// clocksOf returns an incident's three clocks from its transitions, as
// its lane runs them (zhufang.LaneClock).
func clocksOf(inc *zhufang.Incident, ts []zhufang.Transition, now time.Time) []stageClock {
	m := zhufang.MilestonesOf(ts)
	due := inc.Clock()
	out := make([]stageClock, 0, 3)
	for _, st := range zhufang.Stages {
		out = append(out, newStageClock(st, inc.ReceivedAt, due.Due(st), m[st], now))
	}
	return out
}

func (s *Server) category(code string) zhufang.Category {
	c, err := s.Intake.Categories.Lookup(code)
	if err != nil {
		return zhufang.Category{Code: code, NameZH: code, NameEN: code}
	}
	return c
}

// boardRowOf builds one row; the clocks need the incident's transitions.
func (s *Server) boardRowOf(r *http.Request, c *cityRef, inc *zhufang.Incident) (*boardRow, error) {
	ts, err := s.Incidents.FindTransitions(r.Context(), inc.ID)
	if err != nil {
		return nil, err
	}
	return s.rowFrom(langOf(r), c, inc, ts), nil
}

func (s *Server) rowFrom(lang string, c *cityRef, inc *zhufang.Incident, ts []zhufang.Transition) *boardRow {
	row := &boardRow{Inc: inc, Category: s.category(inc.Category), Phone: zhufang.MaskPhone(inc.CallerPhone), Clocks: clocksOf(inc, ts, s.now())}
	row.Community, row.Station = c.place(inc)
	tr := func(k string) string { return s.catalogs.translate(lang, k) }
	row.Text = rowText{Lane: tr("lane." + string(inc.Triage.Lane)), State: tr("state." + string(inc.State)),
		Zone: tr("zone." + string(inc.Zone)), Category: row.Category.NameZH, Received: clockText(inc.ReceivedAt), Urgency: row.Urgency()}
	if lang == "en" && row.Category.NameEN != "" {
		row.Text.Category = row.Category.NameEN
	}
	if inc.Triage.AlsoStreet {
		row.Text.AlsoStreet = tr("lane.street")
	}
	row.Sort = zhufang.UrgencyKey(inc.State, inc.Clock(), inc.ReceivedAt, inc.ID)
	return row
}

// boardData is the dispatcher's board.
type boardData struct {
	Rows       []*boardRow
	Selected   *boardRow
	Recommend  []zhufang.Recommendation
	First      *zhufang.Recommendation
	Outlook    *zhufang.OnSceneOutlook // of the units offered, nil when not judged
	UnitCounts []unitCount
	CallSigns  map[int64]string // of the selected incident's units
	Categories []zhufang.Category
	Breaches   []breachItem // the open breaches on the user's ground, most overdue first
	Message    string
	LastEvent  int64

	// Intake is the intake form as the user left it, with what was wrong,
	// when a report was refused; nil for an empty form.
	Intake *intakeForm
}

type unitCount struct {
	Status zhufang.UnitStatus
	N      int
}

// breachItem is one stage of an open incident overdue and not reached,
// as the watcher raises it (zhufang.OpenBreaches), for the board's list.
type breachItem struct {
	Row   *boardRow
	Stage zhufang.Stage
	Due   time.Time
}

// breachesOf lists the open breaches of the rows at now, most overdue
// first.
func breachesOf(rows []*boardRow, now time.Time) []breachItem {
	out := []breachItem{}
	for _, row := range rows {
		for _, b := range zhufang.OpenBreaches(row.Inc.ID, row.Inc.State, row.Inc.Clock(), now) {
			out = append(out, breachItem{Row: row, Stage: b.Stage, Due: b.Due})
		}
	}
	slices.SortStableFunc(out, func(a, b breachItem) int { return a.Due.Compare(b.Due) })
	return out
}

// boardLimit is the most open incidents the board lists.
const boardLimit = 1000

// board is the command room's screen: every open incident on the user's
// ground with its 1-3-5 clocks, the selected one's recommended units, the
// units by status and a form for a new report.
func (s *Server) board(w http.ResponseWriter, r *http.Request) error {
	d, err := s.boardData(r)
	if err != nil {
		return err
	}
	return s.renderPage(w, r, "board", s.newPage(r, "board.title", "board", d))
}

// boardRows returns the open incidents on the user's ground as board
// rows, most urgent first; sel marks the selected one.
func (s *Server) boardRows(r *http.Request, c *cityRef, sel int64) ([]*boardRow, *boardRow, error) {
	ctx := r.Context()
	incs, err := s.Incidents.FindIncidents(ctx, zhufang.IncidentFilter{Open: true, Limit: boardLimit})
	if err != nil {
		return nil, nil, err
	}
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	ts, err := s.Incidents.FindTransitionsOf(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]*boardRow, 0, len(incs))
	var selected *boardRow
	for _, inc := range incs {
		row := s.rowFrom(langOf(r), c, inc, ts[inc.ID])
		if inc.ID == sel {
			row.Selected = true
			selected = row
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b *boardRow) int { return strings.Compare(a.Sort, b.Sort) })
	return rows, selected, nil
}

func (s *Server) boardData(r *http.Request) (*boardData, error) {
	ctx := r.Context()
	c, err := s.city(ctx)
	if err != nil {
		return nil, err
	}
	var sel int64
	if v := r.URL.Query().Get("sel"); v != "" {
		sel, _ = strconv.ParseInt(v, 10, 64)
	}
	d := &boardData{Categories: s.Intake.Categories.All(), Message: r.URL.Query().Get("msg"), Intake: &intakeForm{}}
	if d.Rows, d.Selected, err = s.boardRows(r, c, sel); err != nil {
		return nil, err
	}
	d.Breaches = breachesOf(d.Rows, s.now())
	if at := r.URL.Query().Get("at"); at != "" {
		// A place picked on the map, in map units: the form's position.
		if x, y, ok := mapXY(at); ok {
			p := c.proj.Point(x, y)
			d.Intake.Position = strconv.FormatFloat(p.Lon, 'f', 6, 64) + ", " + strconv.FormatFloat(p.Lat, 'f', 6, 64)
		}
	}
	if d.Selected == nil && sel != 0 {
		// A selected incident no longer open (or never visible) still shows.
		if inc, err := s.Incidents.FindIncidentByID(ctx, sel); err == nil {
			if d.Selected, err = s.boardRowOf(r, c, inc); err != nil {
				return nil, err
			}
		}
	}
	if d.Selected != nil {
		d.Recommend, d.First = s.recommend(r, c, d.Selected.Inc, 5, nil)
		d.Outlook = s.outlook(d.Selected.Inc, d.Recommend, d.First)
		if d.Selected.Units, err = s.Assignments.FindAssignments(ctx, d.Selected.Inc.ID); err != nil {
			return nil, err
		}
		d.CallSigns = map[int64]string{}
		for _, a := range d.Selected.Units {
			if u := s.unitRef(a.UnitID); u != nil {
				d.CallSigns[a.UnitID] = u.CallSign
			}
		}
	}
	d.UnitCounts, err = s.unitCounts(r)
	if err != nil {
		return nil, err
	}
	d.LastEvent = s.hub.last.Load()
	return d, nil
}

// outlook judges the units offered for an incident against its on-scene
// deadline (zhufang.OnSceneOutlookOf); nil when there is nothing to judge.
func (s *Server) outlook(inc *zhufang.Incident, recs []zhufang.Recommendation, first *zhufang.Recommendation) *zhufang.OnSceneOutlook {
	etas := make([]time.Duration, 0, len(recs)+1)
	for _, r := range recs {
		etas = append(etas, r.ETA)
	}
	if first != nil {
		etas = append(etas, first.ETA)
	}
	o, ok := zhufang.OnSceneOutlookOf(inc.State, inc.Clock(), s.now(), etas...)
	if !ok {
		return nil
	}
	return &o
}

// breachPanel renders the board's list of open breaches, for the board to
// replace when a breach is raised or an incident moves.
func (s *Server) breachPanel(w http.ResponseWriter, r *http.Request) error {
	c, err := s.city(r.Context())
	if err != nil {
		return err
	}
	rows, _, err := s.boardRows(r, c, 0)
	if err != nil {
		return err
	}
	p := s.newPage(r, "", "", &boardData{Breaches: breachesOf(rows, s.now())})
	return s.render(w, p.Lang, "board-breaches", p)
}

// alarmItem renders the alarm of one breach the watcher raised, for the
// banner every console page shows: 404 when the incident has ended or is
// not on the user's ground, so the script shows nothing.
func (s *Server) alarmItem(w http.ResponseWriter, r *http.Request) error {
	st := zhufang.Stage(r.URL.Query().Get("stage"))
	if !slices.Contains(zhufang.Stages, st) {
		return zhufang.Errorf(zhufang.EINVALID, "stage must be acknowledge, on_scene or handling")
	}
	c, inc, err := s.openIncident(r)
	if err != nil {
		return err
	}
	due := inc.Clock().Due(st)
	if due.IsZero() {
		return zhufang.Errorf(zhufang.ENOTFOUND, "incident %d has no %s clock", inc.ID, st)
	}
	row, err := s.boardRowOf(r, c, inc)
	if err != nil {
		return err
	}
	p := s.newPage(r, "", "", breachItem{Row: row, Stage: st, Due: due})
	return s.render(w, p.Lang, "alarm-item", p)
}

// recommend proposes units the user may send: the recommender's choice,
// kept to the user's ground.
func (s *Server) recommend(r *http.Request, c *cityRef, inc *zhufang.Incident, k int, needs []string) ([]zhufang.Recommendation, *zhufang.Recommendation) {
	scope := zhufang.ScopeFromContext(r.Context())
	if scope == nil {
		return nil, nil
	}
	visible := func(id int64) bool {
		u := s.unitRef(id)
		return u != nil && scope.Covers(c.bureauOf(u.StationID), u.StationID, u.CommunityID)
	}
	out := []zhufang.Recommendation{}
	for _, rec := range s.Fleet.Recommend(zhufang.RecommendQuery{At: inc.Position, Zone: inc.Zone, StationID: inc.StationID, K: k * 4, Needs: needs}) {
		if visible(rec.UnitID) && len(out) < k {
			out = append(out, rec)
		}
	}
	if inc.Triage.Streetward() {
		if fr, ok := s.Fleet.FirstResponder(inc.Position, inc.Zone); ok && visible(fr.UnitID) {
			return out, &fr
		}
	}
	return out, nil
}

// unitRef returns what the live picture knows of a unit.
func (s *Server) unitRef(id int64) *zhufang.Unit {
	s.unitMu.Lock()
	defer s.unitMu.Unlock()
	if s.unitByID == nil {
		s.unitByID = map[int64]*zhufang.Unit{}
		for _, u := range s.Fleet.Units(0) {
			uu := u.Unit
			s.unitByID[u.ID] = &uu
		}
	}
	return s.unitByID[id]
}

// unitCounts counts the units on the user's ground by status.
func (s *Server) unitCounts(r *http.Request) ([]unitCount, error) {
	if !zhufang.ActorFromContext(r.Context()).User.Can(zhufang.PermViewUnits) {
		return nil, nil
	}
	units, err := s.liveUnits(r)
	if err != nil {
		return nil, err
	}
	n := map[zhufang.UnitStatus]int{}
	for _, u := range units {
		n[u.Status]++
	}
	out := make([]unitCount, 0, len(zhufang.UnitStatuses))
	for _, st := range zhufang.UnitStatuses {
		out = append(out, unitCount{Status: st, N: n[st]})
	}
	return out, nil
}

// liveUnits returns the units on the user's ground (from the store, which
// scopes them) with their live status and position.
func (s *Server) liveUnits(r *http.Request) ([]*zhufang.LiveUnit, error) {
	units, err := s.Units.FindUnits(r.Context(), 0)
	if err != nil {
		return nil, err
	}
	live := map[int64]zhufang.LiveUnit{}
	for _, u := range s.Fleet.Units(0) {
		live[u.ID] = u
	}
	out := make([]*zhufang.LiveUnit, len(units))
	for i, u := range units {
		l, ok := live[u.ID]
		if !ok {
			l = zhufang.LiveUnit{Unit: *u, Stale: true}
		}
		out[i] = &l
	}
	return out, nil
}

// openIncident reads the incident the path names, for a fragment of the
// live pages: ENOTFOUND when it has ended, as when it is not on the user's
// ground (the store answers as if it did not exist), so the script removes
// it.
func (s *Server) openIncident(r *http.Request) (*cityRef, *zhufang.Incident, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.city(r.Context())
	if err != nil {
		return nil, nil, err
	}
	inc, err := s.Incidents.FindIncidentByID(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	if inc.State.Terminal() {
		return nil, nil, zhufang.Errorf(zhufang.ENOTFOUND, "incident %d has ended", id)
	}
	return c, inc, nil
}

// boardRowFragment renders one board row, for the live board to replace
// after an event; 404 when it is gone from the user's board.
func (s *Server) boardRowFragment(w http.ResponseWriter, r *http.Request) error {
	c, inc, err := s.openIncident(r)
	if err != nil {
		return err
	}
	row, err := s.boardRowOf(r, c, inc)
	if err != nil {
		return err
	}
	p := s.newPage(r, "", "", row)
	return s.render(w, p.Lang, "board-row", p)
}

// unitsFragment renders the units-by-status panel.
func (s *Server) unitsFragment(w http.ResponseWriter, r *http.Request) error {
	counts, err := s.unitCounts(r)
	if err != nil {
		return err
	}
	p := s.newPage(r, "", "", &boardData{UnitCounts: counts})
	return s.render(w, p.Lang, "board-units", p)
}

// formText reads a form field as text of at most n characters.
func formText(r *http.Request, name string, n int) (string, error) {
	v := strings.TrimSpace(r.PostForm.Get(name))
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > n {
		return "", zhufang.Errorf(zhufang.EINVALID, "%s must be text of at most %d characters", name, n)
	}
	return v, nil
}

// intakeForm is the board's intake form as the user sent it: the values
// to show again, and what was wrong, next to the field it is about.
type intakeForm struct {
	Category, Address, Position, CallerPhone, CallerName, Description string
	Weapon, Injured, Trapped, Minors                                  bool

	Field string // the field the error is about; "" for the form as a whole
	Error string // in the user's language
}

// ErrorFor returns the error to show next to a field, "" for none.
func (f *intakeForm) ErrorFor(field string) string {
	if f != nil && f.Field == field {
		return f.Error
	}
	return ""
}

// fieldError is a refused report, with the form's field it is about and
// the message key (and arguments) that say why in the user's language.
type fieldError struct {
	field, key string
	args       []any
	err        error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// intake takes a report from the board's form. A report intake refuses is
// not lost: the board comes back with the form as it was sent and what
// was wrong next to the field, in the user's language.
func (s *Server) intake(w http.ResponseWriter, r *http.Request) error {
	f := &intakeForm{Category: r.PostForm.Get("category"), Address: r.PostForm.Get("address"), Position: r.PostForm.Get("position"),
		CallerPhone: r.PostForm.Get("caller_phone"), CallerName: r.PostForm.Get("caller_name"), Description: r.PostForm.Get("description"),
		Weapon: r.PostForm.Get("weapon") != "", Injured: r.PostForm.Get("injured") != "", Trapped: r.PostForm.Get("trapped") != "",
		Minors: r.PostForm.Get("minors") != ""}
	inc, err := s.intakeIncident(r, f)
	if err == nil {
		err = s.Intake.Receive(r.Context(), inc, zhufang.ActorFromContext(r.Context()).Name())
	}
	if err == nil {
		http.Redirect(w, r, "/board?sel="+strconv.FormatInt(inc.ID, 10), http.StatusSeeOther)
		return nil
	}
	if zhufang.ErrorCode(err) != zhufang.EINVALID {
		return err
	}
	lang := langOf(r)
	fe, ok := err.(*fieldError)
	if !ok {
		// Refused for a reason the form did not foresee: said as the
		// store said it, under the form's own heading.
		fe = &fieldError{key: "intake.err.other", args: []any{zhufang.ErrorMessage(err)}, err: err}
	}
	f.Field, f.Error = fe.field, s.catalogs.translate(lang, fe.key, fe.args...)
	d, derr := s.boardData(r)
	if derr != nil {
		return derr
	}
	d.Intake = f
	return s.renderStatus(w, lang, "board", s.newPage(r, "board.title", "board", d), http.StatusUnprocessableEntity)
}

// intakeIncident reads the form into an incident for intake, checking
// what it can name a field for: each text's length, the position, the
// category, the phone number, and that the position lies in the city.
func (s *Server) intakeIncident(r *http.Request, f *intakeForm) (*zhufang.Incident, error) {
	inc := &zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: s.now().UTC().Truncate(time.Microsecond)}
	fields := []struct {
		name string
		dst  *string
		n    int
	}{{"category", &inc.Category, 6}, {"address", &inc.Address, 200}, {"caller_phone", &inc.CallerPhone, 20},
		{"caller_name", &inc.CallerName, 50}, {"description", &inc.Description, zhufang.MaxTextRunes}}
	for _, fl := range fields {
		var err error
		if *fl.dst, err = formText(r, fl.name, fl.n); err != nil {
			return nil, &fieldError{field: fl.name, key: "intake.err.long", args: []any{strconv.Itoa(fl.n)}, err: err}
		}
	}
	if _, err := s.Intake.Categories.Lookup(inc.Category); err != nil {
		return nil, &fieldError{field: "category", key: "intake.err.category", err: err}
	}
	if inc.Address == "" {
		return nil, &fieldError{field: "address", key: "intake.err.address", err: zhufang.Errorf(zhufang.EINVALID, "an address is required")}
	}
	var err error
	if inc.Position, err = formPoint(r.PostForm.Get("position")); err != nil {
		return nil, &fieldError{field: "position", key: "intake.err.position", err: err}
	}
	if s.Intake.Locator != nil {
		if _, ok := s.Intake.Locator.Locate(inc.Position); !ok {
			return nil, &fieldError{field: "position", key: "intake.err.outside",
				err: zhufang.Errorf(zhufang.EINVALID, "position (%g, %g) lies outside the city's jurisdiction", inc.Position.Lon, inc.Position.Lat)}
		}
	}
	if inc.CallerPhone != "" && !zhufang.ValidPhone(inc.CallerPhone) {
		return nil, &fieldError{field: "caller_phone", key: "intake.err.phone", err: zhufang.Errorf(zhufang.EINVALID, "caller phone must be 3 to 20 digits")}
	}
	inc.Flags = zhufang.IncidentFlags{Weapon: f.Weapon, Injured: f.Injured, Trapped: f.Trapped, Minors: f.Minors}
	return inc, nil
}

// mapXY reads "x,y" in map units, as the map sends a place picked on it.
func mapXY(v string) (x, y float64, ok bool) {
	xs, ys, found := strings.Cut(v, ",")
	x, errX := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, errY := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !found || errX != nil || errY != nil || math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return 0, 0, false
	}
	return x, y, true
}

// formPoint reads "lon, lat" (or "lon lat").
func formPoint(v string) (zhufang.Point, error) {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '，' })
	if len(f) != 2 {
		return zhufang.Point{}, zhufang.Errorf(zhufang.EINVALID, "position must be given as longitude, latitude")
	}
	lon, err1 := strconv.ParseFloat(f[0], 64)
	lat, err2 := strconv.ParseFloat(f[1], 64)
	p := zhufang.Point{Lon: lon, Lat: lat}
	if err1 != nil || err2 != nil {
		return p, zhufang.Errorf(zhufang.EINVALID, "position must be two numbers: longitude, latitude")
	}
	return p, p.Validate()
}

// assignForm sends a unit from the board, then goes back to it.
func (s *Server) assignForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	unit, err := strconv.ParseInt(r.PostForm.Get("unit_id"), 10, 64)
	if err != nil || unit <= 0 {
		return zhufang.Errorf(zhufang.EINVALID, "choose a unit to send")
	}
	eta, _ := strconv.ParseInt(r.PostForm.Get("eta_seconds"), 10, 64)
	role := "primary"
	if r.PostForm.Get("role") == "first_responder" {
		role = "first_responder"
	}
	a := &zhufang.Assignment{IncidentID: id, UnitID: unit, AssignedBy: zhufang.ActorFromContext(r.Context()).Name(), Role: role,
		ETA: time.Duration(max(eta, 0)) * time.Second}
	if err := s.Assignments.Assign(r.Context(), a); err != nil {
		if zhufang.ErrorCode(err) == zhufang.ECONFLICT {
			http.Redirect(w, r, "/board?sel="+strconv.FormatInt(id, 10)+"&msg=taken", http.StatusSeeOther)
			return nil
		}
		return err
	}
	s.Fleet.SetStatus(a.UnitID, zhufang.UnitDispatched)
	back := "/board?sel=" + strconv.FormatInt(id, 10)
	if r.PostForm.Get("back") == "incident" {
		back = "/incidents/" + strconv.FormatInt(id, 10)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// stateForm moves an incident on from its page.
func (s *Server) stateForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	note, err := formText(r, "note", 500)
	if err != nil {
		return err
	}
	req := zhufang.TransitionRequest{To: zhufang.IncidentState(r.PostForm.Get("to")), Actor: zhufang.ActorFromContext(r.Context()).Name(), Note: note}
	if req.To == zhufang.StateRedirected {
		req.RedirectedTo = "mediation"
	}
	if _, err := s.Incidents.TransitionIncident(r.Context(), id, req); err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// setLang keeps the user's language choice.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) error {
	u := requestFrom(r.Context()).actor.User
	lang := r.PostForm.Get("lang")
	if err := s.Users.SetUserLang(r.Context(), u.ID, lang); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("back")), http.StatusSeeOther)
	return nil
}
