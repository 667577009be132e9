package zhufang

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// AssignmentState is where a 处警单 stands: one unit sent to one incident.
type AssignmentState string

// Assignment states.
const (
	AssignAssigned     AssignmentState = "assigned"
	AssignAcknowledged AssignmentState = "acknowledged"
	AssignEnRoute      AssignmentState = "en_route"
	AssignOnScene      AssignmentState = "on_scene"
	AssignCleared      AssignmentState = "cleared"
	AssignCancelled    AssignmentState = "cancelled"
)

var assignmentTransitions = map[AssignmentState][]AssignmentState{
	AssignAssigned:     {AssignAcknowledged, AssignCancelled},
	AssignAcknowledged: {AssignEnRoute, AssignOnScene, AssignCancelled},
	AssignEnRoute:      {AssignOnScene, AssignCancelled},
	AssignOnScene:      {AssignCleared},
}

// CheckAssignmentTransition returns ECONFLICT for an illegal move.
func CheckAssignmentTransition(from, to AssignmentState) error {
	if slices.Contains(assignmentTransitions[from], to) {
		return nil
	}
	if _, known := assignmentTransitions[to]; !known && to != AssignCleared && to != AssignCancelled {
		return Errorf(EINVALID, "unknown assignment state %q", to)
	}
	return Errorf(ECONFLICT, "assignment cannot go from %s to %s", from, to)
}

// EndedAssignmentStates are the states in which an assignment no longer
// holds its unit.
var EndedAssignmentStates = []AssignmentState{AssignCleared, AssignCancelled}

// Active reports whether the assignment still holds its unit: it is in none
// of EndedAssignmentStates.
func (s AssignmentState) Active() bool { return !slices.Contains(EndedAssignmentStates, s) }

// unitStatusFor is the unit's status while its assignment is in a state.
var unitStatusFor = map[AssignmentState]UnitStatus{
	AssignAssigned: UnitDispatched, AssignAcknowledged: UnitDispatched, AssignEnRoute: UnitEnRoute,
	AssignOnScene: UnitOnScene, AssignCleared: UnitAvailable, AssignCancelled: UnitAvailable,
}

// UnitStatusFor returns the unit status an assignment state implies.
func UnitStatusFor(s AssignmentState) UnitStatus { return unitStatusFor[s] }

// incidentStateFor is how far an assignment moves its incident along, at
// least: the first unit to acknowledge acknowledges the incident.
var incidentStateFor = map[AssignmentState]IncidentState{
	AssignAssigned: StateDispatched, AssignAcknowledged: StateAcknowledged, AssignEnRoute: StateAcknowledged,
	AssignOnScene: StateOnScene,
}

// IncidentStateFor returns the incident state an assignment state implies,
// or "" when it implies none.
func IncidentStateFor(s AssignmentState) IncidentState { return incidentStateFor[s] }

// AssignmentSteps lists the states an incident in state from passes
// through, in order, as an assignment reaches s: the first unit sent
// dispatches the incident, the first to acknowledge acknowledges it,
// arriving puts it on scene. A step the incident has passed is left out;
// an incident that has ended takes none.
func AssignmentSteps(from IncidentState, s AssignmentState) []IncidentState {
	target := IncidentStateFor(s)
	if target == "" {
		return nil
	}
	var steps []IncidentState
	for _, step := range []IncidentState{StateDispatched, StateAcknowledged, StateOnScene} {
		if CanTransition(from, step) {
			steps = append(steps, step)
			from = step
		}
		if step == target {
			break
		}
	}
	return steps
}

// Released is the state an active assignment ends in when its incident
// ends: a unit on scene is cleared, one on its way stood down (cancelled).
func Released(s AssignmentState) AssignmentState {
	if s == AssignOnScene {
		return AssignCleared
	}
	return AssignCancelled
}

// CheckAssignable returns ECONFLICT for an incident that has ended: no unit
// can be sent to it.
func (inc *Incident) CheckAssignable() error {
	if inc.State.Terminal() {
		return Errorf(ECONFLICT, "incident %d is %s; no unit can be sent", inc.ID, inc.State)
	}
	return nil
}

// Assignment roles.
const (
	AssignmentPrimary        = "primary"         // a police unit
	AssignmentFirstResponder = "first_responder" // the guard team sent beside it (警保联动)
)

// Validate checks a new assignment, filling in the primary role when none
// is given.
func (a *Assignment) Validate() error {
	if a.IncidentID <= 0 || a.UnitID <= 0 {
		return Errorf(EINVALID, "an assignment needs an incident and a unit")
	}
	if a.Role == "" {
		a.Role = AssignmentPrimary
	}
	if a.Role != AssignmentPrimary && a.Role != AssignmentFirstResponder {
		return Errorf(EINVALID, "assignment role %q must be primary or first_responder", a.Role)
	}
	if a.ETA < 0 || a.ETA > 24*time.Hour {
		return Errorf(EINVALID, "eta must be between 0 and a day")
	}
	return checkActor("assigned_by", a.AssignedBy)
}

