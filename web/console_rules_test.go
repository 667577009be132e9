package web

import (
	"io/fs"
	"math"
	"regexp"
	"slices"
	"strconv"
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

// specOrder is the board's order as the design states it: most urgent
// first, by the deadline of the first stage not reached, passed or not
// (zhufang.PendingDue; none last), then the oldest, then the first taken.
func specOrder(a, b *zhufang.Incident) int {
	na, nb := zhufang.PendingDue(a.State, a.Clock()), zhufang.PendingDue(b.State, b.Clock())
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

// TestBoardKeyIsBoardOrder checks that the key each row carries
// (data-sort, which the board's script compares as strings) orders the
// board exactly as the rule does, whatever the time: an overdue incident
// stays above those whose deadlines are still to come.
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
	want := slices.Clone(incs)
	slices.SortFunc(want, specOrder)
	got := slices.Clone(incs)
	slices.SortFunc(got, func(a, b *zhufang.Incident) int {
		return strings.Compare(zhufang.UrgencyKey(a.State, a.Clock(), a.ReceivedAt, a.ID), zhufang.UrgencyKey(b.State, b.Clock(), b.ReceivedAt, b.ID))
	})
	ids := func(l []*zhufang.Incident) (out []int64) {
		for _, i := range l {
			out = append(out, i.ID)
		}
		return out
	}
	if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
		t.Errorf("the order of the keys vs the rule (-want +got):\n%s", diff)
	}
	// The most overdue first: 8 and 1<<40 (received an hour ago, nothing
	// reached), 3 (rural, its acknowledgement due 7 minutes ago); then, due
	// in a minute, 2's arrival (the older) and 1's and 5's acknowledgement;
	// 9, 6, 7's handling in ten minutes; 4, handling, has none left.
	if diff := cmp.Diff([]int64{8, 1 << 40, 3, 2, 1, 5, 9, 6, 7, 4}, ids(got)); diff != "" {
		t.Errorf("the board's order (-want +got):\n%s", diff)
	}

	for _, now := range []time.Time{t0, t0.Add(90 * time.Second), t0.Add(2 * time.Hour)} {
		s := &Server{Intake: &zhufang.Intake{Categories: &zhufang.Categories{}, Clock: zhufang.FixedClock(now)}, catalogs: mustCatalogs(t)}
		c := &cityRef{}
		for _, i := range incs {
			row := s.rowFrom("zh", c, i, nil)
			if want := zhufang.UrgencyKey(i.State, i.Clock(), i.ReceivedAt, i.ID); row.Sort != want {
				t.Errorf("incident %d at %v: row key %q, want %q", i.ID, now.Sub(t0), row.Sort, want)
			}
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

// TestPageScriptsExist checks that every script a page names is served.
func TestPageScriptsExist(t *testing.T) {
	for page, scripts := range pageScripts {
		for _, name := range append([]string{"app.js"}, scripts...) {
			if _, err := fs.Stat(staticFiles, "static/"+name); err != nil {
				t.Errorf("page %s loads %s: %v", page, name, err)
			}
		}
	}
}

// TestScriptsKeepNoRules checks that the console's scripts do not
// re-derive what the server decides: colours, order, states, projection.
func TestScriptsKeepNoRules(t *testing.T) {
	forbidden := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"the amber third", regexp.MustCompile(`\*\s*3\s*<=`)},
		{"the clock's start", regexp.MustCompile(`dataset\.start|data-start`)},
		{"a deadline derived from the clocks", regexp.MustCompile(`nextDue`)},
		{"the projection", regexp.MustCompile(`dataset\.proj|data-proj`)},
		{"the projection's cosine", regexp.MustCompile(`Math\.cos`)},
		{"incident states", regexp.MustCompile(`"(closed|cancelled|duplicate|redirected)"`)},
		{"records as JSON", regexp.MustCompile(`/api/v1/`)},
		{"SVG built from pieces", regexp.MustCompile(`createElementNS`)},
	}
	files, err := fs.Glob(staticFiles, "static/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(staticFiles, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fb := range forbidden {
			if m := fb.re.FindString(string(b)); m != "" {
				t.Errorf("%s holds %s (%q)", f, fb.what, m)
			}
		}
	}
}

