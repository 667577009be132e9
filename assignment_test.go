package zhufang_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

func TestAssignmentSteps(t *testing.T) {
	const (
		rec  = zhufang.StateReceived
		dis  = zhufang.StateDispatched
		ack  = zhufang.StateAcknowledged
		on   = zhufang.StateOnScene
		hand = zhufang.StateHandling
	)
	tests := []struct {
		from zhufang.IncidentState
		to   zhufang.AssignmentState
		want []zhufang.IncidentState
	}{
		{rec, zhufang.AssignAssigned, []zhufang.IncidentState{dis}},
		{rec, zhufang.AssignAcknowledged, []zhufang.IncidentState{dis, ack}},
		{rec, zhufang.AssignOnScene, []zhufang.IncidentState{dis, ack, on}},
		{dis, zhufang.AssignAssigned, nil},
		{dis, zhufang.AssignEnRoute, []zhufang.IncidentState{ack}},
		{ack, zhufang.AssignOnScene, []zhufang.IncidentState{on}},
		{on, zhufang.AssignAcknowledged, nil}, // a second unit acknowledging moves nothing back
		{hand, zhufang.AssignOnScene, nil},    // handling is past on scene
		{zhufang.StateClosed, zhufang.AssignOnScene, nil},
		{zhufang.StateCancelled, zhufang.AssignAssigned, nil},
		{rec, zhufang.AssignCleared, nil}, // clearing implies no state
		{rec, zhufang.AssignCancelled, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"→"+string(tt.to), func(t *testing.T) {
			got := zhufang.AssignmentSteps(tt.from, tt.to)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// Every step is a legal move from the one before.
			from := tt.from
			for _, s := range got {
				if err := zhufang.CheckTransition(from, s); err != nil {
					t.Fatalf("step %s → %s: %v", from, s, err)
				}
				from = s
			}
		})
	}
}

func TestReleased(t *testing.T) {
	for _, s := range []zhufang.AssignmentState{zhufang.AssignAssigned, zhufang.AssignAcknowledged, zhufang.AssignEnRoute, zhufang.AssignOnScene} {
		got := zhufang.Released(s)
		want := zhufang.AssignCancelled
		if s == zhufang.AssignOnScene {
			want = zhufang.AssignCleared
		}
		if got != want {
			t.Errorf("Released(%s) = %s, want %s", s, got, want)
		}
		if got.Active() || zhufang.UnitStatusFor(got) != zhufang.UnitAvailable {
			t.Errorf("a released assignment (%s) is active or keeps its unit", got)
		}
		// The release is a legal move of the assignment machine.
		if err := zhufang.CheckAssignmentTransition(s, got); err != nil {
			t.Errorf("%s → %s: %v", s, got, err)
		}
	}
}

func TestAssignmentValidate(t *testing.T) {
	good := func() *zhufang.Assignment {
		return &zhufang.Assignment{IncidentID: 1, UnitID: 2, AssignedBy: "接警员", ETA: 3 * time.Minute}
	}
	a := good()
	if err := a.Validate(); err != nil || a.Role != zhufang.AssignmentPrimary {
		t.Fatalf("a plain assignment: %v, role %q", err, a.Role)
	}
	tests := []struct {
		name   string
		mangle func(*zhufang.Assignment)
		ok     bool
	}{
		{"no incident", func(a *zhufang.Assignment) { a.IncidentID = 0 }, false},
		{"no unit", func(a *zhufang.Assignment) { a.UnitID = -1 }, false},
		{"first responder", func(a *zhufang.Assignment) { a.Role = zhufang.AssignmentFirstResponder }, true},
		{"unknown role", func(a *zhufang.Assignment) { a.Role = "spectator" }, false},
		{"negative eta", func(a *zhufang.Assignment) { a.ETA = -time.Second }, false},
		{"eta over a day", func(a *zhufang.Assignment) { a.ETA = 25 * time.Hour }, false},
		{"no dispatcher", func(a *zhufang.Assignment) { a.AssignedBy = "" }, false},
		{"blank dispatcher", func(a *zhufang.Assignment) { a.AssignedBy = "   " }, false},
		// The actor rule counts characters, not bytes: a hundred Chinese
		// characters are 300 bytes and allowed.
		{"100 characters", func(a *zhufang.Assignment) { a.AssignedBy = strings.Repeat("警", 100) }, true},
		{"101 characters", func(a *zhufang.Assignment) { a.AssignedBy = strings.Repeat("警", 101) }, false},
		{"not UTF-8", func(a *zhufang.Assignment) { a.AssignedBy = "\xff" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good()
			tt.mangle(a)
			err := a.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if err != nil && zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Fatalf("code %s, want invalid", zhufang.ErrorCode(err))
			}
		})
	}
}

