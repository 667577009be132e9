package zhufang_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

// TestLaneClock: the 1-3-5 rule runs on the street. A theft reported the
// morning after (case), a dispute for mediation and a hand-off to 12345
// run one clock, for being taken up within the zone's window; a dispute
// live on the street runs all three. The watcher's breaches, the board's
// order and the compliance statistics all follow the lane.
func TestLaneClock(t *testing.T) {
	due := zhufang.DueTimes(t0, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])
	takeUp := zhufang.Deadlines{Acknowledge: at(5, 0)}
	tests := []struct {
		name   string
		triage zhufang.TriageResult
		clock  zhufang.Deadlines
		// breaches of an incident still received at 10 minutes; the stages
		// of one acknowledged at 3 minutes, on scene at 4, handling at 6,
		// judged at an hour: met / breached.
		breaches       []zhufang.Stage
		met, breached  []zhufang.Stage
		pendingAtStart time.Time
	}{
		{"street", zhufang.TriageResult{Lane: zhufang.LaneStreet}, due,
			[]zhufang.Stage{"acknowledge", "on_scene", "handling"}, []zhufang.Stage{}, []zhufang.Stage{"acknowledge", "on_scene", "handling"}, at(1, 0)},
		{"a dispute live on the street", zhufang.TriageResult{Lane: zhufang.LaneDispute, AlsoStreet: true}, due,
			[]zhufang.Stage{"acknowledge", "on_scene", "handling"}, []zhufang.Stage{}, []zhufang.Stage{"acknowledge", "on_scene", "handling"}, at(1, 0)},
		{"a theft from last night", zhufang.TriageResult{Lane: zhufang.LaneCase}, takeUp,
			[]zhufang.Stage{"acknowledge"}, []zhufang.Stage{"acknowledge"}, []zhufang.Stage{}, at(5, 0)},
		{"a dispute for mediation", zhufang.TriageResult{Lane: zhufang.LaneDispute}, takeUp,
			[]zhufang.Stage{"acknowledge"}, []zhufang.Stage{"acknowledge"}, []zhufang.Stage{}, at(5, 0)},
		{"a 12345 hand-off", zhufang.TriageResult{Lane: zhufang.LaneAssign, AssignTo: "12345"}, takeUp,
			[]zhufang.Stage{"acknowledge"}, []zhufang.Stage{"acknowledge"}, []zhufang.Stage{}, at(5, 0)},
	}
	history := []zhufang.Transition{{To: "received", At: t0}, {To: "dispatched", At: at(2, 0)}, {To: "acknowledged", At: at(3, 0)},
		{To: "on_scene", At: at(4, 0)}, {To: "handling", At: at(6, 0)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := &zhufang.Incident{ID: 1, ReceivedAt: t0, State: zhufang.StateReceived, Triage: tt.triage, Due: due}
			if diff := cmp.Diff(tt.clock, inc.Clock()); diff != "" {
				t.Errorf("clock (-want +got):\n%s", diff)
			}
			// The watcher's view of the same incident: its lane's clocks.
			d := zhufang.OpenDeadline{IncidentID: 1, State: zhufang.StateReceived, Due: due, Triage: tt.triage}
			stages := []zhufang.Stage{}
			for _, b := range zhufang.OpenBreaches(d.IncidentID, d.State, d.Clock(), at(10, 0)) {
				stages = append(stages, b.Stage)
			}
			if diff := cmp.Diff(tt.breaches, stages); diff != "" {
				t.Errorf("breaches at 10 minutes (-want +got):\n%s", diff)
			}
			if got := zhufang.PendingDue(inc.State, inc.Clock()); !got.Equal(tt.pendingAtStart) {
				t.Errorf("pending due %v, want %v", got, tt.pendingAtStart)
			}
			met, breached := []zhufang.Stage{}, []zhufang.Stage{}
			inc.State = zhufang.StateHandling
			for _, r := range zhufang.IncidentResults(inc, history, at(60, 0)) {
				if r.Met {
					met = append(met, r.Stage)
				}
				if r.Breached {
					breached = append(breached, r.Stage)
				}
			}
			if diff := cmp.Diff([2][]zhufang.Stage{tt.met, tt.breached}, [2][]zhufang.Stage{met, breached}); diff != "" {
				t.Errorf("[met, breached] (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("statistics count the lane's clocks", func(t *testing.T) {
		c := func(id int64, lane zhufang.Lane) zhufang.ClockedIncident {
			return zhufang.ClockedIncident{ID: id, Zone: zhufang.ZoneUrbanCore, ReceivedAt: t0, State: zhufang.StateHandling, Due: due,
				Triage: zhufang.TriageResult{Lane: lane}, Transitions: history}
		}
		rows, err := zhufang.AggregateCompliance([]zhufang.ClockedIncident{c(1, zhufang.LaneStreet), c(2, zhufang.LaneCase), c(3, zhufang.LaneAssign)}, "zone", at(60, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := map[zhufang.Stage]int{"acknowledge": 3, "on_scene": 1, "handling": 1}
		if diff := cmp.Diff(want, rows[0].Clocked); diff != "" {
			t.Errorf("stages clocked (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[zhufang.Stage]int{"acknowledge": 2}, rows[0].Met); diff != "" {
			t.Errorf("stages met (-want +got):\n%s", diff)
		}
	})
}

// TestUrgencyKey: the most overdue incident comes first, then the one due
// soonest, then a later one; an incident with nothing left to clock last.
// Comparing the keys as strings, as the board's script does, gives the
// same order.
func TestUrgencyKey(t *testing.T) {
	core := zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]
	street := zhufang.TriageResult{Lane: zhufang.LaneStreet}
	inc := func(id int64, received time.Time, state zhufang.IncidentState, tr zhufang.TriageResult) *zhufang.Incident {
		return &zhufang.Incident{ID: id, ReceivedAt: received, State: state, Triage: tr, Due: zhufang.DueTimes(received, core)}
	}
	now := at(30, 0)
	incs := []*zhufang.Incident{
		inc(1, now.Add(-30*time.Second), zhufang.StateReceived, street),                            // due in 30 s
		inc(2, now.Add(-20*time.Minute), zhufang.StateReceived, street),                            // 19 minutes overdue
		inc(3, now.Add(-time.Minute), zhufang.StateAcknowledged, street),                           // on scene in 2 min
		inc(4, now.Add(-2*time.Minute), zhufang.StateReceived, zhufang.TriageResult{Lane: "case"}), // taken up in 3 min
		inc(5, now.Add(-3*time.Minute), zhufang.StateHandling, street),                             // nothing left
		inc(6, now.Add(-90*time.Second), zhufang.StateReceived, street),                            // 30 s overdue
	}
	key := func(i *zhufang.Incident) string { return zhufang.UrgencyKey(i.State, i.Clock(), i.ReceivedAt, i.ID) }
	got := []int64{}
	for len(got) < len(incs) {
		var best *zhufang.Incident
		for _, i := range incs {
			if !containsID(got, i.ID) && (best == nil || key(i) < key(best)) {
				best = i
			}
		}
		got = append(got, best.ID)
	}
	if diff := cmp.Diff([]int64{2, 6, 1, 3, 4, 5}, got); diff != "" {
		t.Errorf("order by key (-want +got):\n%s", diff)
	}
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// TestOnSceneOutlook: an urban-core call (on scene within 3 minutes)
// offered units 9 to 14 minutes away cannot be reached in time, and says
// by how much; one unit close enough makes it possible. A stage already
// reached, or one the lane does not clock, is not judged.
func TestOnSceneOutlook(t *testing.T) {
	due := zhufang.DueTimes(t0, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])
	far := []time.Duration{9 * time.Minute, 11 * time.Minute, 14 * time.Minute}
	tests := []struct {
		name  string
		state zhufang.IncidentState
		clock zhufang.Deadlines
		now   time.Time
		etas  []time.Duration
		want  zhufang.OnSceneOutlook
		ok    bool
	}{
		{"every unit far", "received", due, at(0, 30), far, zhufang.OnSceneOutlook{Due: at(3, 0), BestETA: 9 * time.Minute, Hopeless: true, Late: 390 * time.Second}, true},
		{"one near enough", "received", due, at(0, 30), append(far, 2*time.Minute), zhufang.OnSceneOutlook{Due: at(3, 0), BestETA: 2 * time.Minute}, true},
		{"just in time", "acknowledged", due, at(1, 0), []time.Duration{2 * time.Minute}, zhufang.OnSceneOutlook{Due: at(3, 0), BestETA: 2 * time.Minute}, true},
		{"a second late", "acknowledged", due, at(1, 1), []time.Duration{2 * time.Minute}, zhufang.OnSceneOutlook{Due: at(3, 0), BestETA: 2 * time.Minute, Hopeless: true, Late: time.Second}, true},
		{"already on scene", "on_scene", due, at(0, 30), far, zhufang.OnSceneOutlook{}, false},
		{"a case: no on-scene clock", "received", zhufang.LaneClock(zhufang.TriageResult{Lane: zhufang.LaneCase}, due), at(0, 30), far, zhufang.OnSceneOutlook{}, false},
		{"no unit offered", "received", due, at(0, 30), nil, zhufang.OnSceneOutlook{}, false},
	}
	for _, tt := range tests {
		got, ok := zhufang.OnSceneOutlookOf(tt.state, tt.clock, tt.now, tt.etas...)
		if diff := cmp.Diff(tt.want, got); diff != "" || ok != tt.ok {
			t.Errorf("%s: judged %v (-want +got):\n%s", tt.name, ok, diff)
		}
	}
}
