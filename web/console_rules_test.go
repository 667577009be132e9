package web

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

// scriptClass is what app.js does with a running clock's cell: red from
// data-due, amber from data-amber, green before.
func scriptClass(t *testing.T, a stageAttrs, now time.Time) string {
	t.Helper()
	due, err := time.Parse(time.RFC3339Nano, a.Due)
	if err != nil {
		t.Fatalf("data-due %q: %v", a.Due, err)
	}
	amber, err := time.Parse(time.RFC3339Nano, a.Amber)
	if err != nil {
		t.Fatalf("data-amber %q: %v", a.Amber, err)
	}
	switch {
	case !now.Before(due):
		return "red"
	case !now.Before(amber):
		return "amber"
	}
	return "green"
}

// TestClockAmberIsClassRule checks that the instant a clock's cell turns
// amber in the browser (data-amber) is the server's own rule, for a table
// of times around it: the server's class, the script's reading of the
// cell, and the rule as written (amber when the time left is at most a
// third of the time given) all agree.
func TestClockAmberIsClassRule(t *testing.T) {
	start := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	givens := []time.Duration{time.Minute, 3 * time.Minute, 5 * time.Minute, 20 * time.Minute,
		time.Minute + time.Nanosecond, 100*time.Second + 2*time.Nanosecond, 7}
	for _, given := range givens {
		due := start.Add(given)
		amber := newStageClock(zhufang.StageAcknowledge, start, due, time.Time{}, start).AmberAt()
		nows := []time.Time{start, start.Add(given / 2), amber.Add(-time.Nanosecond), amber, amber.Add(time.Nanosecond),
			amber.Add(time.Millisecond), due.Add(-time.Nanosecond), due, due.Add(time.Second), start.Add(-time.Second)}
		for _, now := range nows {
			c := newStageClock(zhufang.StageAcknowledge, start, due, time.Time{}, now)
			var rule string
			switch left := due.Sub(now); {
			case left <= 0:
				rule = "red"
			case left*3 <= given:
				rule = "amber"
			default:
				rule = "green"
			}
			got := [3]string{c.Class(), c.Attrs.Class, scriptClass(t, c.Attrs, now)}
			if diff := cmp.Diff([3]string{rule, rule, rule}, got); diff != "" {
				t.Errorf("given %v, %v after the start: [Class, cell, script] (-want +got):\n%s", given, now.Sub(start), diff)
			}
		}
	}
	t.Run("a stopped clock has no amber instant", func(t *testing.T) {
		c := newStageClock(zhufang.StageAcknowledge, start, start.Add(time.Minute), start.Add(30*time.Second), start.Add(time.Hour))
		if c.Attrs.Amber != "" || c.Attrs.Class != "met" {
			t.Errorf("stopped clock: %+v, want met with no data-amber", c.Attrs)
		}
	})
}

// specOrder is the board's order as the design states it: the next
// deadline to fall (zhufang.NextDue; none last), then the oldest, then the
// first taken.
func specOrder(now time.Time) func(a, b *zhufang.Incident) int {
	return func(a, b *zhufang.Incident) int {
		na, nb := zhufang.NextDue(a.State, a.Due, now), zhufang.NextDue(b.State, b.Due, now)
		switch {
		case na.IsZero() != nb.IsZero():
			if na.IsZero() {
				return 1
			}
			return -1
		case !na.Equal(nb):
			return na.Compare(nb)
		case !a.ReceivedAt.Equal(b.ReceivedAt):
			return a.ReceivedAt.Compare(b.ReceivedAt)
		}
		return int(a.ID - b.ID)
	}
}

// TestBoardKeyIsBoardOrder checks that the key each row carries
// (data-sort, which the board's script compares as strings) orders the
// board exactly as the rule does, for a table of times as deadlines pass,
// and that the key's validity (data-sort-until) is the next deadline.
func TestBoardKeyIsBoardOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	core, rural := zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore], zhufang.DefaultZoneProfiles()[zhufang.ZoneRural]
	inc := func(id int64, state zhufang.IncidentState, received time.Time, p zhufang.ZoneProfile) *zhufang.Incident {
		return &zhufang.Incident{ID: id, State: state, ReceivedAt: received, Due: zhufang.DueTimes(received, p)}
	}
	incs := []*zhufang.Incident{
		inc(1, zhufang.StateReceived, t0, core),
		inc(2, zhufang.StateAcknowledged, t0.Add(-2*time.Minute), core),
		inc(3, zhufang.StateReceived, t0.Add(-10*time.Minute), rural),
		inc(4, zhufang.StateHandling, t0.Add(-time.Minute), core),
		inc(5, zhufang.StateReceived, t0, core), // ties with 1 but for its ID
		inc(6, zhufang.StateDispatched, t0.Add(30*time.Second), core),
		inc(7, zhufang.StateOnScene, t0.Add(-20*time.Minute), rural),
		inc(8, zhufang.StateReceived, t0.Add(-time.Hour), core), // every deadline passed
		inc(9, zhufang.StateReceived, t0.Add(time.Microsecond), core),
		inc(1<<40, zhufang.StateReceived, t0.Add(-time.Hour), core), // a long ID still sorts as a number
	}
	for _, after := range []time.Duration{0, 30 * time.Second, time.Minute, 61 * time.Second, 3 * time.Minute, 5 * time.Minute, 40 * time.Minute, 2 * time.Hour} {
		now := t0.Add(after)
		want := slices.Clone(incs)
		slices.SortFunc(want, specOrder(now))
		got := slices.Clone(incs)
		slices.SortFunc(got, func(a, b *zhufang.Incident) int {
			return strings.Compare(boardKey(a, zhufang.NextDue(a.State, a.Due, now)), boardKey(b, zhufang.NextDue(b.State, b.Due, now)))
		})
		ids := func(l []*zhufang.Incident) (out []int64) {
			for _, i := range l {
				out = append(out, i.ID)
			}
			return out
		}
		if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
			t.Errorf("%v on: the order of the keys vs the rule (-want +got):\n%s", after, diff)
		}
	}

	s := &Server{Intake: &zhufang.Intake{Categories: &zhufang.Categories{}, Clock: zhufang.FixedClock(t0.Add(90 * time.Second))}, catalogs: mustCatalogs(t)}
	c := &cityRef{}
	for _, i := range incs {
		row := s.rowFrom("zh", c, i, nil)
		next := zhufang.NextDue(i.State, i.Due, t0.Add(90*time.Second))
		if want := [2]string{boardKey(i, next), isoTime(next)}; row.Sort != want[0] || row.SortUntil != want[1] {
			t.Errorf("incident %d: row key %q until %q, want %q until %q", i.ID, row.Sort, row.SortUntil, want[0], want[1])
		}
	}
}

func mustCatalogs(t *testing.T) *catalogs {
	t.Helper()
	c, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
