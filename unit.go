package zhufang

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// UnitKind is the kind of a patrol force (巡逻力量).
type UnitKind string

// Unit kinds.
const (
	UnitPatrolCar     UnitKind = "patrol_car"     // 巡逻车
	UnitMotorcycle    UnitKind = "motorcycle"     // 铁骑
	UnitFoot          UnitKind = "foot"           // 步巡
	UnitGuardTeam     UnitKind = "guard_team"     // 保安队
	UnitVolunteerTeam UnitKind = "volunteer_team" // 义警队
	UnitDrone         UnitKind = "drone"          // 无人机
)

// UnitKinds lists every kind.
var UnitKinds = []UnitKind{UnitPatrolCar, UnitMotorcycle, UnitFoot, UnitGuardTeam, UnitVolunteerTeam, UnitDrone}

// Platform says which platform a unit answers to: the police platform
// (区防) or the mass-prevention platform (群防).
type Platform string

// Platforms.
const (
	PlatformPolice Platform = "police" // 区防平台
	PlatformMass   Platform = "mass"   // 群防平台
)

// UnitStatus is where a unit stands.
type UnitStatus string

// Unit statuses.
const (
	UnitAvailable  UnitStatus = "available"
	UnitDispatched UnitStatus = "dispatched"
	UnitEnRoute    UnitStatus = "en_route"
	UnitOnScene    UnitStatus = "on_scene"
	UnitBusy       UnitStatus = "busy"
	UnitReturning  UnitStatus = "returning"
	UnitOffDuty    UnitStatus = "off_duty"
)

// UnitStatuses lists every status.
var UnitStatuses = []UnitStatus{UnitAvailable, UnitDispatched, UnitEnRoute, UnitOnScene, UnitBusy, UnitReturning, UnitOffDuty}

var unitTransitions = map[UnitStatus][]UnitStatus{
	UnitAvailable:  {UnitDispatched, UnitOnScene, UnitBusy, UnitOffDuty}, // on scene: a patrol finds an incident itself
	UnitDispatched: {UnitEnRoute, UnitOnScene, UnitAvailable},
	UnitEnRoute:    {UnitOnScene, UnitAvailable},
	UnitOnScene:    {UnitBusy, UnitReturning, UnitAvailable},
	UnitBusy:       {UnitReturning, UnitAvailable, UnitOffDuty},
	UnitReturning:  {UnitAvailable, UnitDispatched, UnitOffDuty},
	UnitOffDuty:    {UnitAvailable},
}

// CheckUnitTransition returns ECONFLICT when a unit may not move from one
// status to another, naming the legal ones.
func CheckUnitTransition(from, to UnitStatus) error {
	if !slices.Contains(UnitStatuses, to) {
		return Errorf(EINVALID, "unknown unit status %q", to)
	}
	if slices.Contains(unitTransitions[from], to) {
		return nil
	}
	names := make([]string, 0, len(unitTransitions[from]))
	for _, s := range unitTransitions[from] {
		names = append(names, string(s))
	}
	return Errorf(ECONFLICT, "unit cannot go from %s to %s; from %s it can go to %s", from, to, from, strings.Join(names, ", "))
}

// SendableStatuses are the statuses in which a unit can be sent to a new
// incident: available, or returning from one.
var SendableStatuses = []UnitStatus{UnitAvailable, UnitReturning}

// Recommendable reports whether a unit in this status can be sent to a new
// incident (one of SendableStatuses).
func (s UnitStatus) Recommendable() bool { return slices.Contains(SendableStatuses, s) }

// CheckUnitStatusChange returns an error unless a unit may be set from one
// status to another outside an assignment: the move must be legal, and a
// unit on an assignment moves only with it.
func CheckUnitStatusChange(id int64, from, to UnitStatus, onAssignment bool) error {
	if err := CheckUnitTransition(from, to); err != nil {
		return err
	}
	if onAssignment {
		return Errorf(ECONFLICT, "unit %d is on an assignment; advance the assignment instead", id)
	}
	return nil
}

