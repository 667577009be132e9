package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/sqlstore/sqltest"
)

// twoCountyCity is the small city with more ground beside it: a second
// station in the same county and a second county with a station of its
// own, each with one community and one patrol car.
//
//	county 2: station 1: community 1 (A), community 2 (A2); units 1, 2
//	          station 2: community 3 (B); unit 3
//	county 3: station 3: community 4 (C); unit 4
func twoCountyCity() *zhufang.City {
	c := smallCity()
	c.Bureaus = append(c.Bureaus, &zhufang.Bureau{ID: 3, Code: "431102", Name: "零陵分局", Level: zhufang.BureauCounty, ParentID: 1,
		Seat: pt(111.6, 26.2), Area: square(111.5, 26.1, 0.2)})
	c.Stations = append(c.Stations,
		&zhufang.Station{ID: 2, Code: "431103002", Name: "河东派出所", Kind: zhufang.StationUrban, BureauID: 2,
			Townships: []string{"431103002"}, Seat: pt(111.75, 26.35), Area: square(111.7, 26.3, 0.2)},
		&zhufang.Station{ID: 3, Code: "431102001", Name: "朝阳派出所", Kind: zhufang.StationUrban, BureauID: 3,
			Townships: []string{"431102001"}, Seat: pt(111.55, 26.15), Area: square(111.5, 26.1, 0.2)})
	c.Offices = append(c.Offices,
		&zhufang.PoliceOffice{ID: 3, Name: "河东社区警务室", Kind: zhufang.OfficeUrban, StationID: 2, Seat: pt(111.75, 26.35)},
		&zhufang.PoliceOffice{ID: 4, Name: "朝阳社区警务室", Kind: zhufang.OfficeUrban, StationID: 3, Seat: pt(111.55, 26.15)})
	c.Communities = append(c.Communities,
		&zhufang.Community{ID: 3, Code: "431103002001", Name: "河东社区", Kind: zhufang.CommunityUrban, CountyCode: "431103",
			StationID: 2, OfficeID: 3, Population: 8000, Households: 2500, Zone: zhufang.ZoneUrban,
			Seat: pt(111.75, 26.35), Area: square(111.7, 26.3, 0.1)},
		&zhufang.Community{ID: 4, Code: "431102001001", Name: "朝阳社区", Kind: zhufang.CommunityUrban, CountyCode: "431102",
			StationID: 3, OfficeID: 4, Population: 9000, Households: 3000, Zone: zhufang.ZoneUrban,
			Seat: pt(111.55, 26.15), Area: square(111.5, 26.1, 0.1)})
	c.Units = append(c.Units,
		&zhufang.Unit{ID: 3, CallSign: "河东巡01", Kind: zhufang.UnitPatrolCar, Platform: zhufang.PlatformPolice, StationID: 2,
			Capabilities: []string{}, Crew: 2, Status: zhufang.UnitAvailable, Position: pt(111.75, 26.35)},
		&zhufang.Unit{ID: 4, CallSign: "朝阳巡01", Kind: zhufang.UnitPatrolCar, Platform: zhufang.PlatformPolice, StationID: 3,
			Capabilities: []string{}, Crew: 2, Status: zhufang.UnitAvailable, Position: pt(111.55, 26.15)})
	return c
}