// TestPostureNumbers checks the legend's numbers, written as the browser's
// Intl.NumberFormat wrote them for zh-CN and en.
func TestPostureNumbers(t *testing.T) {
	counts := []struct {
		n    float64
		want string
	}{
		{0, "0"}, {math.NaN(), "0"}, {-1, "0"}, {0.011, "0.011"}, {0.0000123, "0.000012"}, {0.5, "0.5"}, {0.0999, "0.1"},
		{0.996, "1"}, {1, "1"}, {3.26, "3.3"}, {3, "3"}, {9.96, "10"}, {12.5, "13"}, {12345.6, "12,346"},
	}
	for _, tt := range counts {
		if got := incidentCount(tt.n); got != tt.want {
			t.Errorf("incidentCount(%g) = %q, want %q", tt.n, got, tt.want)
		}
	}
	shares := []struct {
		part, whole float64
		want        string
	}{
		{0, 0, "—"}, {1, 0, "—"}, {0, 4, "0%"}, {1, 4, "25%"}, {0.375, 1, "38%"}, {1, 1, "100%"}, {0.004, 1, "0%"},
	}
	for _, tt := range shares {
		if got := percent(tt.part, tt.whole); got != tt.want {
			t.Errorf("percent(%g, %g) = %q, want %q", tt.part, tt.whole, got, tt.want)
		}
	}
}

// TestPostureLayerGeometry checks where the posture layer puts things: a
// cell is its square of ground around its centre, a post and a move end
// where the map puts positions (XY1).
func TestPostureLayerGeometry(t *testing.T) {
	c := &cityRef{proj: newProjection(111.5, 26.3, 111.7, 26.5, mapWidth), bureaus: map[int64]*zhufang.Bureau{2: {ID: 2, Name: "冷水滩分局"}}}
	cellAt, unitAt, postAt := pt(111.6, 26.4), pt(111.55, 26.35), pt(111.62, 26.41)
	p := &zhufang.Posture{Hour: 9, HistoryDays: 28, Bureaus: []zhufang.BureauPosture{{BureauID: 2, Expected: 2,
		Units:     []zhufang.PostureUnit{{UnitID: 11, CallSign: "冷巡01", At: unitAt}},
		Posts:     []zhufang.PosturePost{{UnitID: 11, At: postAt, Meters: 1500}, {UnitID: 12, At: postAt}},
		Uncovered: []zhufang.PostureCell{{At: cellAt, Expected: 1.5, Side: 800}, {At: cellAt, Expected: 0.5}},
	}}}
	l := postureLayerOf(c, p, func(key string, args ...any) string { return key })
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%q is not a number", s)
		}
		return f
	}
	cx, cy := c.proj.XY(cellAt)
	for i, side := range []float64{800, 400} { // no side: a town's 400 m
		cell := l.Cells[i]
		x, y, w, h := num(cell.X), num(cell.Y), num(cell.W), num(cell.H)
		wantH := side / metresPerDegree * c.proj.KY
		if math.Abs(x+w/2-cx) > 0.01 || math.Abs(y+h/2-cy) > 0.01 || math.Abs(h-wantH) > 0.01 || math.Abs(w/h-1) > 0.01 {
			t.Errorf("cell of %g m: x %g y %g w %g h %g, want a square %.2f high centred on (%.2f, %.2f)", side, x, y, w, h, wantH, cx, cy)
		}
	}
	if got := [2]string{l.Cells[0].Opacity, l.Cells[1].Opacity}; got != [2]string{"0.65", "0.38"} {
		t.Errorf("cell opacities %v, want the busiest deepest", got)
	}
	ux, uy := c.proj.XY1(unitAt)
	px, py := c.proj.XY1(postAt)
	f1 := func(v float64) string { return fixed(v, 1) }
	if diff := cmp.Diff([]postureMove{{f1(ux), f1(uy), f1(px), f1(py)}}, l.Moves); diff != "" {
		t.Errorf("moves (-want +got):\n%s", diff)
	}
	wantPosts := []posturePost{{UnitID: 11, X: f1(px), Y: f1(py), Title: "map.posture.post_title"},
		{UnitID: 12, X: f1(px), Y: f1(py), Title: "map.posture.post_title"}}
	if diff := cmp.Diff(wantPosts, l.Posts); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
}
