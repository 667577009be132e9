package zhufang_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

var t0 = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func TestDueTimes(t *testing.T) {
	p := zhufang.DefaultZoneProfiles()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		zone zhufang.ZoneKind
		want zhufang.Deadlines
	}{
		{zhufang.ZoneUrbanCore, zhufang.Deadlines{Acknowledge: at(1, 0), OnScene: at(3, 0), Handling: at(5, 0)}},
		{zhufang.ZoneUrban, zhufang.Deadlines{Acknowledge: at(1, 0), OnScene: at(5, 0), Handling: at(8, 0)}},
		{zhufang.ZoneSuburban, zhufang.Deadlines{Acknowledge: at(2, 0), OnScene: at(10, 0), Handling: at(15, 0)}},
		{zhufang.ZoneRural, zhufang.Deadlines{Acknowledge: at(3, 0), OnScene: at(20, 0), Handling: at(30, 0)}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, zhufang.DueTimes(t0, p[tt.zone])); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.zone, diff)
		}
	}
	bad := zhufang.DefaultZoneProfiles()
	bad[zhufang.ZoneRural] = zhufang.ZoneProfile{Acknowledge: time.Minute, OnScene: 30 * time.Second, Handling: time.Hour}
	if err := bad.Validate(); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("on scene before acknowledge accepted: %v", err)
	}
	delete(bad, zhufang.ZoneRural)
	if err := bad.Validate(); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("missing zone accepted: %v", err)
	}
}

func TestCompliance(t *testing.T) {
	due := zhufang.DueTimes(t0, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]) // 1/3/5
	tr := func(to zhufang.IncidentState, m, s int) zhufang.Transition {
		return zhufang.Transition{To: to, At: at(m, s)}
	}
	type res struct{ met, breached bool }
	tests := []struct {
		name  string
		ts    []zhufang.Transition
		ended time.Time
		now   time.Time
		want  [3]res // acknowledge, on scene, handling
	}{
		{"all in time", []zhufang.Transition{tr("dispatched", 0, 20), tr("acknowledged", 0, 50), tr("on_scene", 2, 59), tr("handling", 4, 0)}, time.Time{}, at(10, 0),
			[3]res{{true, false}, {true, false}, {true, false}}},
		{"exactly on the due time is met", []zhufang.Transition{tr("acknowledged", 1, 0), tr("on_scene", 3, 0), tr("handling", 5, 0)}, time.Time{}, at(10, 0),
			[3]res{{true, false}, {true, false}, {true, false}}},
		{"late arrival", []zhufang.Transition{tr("acknowledged", 0, 30), tr("on_scene", 3, 1), tr("handling", 4, 0)}, time.Time{}, at(10, 0),
			[3]res{{true, false}, {false, true}, {true, false}}},
		{"still waiting, not yet due", []zhufang.Transition{tr("dispatched", 0, 10)}, time.Time{}, at(0, 59),
			[3]res{{false, false}, {false, false}, {false, false}}},
		{"still waiting, overdue", []zhufang.Transition{tr("dispatched", 0, 10)}, time.Time{}, at(3, 30),
			[3]res{{false, true}, {false, true}, {false, false}}},
		{"handling without arrival counts as arrival", []zhufang.Transition{tr("acknowledged", 0, 30), tr("handling", 2, 0)}, time.Time{}, at(10, 0),
			[3]res{{true, false}, {true, false}, {true, false}}},
		{"cancelled in time is not clocked", []zhufang.Transition{tr("cancelled", 0, 40)}, at(0, 40), at(10, 0),
			[3]res{{false, false}, {false, false}, {false, false}}},
		{"cancelled after a due time", []zhufang.Transition{tr("cancelled", 2, 0)}, at(2, 0), at(10, 0),
			[3]res{{false, true}, {false, false}, {false, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := zhufang.Compliance(due, zhufang.MilestonesOf(tt.ts), tt.ended, tt.now)
			for i, r := range got {
				if r.Met != tt.want[i].met || r.Breached != tt.want[i].breached {
					t.Errorf("%s: met=%v breached=%v, want %+v", r.Stage, r.Met, r.Breached, tt.want[i])
				}
			}
		})
	}
}

