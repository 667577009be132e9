package live

import (
	"math"
	"time"

	"zhufang"
)

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
func (l *city) newUnit(u zhufang.Unit, now time.Time) *simUnit {
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
	su.heading = from.BearingTo(dest)
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
func (l *city) patrol(now time.Time) {
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
func (l *city) waypoint(home zhufang.Point, radius float64) zhufang.Point {
	for range waypointTries {
		d, a := radius*math.Sqrt(l.r.Float64()), 2*math.Pi*l.r.Float64()
		p := home.OffsetMeters(d*math.Sin(a), d*math.Cos(a))
		if _, in := l.d.Intake.Locator.Locate(p); in {
			return p
		}
	}
	return home
}
