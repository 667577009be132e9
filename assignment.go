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

// Active reports whether the assignment still holds its unit.
func (s AssignmentState) Active() bool { return s != AssignCleared && s != AssignCancelled }

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

// AssignmentService sends units to incidents.
type AssignmentService interface {
	// Assign sends a unit: ECONFLICT if the unit is not available (another
	// dispatcher got it first) or the incident has ended, ENOTFOUND for an
	// unknown incident or unit.
	Assign(ctx context.Context, a *Assignment) error
	// AdvanceAssignment moves an assignment on, and its unit and incident
	// with it.
	AdvanceAssignment(ctx context.Context, id int64, to AssignmentState, actor string) (*Assignment, error)
	FindAssignments(ctx context.Context, incidentID int64) ([]*Assignment, error)
	// FindAssignmentByID returns ENOTFOUND for an unknown ID.
	FindAssignmentByID(ctx context.Context, id int64) (*Assignment, error)
}