func TestOpenBreachesAndNextDue(t *testing.T) {
	due := zhufang.DueTimes(t0, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])
	tests := []struct {
		state zhufang.IncidentState
		now   time.Time
		want  []zhufang.Stage
		next  time.Time
	}{
		{"received", at(0, 59), nil, at(1, 0)},
		{"received", at(1, 0), nil, at(1, 0)},
		{"received", at(1, 1), []zhufang.Stage{"acknowledge"}, at(3, 0)},
		{"dispatched", at(6, 0), []zhufang.Stage{"acknowledge", "on_scene", "handling"}, time.Time{}},
		{"acknowledged", at(4, 0), []zhufang.Stage{"on_scene"}, at(5, 0)},
		{"on_scene", at(4, 0), nil, at(5, 0)},
		{"handling", at(60, 0), nil, time.Time{}},
		{"cancelled", at(60, 0), nil, time.Time{}},
	}
	for _, tt := range tests {
		var got []zhufang.Stage
		for _, b := range zhufang.OpenBreaches(7, tt.state, due, tt.now) {
			got = append(got, b.Stage)
			if b.IncidentID != 7 || !b.Due.Equal(due.Due(b.Stage)) {
				t.Errorf("breach %+v", b)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s at %s (-want +got):\n%s", tt.state, tt.now.Sub(t0), diff)
		}
		if next := zhufang.NextDue(tt.state, due, tt.now); !next.Equal(tt.next) {
			t.Errorf("%s at %s: next due %s, want %s", tt.state, tt.now.Sub(t0), next, tt.next)
		}
	}
}

func TestParseZoneProfiles(t *testing.T) {
	z, err := zhufang.ParseZoneProfiles("urban=90s/6m/10m, rural=5m/30m/45m")
	if err != nil {
		t.Fatal(err)
	}
	if z[zhufang.ZoneUrban] != (zhufang.ZoneProfile{Acknowledge: 90 * time.Second, OnScene: 6 * time.Minute, Handling: 10 * time.Minute}) ||
		z[zhufang.ZoneUrbanCore] != zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore] {
		t.Fatalf("profiles %+v", z)
	}
	for _, bad := range []string{"downtown=1m/3m/5m", "urban=1m/3m", "urban=1m/3m/soon", "urban=5m/3m/1m", "urban"} {
		if _, err := zhufang.ParseZoneProfiles(bad); zhufang.ErrorCode(err) != zhufang.EINVALID {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// FuzzParseZoneProfiles feeds arbitrary --zones text to the parser: an
// error, or profiles for every zone that satisfy 0 < ack ≤ scene ≤ handling.
func FuzzParseZoneProfiles(f *testing.F) {
	f.Add("urban=1m/5m/8m,rural=3m/20m/30m")
	f.Add("urban_core=2s/4s/6s")
	f.Add("urban=5m/3m/1m")
	f.Add("downtown=1m/2m/3m")
	f.Add("urban=1m/5m")
	f.Add("urban=-1s/0s/1s, ,rural=")
	f.Add("urban_core=9223372036854775807ns/9223372036854775807ns/9223372036854775807ns")
	f.Fuzz(func(t *testing.T, s string) {
		z, err := zhufang.ParseZoneProfiles(s)
		if err != nil {
			if zhufang.ErrorCode(err) != zhufang.EINVALID || zhufang.ErrorMessage(err) == "" {
				t.Fatalf("%q: error %v is not a clear invalid-input error", s, err)
			}
			return
		}
		for _, k := range zhufang.ZoneKinds {
			p, ok := z[k]
			if !ok || p.Acknowledge <= 0 || p.OnScene < p.Acknowledge || p.Handling < p.OnScene {
				t.Fatalf("%q accepted with zone %s = %+v", s, k, p)
			}
		}
	})
}

// TestPendingDue: the deadline an open incident is urgent by is its first
// stage not reached, passed or not, whatever the time.
func TestPendingDue(t *testing.T) {
	due := zhufang.DueTimes(t0, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])
	for _, tt := range []struct {
		state zhufang.IncidentState
		want  time.Time
	}{
		{"received", at(1, 0)},
		{"dispatched", at(1, 0)},
		{"acknowledged", at(3, 0)},
		{"on_scene", at(5, 0)},
		{"handling", time.Time{}},
		{"feedback", time.Time{}},
		{"closed", time.Time{}},
		{"duplicate", time.Time{}},
	} {
		if got := zhufang.PendingDue(tt.state, due); !got.Equal(tt.want) {
			t.Errorf("%s: pending due %s, want %s", tt.state, got, tt.want)
		}
		// Overdue or not, the answer is the same; NextDue agrees while the
		// deadline is still to come.
		if next := zhufang.NextDue(tt.state, due, t0); !next.Equal(tt.want) {
			t.Errorf("%s: NextDue at receipt %s, PendingDue %s", tt.state, next, tt.want)
		}
	}
}
