package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore/sqltest"
)

func TestDevicesAndTracks(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			dev, token, err := db.CreateDevice(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if unit, err := db.DeviceUnit(ctx, token); err != nil || unit != 1 {
				t.Fatalf("token speaks for unit %d, %v", unit, err)
			}
			_, err = db.DeviceUnit(ctx, token+"x")
			wantCode(t, err, zhufang.EUNAUTHORIZED, "unknown device token")
			_, _, err = db.CreateDevice(ctx, 404)
			wantCode(t, err, zhufang.ENOTFOUND, "unit 404")
			if err := db.RevokeDevice(ctx, dev); err != nil {
				t.Fatal(err)
			}
			_, err = db.DeviceUnit(ctx, token)
			wantCode(t, err, zhufang.EUNAUTHORIZED, "revoked")
			wantCode(t, db.RevokeDevice(ctx, dev), zhufang.ENOTFOUND, "already revoked")

			t0 := time.Now().UTC().Truncate(time.Second)
			r := func(sec int, lon float64) zhufang.PositionReport {
				return zhufang.PositionReport{UnitID: 1, At: t0.Add(time.Duration(sec) * time.Second), Point: pt(lon, 26.4)}
			}
			// Out of order and one repeated: all kept once, in time order.
			n, err := db.AppendTrack(ctx, []zhufang.PositionReport{r(10, 111.61), r(0, 111.60), r(10, 111.61), r(5, 111.605)})
			if err != nil || n != 3 {
				t.Fatalf("appended %d (%v), want 3 new reports", n, err)
			}
			if n, _ := db.AppendTrack(ctx, []zhufang.PositionReport{r(5, 111.605)}); n != 0 {
				t.Fatalf("a repeated report was stored again")
			}
			track, err := db.FindTrack(ctx, 1, t0.Add(-time.Minute), t0.Add(time.Minute))
			if err != nil || len(track) != 3 || track[0].Point.Lon != 111.60 || track[2].Point.Lon != 111.61 {
				t.Fatalf("track %+v, %v", track, err)
			}
			// The snapshot keeps the newest position; an older one does not move it back.
			if err := db.SavePositions(ctx, []zhufang.PositionReport{r(10, 111.61)}); err != nil {
				t.Fatal(err)
			}
			if err := db.SavePositions(ctx, []zhufang.PositionReport{r(5, 111.605)}); err != nil {
				t.Fatal(err)
			}
			u, err := db.FindUnitByID(ctx, 1)
			if err != nil || u.Position.Lon != 111.61 || !u.PositionAt.Equal(t0.Add(10*time.Second)) {
				t.Fatalf("unit position %v at %v, %v", u.Position, u.PositionAt, err)
			}
		})
	}
}

