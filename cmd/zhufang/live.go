package main

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/sqlstore"
)

// The living demo city: new 110 incidents arrive at the model's rate for
// the hour, idle units patrol their beats, and (with crews on) simulated
// dispatchers and crews take each incident through its whole course, so
// that the board, the map and the 1-3-5 clock move as they would in a
// command room.
//
// One goroutine runs everything on a tick: no goroutine per unit or per
// incident. Simulated time runs Speed times faster than real time; every
// delay below is in simulated time and is divided by Speed.

// liveDeps are what the living demo city needs.
type liveDeps struct {
	DB     *sqlstore.DB
	Fleet  *fleet // the node's live dispatch index
	Events zhufang.EventService
	Intake *zhufang.Intake // Prepare fills jurisdiction, triage lane and 1-3-5 due times
	Model  *demo.Model     // HourRate and Draw pace and draw the incidents
	Crews  bool            // simulated dispatchers and crews handle the incidents
	Seed   uint64
	Speed  float64 // time runs this many times faster than real time
	Logger *slog.Logger
}

// Timing of the living city, in simulated time. Medians of log-normal
// delays are those demo/history.go draws for the reform year.
const (
	patrolEvery   = 30 * time.Second // a patrolling or waiting unit reports
	driveEvery    = 5 * time.Second  // a unit on its way reports
	dispatchDelay = 20 * time.Second // the dispatcher reads the call and sends a unit
	ackDelay      = 12 * time.Second // the crew acknowledges
	minDrive      = 20 * time.Second // even a unit next door takes this long
	handleDelay   = 40 * time.Second // on scene to handling under way
	jobTime       = 20 * time.Minute // handling to feedback
	closeDelay    = 2 * time.Minute  // feedback to the dispatcher closing it
	retryDispatch = 15 * time.Second // no unit free: the dispatcher looks again
	resumeSpread  = 5 * time.Minute  // open incidents of a previous run are taken up over this
)

// Real-time bounds: ticks between 100 ms and 1 s; reports at least this
// far apart so a fast test does not flood the track, and at most 30 s so
// a unit never goes stale.
const (
	minTick       = 100 * time.Millisecond
	minPatrolGap  = time.Second
	minDriveGap   = 250 * time.Millisecond
	maxReportGap  = 30 * time.Second
	maxPerTick    = 20 // arrivals in one tick, after a stall
	liveCaller    = "110"
	liveActor     = "demo-dispatcher"
	stationActor  = "demo-station"
	waypointTries = 4
)

// runLive runs the living city until ctx ends.
func runLive(ctx context.Context, d liveDeps) error {
	if d.DB == nil || d.Fleet == nil || d.Intake == nil || d.Model == nil {
		return zhufang.Errorf(zhufang.EINTERNAL, "the living city needs a store, a fleet, an intake and a model")
	}
	if !(d.Speed > 0) || math.IsInf(d.Speed, 0) {
		d.Speed = 1
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &live{d: d, r: rand.New(rand.NewPCG(d.Seed, 0x6c697665)), est: dispatch.DefaultEstimator(),
		units: map[int64]*simUnit{}}
	l.need = l.r.ExpFloat64()
	now := l.now()
	l.refresh(now)
	if d.Crews {
		l.resume(ctx, now)
	}
	if l.d.Model.HourRate(now) == 0 {
		d.Logger.Warn("live: the incident model has no incidents for today; no new incidents will arrive", "day", now.Format(time.DateOnly))
	}
	d.Logger.Info("live: the demo city is alive", "units", len(l.order), "crews", d.Crews, "speed", d.Speed)
	step := min(max(time.Duration(float64(time.Second)/d.Speed), minTick), time.Second)
	t := time.NewTicker(step)
	defer t.Stop()
	last := now
	for {
		l.tick(ctx, now, now.Sub(last))
		last = now
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			now = l.now()
		}
	}
}

// live is the running city. Everything in it belongs to runLive's
// goroutine.
type live struct {
	d     liveDeps
	r     *rand.Rand
	est   dispatch.StraightLine
	units map[int64]*simUnit
	order []*simUnit // the units in ID order, for a stable walk
	jobs  []*job

	// Arrivals: expected arrivals accumulate until they pass need, an
	// Exp(1) draw, which makes a Poisson process of a varying rate.
	acc, need float64
}

