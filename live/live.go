// Package live keeps the demo city alive: new 110 incidents arrive at the
// incident model's rate for the hour, idle units patrol their beats, and
// (with crews on) simulated dispatchers and crews take each incident
// through its whole course, so that the board, the map and the 1-3-5 clock
// move as they would in a command room.
//
// One goroutine runs everything on a tick: no goroutine per unit or per
// incident. Simulated time runs Speed times faster than real time; every
// delay below is in simulated time and is divided by Speed.
package live

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/dispatch"
)

// Deps are what the living demo city needs.
type Deps struct {
	Store  Store
	Fleet  zhufang.Fleet // the node's live dispatch index
	Events zhufang.EventService
	Intake *zhufang.Intake // takes the drawn incidents in, as a call-taker would
	Model  *demo.Model     // HourRate and Draw pace and draw the incidents
	Crews  bool            // simulated dispatchers and crews handle the incidents
	Seed   uint64
	Speed  float64 // time runs this many times faster than real time
	Logger *slog.Logger
}

// Store is what the living city reads and changes: the incidents it takes
// through their course, the assignments its dispatchers make, the units
// and their tracks.
type Store interface {
	zhufang.IncidentService
	zhufang.AssignmentService
	zhufang.UnitService
	zhufang.DeviceService
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

// Run runs the living city until ctx ends.
func Run(ctx context.Context, d Deps) error {
	if d.Store == nil || d.Fleet == nil || d.Intake == nil || d.Model == nil {
		return zhufang.Errorf(zhufang.EINTERNAL, "the living city needs a store, a fleet, an intake and a model")
	}
	if !(d.Speed > 0) || math.IsInf(d.Speed, 0) {
		d.Speed = 1
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &city{d: d, r: rand.New(rand.NewPCG(d.Seed, 0x6c697665)), est: dispatch.DefaultEstimator(),
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
	// The crews hear of every assignment, so that a unit a person sends by
	// hand, to any incident, answers as the demo's own do.
	var events <-chan zhufang.Event
	unsubscribe := func() {}
	if d.Crews && d.Events != nil {
		events, unsubscribe = d.Events.Subscribe()
	}
	defer func() { unsubscribe() }()
	last := now
	for {
		l.tick(ctx, now, now.Sub(last))
		last = now
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				now = l.now()
				break wait
			case e, ok := <-events:
				if !ok { // dropped as a slow subscriber: listen again
					events, unsubscribe = d.Events.Subscribe()
					continue
				}
				l.heard(e)
			}
		}
	}
}

// city is the running city. Everything in it belongs to Run's goroutine.
type city struct {
	d     Deps
	r     *rand.Rand
	est   dispatch.StraightLine
	units map[int64]*simUnit
	order []*simUnit // the units in ID order, for a stable walk
	jobs  []*job
	// sentByHand are the incidents a person has sent a simulated unit to
	// since the last tick, for the crews to answer.
	sentByHand map[int64]bool

	// Arrivals: expected arrivals accumulate until they pass need, an
	// Exp(1) draw, which makes a Poisson process of a varying rate.
	acc, need float64
}

func (l *city) now() time.Time { return l.d.Intake.Clock.Now() }

// scaled turns a simulated duration into real time.
func (l *city) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) / l.d.Speed) }

// lognormal draws a log-normal duration with the given median.
func (l *city) lognormal(median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*l.r.NormFloat64()))
}

// tick advances the city to now, dt after the previous tick.
func (l *city) tick(ctx context.Context, now time.Time, dt time.Duration) {
	l.refresh(now)
	l.arrive(ctx, now, dt)
	if l.d.Crews {
		l.answer(ctx, now)
		l.runJobs(ctx, now)
	}
	l.patrol(now)
	l.report(ctx, now)
}

// refresh reads the units' statuses from the fleet, which follows the
// store's events, and takes in units added since the last tick.
func (l *city) refresh(now time.Time) {
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
func (l *city) arrive(ctx context.Context, now time.Time, dt time.Duration) {
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
func (l *city) newIncident(ctx context.Context, now time.Time) {
	c, err := l.d.Model.Draw(l.r, now)
	if err != nil {
		l.d.Logger.Debug("live: no incident drawn", "err", err)
		return
	}
	inc := &zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: now, Position: c.Position, Category: c.Category,
		Description: c.Description, PlaceType: c.PlaceType, Flags: c.Flags, CallerName: c.CallerName,
		CallerPhone: c.CallerPhone, Address: c.Address}
	if err := l.d.Intake.Receive(ctx, inc, liveCaller); err != nil {
		switch {
		case ctx.Err() != nil:
		case zhufang.ErrorCode(err) == zhufang.EINVALID:
			l.d.Logger.Debug("live: intake refused a drawn incident", "category", c.Category, "err", err)
		default:
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
func (l *city) report(ctx context.Context, now time.Time) {
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
	if _, err := l.d.Store.AppendTrack(ctx, batch); err != nil {
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
	if e, err := zhufang.NewEvent(zhufang.PositionsReported{Reports: batch}, at); err == nil {
		// As device reports: positions are not state changes and skip the outbox.
		l.d.Events.Publish(ctx, e)
	}
}
