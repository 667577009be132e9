package sqlstore_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

var day1 = time.Date(2025, 6, 1, 0, 0, 0, 0, zhufang.ChinaTime)

// past is an ended street incident at a place, with its seven states and
// the unit sent.
func past(at time.Time, category string, community, station, bureau, unit int64, lane zhufang.Lane) zhufang.PastIncident {
	inc := zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: at, Position: pt(111.55, 26.35), Category: category,
		Description: "history", CommunityID: community, StationID: station, BureauID: bureau, Zone: zhufang.ZoneUrbanCore,
		State: zhufang.StateClosed, Triage: zhufang.TriageResult{Lane: lane, Rule: "order", Reason: "治安警情"},
		Due: zhufang.DueTimes(at, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]), CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
	p := zhufang.PastIncident{Incident: inc}
	states := []zhufang.IncidentState{zhufang.StateReceived, zhufang.StateDispatched, zhufang.StateAcknowledged,
		zhufang.StateOnScene, zhufang.StateHandling, zhufang.StateFeedback, zhufang.StateClosed}
	for i, s := range states {
		var from zhufang.IncidentState
		if i > 0 {
			from = states[i-1]
		}
		p.Transitions = append(p.Transitions, zhufang.Transition{From: from, To: s, At: at.Add(time.Duration(i) * time.Minute), Actor: "history"})
	}
	if unit != 0 {
		p.Assignments = []zhufang.Assignment{{UnitID: unit, State: zhufang.AssignCleared, Role: "primary", AssignedBy: "history",
			ETA: 95 * time.Second, CreatedAt: at.Add(time.Minute), UpdatedAt: at.Add(40 * time.Minute)}}
	}
	return p
}

func send(batches ...[]zhufang.PastIncident) <-chan []zhufang.PastIncident {
	ch := make(chan []zhufang.PastIncident, len(batches))
	for _, b := range batches {
		ch <- b
	}
	close(ch)
	return ch
}

func TestImportHistory(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			sys := context.Background()
			db := sqltest.Open(t, engine, sqlstore.Options{})
			if err := db.ImportCity(sys, twoCountyCity()); err != nil {
				t.Fatal(err)
			}
			n, err := db.ImportHistory(sys, send(
				[]zhufang.PastIncident{past(day1.Add(9*time.Hour), "200100", 1, 1, 2, 1, zhufang.LaneStreet),
					past(day1.Add(10*time.Hour), "100601", 1, 1, 2, 0, zhufang.LaneCase)},
				[]zhufang.PastIncident{past(day1.Add(26*time.Hour), "200100", 4, 3, 3, 4, zhufang.LaneStreet)}))
			if err != nil || n != 3 {
				t.Fatalf("imported %d: %v", n, err)
			}
			got, err := db.FindReceived(sys, day1, day1.AddDate(0, 0, 2), "")
			if err != nil || len(got) != 3 {
				t.Fatalf("found %d: %v", len(got), err)
			}
			number := regexp.MustCompile(`^J2025060[12]\d{8}$`)
			for i, inc := range got {
				if inc.ID != int64(i+1) || !number.MatchString(inc.Number) || inc.State != zhufang.StateClosed {
					t.Errorf("incident %d: id %d number %q state %s", i, inc.ID, inc.Number, inc.State)
				}
				ts, err := db.FindTransitions(sys, inc.ID)
				if err != nil || len(ts) != 7 || ts[6].To != zhufang.StateClosed || !ts[0].At.Equal(inc.ReceivedAt) {
					t.Errorf("incident %d transitions %+v: %v", inc.ID, ts, err)
				}
			}
			as, err := db.FindAssignments(sys, 3)
			if err != nil || len(as) != 1 || as[0].UnitID != 4 || as[0].ETA != 95*time.Second || as[0].State != zhufang.AssignCleared {
				t.Fatalf("assignments of incident 3: %+v %v", as, err)
			}
			// A live incident after the import takes the next ID: the
			// identity sequences moved past the imported rows.
			live := prepared()
			if err := db.CreateIncident(sys, live, "接警员"); err != nil || live.ID != 4 {
				t.Fatalf("the next live incident got ID %d: %v", live.ID, err)
			}
			if as, err := db.FindAssignments(sys, live.ID); err != nil || len(as) != 0 {
				t.Fatalf("live incident has %d assignments: %v", len(as), err)
			}
			unit := &zhufang.Assignment{IncidentID: live.ID, UnitID: 1, AssignedBy: "调度员"}
			if err := db.Assign(sys, unit); err != nil || unit.ID != 3 {
				t.Fatalf("the next assignment got ID %d: %v", unit.ID, err)
			}

			street, err := db.FindReceived(sys, day1, day1.AddDate(0, 0, 2), zhufang.LaneStreet)
			if err != nil || len(street) != 2 || street[0].ID != 1 || street[1].ID != 3 {
				t.Fatalf("street incidents %d: %v", len(street), err)
			}
			counts, err := db.CountByCategory(sys, day1, day1.AddDate(0, 0, 1))
			if err != nil || fmt.Sprint(counts) != "[{100601 1} {200100 1}]" {
				t.Fatalf("counts of day 1: %v %v", counts, err)
			}

			// A county commander counts and finds only their county's.
			county := createUser(t, db, "zhao.county", zhufang.RoleCountyCommander, zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 3})
			as3 := zhufang.NewContextWithActor(sys, &zhufang.Actor{User: county, Address: "10.0.0.1"})
			counts, err = db.CountByCategory(as3, day1, day1.AddDate(0, 0, 2))
			if err != nil || fmt.Sprint(counts) != "[{200100 1}]" {
				t.Fatalf("the county's counts: %v %v", counts, err)
			}
			mine, err := db.FindReceived(as3, day1, day1.AddDate(0, 0, 2), "")
			if err != nil || len(mine) != 1 || mine[0].BureauID != 3 {
				t.Fatalf("the county's incidents: %d %v", len(mine), err)
			}
			mediator := createUser(t, db, "li.mediator", zhufang.RoleMediator, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1})
			if mediator.Can(zhufang.PermViewStats) {
				t.Fatal("the test needs a role without view_stats")
			}
			asMediator := zhufang.NewContextWithActor(sys, &zhufang.Actor{User: mediator, Address: "10.0.0.1"})
			if _, err := db.CountByCategory(asMediator, day1, day1.AddDate(0, 0, 2)); zhufang.ErrorCode(err) != zhufang.EFORBIDDEN {
				t.Fatalf("a mediator counting: %v", err)
			}

			// Users and devices may not import; nothing is written.
			if _, err := db.ImportHistory(as3, send([]zhufang.PastIncident{past(day1, "200100", 4, 3, 3, 0, zhufang.LaneStreet)})); zhufang.ErrorCode(err) != zhufang.EFORBIDDEN {
				t.Fatalf("a user importing history: %v", err)
			}
			// A batch that breaks a reference rolls the whole import back.
			bad := past(day1.AddDate(0, 0, 3), "200100", 1, 1, 2, 999, zhufang.LaneStreet)
			if _, err := db.ImportHistory(sys, send([]zhufang.PastIncident{past(day1.AddDate(0, 0, 3), "200100", 1, 1, 2, 1, zhufang.LaneStreet)},
				[]zhufang.PastIncident{bad})); err == nil {
				t.Fatal("an assignment of a unit that does not exist was imported")
			}
			if got, _ := db.FindReceived(sys, day1, day1.AddDate(0, 0, 10), ""); len(got) != 3 {
				t.Fatalf("%d incidents in the history's days after refused imports, want the 3 imported", len(got))
			}
			// A cancelled import leaves nothing either.
			ctx, cancel := context.WithCancel(sys)
			open := make(chan []zhufang.PastIncident, 1)
			open <- []zhufang.PastIncident{past(day1.AddDate(0, 0, 4), "200100", 1, 1, 2, 1, zhufang.LaneStreet)}
			go func() { time.Sleep(100 * time.Millisecond); cancel() }()
			if _, err := db.ImportHistory(ctx, open); err == nil {
				t.Fatal("a cancelled import succeeded")
			}
			if got, _ := db.FindReceived(sys, day1, day1.AddDate(0, 0, 10), ""); len(got) != 3 {
				t.Fatalf("%d incidents in the history's days after a cancelled import, want 3", len(got))
			}
		})
	}
}