// Capabilities a unit may have.
const (
	CapArmed     = "armed"     // 配枪
	CapMedical   = "medical"   // 急救
	CapTraffic   = "traffic"   // 交通
	CapRescue    = "rescue"    // 救援
	CapMediation = "mediation" // 调解
	CapK9        = "k9"        // 警犬
)

// Capabilities lists every capability a unit may have.
var Capabilities = []string{CapArmed, CapMedical, CapTraffic, CapRescue, CapMediation, CapK9}

// Unit is one patrol force: a car, a motorcycle, a foot patrol, a guard or
// volunteer team, a drone.
type Unit struct {
	ID           int64      `json:"id"`
	CallSign     string     `json:"call_sign"`
	Kind         UnitKind   `json:"kind"`
	Platform     Platform   `json:"platform"`
	StationID    int64      `json:"station_id"`
	CompanyID    int64      `json:"company_id,omitempty"`   // a guard team's security company
	CommunityID  int64      `json:"community_id,omitempty"` // a volunteer team's community
	Capabilities []string   `json:"capabilities"`
	Crew         int        `json:"crew"`
	Status       UnitStatus `json:"status"`
	Position     Point      `json:"position"`
	PositionAt   time.Time  `json:"position_at,omitzero"`
	// Home is where the unit is based: the centre of its beat, where it
	// waits when it has no post. Zero means its first position.
	Home Point `json:"home,omitzero"`
}

// Validate checks the unit's own fields.
func (u *Unit) Validate() error {
	if !slices.Contains(UnitKinds, u.Kind) {
		return Errorf(EINVALID, "unit kind %q is not known", u.Kind)
	}
	if u.Platform != PlatformPolice && u.Platform != PlatformMass {
		return Errorf(EINVALID, "unit platform %q must be police or mass", u.Platform)
	}
	if (u.Kind == UnitGuardTeam || u.Kind == UnitVolunteerTeam) != (u.Platform == PlatformMass) {
		return Errorf(EINVALID, "guard and volunteer teams, and only they, belong to the mass-prevention platform")
	}
	if u.Kind == UnitGuardTeam && u.CompanyID == 0 {
		return Errorf(EINVALID, "a guard team needs its security company")
	}
	if u.Kind == UnitVolunteerTeam && u.CommunityID == 0 {
		return Errorf(EINVALID, "a volunteer team needs its community")
	}
	for _, c := range u.Capabilities {
		if !slices.Contains(Capabilities, c) {
			return Errorf(EINVALID, "capability %q is not one of %s", c, strings.Join(Capabilities, ", "))
		}
	}
	if !slices.Contains(UnitStatuses, u.Status) {
		return Errorf(EINVALID, "unit status %q is not known", u.Status)
	}
	if strings.TrimSpace(u.CallSign) == "" || utf8.RuneCountInString(u.CallSign) > 40 || u.StationID == 0 || u.Crew < 0 || u.Crew > 200 {
		return Errorf(EINVALID, "unit needs a call sign, a home station and a crew of 0 to 200")
	}
	if !u.Position.IsZero() {
		return u.Position.Validate()
	}
	return nil
}

// Has reports whether the unit has every capability asked for.
func (u *Unit) Has(caps []string) bool {
	for _, c := range caps {
		if !slices.Contains(u.Capabilities, c) {
			return false
		}
	}
	return true
}

// PositionReport is one position a device reports for its unit.
type PositionReport struct {
	UnitID  int64     `json:"unit_id"`
	At      time.Time `json:"at"`
	Point   Point     `json:"position"`
	Speed   float64   `json:"speed,omitempty"`   // m/s
	Heading float64   `json:"heading,omitempty"` // degrees from north
}