// TestDoubleAssignment: dispatchers assign the same unit to different
// incidents at once; exactly one succeeds.
func TestDoubleAssignment(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			for round := range 5 {
				var incs []*zhufang.Incident
				for range 4 {
					inc := prepared()
					if err := db.CreateIncident(ctx, inc, "a"); err != nil {
						t.Fatal(err)
					}
					incs = append(incs, inc)
				}
				var wg sync.WaitGroup
				errs := make([]error, len(incs))
				for i, inc := range incs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = db.Assign(ctx, &zhufang.Assignment{IncidentID: inc.ID, UnitID: 1, AssignedBy: "调度员"})
					}()
				}
				wg.Wait()
				won := -1
				for i, err := range errs {
					switch zhufang.ErrorCode(err) {
					case "":
						if won >= 0 {
							t.Fatalf("round %d: two dispatchers got the unit", round)
						}
						won = i
					case zhufang.ECONFLICT:
					default:
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if won < 0 {
					t.Fatalf("round %d: nobody got the unit", round)
				}
				as, _ := db.FindAssignments(ctx, incs[won].ID)
				if len(as) != 1 {
					t.Fatalf("round %d: %d assignments", round, len(as))
				}
				if inc, _ := db.FindIncidentByID(ctx, incs[won].ID); inc.State != zhufang.StateDispatched {
					t.Fatalf("round %d: incident %s after assignment", round, inc.State)
				}
				if _, err := db.AdvanceAssignment(ctx, as[0].ID, zhufang.AssignCancelled, "调度员"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestAssignmentFlow(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			inc := prepared()
			if err := db.CreateIncident(ctx, inc, "a"); err != nil {
				t.Fatal(err)
			}
			// None yet: an empty list, which the API shows as [], not null.
			if none, err := db.FindAssignments(ctx, inc.ID); err != nil || none == nil || len(none) != 0 {
				t.Fatalf("assignments of a new incident: %#v, %v; want an empty list", none, err)
			}
			a := &zhufang.Assignment{IncidentID: inc.ID, UnitID: 1, AssignedBy: "调度员", ETA: 90 * time.Second}
			if err := db.Assign(ctx, a); err != nil {
				t.Fatal(err)
			}
			guard := &zhufang.Assignment{IncidentID: inc.ID, UnitID: 2, AssignedBy: "调度员", Role: "first_responder"}
			if err := db.Assign(ctx, guard); err != nil {
				t.Fatal(err)
			}
			for _, step := range []struct {
				to   zhufang.AssignmentState
				unit zhufang.UnitStatus
				inc  zhufang.IncidentState
			}{
				{"acknowledged", "dispatched", "acknowledged"},
				{"en_route", "en_route", "acknowledged"},
				{"on_scene", "on_scene", "on_scene"},
				{"cleared", "available", "on_scene"},
			} {
				if _, err := db.AdvanceAssignment(ctx, a.ID, step.to, "民警"); err != nil {
					t.Fatalf("to %s: %v", step.to, err)
				}
				u, _ := db.FindUnitByID(ctx, 1)
				got, _ := db.FindIncidentByID(ctx, inc.ID)
				if u.Status != step.unit || got.State != step.inc {
					t.Fatalf("after %s: unit %s incident %s, want %s and %s", step.to, u.Status, got.State, step.unit, step.inc)
				}
			}
			ts, _ := db.FindTransitions(ctx, inc.ID)
			var seen []zhufang.IncidentState
			for _, tr := range ts {
				seen = append(seen, tr.To)
			}
			if len(seen) != 4 || seen[1] != "dispatched" || seen[2] != "acknowledged" || seen[3] != "on_scene" {
				t.Fatalf("incident history %v", seen)
			}
			_, err := db.AdvanceAssignment(ctx, a.ID, zhufang.AssignOnScene, "民警")
			wantCode(t, err, zhufang.ECONFLICT, "cannot go from cleared")
			_, err = db.AdvanceAssignment(ctx, 404, zhufang.AssignOnScene, "民警")
			wantCode(t, err, zhufang.ENOTFOUND, "assignment 404")
			wantCode(t, db.Assign(ctx, &zhufang.Assignment{IncidentID: 404, UnitID: 1, AssignedBy: "d"}), zhufang.ENOTFOUND, "incident 404")
			wantCode(t, db.Assign(ctx, &zhufang.Assignment{IncidentID: inc.ID, UnitID: 404, AssignedBy: "d"}), zhufang.ENOTFOUND, "unit 404")
			wantCode(t, db.Assign(ctx, &zhufang.Assignment{IncidentID: inc.ID, UnitID: 2, AssignedBy: "d"}), zhufang.ECONFLICT, "not available")
			_, err = db.SetUnitStatus(ctx, 2, zhufang.UnitOffDuty, "d")
			wantCode(t, err, zhufang.ECONFLICT, "")
			if _, err := db.SetUnitStatus(ctx, 1, zhufang.UnitOffDuty, "d"); err != nil {
				t.Fatal(err)
			}
			wantCode(t, db.Assign(ctx, &zhufang.Assignment{IncidentID: inc.ID, UnitID: 1, AssignedBy: "d"}), zhufang.ECONFLICT, "not available")
		})
	}
}

// TestEndingAnIncidentFreesItsUnits: cancelling an incident stands down the
// unit on its way and frees it for the next one.
func TestEndingAnIncidentFreesItsUnits(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			inc := prepared()
			if err := db.CreateIncident(ctx, inc, "a"); err != nil {
				t.Fatal(err)
			}
			a := &zhufang.Assignment{IncidentID: inc.ID, UnitID: 1, AssignedBy: "调度员"}
			if err := db.Assign(ctx, a); err != nil {
				t.Fatal(err)
			}
			if _, err := db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "cancelled", Actor: "调度员", Note: "报警人撤警"}); err != nil {
				t.Fatal(err)
			}
			as, _ := db.FindAssignments(ctx, inc.ID)
			u, _ := db.FindUnitByID(ctx, 1)
			if len(as) != 1 || as[0].State != zhufang.AssignCancelled || u.Status != zhufang.UnitAvailable {
				t.Fatalf("after cancelling: assignment %+v, unit %s", as, u.Status)
			}
			next := prepared()
			if err := db.CreateIncident(ctx, next, "a"); err != nil {
				t.Fatal(err)
			}
			if err := db.Assign(ctx, &zhufang.Assignment{IncidentID: next.ID, UnitID: 1, AssignedBy: "调度员"}); err != nil {
				t.Fatalf("the freed unit cannot be sent again: %v", err)
			}
		})
	}
}
