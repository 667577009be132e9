package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"zhufang"
)

// stationPage is a station's dashboard over a period the user chooses.
type stationPage struct {
	Station     *zhufang.Station
	County      string
	Period      stationPeriod
	Periods     []string // the choices besides a range
	Today       string   // YYYY-MM-DD, the last day one may choose
	Rows        []*boardRow
	Received    int // incidents received in the period
	Listed      int // rows before the cap
	Open        int
	Compliance  []zhufang.ComplianceRow
	Total       *zhufang.ComplianceRow // every zone together
	Units       []*zhufang.LiveUnit
	OnDuty      int
	Communities []*zhufang.Community
	LastEvent   int64
}

// stationPeriod is the span a station page covers: [From, To) in China
// time, as chosen (Name) and as the form shows it back (FromDay, ToDay).
type stationPeriod struct {
	Name           string // today, 7d, 30d, range
	From, To       time.Time
	FromDay, ToDay string // YYYY-MM-DD, the last day inclusive
	Days           int
}

// stationPeriods are the periods the page offers, besides a range.
var stationPeriods = []string{"today", "7d", "30d", "range"}

// maxStationDays bounds a chosen range, so that one page cannot ask the
// store for years of incidents.
const maxStationDays = 92

// stationListCap is the most incidents the page lists; the counts and the
// compliance table cover the whole period.
const stationListCap = 300

// parseStationPeriod reads the period of a station page from its query:
// period=today (the default), 7d, 30d, or range with from and to days
// (YYYY-MM-DD, China time, both inclusive). Each ends with today.
func parseStationPeriod(q map[string][]string, now time.Time) (stationPeriod, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	local := now.In(zhufang.ChinaTime)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, zhufang.ChinaTime)
	p := stationPeriod{Name: get("period")}
	days := 1
	switch p.Name {
	case "", "today":
		p.Name = "today"
	case "7d":
		days = 7
	case "30d":
		days = 30
	case "range":
		from, err := parseStationDay(get("from"), "from")
		if err != nil {
			return p, err
		}
		to, err := parseStationDay(get("to"), "to")
		if err != nil {
			return p, err
		}
		if to.Before(from) {
			return p, zhufang.Errorf(zhufang.EINVALID, "the period's last day %s comes before its first %s", get("to"), get("from"))
		}
		if from.After(today) {
			return p, zhufang.Errorf(zhufang.EINVALID, "the period starts after today")
		}
		if to.After(today) {
			to = today
		}
		n := int(to.Sub(from).Hours()/24+0.5) + 1 // a day may be 23 or 25 hours nowhere in China, but round anyway
		if n > maxStationDays {
			return p, zhufang.Errorf(zhufang.EINVALID, "a period may span at most %d days", maxStationDays)
		}
		p.From, p.To, p.Days = from, to.AddDate(0, 0, 1), n
		p.FromDay, p.ToDay = from.Format("2006-01-02"), to.Format("2006-01-02")
		return p, nil
	default:
		return p, zhufang.Errorf(zhufang.EINVALID, "period must be today, 7d, 30d or range")
	}
	p.From, p.To, p.Days = today.AddDate(0, 0, 1-days), today.AddDate(0, 0, 1), days
	p.FromDay, p.ToDay = p.From.Format("2006-01-02"), today.Format("2006-01-02")
	return p, nil
}

// parseStationDay reads one day of a range: YYYY-MM-DD only.
func parseStationDay(v, name string) (time.Time, error) {
	if len(v) != len("2006-01-02") {
		return time.Time{}, zhufang.Errorf(zhufang.EINVALID, "%s must be a day YYYY-MM-DD", name)
	}
	t, err := time.ParseInLocation("2006-01-02", v, zhufang.ChinaTime)
	if err != nil {
		return time.Time{}, zhufang.Errorf(zhufang.EINVALID, "%s must be a day YYYY-MM-DD", name)
	}
	return t, nil
}

// mayViewStation is who may open a station's dashboard: station chiefs
// and the command room above them, the roles that may read 1-3-5
// standing (see the README's console table). The route and the nav link
// both ask it.
func mayViewStation(u *zhufang.User) bool {
	return u.Can(zhufang.PermViewIncidents) && u.Can(zhufang.PermViewStats)
}

// StationLink is the station the nav offers the user: their own, when
// they may open its dashboard; 0 for none.
func (p *pageData) StationLink() int64 {
	if p.User == nil || !mayViewStation(p.User) {
		return 0
	}
	return p.User.Scope.StationID
}

