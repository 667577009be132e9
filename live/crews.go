package live

import (
	"context"
	"slices"
	"time"

	"zhufang"
)

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
func (l *city) newJob(inc *zhufang.Incident, now time.Time) *job {
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
func (l *city) stationPlan() []planStep {
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
func (l *city) streetPlan(actor string) []planStep {
	return []planStep{
		{to: zhufang.StateHandling, after: l.lognormal(handleDelay, 0.5), actor: actor},
		{to: zhufang.StateFeedback, after: l.lognormal(jobTime, 0.6), actor: actor, release: true},
		{to: zhufang.StateClosed, after: l.lognormal(closeDelay, 0.8), actor: liveActor},
	}
}

// resume picks up the incidents a previous run left open, so that a
// restart neither strands them on the board nor keeps their units busy.
func (l *city) resume(ctx context.Context, now time.Time) {
	open, err := l.d.Store.FindIncidents(ctx, zhufang.IncidentFilter{Open: true, Limit: 1000})
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
func (l *city) resumeJob(ctx context.Context, inc *zhufang.Incident, now time.Time) *job {
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
func (l *city) runJobs(ctx context.Context, now time.Time) {
	for _, j := range l.jobs {
		if ctx.Err() != nil {
			return
		}
		l.runJob(ctx, j, now)
	}
	l.jobs = slices.DeleteFunc(l.jobs, func(j *job) bool { return j.done })
}

func (l *city) runJob(ctx context.Context, j *job, now time.Time) {
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
func (l *city) dispatch(ctx context.Context, j *job, now time.Time) {
	j.dispatchAt = time.Time{}
	inc, err := l.d.Store.FindIncidentByID(ctx, j.inc.ID)
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
func (l *city) assign(ctx context.Context, j *job, rec zhufang.Recommendation, role string, now time.Time) error {
	su := l.units[rec.UnitID]
	if su == nil || su.job != nil {
		return zhufang.Errorf(zhufang.ECONFLICT, "unit %d is not free in the living city", rec.UnitID)
	}
	a := &zhufang.Assignment{IncidentID: j.inc.ID, UnitID: rec.UnitID, AssignedBy: liveActor, Role: role, ETA: rec.ETA}
	if err := l.d.Store.Assign(ctx, a); err != nil {
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
func (l *city) adopt(ctx context.Context, j *job, now time.Time) bool {
	as, err := l.d.Store.FindAssignments(ctx, j.inc.ID)
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

// heard notes an assignment a person made to a simulated unit, for the
// next tick to answer; the demo's own are answered already.
func (l *city) heard(e zhufang.Event) {
	if e.Topic != zhufang.TopicAssignment {
		return
	}
	body, err := e.Body()
	ch, ok := body.(zhufang.AssignmentChanged)
	if err != nil || !ok || ch.Assignment.State != zhufang.AssignAssigned || ch.Assignment.AssignedBy == liveActor ||
		l.units[ch.Assignment.UnitID] == nil {
		return
	}
	if l.sentByHand == nil {
		l.sentByHand = map[int64]bool{}
	}
	l.sentByHand[ch.Assignment.IncidentID] = true
}

// answer puts the crews a person sent to work: on the incident's job if
// the city handles it already (the dispatcher's own sending and the
// station's plan give way to the crews on scene), or on a new job for an
// incident the city did not take in, such as a call the user took.
func (l *city) answer(ctx context.Context, now time.Time) {
	for id := range l.sentByHand {
		delete(l.sentByHand, id)
		i := slices.IndexFunc(l.jobs, func(j *job) bool { return j.inc.ID == id })
		var j *job
		if i >= 0 {
			j = l.jobs[i]
		} else {
			inc, err := l.d.Store.FindIncidentByID(ctx, id)
			if err != nil || inc.State.Terminal() {
				continue
			}
			j = &job{inc: inc}
		}
		if !l.adopt(ctx, j, now) {
			continue
		}
		// The crews lead now: the dispatcher has nothing left to send, and
		// a station's plan gives way to the course a crew on scene sets.
		j.dispatchAt = time.Time{}
		if !j.next.IsZero() && !j.inc.Triage.Streetward() {
			j.plan, j.next = nil, time.Time{}
		}
		if i < 0 {
			l.jobs = append(l.jobs, j)
		}
	}
}

// resync corrects the fleet's status of a unit the store would not send.
func (l *city) resync(ctx context.Context, id int64) {
	if u, err := l.d.Store.FindUnitByID(ctx, id); err == nil {
		l.d.Fleet.SetStatus(id, u.Status)
	}
}

// advanceCrew takes a crew's next step: acknowledge and set off, or
// arrive.
func (l *city) advanceCrew(ctx context.Context, j *job, c *crew, now time.Time) {
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
func (l *city) drive(j *job, c *crew, now time.Time) {
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
func (l *city) arrived(j *job, c *crew, now time.Time) {
	if !j.next.IsZero() || len(j.plan) > 0 {
		return
	}
	j.plan = l.streetPlan(c.u.callSign)
	j.next = now.Add(l.scaled(j.plan[0].after))
}

// advance moves a crew's assignment on as its unit's device would.
func (l *city) advance(ctx context.Context, c *crew, to zhufang.AssignmentState) error {
	a, err := l.d.Store.AdvanceAssignment(ctx, c.a.ID, to, c.u.callSign)
	if err != nil {
		return err
	}
	c.a = a
	c.u.status = zhufang.UnitStatusFor(a.State)
	l.d.Fleet.SetStatus(a.UnitID, c.u.status)
	return nil
}

// advancePlan takes the incident's next own step.
func (l *city) advancePlan(ctx context.Context, j *job, now time.Time) {
	s := j.plan[0]
	req := zhufang.TransitionRequest{To: s.to, Actor: s.actor, RedirectedTo: s.redirectTo}
	if _, err := l.d.Store.TransitionIncident(ctx, j.inc.ID, req); err != nil {
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
func (l *city) standDown(ctx context.Context, j *job, now time.Time) {
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
func (l *city) giveUp(ctx context.Context, j *job, now time.Time, step string, err error) {
	j.done = true
	if ctx.Err() != nil {
		return
	}
	l.d.Logger.Warn("live: giving up on an incident", "incident", j.inc.ID, "step", step, "err", err)
	l.standDown(ctx, j, now)
}
