package zhufang

import (
	"context"
	"encoding/json"
	"time"
)

// Event topics.
const (
	TopicIncidentCreated    = "incident.created"
	TopicIncidentTransition = "incident.transition"
	TopicIncidentLane       = "incident.lane"
	TopicIncidentBreach     = "incident.breach"
	TopicAssignment         = "assignment"     // payload {"assignment", "unit_status"}
	TopicUnitStatus         = "unit.status"    // payload {"unit_id", "status", "actor"}
	TopicUnitPositions      = "unit.positions" // payload {"reports": [...]}, published directly, not through the outbox
)

// Event is one change, written to the outbox in the transaction that made
// it and published after commit. ID is the outbox row's, so a consumer can
// drop a duplicate delivery.
type Event struct {
	ID      int64           `json:"id"`
	Topic   string          `json:"topic"`
	At      time.Time       `json:"at"`
	Payload json.RawMessage `json:"payload"`
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