func (l *live) now() time.Time { return l.d.Intake.Clock.Now() }

// scaled turns a simulated duration into real time.
func (l *live) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) / l.d.Speed) }

// lognormal draws a log-normal duration with the given median.
func (l *live) lognormal(median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*l.r.NormFloat64()))
}

// tick advances the city to now, dt after the previous tick.
func (l *live) tick(ctx context.Context, now time.Time, dt time.Duration) {
	l.refresh(now)
	l.arrive(ctx, now, dt)
	if l.d.Crews {
		l.runJobs(ctx, now)
	}
	l.patrol(now)
	l.report(ctx, now)
}

// refresh reads the units' statuses from the fleet, which follows the
// store's events, and takes in units added since the last tick.
func (l *live) refresh(now time.Time) {
	added := false
	for _, lu := range l.d.Fleet.Units(0) {
		su := l.units[lu.ID]
		if su == nil {
			if su = l.newUnit(lu.Unit, now); su == nil {
				continue
			}
			l.units[lu.ID] = su
			added = true
		}
		su.status = lu.Status
	}
	if added {
		l.order = l.order[:0]
		for _, su := range l.units {
			l.order = append(l.order, su)
		}
		slices.SortFunc(l.order, func(a, b *simUnit) int { return cmp.Compare(a.id, b.id) })
	}
}

// arrive creates the incidents that arrive in the dt before now.
func (l *live) arrive(ctx context.Context, now time.Time, dt time.Duration) {
	l.acc += l.d.Model.HourRate(now) / 3600 * l.d.Speed * dt.Seconds()
	for n := 0; l.acc >= l.need; n++ {
		if n == maxPerTick { // a long stall: start afresh rather than catch up
			l.acc = 0
			break
		}
		l.acc -= l.need
		l.need = l.r.ExpFloat64()
		l.newIncident(ctx, now)
	}
}

// newIncident draws one incident received now and takes it in as a 110
// call-taker would.
func (l *live) newIncident(ctx context.Context, now time.Time) {
	c, err := l.d.Model.Draw(l.r, now)
	if err != nil {
		l.d.Logger.Debug("live: no incident drawn", "err", err)
		return
	}
	inc := &zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: now, Position: c.Position, Category: c.Category,
		Description: c.Description, PlaceType: c.PlaceType, Flags: c.Flags, CallerName: c.CallerName,
		CallerPhone: c.CallerPhone, Address: c.Address}
	if err := l.d.Intake.Prepare(inc); err != nil {
		l.d.Logger.Debug("live: intake refused a drawn incident", "category", c.Category, "err", err)
		return
	}
	if err := l.d.DB.CreateIncident(ctx, inc, liveCaller); err != nil {
		if ctx.Err() == nil {
			l.d.Logger.Warn("live: storing a new incident", "err", err)
		}
		return
	}
	if l.d.Crews {
		l.jobs = append(l.jobs, l.newJob(inc, now))
	}
}

// report sends the positions due: one track append and one event for the
// whole tick, as a batch of device reports would.
func (l *live) report(ctx context.Context, now time.Time) {
	at := now.UTC().Truncate(time.Microsecond)
	var batch []zhufang.PositionReport
	for _, su := range l.order {
		gap := min(max(l.scaled(patrolEvery), minPatrolGap), maxReportGap)
		if su.driving(now) {
			gap = min(max(l.scaled(driveEvery), minDriveGap), maxReportGap)
		}
		if !su.force && now.Sub(su.reported) < gap {
			continue
		}
		if su.reported.IsZero() { // spread the units' reports over the interval
			su.reported = now.Add(-time.Duration(l.r.Float64() * float64(gap)))
		} else {
			su.reported = now
		}
		su.force = false
		batch = append(batch, su.reportAt(now, at))
	}
	if len(batch) == 0 {
		return
	}
	if _, err := l.d.DB.AppendTrack(ctx, batch); err != nil {
		if ctx.Err() == nil {
			l.d.Logger.Warn("live: storing unit tracks", "reports", len(batch), "err", err)
		}
		return
	}
	for _, r := range batch {
		l.d.Fleet.Apply(r)
	}
	if l.d.Events == nil {
		return
	}
	if b, err := json.Marshal(map[string]any{"reports": batch}); err == nil {
		// As device reports: positions are not state changes and skip the outbox.
		l.d.Events.Publish(ctx, zhufang.Event{Topic: zhufang.TopicUnitPositions, At: at, Payload: b})
	}
}