func TestDemoCityRecordAndHome(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			sys := context.Background()
			db := sqltest.Open(t, engine, sqlstore.Options{})
			if _, err := db.FindDemoCity(sys); zhufang.ErrorCode(err) != zhufang.ENOTFOUND || !regexp.MustCompile("holds no demo city").MatchString(zhufang.ErrorMessage(err)) {
				t.Fatalf("a new database's demo record: %v", err)
			}
			built := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
			want := zhufang.DemoCity{Seed: 1<<63 + 7, AnchorDay: "2026-03-01", HistoryDays: 730, Incidents: 668979, BuiltAt: built}
			if err := db.SetDemoCity(sys, want); err != nil {
				t.Fatal(err)
			}
			want.Incidents = 700000
			if err := db.SetDemoCity(sys, want); err != nil { // replaces
				t.Fatal(err)
			}
			got, err := db.FindDemoCity(sys)
			if err != nil || got.Seed != want.Seed || got.AnchorDay != want.AnchorDay || got.HistoryDays != 730 ||
				got.Incidents != 700000 || !got.BuiltAt.Equal(built) {
				t.Fatalf("read back %+v: %v", got, err)
			}
			for _, bad := range []zhufang.DemoCity{{AnchorDay: "yesterday"}, {AnchorDay: "2026-02-30"}, {AnchorDay: "2026-03-01", HistoryDays: -1}} {
				if err := db.SetDemoCity(sys, bad); zhufang.ErrorCode(err) != zhufang.EINVALID {
					t.Errorf("record %+v: %v", bad, err)
				}
			}
			// A unit's home is where it was first placed unless given.
			c := smallCity()
			c.Units[1].Home = pt(111.56, 26.36)
			if err := db.ImportCity(sys, c); err != nil {
				t.Fatal(err)
			}
			units, err := db.FindUnits(sys, 0)
			if err != nil || len(units) != 2 {
				t.Fatal(err)
			}
			if units[0].Home != units[0].Position || units[1].Home != pt(111.56, 26.36) {
				t.Fatalf("homes %v %v", units[0].Home, units[1].Home)
			}
			// Replacing the city forgets its demo record.
			if err := db.ReplaceCity(sys, smallCity()); err != nil {
				t.Fatal(err)
			}
			if _, err := db.FindDemoCity(sys); zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
				t.Fatalf("the record after replacing the city: %v", err)
			}
		})
	}
}