// stationPage shows a station's period: its incidents received then and
// those still open, their 1-3-5 compliance by zone, its units on duty and
// its communities. The page follows live events.
func (s *Server) stationPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !mayViewStation(zhufang.ActorFromContext(ctx).User) {
		return zhufang.Errorf(zhufang.EFORBIDDEN, "the station dashboard is for station chiefs and the command room")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.city(ctx)
	if err != nil {
		return err
	}
	st := c.stations[id]
	scope := zhufang.ScopeFromContext(ctx)
	if st == nil || scope == nil || !scope.Covers(st.BureauID, st.ID, 0) {
		return zhufang.Errorf(zhufang.ENOTFOUND, "station %d does not exist", id)
	}
	now := s.now()
	period, err := parseStationPeriod(r.URL.Query(), now)
	if err != nil {
		return err
	}
	d := &stationPage{Station: st, Period: period, Periods: stationPeriods, LastEvent: s.hub.last.Load(),
		Today: now.In(zhufang.ChinaTime).Format("2006-01-02")}
	if b := c.bureaus[st.BureauID]; b != nil {
		d.County = b.Name
	}
	if err := s.stationIncidents(r, c, d); err != nil {
		return err
	}
	clocked, err := s.Compliance.FindClockedIncidents(ctx, period.From, period.To)
	if err != nil {
		return err
	}
	var mine []zhufang.ClockedIncident
	for _, ci := range clocked {
		if ci.StationID == id {
			mine = append(mine, ci)
		}
	}
	d.Received = len(mine)
	if d.Compliance, err = zhufang.AggregateCompliance(mine, "zone", now); err != nil {
		return err
	}
	d.Total = complianceTotal(d.Compliance)
	if zhufang.ActorFromContext(ctx).User.Can(zhufang.PermViewUnits) {
		all, err := s.liveUnits(r)
		if err != nil {
			return err
		}
		for _, u := range all {
			if u.StationID == id {
				d.Units = append(d.Units, u)
				if u.Status != zhufang.UnitOffDuty {
					d.OnDuty++
				}
			}
		}
	}
	cs, err := s.Org.FindCommunities(ctx, zhufang.CommunityFilter{StationID: id, Limit: 1000})
	if err != nil {
		return err
	}
	for _, cm := range cs {
		if scope.Covers(st.BureauID, st.ID, cm.ID) {
			d.Communities = append(d.Communities, cm)
		}
	}
	return s.renderPage(w, r, "station", s.newPage(r, "station.title", "station", d))
}

// stationIncidents lists the station's incidents received in the period
// and every one still open, newest first, up to stationListCap.
func (s *Server) stationIncidents(r *http.Request, c *cityRef, d *stationPage) error {
	ctx := r.Context()
	id := d.Station.ID
	open, err := s.Incidents.FindIncidents(ctx, zhufang.IncidentFilter{StationID: id, Open: true, Limit: 1000})
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	var incs []*zhufang.Incident
	for _, inc := range open {
		seen[inc.ID] = true
		incs = append(incs, inc)
	}
	d.Open = len(open)
	// The store lists newest first: page back until the period's start.
	const page = 500
	for off := 0; ; off += page {
		batch, err := s.Incidents.FindIncidents(ctx, zhufang.IncidentFilter{StationID: id, Limit: page, Offset: off})
		if err != nil {
			return err
		}
		done := len(batch) < page
		for _, inc := range batch {
			if inc.ReceivedAt.Before(d.Period.From) {
				done = true
				break
			}
			if inc.ReceivedAt.Before(d.Period.To) && !seen[inc.ID] {
				seen[inc.ID] = true
				incs = append(incs, inc)
			}
		}
		if done || len(incs) >= stationListCap {
			break
		}
	}
	slices.SortFunc(incs, func(a, b *zhufang.Incident) int {
		if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	d.Listed = len(incs)
	incs = incs[:min(len(incs), stationListCap)]
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	ts, err := s.Incidents.FindTransitionsOf(ctx, ids)
	if err != nil {
		return err
	}
	for _, inc := range incs {
		d.Rows = append(d.Rows, s.rowFrom(langOf(r), c, inc, ts[inc.ID]))
	}
	return nil
}

// complianceTotal adds the zones' rows into one, or nil for none.
func complianceTotal(rows []zhufang.ComplianceRow) *zhufang.ComplianceRow {
	if len(rows) == 0 {
		return nil
	}
	t := &zhufang.ComplianceRow{Key: "total", Clocked: map[zhufang.Stage]int{}, Met: map[zhufang.Stage]int{}}
	for _, r := range rows {
		t.Incidents += r.Incidents
		for _, st := range zhufang.Stages {
			t.Clocked[st] += r.Clocked[st]
			t.Met[st] += r.Met[st]
		}
	}
	return t
}

// stageRate says how a stage went for a group: the share met as a
// percentage with its counts, "92% (23/25)", or "—" when nothing was
// clocked. The percentage is rounded down, so that 99.6% never reads 100%.
func stageRate(row zhufang.ComplianceRow, stage string) string {
	st := zhufang.Stage(stage)
	n, met := row.Clocked[st], row.Met[st]
	if n == 0 {
		return "—"
	}
	return strconv.Itoa(met*100/n) + "% (" + groupDigits(met) + "/" + groupDigits(n) + ")"
}
