package zhufang_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

func TestEventBodiesRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	g := zhufang.Ground{BureauID: 2, StationID: 20, CommunityID: 200}
	inc := &zhufang.Incident{ID: 5, Number: "J2026120100000005", ReceivedAt: at, BureauID: 2, StationID: 20, CommunityID: 200,
		CallerName: "张*", State: zhufang.StateReceived, Position: zhufang.Point{Lon: 111.6, Lat: 26.4}}
	bodies := []zhufang.EventBody{
		zhufang.IncidentCreated{Ground: g, Incident: inc},
		zhufang.IncidentTransitioned{Ground: g, Transition: zhufang.Transition{IncidentID: 5, From: "received", To: "dispatched", At: at, Actor: "a"}},
		zhufang.IncidentTransitioned{Ground: g, Transition: zhufang.Transition{IncidentID: 5, To: "cancelled", At: at}, Incident: inc},
		zhufang.LaneChanged{Ground: g, Incident: inc},
		zhufang.BreachRaised{Ground: g, Breach: zhufang.Breach{IncidentID: 5, Stage: zhufang.StageAcknowledge, Due: at}, RaisedAt: at},
		zhufang.AssignmentChanged{Ground: g, Assignment: zhufang.Assignment{ID: 1, IncidentID: 5, UnitID: 7, State: "assigned",
			Role: "primary", AssignedBy: "d", ETA: 90 * time.Second, CreatedAt: at, UpdatedAt: at}, UnitStatus: zhufang.UnitDispatched, Actor: "d"},
		zhufang.UnitStatusChanged{Ground: zhufang.Ground{BureauID: 2, StationID: 20}, UnitID: 7, Status: zhufang.UnitOffDuty, Actor: "甲1"},
		zhufang.PositionsReported{Reports: []zhufang.PositionReport{{UnitID: 7, At: at, Point: zhufang.Point{Lon: 111.6, Lat: 26.4}, Speed: 3}}},
	}
	for _, body := range bodies {
		t.Run(body.Topic(), func(t *testing.T) {
			e, err := zhufang.NewEvent(body, at)
			if err != nil {
				t.Fatal(err)
			}
			if e.Topic != body.Topic() || !e.At.Equal(at) {
				t.Fatalf("event %s at %s", e.Topic, e.At)
			}
			got, err := e.Body()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(body, got); diff != "" {
				t.Fatalf("(-sent +decoded):\n%s", diff)
			}
			if got.EventGround() != body.EventGround() {
				t.Fatalf("ground %+v, want %+v", got.EventGround(), body.EventGround())
			}
		})
	}
	if (zhufang.PositionsReported{}).EventGround() != (zhufang.Ground{}) {
		t.Fatal("a batch of positions names a ground")
	}
}

func TestEventBodyRefusesWhatItCannotRead(t *testing.T) {
	for _, e := range []zhufang.Event{
		{Topic: "incident.teleported", Payload: []byte(`{}`)},
		{Topic: zhufang.TopicIncidentCreated, Payload: []byte(`{"incident": 5}`)},
		{Topic: zhufang.TopicAssignment, Payload: []byte(`not json`)},
		{Topic: zhufang.TopicUnitPositions, Payload: []byte(`{"reports": [{"unit_id": "seven"}]}`)},
	} {
		if _, err := e.Body(); zhufang.ErrorCode(err) != zhufang.EINVALID {
			t.Errorf("%s %s: %v, want invalid", e.Topic, e.Payload, err)
		}
	}
}

// An event written before events carried their ground reads as one of no
// ground, which only the city sees.
func TestEventWithoutGround(t *testing.T) {
	e := zhufang.Event{Topic: zhufang.TopicIncidentTransition, Payload: []byte(`{"transition": {"incident_id": 5, "to": "dispatched"}}`)}
	body, err := e.Body()
	if err != nil {
		t.Fatal(err)
	}
	if !body.EventGround().IsZero() || zhufang.IncidentOf(body) != 5 {
		t.Fatalf("ground %+v, incident %d", body.EventGround(), zhufang.IncidentOf(body))
	}
}