// simUnit is a unit the living city moves: a police unit on the ground or
// a guard team. Volunteer teams stay at their posts and drones fly their
// own missions, so neither is simulated.
type simUnit struct {
	id       int64
	callSign string
	kind     zhufang.UnitKind
	home     zhufang.Point
	status   zhufang.UnitStatus // as the fleet last said
	job      *job               // the incident the unit is on, if any

	// The current leg, from → to over [start, end] in real time; a pause
	// has from == to. speed is the simulated m/s it reports on the way.
	from, to   zhufang.Point
	start, end time.Time
	speed      float64
	heading    float64

	reported time.Time // its last report
	force    bool      // report at the next tick whatever the interval
}

// Patrol beats and speeds (m/s): vehicles cruise their area slowly, foot
// patrols and guard teams walk.
var patrolBeat = map[zhufang.UnitKind]struct{ radius, speed float64 }{
	zhufang.UnitPatrolCar:  {1500, 7},
	zhufang.UnitMotorcycle: {1500, 6},
	zhufang.UnitFoot:       {400, 1.2},
	zhufang.UnitGuardTeam:  {400, 1.2},
}

// newUnit makes the simulated unit of u, or nil for a unit the city does
// not move or one without any position. It starts where it was last seen,
// with a pause before its first patrol leg and a report at once, so it can
// be recommended from the first tick.
func (l *live) newUnit(u zhufang.Unit, now time.Time) *simUnit {
	if _, ok := patrolBeat[u.Kind]; !ok {
		return nil
	}
	pos, home := u.Position, u.Home
	if pos.IsZero() {
		pos = home
	}
	if home.IsZero() {
		home = pos
	}
	if pos.IsZero() {
		return nil
	}
	su := &simUnit{id: u.ID, callSign: u.CallSign, kind: u.Kind, home: home, status: u.Status, force: true}
	su.pause(now, pos, l.scaled(time.Duration(l.r.Float64()*float64(time.Minute))))
	return su
}

// pos returns where the unit is at t.
func (su *simUnit) pos(t time.Time) zhufang.Point {
	if !t.Before(su.end) || su.from == su.to {
		return su.to
	}
	if !t.After(su.start) {
		return su.from
	}
	f := float64(t.Sub(su.start)) / float64(su.end.Sub(su.start))
	return zhufang.Point{Lon: su.from.Lon + f*(su.to.Lon-su.from.Lon), Lat: su.from.Lat + f*(su.to.Lat-su.from.Lat)}
}

// moving reports whether the unit is under way at t.
func (su *simUnit) moving(t time.Time) bool {
	return su.from != su.to && t.Before(su.end) && !t.Before(su.start)
}

// driving reports whether the unit is on its way to an incident at t.
func (su *simUnit) driving(t time.Time) bool { return su.job != nil && su.moving(t) }

// move sets off from where the unit is at now to dest, arriving after
// real time took, and reports speed on the way.
func (su *simUnit) move(now time.Time, dest zhufang.Point, took time.Duration, speed float64) {
	from := su.pos(now)
	su.from, su.to, su.start, su.end, su.speed = from, dest, now, now.Add(took), speed
	su.heading = bearing(from, dest)
}

// pause keeps the unit at p for real time d.
func (su *simUnit) pause(now time.Time, p zhufang.Point, d time.Duration) {
	su.from, su.to, su.start, su.end, su.speed = p, p, now, now.Add(d), 0
}

// reportAt is the unit's position report at now, stamped at.
func (su *simUnit) reportAt(now, at time.Time) zhufang.PositionReport {
	r := zhufang.PositionReport{UnitID: su.id, At: at, Point: su.pos(now), Heading: su.heading}
	if su.moving(now) {
		r.Speed = min(su.speed, 150)
	}
	return r
}