// TestJurisdiction: the store itself keeps every user to their own
// ground and role. A record off a user's ground is answered exactly as one
// that does not exist.
func TestJurisdiction(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			sys := context.Background()
			db, _, _ := clockDB(t, engine, twoCountyCity())

			// Incidents, by the community they happened in.
			type place struct{ community, station, bureau int64 }
			places := []struct {
				key string
				place
			}{
				{"A", place{1, 1, 2}}, {"A2", place{2, 1, 2}}, {"B", place{3, 2, 2}}, {"C", place{4, 3, 3}}, {"Adup", place{1, 1, 2}},
			}
			id := map[string]int64{}
			for _, p := range places {
				inc := prepared()
				inc.CommunityID, inc.StationID, inc.BureauID = p.community, p.station, p.bureau
				if err := db.CreateIncident(sys, inc, "接警员"); err != nil {
					t.Fatal(err)
				}
				id[p.key] = inc.ID
			}
			as := func(u *zhufang.User) context.Context {
				return zhufang.NewContextWithActor(sys, &zhufang.Actor{User: u, Address: "10.0.0.1"})
			}
			device := func(unit int64) context.Context {
				return zhufang.NewContextWithActor(sys, &zhufang.Actor{DeviceUnit: unit, Address: "10.0.0.2"})
			}
			officerA := as(createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1}))
			chiefA := as(createUser(t, db, "wang.qiang", zhufang.RoleStationChief, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1}))
			county := as(createUser(t, db, "zhou.jun", zhufang.RoleCountyCommander, zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2}))
			dispatcher := as(createUser(t, db, "li.na", zhufang.RoleDispatcher, zhufang.Scope{Level: zhufang.ScopeCity}))
			admin := as(createUser(t, db, "admin", zhufang.RoleAdmin, zhufang.Scope{Level: zhufang.ScopeCity}))
			analyst := as(createUser(t, db, "chen.jing", zhufang.RoleAnalyst, zhufang.Scope{Level: zhufang.ScopeCity}))

			stateOf := func(t *testing.T, key string) zhufang.IncidentState {
				t.Helper()
				inc, err := db.FindIncidentByID(sys, id[key])
				if err != nil {
					t.Fatal(err)
				}
				return inc.State
			}

			t.Run("who sees which incidents", func(t *testing.T) {
				all := []string{"A", "A2", "B", "C", "Adup"}
				for _, tc := range []struct {
					name string
					ctx  context.Context
					sees []string // nil: refused
					code string   // for every read, when refused
				}{
					{"community officer of A", officerA, []string{"A", "Adup"}, ""},
					{"station chief of A's station", chiefA, []string{"A", "A2", "Adup"}, ""},
					{"county commander", county, []string{"A", "A2", "B", "Adup"}, ""},
					{"city dispatcher", dispatcher, all, ""},
					{"analyst", analyst, all, ""},
					{"admin", admin, nil, zhufang.EFORBIDDEN},
					{"device", device(1), nil, zhufang.EFORBIDDEN},
				} {
					t.Run(tc.name, func(t *testing.T) {
						list, err := db.FindIncidents(tc.ctx, zhufang.IncidentFilter{})
						if tc.code != "" {
							wantCode(t, err, tc.code, "")
						} else {
							if err != nil {
								t.Fatal(err)
							}
							var got, want []int64
							for _, inc := range list {
								got = append(got, inc.ID)
							}
							for _, k := range tc.sees {
								want = append(want, id[k])
							}
							slices.Sort(got)
							if diff := cmp.Diff(want, got); diff != "" {
								t.Errorf("FindIncidents (-want +got):\n%s", diff)
							}
						}
						for _, k := range all {
							code := tc.code
							if code == "" && !slices.Contains(tc.sees, k) {
								code = zhufang.ENOTFOUND
							}
							inc, err := db.FindIncidentByID(tc.ctx, id[k])
							if code == "" {
								if err != nil || inc.ID != id[k] {
									t.Errorf("FindIncidentByID(%s) = %v, %v; want the incident", k, inc, err)
								}
							} else if zhufang.ErrorCode(err) != code {
								t.Errorf("FindIncidentByID(%s): got %v, want %s", k, err, code)
							}
							ts, err := db.FindTransitions(tc.ctx, id[k])
							if code == "" {
								if err != nil || len(ts) == 0 {
									t.Errorf("FindTransitions(%s) = %v, %v; want the history", k, ts, err)
								}
							} else if zhufang.ErrorCode(err) != code {
								t.Errorf("FindTransitions(%s): got %v, want %s", k, err, code)
							}
							_, err = db.FindAssignments(tc.ctx, id[k])
							if zhufang.ErrorCode(err) != code {
								t.Errorf("FindAssignments(%s): got %v, want %q", k, err, code)
							}
						}
					})
				}
				// An incident off one's ground reads exactly as one that does not exist.
				_, off := db.FindIncidentByID(officerA, id["B"])
				_, missing := db.FindIncidentByID(officerA, 404)
				wantCode(t, off, zhufang.ENOTFOUND, "does not exist")
				if zhufang.ErrorCode(off) != zhufang.ErrorCode(missing) {
					t.Errorf("off the ground: %v; missing: %v; want the same answer", off, missing)
				}
				// A filter does not widen the ground.
				list, err := db.FindIncidents(officerA, zhufang.IncidentFilter{StationID: 2})
				if err != nil || len(list) != 0 {
					t.Errorf("community officer filtering for station 2: %d incidents, %v; want none", len(list), err)
				}
				clocked, err := db.FindClockedIncidents(chiefA, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
				var got []int64
				for _, c := range clocked {
					got = append(got, c.ID)
				}
				if diff := cmp.Diff([]int64{id["A"], id["A2"], id["Adup"]}, got); diff != "" || err != nil {
					t.Errorf("station chief's compliance figures cover (-want +got):\n%s%v", diff, err)
				}
			})

			t.Run("who may move which incident", func(t *testing.T) {
				for _, tc := range []struct {
					name     string
					ctx      context.Context
					incident string
					req      zhufang.TransitionRequest
					code     string
				}{
					{"community officer, B's incident", officerA, "B", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, zhufang.ENOTFOUND},
					{"community officer, A2's incident in the same station", officerA, "A2", zhufang.TransitionRequest{To: zhufang.StateCancelled, Actor: "x"}, zhufang.ENOTFOUND},
					{"station chief, another station's incident", chiefA, "B", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, zhufang.ENOTFOUND},
					{"county commander, another county's incident", county, "C", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, zhufang.ENOTFOUND},
					{"analyst", analyst, "A", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, zhufang.EFORBIDDEN},
					// Who may not see incidents at all is told they do not
					// exist: a 403 would tell them apart from missing IDs.
					{"admin", admin, "A", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, zhufang.ENOTFOUND},
					{"device", device(1), "A", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, zhufang.ENOTFOUND},
					// Linking to an incident off one's ground must not work,
					// nor tell that it exists.
					{"community officer marks own incident a duplicate of B's", officerA, "Adup",
						zhufang.TransitionRequest{To: zhufang.StateDuplicate, DuplicateOf: id["B"], Actor: "x"}, zhufang.ENOTFOUND},
					{"community officer, own incident", officerA, "A", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, ""},
					{"county commander, another station in the county", county, "B", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, ""},
					{"city dispatcher, another county", dispatcher, "C", zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "x"}, ""},
				} {
					t.Run(tc.name, func(t *testing.T) {
						before := stateOf(t, tc.incident)
						_, err := db.TransitionIncident(tc.ctx, id[tc.incident], tc.req)
						after := stateOf(t, tc.incident)
						if tc.code == "" {
							if err != nil {
								t.Fatal(err)
							}
							if after != tc.req.To {
								t.Errorf("state %s, want %s", after, tc.req.To)
							}
							return
						}
						if zhufang.ErrorCode(err) != tc.code {
							t.Errorf("got %v, want %s", err, tc.code)
						}
						if after != before {
							t.Errorf("a refused move changed the state from %s to %s", before, after)
						}
					})
				}
				_, err := db.OverrideLane(officerA, id["B"], zhufang.LaneDispute, "x", "邻里纠纷", "")
				wantCode(t, err, zhufang.ENOTFOUND, "does not exist")
				// The administrator's answer is the same for an incident that
				// exists and for one that does not, on every write.
				for name, write := range map[string]func(id int64) error{
					"transition": func(id int64) error {
						_, err := db.TransitionIncident(admin, id, zhufang.TransitionRequest{To: zhufang.StateCancelled, Actor: "x"})
						return err
					},
					"lane": func(id int64) error {
						_, err := db.OverrideLane(admin, id, zhufang.LaneDispute, "x", "", "")
						return err
					},
					"assign": func(id int64) error {
						return db.Assign(admin, &zhufang.Assignment{IncidentID: id, UnitID: 1, AssignedBy: "x"})
					},
				} {
					t.Run("admin "+name, func(t *testing.T) {
						wantCode(t, write(id["A2"]), zhufang.ENOTFOUND, "does not exist")
						wantCode(t, write(404), zhufang.ENOTFOUND, "does not exist")
					})
				}
			})

			t.Run("who may send which unit", func(t *testing.T) {
				for _, tc := range []struct {
					name     string
					ctx      context.Context
					incident string
					unit     int64
					code     string
					says     string
				}{
					{"station chief sends another station's unit", chiefA, "A", 3, zhufang.ENOTFOUND, "unit 3 does not exist"},
					{"station chief sends own unit to another station's incident", chiefA, "B", 1, zhufang.ENOTFOUND, "does not exist"},
					{"county commander sends another county's unit", county, "B", 4, zhufang.ENOTFOUND, "unit 4 does not exist"},
					{"community officer may not send units", officerA, "A", 1, zhufang.EFORBIDDEN, ""},
					{"analyst may not send units", analyst, "A", 1, zhufang.EFORBIDDEN, ""},
					{"device may not send units", device(1), "A", 1, zhufang.ENOTFOUND, "does not exist"},
					{"admin may not send units", admin, "A", 1, zhufang.ENOTFOUND, "does not exist"},
					{"station chief sends own unit", chiefA, "A", 1, "", ""},
					{"city dispatcher sends across stations", dispatcher, "B", 3, "", ""},
					{"city dispatcher sends across counties", dispatcher, "C", 4, "", ""},
				} {
					t.Run(tc.name, func(t *testing.T) {
						before, err := db.FindAssignments(sys, id[tc.incident])
						if err != nil {
							t.Fatal(err)
						}
						err = db.Assign(tc.ctx, &zhufang.Assignment{IncidentID: id[tc.incident], UnitID: tc.unit, AssignedBy: "x"})
						after, _ := db.FindAssignments(sys, id[tc.incident])
						u, uerr := db.FindUnitByID(sys, tc.unit)
						if uerr != nil {
							t.Fatal(uerr)
						}
						if tc.code == "" {
							if err != nil {
								t.Fatal(err)
							}
							if len(after) != len(before)+1 || u.Status != zhufang.UnitDispatched {
								t.Errorf("%d assignments (had %d), unit %s; want one more and the unit dispatched", len(after), len(before), u.Status)
							}
							return
						}
						wantCode(t, err, tc.code, tc.says)
						if len(after) != len(before) || u.Status != zhufang.UnitAvailable {
							t.Errorf("refused: %d assignments (had %d), unit %s; want nothing changed", len(after), len(before), u.Status)
						}
					})
				}
			})

			t.Run("an incident off the ground cannot be probed by sending a unit", func(t *testing.T) {
				// A community officer may not send units; whether the
				// incident exists must not show in the refusal.
				off := db.Assign(officerA, &zhufang.Assignment{IncidentID: id["B"], UnitID: 2, AssignedBy: "x"})
				missing := db.Assign(officerA, &zhufang.Assignment{IncidentID: 404, UnitID: 2, AssignedBy: "x"})
				if off == nil || zhufang.ErrorCode(off) != zhufang.ErrorCode(missing) {
					t.Errorf("sending to an incident off the ground: %v; to one that does not exist: %v; want the same answer", off, missing)
				}
			})

			assignment := func(t *testing.T, key string, unit int64) *zhufang.Assignment {
				t.Helper()
				as, err := db.FindAssignments(sys, id[key])
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range as {
					if a.UnitID == unit {
						return a
					}
				}
				t.Fatalf("no assignment of unit %d to incident %s", unit, key)
				return nil
			}

			t.Run("crews and devices", func(t *testing.T) {
				aA, aB, aC := assignment(t, "A", 1), assignment(t, "B", 3), assignment(t, "C", 4)
				for _, tc := range []struct {
					name       string
					ctx        context.Context
					assignment *zhufang.Assignment
					code       string
				}{
					{"device of unit 1, unit 3's assignment", device(1), aB, zhufang.ENOTFOUND},
					{"device of unit 4, unit 1's assignment", device(4), aA, zhufang.ENOTFOUND},
					{"community officer, assignment off the ground", officerA, aB, zhufang.ENOTFOUND},
					{"station chief, assignment of another station's incident", chiefA, aC, zhufang.ENOTFOUND},
					{"analyst may not crew", analyst, aA, zhufang.EFORBIDDEN},
					{"admin sees no assignment", admin, aA, zhufang.ENOTFOUND},
					{"device of unit 1, its own assignment", device(1), aA, ""},
					{"city dispatcher, any assignment", dispatcher, aC, ""},
				} {
					t.Run(tc.name, func(t *testing.T) {
						_, err := db.AdvanceAssignment(tc.ctx, tc.assignment.ID, zhufang.AssignAcknowledged, "x")
						got, ferr := db.FindAssignmentByID(sys, tc.assignment.ID)
						if ferr != nil {
							t.Fatal(ferr)
						}
						if tc.code == "" {
							if err != nil {
								t.Fatal(err)
							}
							if got.State != zhufang.AssignAcknowledged {
								t.Errorf("assignment %s, want acknowledged", got.State)
							}
							return
						}
						if zhufang.ErrorCode(err) != tc.code {
							t.Errorf("got %v, want %s", err, tc.code)
						}
						if got.State != tc.assignment.State {
							t.Errorf("a refused move changed the assignment from %s to %s", tc.assignment.State, got.State)
						}
					})
				}
				if _, err := db.FindAssignmentByID(device(1), aB.ID); zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
					t.Errorf("device of unit 1 reading unit 3's assignment: %v, want %s", err, zhufang.ENOTFOUND)
				}
				if got, err := db.FindAssignmentByID(device(1), aA.ID); err != nil || got.ID != aA.ID {
					t.Errorf("device of unit 1 reading its own assignment: %v, %v", got, err)
				}
			})

			t.Run("another station's unit sent onto a community's ground", func(t *testing.T) {
				// The probe's case: unit 3 of station 2 is sent to an
				// incident in community 1 of station 1. The community
				// officer there sees the assignment but may not move it on;
				// unit 3's own station chief, who does not see the
				// incident, sees the assignment and may move it on.
				chiefB := as(createUser(t, db, "zhao.lei", zhufang.RoleStationChief, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 2}))
				if _, err := db.AdvanceAssignment(sys, assignment(t, "B", 3).ID, zhufang.AssignCancelled, "x"); err != nil {
					t.Fatal(err)
				}
				a := &zhufang.Assignment{IncidentID: id["Adup"], UnitID: 3, AssignedBy: "li.na"}
				if err := db.Assign(dispatcher, a); err != nil {
					t.Fatal(err)
				}
				step := func(ctx context.Context, to zhufang.AssignmentState, code string) {
					t.Helper()
					_, err := db.AdvanceAssignment(ctx, a.ID, to, "x")
					if code == "" && err != nil || code != "" && zhufang.ErrorCode(err) != code {
						t.Fatalf("moving assignment %d to %s: %v, want %q", a.ID, to, err, code)
					}
				}
				see := func(ctx context.Context, want bool) {
					t.Helper()
					got, err := db.FindAssignmentByID(ctx, a.ID)
					if want && (err != nil || got.ID != a.ID) || !want && zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
						t.Fatalf("reading assignment %d: %v, %v; want seen %v", a.ID, got, err, want)
					}
				}
				see(officerA, true)
				step(officerA, zhufang.AssignAcknowledged, zhufang.EFORBIDDEN)
				if got, _ := db.FindAssignmentByID(sys, a.ID); got.State != zhufang.AssignAssigned {
					t.Fatalf("the refused move left the assignment %s", got.State)
				}
				see(chiefB, true)
				if _, err := db.FindIncidentByID(chiefB, id["Adup"]); zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
					t.Fatalf("unit 3's chief reading the incident on station 1's ground: %v", err)
				}
				step(chiefB, zhufang.AssignAcknowledged, "")
				// The chief over the scene sends units there: may move it on.
				see(chiefA, true)
				step(chiefA, zhufang.AssignEnRoute, "")
				// A station that neither the scene nor the unit is on.
				chiefC := as(createUser(t, db, "sun.li", zhufang.RoleStationChief, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 3}))
				see(chiefC, false)
				step(chiefC, zhufang.AssignOnScene, zhufang.ENOTFOUND)
				// The administrator: the same answer as for no assignment.
				see(admin, false)
				step(admin, zhufang.AssignOnScene, zhufang.ENOTFOUND)
				if _, err := db.AdvanceAssignment(admin, 99999, zhufang.AssignOnScene, "x"); zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
					t.Fatalf("admin moving an assignment that does not exist: %v", err)
				}
			})

			t.Run("who may set which unit's status", func(t *testing.T) {
				for _, tc := range []struct {
					name string
					ctx  context.Context
					unit int64
					to   zhufang.UnitStatus
					code string
				}{
					{"device of unit 1 sets unit 2", device(1), 2, zhufang.UnitOffDuty, zhufang.ENOTFOUND},
					{"station chief sets another station's unit", chiefA, 3, zhufang.UnitOffDuty, zhufang.ENOTFOUND},
					{"analyst", analyst, 2, zhufang.UnitOffDuty, zhufang.EFORBIDDEN},
					{"device of unit 2 sets itself", device(2), 2, zhufang.UnitOffDuty, ""},
					{"station chief sets own station's unit", chiefA, 2, zhufang.UnitAvailable, ""},
				} {
					t.Run(tc.name, func(t *testing.T) {
						before, err := db.FindUnitByID(sys, tc.unit)
						if err != nil {
							t.Fatal(err)
						}
						_, err = db.SetUnitStatus(tc.ctx, tc.unit, tc.to, "x")
						after, _ := db.FindUnitByID(sys, tc.unit)
						if tc.code == "" {
							if err != nil {
								t.Fatal(err)
							}
							if after.Status != tc.to {
								t.Errorf("unit %s, want %s", after.Status, tc.to)
							}
							return
						}
						if zhufang.ErrorCode(err) != tc.code {
							t.Errorf("got %v, want %s", err, tc.code)
						}
						if after.Status != before.Status {
							t.Errorf("a refused change moved the unit from %s to %s", before.Status, after.Status)
						}
					})
				}
			})

			t.Run("who sees which units", func(t *testing.T) {
				for _, tc := range []struct {
					name string
					ctx  context.Context
					want []int64
				}{
					{"station chief", chiefA, []int64{1, 2}},
					{"county commander", county, []int64{1, 2, 3}},
					{"city dispatcher", dispatcher, []int64{1, 2, 3, 4}},
				} {
					t.Run(tc.name, func(t *testing.T) {
						units, err := db.FindUnits(tc.ctx, 0)
						if err != nil {
							t.Fatal(err)
						}
						got := []int64{}
						for _, u := range units {
							got = append(got, u.ID)
						}
						if diff := cmp.Diff(tc.want, got); diff != "" {
							t.Errorf("FindUnits (-want +got):\n%s", diff)
						}
						for _, id := range []int64{1, 2, 3, 4} {
							_, err := db.FindUnitByID(tc.ctx, id)
							if slices.Contains(tc.want, id) != (err == nil) {
								t.Errorf("FindUnitByID(%d): %v", id, err)
							}
						}
					})
				}
			})
		})
	}
}