func TestIncidentOf(t *testing.T) {
	for _, tt := range []struct {
		body zhufang.EventBody
		want int64
	}{
		{zhufang.IncidentCreated{Incident: &zhufang.Incident{ID: 3}}, 3},
		{zhufang.IncidentCreated{}, 0},
		{zhufang.LaneChanged{Incident: &zhufang.Incident{ID: 4}}, 4},
		{zhufang.IncidentTransitioned{Transition: zhufang.Transition{IncidentID: 5}}, 5},
		{zhufang.BreachRaised{Breach: zhufang.Breach{IncidentID: 6}}, 6},
		{zhufang.AssignmentChanged{Assignment: zhufang.Assignment{IncidentID: 7}}, 7},
		{zhufang.UnitStatusChanged{UnitID: 8}, 0},
		{zhufang.PositionsReported{}, 0},
	} {
		if got := zhufang.IncidentOf(tt.body); got != tt.want {
			t.Errorf("%s: incident %d, want %d", tt.body.Topic(), got, tt.want)
		}
	}
}

func TestSees(t *testing.T) {
	g := zhufang.Ground{BureauID: 2, StationID: 20, CommunityID: 200}
	user := func(s zhufang.Scope) context.Context {
		return zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: &zhufang.User{Role: zhufang.RoleDispatcher, Scope: s}})
	}
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"system", context.Background(), true},
		{"city", user(zhufang.Scope{Level: zhufang.ScopeCity}), true},
		{"its county", user(zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2}), true},
		{"another county", user(zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 3}), false},
		{"its station", user(zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 2, StationID: 20}), true},
		{"another community", user(zhufang.Scope{Level: zhufang.ScopeCommunity, BureauID: 2, StationID: 20, CommunityID: 201}), false},
		{"a device", zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{DeviceUnit: 7}), false},
	} {
		if got := zhufang.Sees(tt.ctx, g); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzEventBody throws arbitrary topics and payloads at the decoder of
// what arrives over the bus (another node's events through NATS): each is
// refused with EINVALID, or decodes to a body of its topic that encodes and
// decodes again to itself.
func FuzzEventBody(f *testing.F) {
	f.Add(zhufang.TopicIncidentCreated, []byte(`{"ground":{"bureau_id":2,"station_id":20,"community_id":200},"incident":{"id":5,"position":[111.6,26.4]}}`))
	f.Add(zhufang.TopicAssignment, []byte(`{"ground":{"bureau_id":2},"assignment":{"id":1,"eta_seconds":90},"unit_status":"dispatched"}`))
	f.Add(zhufang.TopicUnitPositions, []byte(`{"reports":[{"unit_id":7,"at":"2026-12-01T08:00:00Z","position":[111.6,26.4]}]}`))
	f.Add(zhufang.TopicIncidentBreach, []byte(`{"breach":{"incident_id":5,"stage":"acknowledge"}}`))
	f.Add("incident.teleported", []byte(`{}`))
	f.Add(zhufang.TopicUnitStatus, []byte(`not json`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		body, err := zhufang.Event{Topic: topic, Payload: payload}.Body()
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("refused with %v, want invalid", err)
			}
			return
		}
		if body.Topic() != topic {
			t.Fatalf("topic %q decoded as a %s", topic, body.Topic())
		}
		e, err := zhufang.NewEvent(body, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.Body()
		if err != nil {
			t.Fatalf("a decoded body does not decode again: %v\n%s", err, e.Payload)
		}
		if again.EventGround() != body.EventGround() || zhufang.IncidentOf(again) != zhufang.IncidentOf(body) {
			t.Fatalf("round trip changed the ground or incident: %+v → %+v", body, again)
		}
	})
}