// patrol moves the units with no incident: an available unit walks or
// drives between random points of its beat, pausing at each; any other
// (sent by hand, busy, off duty) stays where it is.
func (l *live) patrol(now time.Time) {
	for _, su := range l.order {
		if su.job != nil {
			continue
		}
		if !su.status.Recommendable() {
			if su.from != su.to || now.Before(su.end) {
				su.pause(now, su.pos(now), 0)
			}
			continue
		}
		if now.Before(su.end) {
			continue
		}
		here := su.pos(now)
		if su.from != su.to { // arrived: wait a while
			su.pause(now, here, l.scaled(10*time.Second+time.Duration(l.r.Float64()*float64(80*time.Second))))
			continue
		}
		beat := patrolBeat[su.kind]
		dest := l.waypoint(su.home, beat.radius)
		dist := here.DistanceMeters(dest)
		su.move(now, dest, l.scaled(time.Duration(dist/beat.speed*float64(time.Second))), beat.speed)
	}
}

// waypoint picks a random point within radius metres of home and inside
// the city, or home itself if a few tries land outside.
func (l *live) waypoint(home zhufang.Point, radius float64) zhufang.Point {
	for range waypointTries {
		d, a := radius*math.Sqrt(l.r.Float64()), 2*math.Pi*l.r.Float64()
		p := offsetMeters(home, d*math.Sin(a), d*math.Cos(a))
		if _, in := l.d.Intake.Locator.Locate(p); in {
			return p
		}
	}
	return home
}

// offsetMeters moves p east and north by the given metres.
func offsetMeters(p zhufang.Point, east, north float64) zhufang.Point {
	const perDegree = 111_320.0
	return zhufang.Point{Lon: p.Lon + east/(perDegree*math.Cos(p.Lat*math.Pi/180)), Lat: p.Lat + north/perDegree}
}

// bearing is the heading from a to b in degrees from north, in [0, 360).
func bearing(a, b zhufang.Point) float64 {
	east := (b.Lon - a.Lon) * math.Cos(a.Lat*math.Pi/180)
	h := math.Atan2(east, b.Lat-a.Lat) * 180 / math.Pi
	if h < 0 {
		h += 360
	}
	if !(h >= 0 && h < 360) {
		return 0
	}
	return h
}

// job is one incident the simulated city handles: a street incident's
// dispatch and crews, then the incident's own steps (plan), or a station's
// or another agency's handling of the rest.
type job struct {
	inc        *zhufang.Incident
	dispatchAt time.Time // street: when the dispatcher sends units; zero once sent
	crews      []*crew
	plan       []planStep // the incident's steps still to come
	next       time.Time  // when plan[0] is due; zero until the plan starts
	done       bool
}

// crew is one unit on a job and its assignment.
type crew struct {
	a       *zhufang.Assignment
	u       *simUnit
	due     time.Time // when its next step is due; zero for none
	driving bool
}

// planStep moves the incident itself: after a simulated delay from the
// previous step, to a state, by an actor.
type planStep struct {
	to         zhufang.IncidentState
	after      time.Duration
	actor      string
	redirectTo string
	release    bool // stand the crews down after this step
}

// newJob plans how the city handles a new incident: street incidents get
// a unit; assign-lane incidents for 12345 or another department are
// passed on; the station takes up the rest (cases, disputes, its own
// assignments).
func (l *live) newJob(inc *zhufang.Incident, now time.Time) *job {
	j := &job{inc: inc}
	switch {
	case inc.Triage.Streetward():
		j.dispatchAt = now.Add(l.scaled(l.lognormal(dispatchDelay, 0.5)))
		return j
	case inc.Triage.Lane == zhufang.LaneAssign && inc.Triage.AssignTo != "" && inc.Triage.AssignTo != "station":
		j.plan = []planStep{{to: zhufang.StateRedirected, after: l.lognormal(90*time.Second, 0.5), actor: liveActor,
			redirectTo: inc.Triage.AssignTo}}
	default:
		j.plan = l.stationPlan()
	}
	j.next = now.Add(l.scaled(j.plan[0].after))
	return j
}

