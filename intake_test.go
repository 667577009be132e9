package zhufang_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

// boxLocator puts every point of one box in community 200 of station 20,
// county 2, as urban core.
type boxLocator struct{}

func (boxLocator) Locate(p zhufang.Point) (zhufang.Jurisdiction, bool) {
	if p.Lon < 111 || p.Lon > 112 || p.Lat < 26 || p.Lat > 27 {
		return zhufang.Jurisdiction{}, false
	}
	return zhufang.Jurisdiction{Community: zhufang.AreaRef{ID: 200}, Station: zhufang.AreaRef{ID: 20},
		County: zhufang.AreaRef{ID: 2}, Zone: zhufang.ZoneUrbanCore}, true
}

// keptIncidents is an IncidentCreator that keeps what it is given.
type keptIncidents struct {
	incs   []zhufang.Incident
	actors []string
}

func (k *keptIncidents) CreateIncident(ctx context.Context, inc *zhufang.Incident, actor string) error {
	if err := inc.CheckPrepared(); err != nil {
		return err
	}
	inc.ID = int64(len(k.incs) + 1)
	inc.Number = zhufang.IncidentNumber(inc.ReceivedAt, inc.ID)
	k.incs, k.actors = append(k.incs, *inc), append(k.actors, actor)
	return nil
}

func TestIntakeReceive(t *testing.T) {
	now := time.Date(2026, 12, 1, 2, 30, 0, 0, time.UTC) // 10:30 in China
	cats, err := zhufang.ParseCategories(strings.NewReader("code,name_zh,name_en,class\n200100,打架斗殴,fight,public_order\n"))
	if err != nil {
		t.Fatal(err)
	}
	store := &keptIncidents{}
	in := &zhufang.Intake{Categories: cats, Locator: boxLocator{}, Triage: zhufang.DefaultTriage(),
		Zones: zhufang.DefaultZoneProfiles(), Clock: zhufang.FixedClock(now), Store: store}
	inc := &zhufang.Incident{Source: zhufang.SourceWalkIn, Address: "梅湾路1号", Position: zhufang.Point{Lon: 111.6, Lat: 26.4},
		Category: "200100", Description: "两人打架"}
	if err := in.Receive(context.Background(), inc, "社区民警"); err != nil {
		t.Fatal(err)
	}
	if len(store.incs) != 1 || store.actors[0] != "社区民警" {
		t.Fatalf("stored %d incidents, actors %q", len(store.incs), store.actors)
	}
	got := store.incs[0]
	// Intake decided the ground, the zone, the lane and the due times; a
	// report without a receipt time was received now.
	if !got.ReceivedAt.Equal(now) || got.Ground() != (zhufang.Ground{BureauID: 2, StationID: 20, CommunityID: 200}) ||
		got.Zone != zhufang.ZoneUrbanCore || got.State != zhufang.StateReceived || got.Triage.Lane == "" {
		t.Fatalf("prepared incident: %+v", got)
	}
	if diff := cmp.Diff(zhufang.DueTimes(now, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]), got.Due); diff != "" {
		t.Fatalf("due times (-want +got):\n%s", diff)
	}
	if inc.ID != 1 || inc.Number != "J2026120100000001" {
		t.Fatalf("the caller's incident has ID %d, number %q", inc.ID, inc.Number)
	}

	for _, tt := range []struct {
		name string
		inc  zhufang.Incident
		says string
	}{
		{"outside the city", zhufang.Incident{Source: zhufang.SourceCall110, Position: zhufang.Point{Lon: 100, Lat: 30}, Category: "200100"}, "outside"},
		{"unknown category", zhufang.Incident{Source: zhufang.SourceCall110, Position: zhufang.Point{Lon: 111.6, Lat: 26.4}, Category: "999999"}, "999999"},
		{"no position", zhufang.Incident{Source: zhufang.SourceCall110, Address: "某地", Category: "200100"}, "position"},
		{"unknown source", zhufang.Incident{Source: "pigeon", Position: zhufang.Point{Lon: 111.6, Lat: 26.4}, Category: "200100"}, "source"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inc := tt.inc
			err := in.Receive(context.Background(), &inc, "x")
			if zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want invalid saying %q", err, tt.says)
			}
		})
	}
	if len(store.incs) != 1 {
		t.Fatalf("refused reports were stored: %d", len(store.incs))
	}
	if err := (&zhufang.Intake{Clock: zhufang.FixedClock(now)}).Receive(context.Background(), inc, "x"); zhufang.ErrorCode(err) != zhufang.EINTERNAL {
		t.Fatalf("intake without a store: %v", err)
	}
}

