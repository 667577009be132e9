package zhufang

import (
	"context"
	"encoding/json"
	"time"
)

// Event topics.
const (
	TopicIncidentCreated    = "incident.created"    // IncidentCreated
	TopicIncidentTransition = "incident.transition" // IncidentTransitioned
	TopicIncidentLane       = "incident.lane"       // LaneChanged
	TopicIncidentBreach     = "incident.breach"     // BreachRaised
	TopicAssignment         = "assignment"          // AssignmentChanged
	TopicUnitStatus         = "unit.status"         // UnitStatusChanged
	TopicUnitPositions      = "unit.positions"      // PositionsReported, published directly, not through the outbox
)

// Event is one change, written to the outbox in the transaction that made
// it and published after commit. ID is the outbox row's, so a consumer can
// drop a duplicate delivery. Payload is the JSON of the topic's EventBody.
type Event struct {
	ID      int64           `json:"id"`
	Topic   string          `json:"topic"`
	At      time.Time       `json:"at"`
	Payload json.RawMessage `json:"payload"`
}

// EventBody is what an event says: one type per topic. Every body names
// the ground it happened on, so that whoever passes events on to people
// (the consoles' live updates) can tell who may see one without reading
// the store.
type EventBody interface {
	Topic() string
	// EventGround is the ground the event belongs to; zero for an event of
	// no single ground (a batch of positions, whose units each have their
	// own), which only the city sees unless its reader looks deeper.
	EventGround() Ground
}

// Ground is where a record lies in the organisation: its county bureau,
// station and community. The IDs above the lowest one known are filled in
// too, so a scope at any level decides with one comparison.
type Ground struct {
	BureauID    int64 `json:"bureau_id"`
	StationID   int64 `json:"station_id"`
	CommunityID int64 `json:"community_id"`
}

// EventGround returns g, so that a body embedding its ground is an
// EventBody's ground.
func (g Ground) EventGround() Ground { return g }

// IsZero reports whether g names no ground at all.
func (g Ground) IsZero() bool { return g == Ground{} }

// IncidentCreated is a new incident, as intake took it in. The incident's
// caller is masked: personal data stays behind its permission and audit.
type IncidentCreated struct {
	Ground   `json:"ground"`
	Incident *Incident `json:"incident"`
}

// IncidentTransitioned is a change of an incident's state. Incident is the
// incident after the change when the change was asked for directly; a step
// that an assignment implied carries only the transition.
type IncidentTransitioned struct {
	Ground     `json:"ground"`
	Transition Transition `json:"transition"`
	Incident   *Incident  `json:"incident,omitempty"`
}

// LaneChanged is a dispatcher's change of an incident's lane.
type LaneChanged struct {
	Ground   `json:"ground"`
	Incident *Incident `json:"incident"`
}

// BreachRaised is a 1-3-5 stage overdue, raised once.
type BreachRaised struct {
	Ground   `json:"ground"`
	Breach   Breach    `json:"breach"`
	RaisedAt time.Time `json:"raised_at"`
}

// AssignmentChanged is an assignment made or moved on, with the status it
// leaves its unit in. Its ground is its incident's.
type AssignmentChanged struct {
	Ground     `json:"ground"`
	Assignment Assignment `json:"assignment"`
	UnitStatus UnitStatus `json:"unit_status"`
	Actor      string     `json:"actor,omitempty"`
}

// UnitStatusChanged is a unit's status set outside an assignment. Its
// ground is the unit's.
type UnitStatusChanged struct {
	Ground `json:"ground"`
	UnitID int64      `json:"unit_id"`
	Status UnitStatus `json:"status"`
	Actor  string     `json:"actor"`
}

// PositionsReported is a batch of position reports, from devices or the
// demo city. Positions are not state changes: they skip the outbox, and a
// missed batch is superseded by the next.
type PositionsReported struct {
	Reports []PositionReport `json:"reports"`
}

// Topic names each body's topic.
func (IncidentCreated) Topic() string      { return TopicIncidentCreated }
func (IncidentTransitioned) Topic() string { return TopicIncidentTransition }
func (LaneChanged) Topic() string          { return TopicIncidentLane }
func (BreachRaised) Topic() string         { return TopicIncidentBreach }
func (AssignmentChanged) Topic() string    { return TopicAssignment }
func (UnitStatusChanged) Topic() string    { return TopicUnitStatus }
func (PositionsReported) Topic() string    { return TopicUnitPositions }

// EventGround of a batch of positions is none: each report's unit has its
// own.
func (PositionsReported) EventGround() Ground { return Ground{} }

// NewEvent makes the event of body, stamped at.
func NewEvent(body EventBody, at time.Time) (Event, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return Event{}, WrapError(EINTERNAL, "cannot encode event", err)
	}
	return Event{Topic: body.Topic(), At: at, Payload: b}, nil
}

// Body decodes the event's payload into its topic's type: EINVALID for an
// unknown topic or a payload that is not the topic's JSON.
func (e Event) Body() (EventBody, error) {
	var (
		body EventBody
		err  error
	)
	switch e.Topic {
	case TopicIncidentCreated:
		body, err = decodeBody[IncidentCreated](e.Payload)
	case TopicIncidentTransition:
		body, err = decodeBody[IncidentTransitioned](e.Payload)
	case TopicIncidentLane:
		body, err = decodeBody[LaneChanged](e.Payload)
	case TopicIncidentBreach:
		body, err = decodeBody[BreachRaised](e.Payload)
	case TopicAssignment:
		body, err = decodeBody[AssignmentChanged](e.Payload)
	case TopicUnitStatus:
		body, err = decodeBody[UnitStatusChanged](e.Payload)
	case TopicUnitPositions:
		body, err = decodeBody[PositionsReported](e.Payload)
	default:
		return nil, Errorf(EINVALID, "unknown event topic %q", e.Topic)
	}
	if err != nil {
		return nil, WrapError(EINVALID, "event "+e.Topic+" has an unreadable payload", err)
	}
	return body, nil
}

func decodeBody[T EventBody](payload []byte) (EventBody, error) {
	var v T
	err := json.Unmarshal(payload, &v)
	return v, err
}

// IncidentOf is the incident an event is about, 0 for none.
func IncidentOf(body EventBody) int64 {
	switch b := body.(type) {
	case IncidentCreated:
		return b.Incident.idOrZero()
	case IncidentTransitioned:
		return b.Transition.IncidentID
	case LaneChanged:
		return b.Incident.idOrZero()
	case BreachRaised:
		return b.Breach.IncidentID
	case AssignmentChanged:
		return b.Assignment.IncidentID
	}
	return 0
}

// EventService carries events between the parts of one node, or between
// nodes. Publish must not block on a slow subscriber: such a subscriber is
// dropped (its channel closed) rather than slowing dispatch.
type EventService interface {
	Publish(ctx context.Context, events ...Event) error
	// Subscribe returns a channel of every event published from now on and a
	// function that ends the subscription.
	Subscribe() (<-chan Event, func())
}

// EventLog reads back committed events, so a console that lost its
// connection can resume where it stopped.
type EventLog interface {
	// FindEventsSince returns up to limit committed events with IDs above
	// after, oldest first, whether or not the relay has published them yet.
	FindEventsSince(ctx context.Context, after int64, limit int) ([]Event, error)
}