func TestOneActorRule(t *testing.T) {
	for _, tt := range []struct {
		actor string
		ok    bool
	}{
		{"接警员", true}, {strings.Repeat("a", 100), true}, {strings.Repeat("警", 100), true},
		{strings.Repeat("a", 101), false}, {strings.Repeat("警", 101), false}, {"", false}, {"\t ", false}, {"\xfe", false},
	} {
		err := zhufang.ValidateActor(tt.actor)
		a := &zhufang.Assignment{IncidentID: 1, UnitID: 1, AssignedBy: tt.actor}
		r := zhufang.TransitionRequest{To: zhufang.StateCancelled, Actor: tt.actor}
		_, oerr := zhufang.TriageResult{Lane: zhufang.LaneCase}.Override(zhufang.LaneStreet, tt.actor, "", "")
		for name, e := range map[string]error{"ValidateActor": err, "Assignment": a.Validate(), "TransitionRequest": r.Validate(), "Override": oerr} {
			if tt.ok != (e == nil) {
				t.Errorf("%s(%q): %v, want ok %v", name, tt.actor, e, tt.ok)
			}
		}
	}
}

func TestCheckAssignable(t *testing.T) {
	for _, s := range zhufang.IncidentStates {
		err := (&zhufang.Incident{ID: 4, State: s}).CheckAssignable()
		if s.Terminal() != (zhufang.ErrorCode(err) == zhufang.ECONFLICT) || !s.Terminal() && err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestUnitStatusChange(t *testing.T) {
	if err := zhufang.CheckUnitStatusChange(3, zhufang.UnitAvailable, zhufang.UnitOffDuty, false); err != nil {
		t.Fatal(err)
	}
	err := zhufang.CheckUnitStatusChange(3, zhufang.UnitOnScene, zhufang.UnitAvailable, true)
	if zhufang.ErrorCode(err) != zhufang.ECONFLICT || !strings.Contains(err.Error(), "advance the assignment") {
		t.Fatalf("a unit on an assignment: %v", err)
	}
	// An illegal move is refused as such, assignment or not.
	if err := zhufang.CheckUnitStatusChange(3, zhufang.UnitOffDuty, zhufang.UnitOnScene, false); zhufang.ErrorCode(err) != zhufang.ECONFLICT {
		t.Fatalf("off duty to on scene: %v", err)
	}
}

// The state sets that queries filter by agree with the predicates the
// code uses.
func TestStateSets(t *testing.T) {
	for _, s := range zhufang.IncidentStates {
		if s.Terminal() != slices.Contains(zhufang.TerminalStates, s) {
			t.Errorf("incident state %s: Terminal and TerminalStates disagree", s)
		}
	}
	for _, s := range zhufang.UnitStatuses {
		if s.Recommendable() != slices.Contains(zhufang.SendableStatuses, s) {
			t.Errorf("unit status %s: Recommendable and SendableStatuses disagree", s)
		}
	}
	for _, s := range []zhufang.AssignmentState{zhufang.AssignAssigned, zhufang.AssignAcknowledged, zhufang.AssignEnRoute,
		zhufang.AssignOnScene, zhufang.AssignCleared, zhufang.AssignCancelled} {
		if s.Active() == slices.Contains(zhufang.EndedAssignmentStates, s) {
			t.Errorf("assignment state %s: Active and EndedAssignmentStates disagree", s)
		}
	}
	for _, l := range zhufang.Lanes {
		if err := zhufang.CheckLane(l); err != nil {
			t.Errorf("lane %s: %v", l, err)
		}
	}
	if err := zhufang.CheckLane("sideways"); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("an unknown lane: %v", err)
	}
}

func TestAuthorizeAssignment(t *testing.T) {
	// Unit 7 of station 30 (county 3) is sent to an incident in community
	// 200 of station 20 (county 2).
	a := &zhufang.Assignment{ID: 5, IncidentID: 9, UnitID: 7}
	incident := zhufang.Ground{BureauID: 2, StationID: 20, CommunityID: 200}
	unit := zhufang.Ground{BureauID: 3, StationID: 30}
	as := func(role zhufang.Role, s zhufang.Scope) context.Context {
		return zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: &zhufang.User{Role: role, Scope: s}})
	}
	device := func(unit int64) context.Context {
		return zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{DeviceUnit: unit})
	}
	city := zhufang.Scope{Level: zhufang.ScopeCity}
	sceneCounty := zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2}
	unitCounty := zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 3}
	sceneStation := zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 2, StationID: 20}
	unitStation := zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 3, StationID: 30}
	otherStation := zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 3, StationID: 31}
	sceneCommunity := zhufang.Scope{Level: zhufang.ScopeCommunity, BureauID: 2, StationID: 20, CommunityID: 200}
	tests := []struct {
		name string
		ctx  context.Context
		sees bool
		act  string // the error code of moving it on; "" allowed
	}{
		{"system", context.Background(), true, ""},
		{"the unit's device", device(7), true, ""},
		{"another unit's device", device(8), false, zhufang.ENOTFOUND},
		{"city dispatcher", as(zhufang.RoleDispatcher, city), true, ""},
		{"dispatcher over the scene", as(zhufang.RoleDispatcher, sceneCounty), true, ""},
		{"dispatcher of the unit's county", as(zhufang.RoleDispatcher, unitCounty), true, ""},
		{"chief of the scene's station", as(zhufang.RoleStationChief, sceneStation), true, ""},
		{"chief of the unit's station", as(zhufang.RoleStationChief, unitStation), true, ""},
		{"chief of a third station", as(zhufang.RoleStationChief, otherStation), false, zhufang.ENOTFOUND},
		// The probe's case: the incident lies on the officer's ground, the
		// unit is another station's.
		{"community officer of the scene", as(zhufang.RoleCommunityOfficer, sceneCommunity), true, zhufang.EFORBIDDEN},
		{"auxiliary officer of the scene", as(zhufang.RoleAuxiliary, sceneCommunity), true, zhufang.EFORBIDDEN},
		{"case officer of the scene's station", as(zhufang.RoleCaseOfficer, sceneStation), true, zhufang.EFORBIDDEN},
		{"county commander over the scene", as(zhufang.RoleCountyCommander, sceneCounty), true, ""},
		{"analyst of the city", as(zhufang.RoleAnalyst, city), true, zhufang.EFORBIDDEN},
		{"administrator", as(zhufang.RoleAdmin, city), false, zhufang.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := zhufang.SeesAssignment(tt.ctx, a, incident, unit); got != tt.sees {
				t.Errorf("sees %v, want %v", got, tt.sees)
			}
			err := zhufang.AuthorizeAssignment(tt.ctx, a, incident, unit)
			if got := zhufang.ErrorCode(err); err != nil && got != tt.act || err == nil && tt.act != "" {
				t.Errorf("moving it on: %v, want %q", err, tt.act)
			}
			// Reads and writes agree: whoever may move it on may see it.
			if err == nil && !tt.sees {
				t.Error("may move on an assignment it may not see")
			}
		})
	}
}