// stationPlan is how a station's teams take up an incident where it is:
// over tens of minutes, with no unit on the board.
func (l *live) stationPlan() []planStep {
	return []planStep{
		{to: zhufang.StateDispatched, after: l.lognormal(2*time.Minute, 0.5), actor: stationActor},
		{to: zhufang.StateAcknowledged, after: l.lognormal(40*time.Second, 0.5), actor: stationActor},
		{to: zhufang.StateHandling, after: l.lognormal(90*time.Second, 0.6), actor: stationActor},
		{to: zhufang.StateFeedback, after: l.lognormal(40*time.Minute, 0.6), actor: stationActor},
		{to: zhufang.StateClosed, after: l.lognormal(10*time.Minute, 0.8), actor: stationActor},
	}
}

// streetPlan is a street incident's course once a crew is on scene, led
// by actor: handling, feedback (the crews stand down), closing.
func (l *live) streetPlan(actor string) []planStep {
	return []planStep{
		{to: zhufang.StateHandling, after: l.lognormal(handleDelay, 0.5), actor: actor},
		{to: zhufang.StateFeedback, after: l.lognormal(jobTime, 0.6), actor: actor, release: true},
		{to: zhufang.StateClosed, after: l.lognormal(closeDelay, 0.8), actor: liveActor},
	}
}

// resume picks up the incidents a previous run left open, so that a
// restart neither strands them on the board nor keeps their units busy.
func (l *live) resume(ctx context.Context, now time.Time) {
	open, err := l.d.DB.FindIncidents(ctx, zhufang.IncidentFilter{Open: true, Limit: 1000})
	if err != nil {
		if ctx.Err() == nil {
			l.d.Logger.Warn("live: reading the open incidents", "err", err)
		}
		return
	}
	for _, inc := range open {
		l.jobs = append(l.jobs, l.resumeJob(ctx, inc, now))
	}
}

// resumeJob plans the rest of an open incident's course from its state.
// The first steps are spread over a few minutes, so that a backlog does
// not take every unit at once.
func (l *live) resumeJob(ctx context.Context, inc *zhufang.Incident, now time.Time) *job {
	now = now.Add(l.scaled(time.Duration(l.r.Float64() * float64(resumeSpread))))
	j := l.newJob(inc, now)
	if inc.State == zhufang.StateReceived {
		return j
	}
	if inc.Triage.Streetward() {
		if inc.State != zhufang.StateHandling && inc.State != zhufang.StateFeedback {
			j.dispatchAt = now // takes over the units already sent, or sends one
			return j
		}
		j.dispatchAt, j.plan = time.Time{}, l.streetPlan(liveActor)
		l.adopt(ctx, j, now)
	}
	for len(j.plan) > 0 && !zhufang.CanTransition(inc.State, j.plan[0].to) {
		j.plan = j.plan[1:]
	}
	if len(j.plan) == 0 {
		j.done = true
		return j
	}
	j.next = now.Add(l.scaled(j.plan[0].after))
	return j
}

// runJobs takes every job whose time has come one step on.
func (l *live) runJobs(ctx context.Context, now time.Time) {
	for _, j := range l.jobs {
		if ctx.Err() != nil {
			return
		}
		l.runJob(ctx, j, now)
	}
	l.jobs = slices.DeleteFunc(l.jobs, func(j *job) bool { return j.done })
}

func (l *live) runJob(ctx context.Context, j *job, now time.Time) {
	if !j.dispatchAt.IsZero() && !now.Before(j.dispatchAt) {
		l.dispatch(ctx, j, now)
	}
	for _, c := range j.crews {
		if j.done {
			return
		}
		if !c.due.IsZero() && !now.Before(c.due) {
			l.advanceCrew(ctx, j, c, now)
		}
	}
	if !j.done && len(j.plan) > 0 && !j.next.IsZero() && !now.Before(j.next) {
		l.advancePlan(ctx, j, now)
	}
}