// Assignment is one unit sent to one incident (处警单).
type Assignment struct {
	ID         int64           `json:"id"`
	IncidentID int64           `json:"incident_id"`
	UnitID     int64           `json:"unit_id"`
	State      AssignmentState `json:"state"`
	// Role is "primary" for a police unit, "first_responder" for the guard
	// team sent beside it (警保联动).
	Role       string        `json:"role"`
	AssignedBy string        `json:"assigned_by"`
	ETA        time.Duration `json:"-"` // as eta_seconds
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// MarshalJSON gives the ETA in whole seconds.
func (a Assignment) MarshalJSON() ([]byte, error) {
	type plain Assignment
	return json.Marshal(struct {
		plain
		ETASeconds int64 `json:"eta_seconds"`
	}{plain(a), int64(a.ETA / time.Second)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Assignment) UnmarshalJSON(b []byte) error {
	type plain Assignment
	var v struct {
		plain
		ETASeconds int64 `json:"eta_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = Assignment(v.plain)
	a.ETA = time.Duration(v.ETASeconds) * time.Second
	return nil
}

// SeesAssignment reports whether the context's actor may see assignment
// a, which sends a unit of ground unit to an incident on ground incident.
// The system sees every assignment and a device its own unit's. A user
// whose role views incidents sees it when they see either ground: the
// incident's (those over the scene see every unit sent there) or the
// unit's (a station chief follows their unit sent onto another station's
// ground). An administrator's role views no incident and sees none.
func SeesAssignment(ctx context.Context, a *Assignment, incident, unit Ground) bool {
	act := ActorFromContext(ctx)
	switch {
	case act == nil:
		return true
	case act.User == nil:
		return act.DeviceUnit != 0 && act.DeviceUnit == a.UnitID
	}
	return act.User.Can(PermViewIncidents) && (Sees(ctx, incident) || Sees(ctx, unit))
}

// AuthorizeAssignment returns an error unless the context's actor may move
// assignment a on (see SeesAssignment for the grounds). Those who may:
//
//   - the system, and the unit's own device;
//   - a user whose role crews units (PermCrew) on the unit's ground: its
//     station's chief, its county's dispatcher, the community officer of a
//     community's own guard team;
//   - a user whose role sends units (PermAssign) on the incident's ground:
//     the dispatcher or station chief over the scene, who sent the unit.
//
// Each of them sees the assignment, so whoever may move one on may also
// read it. An assignment the actor may not see is reported as not existing
// (the same answer as for an ID that exists nowhere); one they see but may
// not move on is EFORBIDDEN. A community officer on whose ground another
// station's unit was sent therefore sees that assignment but may not move
// it on: that is for the unit's own crew and station, or the dispatcher.
func AuthorizeAssignment(ctx context.Context, a *Assignment, incident, unit Ground) error {
	if !SeesAssignment(ctx, a, incident, unit) {
		return AssignmentNotFound(a.ID)
	}
	act := ActorFromContext(ctx)
	if act == nil || act.User == nil {
		return nil // the system, or the unit's own device
	}
	u := act.User
	if u.Can(PermCrew) && Sees(ctx, unit) || u.Can(PermAssign) && Sees(ctx, incident) {
		return nil
	}
	return Errorf(EFORBIDDEN, "only the unit's own crew and station, or a dispatcher over the incident, may move assignment %d on", a.ID)
}

// AssignmentNotFound is how an assignment that does not exist, or that the
// actor may not see, is reported: the same way.
func AssignmentNotFound(id int64) error {
	return Errorf(ENOTFOUND, "assignment %d does not exist", id)
}

// AssignmentService sends units to incidents.
type AssignmentService interface {
	// Assign sends a unit: ECONFLICT if the unit is not available (another
	// dispatcher got it first) or the incident has ended, ENOTFOUND for an
	// unknown incident or unit.
	Assign(ctx context.Context, a *Assignment) error
	// AdvanceAssignment moves an assignment on, and its unit and incident
	// with it, for whom AuthorizeAssignment allows: ENOTFOUND for an
	// unknown ID or one the actor may not see, EFORBIDDEN for one they see
	// but may not move on.
	AdvanceAssignment(ctx context.Context, id int64, to AssignmentState, actor string) (*Assignment, error)
	// FindAssignments returns the assignments of an incident the actor
	// sees (all of them: see SeesAssignment), never nil.
	FindAssignments(ctx context.Context, incidentID int64) ([]*Assignment, error)
	// FindAssignmentByID returns ENOTFOUND for an unknown ID and for one
	// the actor may not see (SeesAssignment).
	FindAssignmentByID(ctx context.Context, id int64) (*Assignment, error)
}
