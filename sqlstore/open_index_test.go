package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// TestOpenReadsUseOpenIndex: the reads made on every tick or event (the
// breach watcher's, the board's on each ground) go through the index of
// open incidents, whose condition is the root's terminal states, and so
// cost what is open, not the history. SQLite is told to use it, and its
// plan must show it on any table; PostgreSQL's planner chooses by the
// table's size, which a test's few rows do not have (the two-year
// benchmarks check its plan on the real size), so there only the index's
// condition is checked.
func TestOpenReadsUseOpenIndex(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			inc := prepared()
			if err := db.CreateIncident(ctx, inc, "a"); err != nil {
				t.Fatal(err)
			}
			// The index holds what the store calls open: every state but
			// the root's terminal ones.
			def, err := db.IndexDefinition(ctx, "incidents_open")
			if err != nil {
				t.Fatalf("no index incidents_open: %v", err)
			}
			for _, s := range zhufang.IncidentStates {
				if named := strings.Contains(def, "'"+string(s)+"'"); named != s.Terminal() {
					t.Errorf("incidents_open names %s: %v, but it is terminal: %v\n%s", s, named, s.Terminal(), def)
				}
			}
			if engine != sqlstore.SQLite {
				return
			}
			plan, err := db.PlanOfOpenDeadlines(ctx)
			if err != nil || !strings.Contains(plan, "incidents_open") {
				t.Errorf("the breach watcher's read does not use incidents_open (%v):\n%s", err, plan)
			}
			for _, s := range []zhufang.Scope{{Level: zhufang.ScopeCity}, {Level: zhufang.ScopeCounty, BureauID: inc.BureauID},
				{Level: zhufang.ScopeStation, StationID: inc.StationID}, {Level: zhufang.ScopeCommunity, CommunityID: inc.CommunityID}} {
				for _, f := range []zhufang.IncidentFilter{{Open: true, Limit: 1000}, {Open: true, Lane: zhufang.LaneStreet}} {
					plan, err := db.PlanOfIncidents(scoped(ctx, s), f)
					if err != nil || !strings.Contains(plan, "incidents_open") {
						t.Errorf("open incidents of %s, lane %q: not through incidents_open (%v):\n%s", s.Level, f.Lane, err, plan)
					}
				}
			}
		})
	}
}

// TestOpenReadsFollowState: the open incidents and the watcher's deadlines
// follow incidents as they move on and end; an incident whose handling is
// under way leaves the watcher's list but stays on the board until it
// ends. One whose stages were all raised stays on both: the watcher
// remembers what it raised.
func TestOpenReadsFollowState(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			var ids []int64
			for range 5 {
				inc := prepared()
				if err := db.CreateIncident(ctx, inc, "a"); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, inc.ID)
			}
			move := func(id int64, to ...zhufang.IncidentState) {
				t.Helper()
				for _, s := range to {
					r := zhufang.TransitionRequest{To: s, Actor: "调度员"}
					if s == zhufang.StateRedirected {
						r.RedirectedTo = "12345"
					}
					if _, err := db.TransitionIncident(ctx, id, r); err != nil {
						t.Fatalf("incident %d to %s: %v", id, s, err)
					}
				}
			}
			check := func(step string, watched map[int64]zhufang.IncidentState, open []int64) {
				t.Helper()
				deadlines, err := db.FindOpenDeadlines(ctx)
				if err != nil {
					t.Fatal(err)
				}
				gotWatched := map[int64]zhufang.IncidentState{}
				for _, d := range deadlines {
					gotWatched[d.IncidentID] = d.State
				}
				if diff := cmp.Diff(watched, gotWatched); diff != "" {
					t.Errorf("%s: watched incidents (-want +got):\n%s", step, diff)
				}
				incs, err := db.FindIncidents(ctx, zhufang.IncidentFilter{Open: true})
				if err != nil {
					t.Fatal(err)
				}
				var gotOpen []int64
				for _, inc := range incs {
					gotOpen = append(gotOpen, inc.ID)
				}
				slices.Sort(gotOpen)
				if diff := cmp.Diff(open, gotOpen); diff != "" {
					t.Errorf("%s: open incidents (-want +got):\n%s", step, diff)
				}
			}
			a, b, c, d, e := ids[0], ids[1], ids[2], ids[3], ids[4]
			rec := zhufang.StateReceived
			check("all received", map[int64]zhufang.IncidentState{a: rec, b: rec, c: rec, d: rec, e: rec}, ids)

			move(a, zhufang.StateDispatched, zhufang.StateAcknowledged, zhufang.StateOnScene)
			move(b, zhufang.StateCancelled)
			move(c, zhufang.StateDispatched, zhufang.StateAcknowledged, zhufang.StateOnScene, zhufang.StateHandling)
			move(e, zhufang.StateRedirected)
			check("moved on", map[int64]zhufang.IncidentState{a: zhufang.StateOnScene, d: rec}, []int64{a, c, d})

			for _, s := range zhufang.Stages {
				inc, err := db.FindIncidentByID(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.RaiseBreach(ctx, zhufang.Breach{IncidentID: d, Stage: s, Due: inc.Due.Due(s)}); err != nil {
					t.Fatal(err)
				}
			}
			move(c, zhufang.StateFeedback, zhufang.StateClosed)
			check("all raised, one closed", map[int64]zhufang.IncidentState{a: zhufang.StateOnScene, d: rec}, []int64{a, d})

			move(a, zhufang.StateHandling, zhufang.StateFeedback, zhufang.StateClosed)
			move(d, zhufang.StateCancelled)
			check("all ended", map[int64]zhufang.IncidentState{}, nil)
		})
	}
}