// dispatch sends the recommender's first unit and, in town, the nearest
// guard team ahead of it, as a dispatcher at the console would; or takes
// over units a person has already sent.
func (l *live) dispatch(ctx context.Context, j *job, now time.Time) {
	j.dispatchAt = time.Time{}
	inc, err := l.d.DB.FindIncidentByID(ctx, j.inc.ID)
	if err != nil {
		l.giveUp(ctx, j, now, "reading the incident", err)
		return
	}
	if inc.State.Terminal() { // ended at the console meanwhile
		j.done = true
		return
	}
	if l.adopt(ctx, j, now) {
		return
	}
	recs := l.d.Fleet.Recommend(zhufang.RecommendQuery{At: inc.Position, Zone: inc.Zone, StationID: inc.StationID, K: 1})
	if len(recs) == 0 {
		j.dispatchAt = now.Add(l.scaled(retryDispatch))
		return
	}
	if err := l.assign(ctx, j, recs[0], "primary", now); err != nil {
		if zhufang.ErrorCode(err) != zhufang.ECONFLICT {
			l.giveUp(ctx, j, now, "assigning a unit", err)
			return
		}
		l.resync(ctx, recs[0].UnitID)
		j.dispatchAt = now.Add(l.scaled(retryDispatch))
		return
	}
	if inc.Zone != zhufang.ZoneUrbanCore && inc.Zone != zhufang.ZoneUrban {
		return
	}
	// A guard team goes ahead if it is there before the police, or in time
	// for the 1-3-5 rule's on-scene limit.
	fr, ok := l.d.Fleet.FirstResponder(inc.Position, inc.Zone)
	if ok && (fr.ETA < recs[0].ETA || fr.ETA <= inc.Due.OnScene.Sub(inc.ReceivedAt)) {
		if err := l.assign(ctx, j, fr, "first_responder", now); err != nil {
			// The police unit is on its way; the job goes on without a guard team.
			l.d.Logger.Debug("live: no first responder", "incident", inc.ID, "unit", fr.UnitID, "err", err)
			l.resync(ctx, fr.UnitID)
		}
	}
}

// assign sends a recommended unit.
func (l *live) assign(ctx context.Context, j *job, rec zhufang.Recommendation, role string, now time.Time) error {
	su := l.units[rec.UnitID]
	if su == nil || su.job != nil {
		return zhufang.Errorf(zhufang.ECONFLICT, "unit %d is not free in the living city", rec.UnitID)
	}
	a := &zhufang.Assignment{IncidentID: j.inc.ID, UnitID: rec.UnitID, AssignedBy: liveActor, Role: role, ETA: rec.ETA}
	if err := l.d.DB.Assign(ctx, a); err != nil {
		return err
	}
	l.d.Fleet.SetStatus(a.UnitID, zhufang.UnitDispatched)
	su.status, su.job = zhufang.UnitDispatched, j
	su.pause(now, su.pos(now), 0)
	j.crews = append(j.crews, &crew{a: a, u: su, due: now.Add(l.scaled(l.lognormal(ackDelay, 0.5)))})
	return nil
}

// adopt takes over the active assignments a person made before the
// dispatcher got to the incident, so the units sent by hand respond too.
func (l *live) adopt(ctx context.Context, j *job, now time.Time) bool {
	as, err := l.d.DB.FindAssignments(ctx, j.inc.ID)
	if err != nil {
		return false
	}
	for _, a := range as {
		su := l.units[a.UnitID]
		if !a.State.Active() || su == nil || su.job != nil {
			continue
		}
		su.job = j
		su.pause(now, su.pos(now), 0)
		c := &crew{a: a, u: su, due: now}
		switch a.State {
		case zhufang.AssignAssigned:
			c.due = now.Add(l.scaled(l.lognormal(ackDelay, 0.5)))
		case zhufang.AssignOnScene:
			c.due = time.Time{}
			su.pause(now, j.inc.Position, 0)
			l.arrived(j, c, now)
		}
		j.crews = append(j.crews, c)
	}
	return len(j.crews) > 0
}

// resync corrects the fleet's status of a unit the store would not send.
func (l *live) resync(ctx context.Context, id int64) {
	if u, err := l.d.DB.FindUnitByID(ctx, id); err == nil {
		l.d.Fleet.SetStatus(id, u.Status)
	}
}