func TestCheckPrepared(t *testing.T) {
	if err := (&zhufang.Incident{State: zhufang.StateReceived}).CheckPrepared(); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Fatalf("an incident without lane or due times: %v", err)
	}
}

func TestIncidentApply(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	base := func(s zhufang.IncidentState) *zhufang.Incident { return &zhufang.Incident{ID: 9, State: s} }
	tests := []struct {
		name string
		from zhufang.IncidentState
		req  zhufang.TransitionRequest
		code string // "" for success
		want zhufang.Incident
	}{
		{"cancel", zhufang.StateReceived, zhufang.TransitionRequest{To: zhufang.StateCancelled, Actor: "d", Note: "误报"}, "",
			zhufang.Incident{ID: 9, State: zhufang.StateCancelled, UpdatedAt: at}},
		{"duplicate", zhufang.StateDispatched, zhufang.TransitionRequest{To: zhufang.StateDuplicate, Actor: "d", DuplicateOf: 3}, "",
			zhufang.Incident{ID: 9, State: zhufang.StateDuplicate, DuplicateOf: 3, UpdatedAt: at}},
		{"duplicate of itself", zhufang.StateReceived, zhufang.TransitionRequest{To: zhufang.StateDuplicate, Actor: "d", DuplicateOf: 9}, zhufang.EINVALID,
			zhufang.Incident{ID: 9, State: zhufang.StateReceived}},
		{"redirect", zhufang.StateReceived, zhufang.TransitionRequest{To: zhufang.StateRedirected, Actor: "d", RedirectedTo: "12345"}, "",
			zhufang.Incident{ID: 9, State: zhufang.StateRedirected, RedirectedTo: "12345", UpdatedAt: at}},
		{"case number on handling", zhufang.StateAcknowledged, zhufang.TransitionRequest{To: zhufang.StateHandling, Actor: "d", CaseNumber: "A1"}, "",
			zhufang.Incident{ID: 9, State: zhufang.StateHandling, CaseNumber: "A1", UpdatedAt: at}},
		{"illegal move", zhufang.StateClosed, zhufang.TransitionRequest{To: zhufang.StateHandling, Actor: "d"}, zhufang.ECONFLICT,
			zhufang.Incident{ID: 9, State: zhufang.StateClosed}},
		{"no actor", zhufang.StateReceived, zhufang.TransitionRequest{To: zhufang.StateCancelled}, zhufang.EINVALID,
			zhufang.Incident{ID: 9, State: zhufang.StateReceived}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := base(tt.from)
			tr, err := inc.Apply(tt.req, at)
			if zhufang.ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
				t.Fatalf("got %v, want code %q", err, tt.code)
			}
			if diff := cmp.Diff(&tt.want, inc); diff != "" {
				t.Fatalf("incident (-want +got):\n%s", diff)
			}
			if err == nil {
				want := zhufang.Transition{IncidentID: 9, From: tt.from, To: tt.req.To, At: at, Actor: tt.req.Actor, Note: tt.req.Note}
				if diff := cmp.Diff(want, tr); diff != "" {
					t.Fatalf("transition (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestIncidentOverrideLane(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	inc := &zhufang.Incident{ID: 9, State: zhufang.StateReceived, Triage: zhufang.TriageResult{Lane: zhufang.LaneCase, Rule: "r1"}}
	if err := inc.OverrideLane(zhufang.LaneStreet, "d", "现场有人受伤", "", at); err != nil {
		t.Fatal(err)
	}
	if inc.Triage.Lane != zhufang.LaneStreet || inc.Triage.RuleLane != zhufang.LaneCase || !inc.UpdatedAt.Equal(at) {
		t.Fatalf("after the override: %+v", inc)
	}
	ended := &zhufang.Incident{ID: 9, State: zhufang.StateClosed, Triage: zhufang.TriageResult{Lane: zhufang.LaneCase}}
	if err := ended.OverrideLane(zhufang.LaneStreet, "d", "", "", at); zhufang.ErrorCode(err) != zhufang.ECONFLICT || ended.Triage.Lane != zhufang.LaneCase {
		t.Fatalf("an ended incident's lane: %v, now %s", err, ended.Triage.Lane)
	}
}

func TestIncidentMaskedAndNumbered(t *testing.T) {
	inc := &zhufang.Incident{CallerName: "张三丰", CallerPhone: "13812345678", Address: "梅湾路1号"}
	m := inc.Masked()
	if m.CallerName != "张**" || m.CallerPhone != "****5678" || m.Address != inc.Address {
		t.Fatalf("masked: %+v", m)
	}
	if inc.CallerName != "张三丰" {
		t.Fatal("masking changed the incident itself")
	}
	// The number's day is China's: 23:30 UTC on 30 November is 1 December there.
	if got := zhufang.IncidentNumber(time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), 42); got != "J2026120100000042" {
		t.Fatalf("number %s", got)
	}
}

func TestAuthorizeIncident(t *testing.T) {
	inc := &zhufang.Incident{ID: 9, BureauID: 2, StationID: 20, CommunityID: 200}
	as := func(role zhufang.Role, s zhufang.Scope) context.Context {
		return zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: &zhufang.User{Role: role, Scope: s}})
	}
	station := zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 2, StationID: 20}
	other := zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 2, StationID: 21}
	for _, tt := range []struct {
		name string
		ctx  context.Context
		code string
	}{
		{"system", context.Background(), ""},
		{"chief of its station", as(zhufang.RoleStationChief, station), ""},
		{"mediator of its station", as(zhufang.RoleMediator, station), zhufang.EFORBIDDEN},
		{"chief of another station", as(zhufang.RoleStationChief, other), zhufang.ENOTFOUND},
		// Off the ground is not found before the role is checked.
		{"mediator of another station", as(zhufang.RoleMediator, other), zhufang.ENOTFOUND},
		// An administrator's role sees no incident: told it does not
		// exist, as for an ID that exists nowhere, not forbidden.
		{"administrator of the city", as(zhufang.RoleAdmin, zhufang.Scope{Level: zhufang.ScopeCity}), zhufang.ENOTFOUND},
		{"a device", zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{DeviceUnit: 7}), zhufang.ENOTFOUND},
	} {
		err := zhufang.AuthorizeIncident(tt.ctx, zhufang.PermHandle, inc)
		if zhufang.ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.code)
		}
	}
}

func TestAuthorizeSelfAndSystem(t *testing.T) {
	user := func(id int64, role zhufang.Role) context.Context {
		return zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: &zhufang.User{ID: id, Role: role}})
	}
	device := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{DeviceUnit: 7})
	for _, tt := range []struct {
		name string
		ctx  context.Context
		ok   bool
	}{
		{"system", context.Background(), true},
		{"the user", user(5, zhufang.RoleMediator), true},
		{"another user", user(6, zhufang.RoleDispatcher), false},
		{"an admin", user(6, zhufang.RoleAdmin), true},
		{"a device", device, false},
	} {
		if err := zhufang.AuthorizeSelf(tt.ctx, 5, "end sessions"); tt.ok != (err == nil) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if err := zhufang.AuthorizeSystem(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if err := zhufang.AuthorizeSystem(user(1, zhufang.RoleAdmin), "x"); zhufang.ErrorCode(err) != zhufang.EFORBIDDEN {
		t.Fatalf("an admin importing history: %v", err)
	}
}