// Validate checks a report against now: a position on the planet, a time
// neither in the future nor long past.
func (p *PositionReport) Validate(now time.Time) error {
	if p.UnitID <= 0 {
		return Errorf(EINVALID, "unit_id is required")
	}
	if err := p.Point.Validate(); err != nil {
		return err
	}
	if p.Point.IsZero() {
		return Errorf(EINVALID, "position 0,0 is a device without a fix, not a position")
	}
	if p.At.IsZero() {
		return Errorf(EINVALID, "a position report needs its time")
	}
	if p.At.After(now.Add(time.Minute)) {
		return Errorf(EINVALID, "position time %s is in the future", p.At.Format(time.RFC3339))
	}
	// A device that was out of reach uploads what it buffered: a week of
	// track is kept; the live picture ignores what is stale anyway.
	if p.At.Before(now.Add(-7 * 24 * time.Hour)) {
		return Errorf(EINVALID, "position time %s is more than a week old", p.At.Format(time.RFC3339))
	}
	if !(p.Speed >= 0 && p.Speed <= 150) || !(p.Heading >= 0 && p.Heading < 360) { // NaN fails both
		return Errorf(EINVALID, "speed must be 0..150 m/s and heading 0..360 degrees")
	}
	return nil
}

// Clamp holds the report's time to now, the time the server received it:
// a report dated ahead (a device clock running fast, within the minute
// Validate allows) is taken as received now. Which of a unit's positions
// is the newest is judged on these times, so that a report dated ahead
// cannot hold the unit's live position against the genuine reports that
// follow it; no report is newer than the moment it arrived.
func (p *PositionReport) Clamp(now time.Time) {
	if p.At.After(now) {
		p.At = now
	}
}

// Recommendation is one unit proposed for an incident.
type Recommendation struct {
	UnitID   int64         `json:"unit_id"`
	CallSign string        `json:"call_sign"`
	Kind     UnitKind      `json:"kind"`
	ETA      time.Duration `json:"-"` // as eta_seconds
	Meters   float64       `json:"meters"`
	Reason   string        `json:"reason"`
}

// MarshalJSON gives the ETA in whole seconds.
func (r Recommendation) MarshalJSON() ([]byte, error) {
	type plain Recommendation
	return json.Marshal(struct {
		plain
		ETASeconds int64 `json:"eta_seconds"`
	}{plain(r), int64(r.ETA.Round(time.Second) / time.Second)})
}

// UnitService keeps units.
type UnitService interface {
	// FindUnits returns the units on the actor's ground, of one station or
	// of all for 0.
	FindUnits(ctx context.Context, stationID int64) ([]*Unit, error)
	// FindUnitByID returns ENOTFOUND for a unit that does not exist or is
	// not on the actor's ground.
	FindUnitByID(ctx context.Context, id int64) (*Unit, error)
	// FindTrack returns a unit's reports between two times, oldest first.
	FindTrack(ctx context.Context, unitID int64, from, to time.Time) ([]PositionReport, error)
}

// LiveUnit is a unit as the live picture holds it, with whether its
// position is too old to trust.
type LiveUnit struct {
	Unit
	Stale bool `json:"stale"`
}

// RecommendQuery asks for units to send to an incident.
type RecommendQuery struct {
	At        Point
	Zone      ZoneKind
	StationID int64 // the incident's own station, preferred on ties
	K         int
	Needs     []string
}

// Fleet is one node's live picture of the units: positions, statuses, and
// the recommendation engine on top.
type Fleet interface {
	// Apply takes a position report; the newest position wins and an older
	// one reports false.
	Apply(r PositionReport) (bool, error)
	SetStatus(id int64, s UnitStatus) error
	Units(stationID int64) []LiveUnit
	Recommend(q RecommendQuery) []Recommendation
	// FirstResponder is the nearest available guard team (警保联动).
	FirstResponder(at Point, zone ZoneKind) (Recommendation, bool)
}

// DeviceService authenticates devices and keeps the tracks they report.
type DeviceService interface {
	// DeviceUnit returns the unit a device token speaks for, EUNAUTHORIZED
	// for an unknown or revoked token.
	DeviceUnit(ctx context.Context, token string) (int64, error)
	// AppendTrack stores reports in the units' tracks and returns how many
	// were new.
	AppendTrack(ctx context.Context, reports []PositionReport) (int, error)
	SetUnitStatus(ctx context.Context, id int64, to UnitStatus, actor string) (*Unit, error)
}