// advanceCrew takes a crew's next step: acknowledge and set off, or
// arrive.
func (l *live) advanceCrew(ctx context.Context, j *job, c *crew, now time.Time) {
	c.due = time.Time{}
	if c.a.State == zhufang.AssignAssigned {
		if err := l.advance(ctx, c, zhufang.AssignAcknowledged); err != nil {
			l.giveUp(ctx, j, now, "acknowledging", err)
			return
		}
	}
	if c.a.State == zhufang.AssignAcknowledged {
		if err := l.advance(ctx, c, zhufang.AssignEnRoute); err != nil {
			l.giveUp(ctx, j, now, "setting off", err)
			return
		}
	}
	if c.a.State != zhufang.AssignEnRoute {
		return
	}
	if !c.driving {
		l.drive(j, c, now)
		return
	}
	if err := l.advance(ctx, c, zhufang.AssignOnScene); err != nil {
		l.giveUp(ctx, j, now, "arriving", err)
		return
	}
	c.u.pause(now, j.inc.Position, 0)
	c.u.force = true
	l.arrived(j, c, now)
}

// drive sets a crew off in a straight line to the scene, arriving after
// the estimator's travel time (the road's detour included).
func (l *live) drive(j *job, c *crew, now time.Time) {
	from := c.u.pos(now)
	eta := max(minDrive, l.est.ETA(from, j.inc.Position, c.u.kind, j.inc.Zone))
	speed := from.DistanceMeters(j.inc.Position) * l.est.Detour / eta.Seconds()
	c.u.move(now, j.inc.Position, l.scaled(eta), speed)
	c.u.force = true
	c.driving = true
	c.due = c.u.end
}

// arrived starts the incident's own steps when its first crew is on
// scene: handling, feedback (the crews stand down), closing.
func (l *live) arrived(j *job, c *crew, now time.Time) {
	if !j.next.IsZero() || len(j.plan) > 0 {
		return
	}
	j.plan = l.streetPlan(c.u.callSign)
	j.next = now.Add(l.scaled(j.plan[0].after))
}

// advance moves a crew's assignment on as its unit's device would.
func (l *live) advance(ctx context.Context, c *crew, to zhufang.AssignmentState) error {
	a, err := l.d.DB.AdvanceAssignment(ctx, c.a.ID, to, c.u.callSign)
	if err != nil {
		return err
	}
	c.a = a
	c.u.status = zhufang.UnitStatusFor(a.State)
	l.d.Fleet.SetStatus(a.UnitID, c.u.status)
	return nil
}

// advancePlan takes the incident's next own step.
func (l *live) advancePlan(ctx context.Context, j *job, now time.Time) {
	s := j.plan[0]
	req := zhufang.TransitionRequest{To: s.to, Actor: s.actor, RedirectedTo: s.redirectTo}
	if _, err := l.d.DB.TransitionIncident(ctx, j.inc.ID, req); err != nil {
		l.giveUp(ctx, j, now, "moving the incident to "+string(s.to), err)
		return
	}
	if s.release {
		l.standDown(ctx, j, now)
	}
	j.plan = j.plan[1:]
	if len(j.plan) == 0 {
		l.standDown(ctx, j, now)
		j.done = true
		return
	}
	j.next = now.Add(l.scaled(j.plan[0].after))
}

// standDown ends the job's assignments, cleared from the scene or
// cancelled on the way, and sends the units back to patrol.
func (l *live) standDown(ctx context.Context, j *job, now time.Time) {
	for _, c := range j.crews {
		if c.a.State.Active() {
			to := zhufang.AssignCancelled
			if c.a.State == zhufang.AssignOnScene {
				to = zhufang.AssignCleared
			}
			if err := l.advance(ctx, c, to); err != nil {
				l.d.Logger.Debug("live: standing a crew down", "assignment", c.a.ID, "err", err)
				l.resync(ctx, c.u.id)
			}
		}
		if c.u.job == j {
			c.u.job = nil
			c.u.pause(now, c.u.pos(now), 0)
			c.u.force = true
		}
	}
	j.crews = nil
}

// giveUp abandons a job after a failed step, standing its crews down.
func (l *live) giveUp(ctx context.Context, j *job, now time.Time, step string, err error) {
	j.done = true
	if ctx.Err() != nil {
		return
	}
	l.d.Logger.Warn("live: giving up on an incident", "incident", j.inc.ID, "step", step, "err", err)
	l.standDown(ctx, j, now)
}
