package dispatch

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"zhufang"
)

// opaque hides the pace of an estimator, so that Recommend must ask it
// about every unit.
type opaque struct{ StraightLine }

func (o opaque) ETA(from, to zhufang.Point, kind zhufang.UnitKind, zone zhufang.ZoneKind) time.Duration {
	return o.StraightLine.ETA(from, to, kind, zone)
}

var _ LinearEstimator = StraightLine{}

// bruteRecommend answers Recommend by scanning every unit of the model.
func bruteRecommend(m *model, q Query, now time.Time) []zhufang.Recommendation {
	est := DefaultEstimator()
	k := cmp.Or(q.K, DefaultK)
	type c struct {
		r   zhufang.Recommendation
		own bool
	}
	var all []c
	for id, u := range m.units {
		kinds := q.Kinds
		if len(kinds) == 0 {
			kinds = []zhufang.UnitKind{zhufang.UnitPatrolCar, zhufang.UnitMotorcycle, zhufang.UnitFoot, zhufang.UnitGuardTeam, zhufang.UnitVolunteerTeam}
		}
		if !m.fresh(id, now, DefaultStaleAfter) || !u.Status.Recommendable() || u.Platform != cmp.Or(q.Platform, zhufang.PlatformPolice) ||
			!slices.Contains(kinds, u.Kind) || !u.Has(q.Needs) {
			continue
		}
		meters := q.At.DistanceMeters(u.Position)
		eta := time.Duration(math.Round(meters*est.Pace(u.Kind, q.Zone))) * time.Second
		all = append(all, c{zhufang.Recommendation{UnitID: id, CallSign: u.CallSign, Kind: u.Kind, ETA: eta, Meters: meters},
			q.StationID != 0 && u.StationID == q.StationID})
	}
	slices.SortFunc(all, func(a, b c) int {
		if a.r.ETA != b.r.ETA {
			return cmp.Compare(a.r.ETA, b.r.ETA)
		}
		if a.own != b.own {
			if a.own {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.r.UnitID, b.r.UnitID)
	})
	out := []zhufang.Recommendation{}
	for _, x := range all[:min(k, len(all))] {
		out = append(out, x.r)
	}
	return out
}

func TestRecommendAgainstBruteForce(t *testing.T) {
	t.Run("mixed fleet", func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0)})
		m := newModel()
		fill(t, r, ix, m, 3000, yongzhou)
		needs := [][]string{nil, {zhufang.CapArmed}, {zhufang.CapMedical, zhufang.CapTraffic}, {"k9"}}
		for i := range 300 {
			q := Query{
				At:        randomPoint(r, yongzhou),
				Zone:      zhufang.ZoneKinds[r.IntN(len(zhufang.ZoneKinds))],
				StationID: r.Int64N(6),
				K:         r.IntN(8),
				Needs:     needs[r.IntN(len(needs))],
			}
			switch i % 5 {
			case 3:
				q.Platform = zhufang.PlatformMass
			case 4:
				q.Kinds = []zhufang.UnitKind{zhufang.UnitDrone, zhufang.UnitFoot}
			}
			checkRecommend(t, fmt.Sprintf("query %d", i), ix, m, q)
		}
	})
	// Crowded: cars and motorcycles packed so tight that many share an ETA
	// to the second, in cells so small that the search stops within a few
	// metres of the k-th unit. A search that stops a second too early, or
	// skips a unit that could still tie, loses a unit here.
	t.Run("crowded ties", func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0), CellMeters: 10})
		m := newModel()
		box := zhufang.Rect{Min: zhufang.Point{Lon: 111.60, Lat: 26.40}, Max: zhufang.Point{Lon: 111.62, Lat: 26.42}}
		for id := int64(1); id <= 3000; id++ {
			u := mkUnit(id, []zhufang.UnitKind{zhufang.UnitPatrolCar, zhufang.UnitMotorcycle}[id%2], 1+r.Int64N(3), zhufang.UnitAvailable)
			u.Position, u.PositionAt = randomPoint(r, box), t0
			u.Position.Lon, u.Position.Lat = math.Round(u.Position.Lon*1e4)/1e4, math.Round(u.Position.Lat*1e4)/1e4 // on a lattice: exact ties
			if err := ix.Put(u); err != nil {
				t.Fatal(err)
			}
			m.put(u)
		}
		for i := range 300 {
			p := randomPoint(r, box)
			p.Lon, p.Lat = math.Round(p.Lon*1e4)/1e4, math.Round(p.Lat*1e4)/1e4
			q := Query{At: p, Zone: zhufang.ZoneKinds[i%4], StationID: 1 + r.Int64N(3), K: 1 + r.IntN(30)}
			checkRecommend(t, fmt.Sprintf("query %d", i), ix, m, q)
		}
	})
}

// checkRecommend compares Recommend, with the default estimator and with
// one whose pace it cannot see, against the brute-force answer.
func checkRecommend(t *testing.T, what string, ix *Index, m *model, q Query) {
	t.Helper()
	want := bruteRecommend(m, q, t0)
	for _, est := range []Estimator{nil, opaque{DefaultEstimator()}} {
		q.Estimator = est
		got := Recommend(ix, q)
		for j := range got {
			got[j].Reason = ""
		}
		if d := gocmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6), cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("%s %+v, estimator %T (-want +got):\n%s", what, q, est, d)
		}
	}
}

// place puts a fresh unit at p.
func place(t *testing.T, ix *Index, u zhufang.Unit, p zhufang.Point) {
	t.Helper()
	u.Position, u.PositionAt = p, t0
	if err := ix.Put(u); err != nil {
		t.Fatal(err)
	}
}

func TestRecommendTiesAndReasons(t *testing.T) {
	at := zhufang.Point{Lon: 111.6, Lat: 26.4}
	east := func(m float64) zhufang.Point {
		return zhufang.Point{Lon: at.Lon + m/(111195*math.Cos(at.Lat*math.Pi/180)), Lat: at.Lat}
	}
	west := func(m float64) zhufang.Point {
		return zhufang.Point{Lon: at.Lon - m/(111195*math.Cos(at.Lat*math.Pi/180)), Lat: at.Lat}
	}
	ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0)})
	// Units 1 (station 2) and 2 (station 1) are the same distance away.
	place(t, ix, mkUnit(1, zhufang.UnitPatrolCar, 2, zhufang.UnitAvailable), east(1000))
	place(t, ix, mkUnit(2, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable), west(1000))
	// Unit 3 (station 3) is 1.5 m farther: its ETA still rounds to the
	// same second as 1 and 2 (168.75 s and 169.00 s → 169 s).
	place(t, ix, mkUnit(3, zhufang.UnitPatrolCar, 3, zhufang.UnitAvailable), east(1001.5))
	// Unit 4, returning from a job, is a second farther by car.
	place(t, ix, mkUnit(4, zhufang.UnitPatrolCar, 1, zhufang.UnitReturning), west(1010))
	// Unit 5 is busy, unit 6 is a drone, unit 7 a guard team: never
	// recommended for police dispatch by default, however near.
	place(t, ix, mkUnit(5, zhufang.UnitPatrolCar, 1, zhufang.UnitBusy), at)
	place(t, ix, mkUnit(6, zhufang.UnitDrone, 1, zhufang.UnitAvailable), at)
	place(t, ix, mkUnit(7, zhufang.UnitGuardTeam, 1, zhufang.UnitAvailable), at)

	type rec struct {
		ID  int64
		ETA time.Duration
	}
	for _, tc := range []struct {
		name    string
		station int64
		want    []rec
	}{
		{"own station 1 wins the tie", 1, []rec{{2, 169 * time.Second}, {1, 169 * time.Second}, {3, 169 * time.Second}, {4, 170 * time.Second}}},
		{"own station 2 wins the tie", 2, []rec{{1, 169 * time.Second}, {2, 169 * time.Second}, {3, 169 * time.Second}, {4, 170 * time.Second}}},
		{"own station 3 wins the tie though farther", 3, []rec{{3, 169 * time.Second}, {1, 169 * time.Second}, {2, 169 * time.Second}, {4, 170 * time.Second}}},
		{"no own unit: by ID", 9, []rec{{1, 169 * time.Second}, {2, 169 * time.Second}, {3, 169 * time.Second}, {4, 170 * time.Second}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []rec
			for _, r := range Recommend(ix, Query{At: at, Zone: zhufang.ZoneUrbanCore, StationID: tc.station}) {
				got = append(got, rec{r.UnitID, r.ETA})
			}
			if d := gocmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}

	got := Recommend(ix, Query{At: at, Zone: zhufang.ZoneUrbanCore, StationID: 1, K: 4})
	reasons := make([]string, len(got))
	for i, r := range got {
		reasons[i] = r.Reason
	}
	want := []string{
		"最近可用巡逻车，本所，1.0公里约2分49秒，与外所单位同时到达，本所优先 / nearest available patrol car, own station, 1.0 km, about 2 min 49 s, same ETA as another station's unit: own station first",
		"第2选可用巡逻车，外所，1.0公里约2分49秒 / 2nd choice, available patrol car, another station, 1.0 km, about 2 min 49 s",
		"第3选可用巡逻车，外所，1.0公里约2分49秒 / 3rd choice, available patrol car, another station, 1.0 km, about 2 min 49 s",
		"第4选巡逻车（处警返程中），本所，1.0公里约2分50秒 / 4th choice, patrol car returning from another job, own station, 1.0 km, about 2 min 50 s",
	}
	if d := gocmp.Diff(want, reasons); d != "" {
		t.Errorf("reasons (-want +got):\n%s", d)
	}

	// Asking for drones or for the mass platform finds them.
	if got := Recommend(ix, Query{At: at, Kinds: []zhufang.UnitKind{zhufang.UnitDrone}}); len(got) != 1 || got[0].UnitID != 6 || got[0].ETA != 0 {
		t.Errorf("drones: %+v", got)
	}
	if got := Recommend(ix, Query{At: at, Platform: zhufang.PlatformMass}); len(got) != 1 || got[0].UnitID != 7 {
		t.Errorf("mass platform: %+v", got)
	}
	if got := Recommend(ix, Query{At: zhufang.Point{Lon: math.Inf(1)}}); len(got) != 0 {
		t.Errorf("a point off the planet: %+v", got)
	}
}

func TestFirstResponder(t *testing.T) {
	at := zhufang.Point{Lon: 111.6, Lat: 26.4}
	north := func(m float64) zhufang.Point { return zhufang.Point{Lon: at.Lon, Lat: at.Lat + m/111195} }
	ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0)})
	if _, ok := FirstResponder(ix, at, zhufang.ZoneUrban); ok {
		t.Fatal("a first responder from an empty index")
	}
	place(t, ix, mkUnit(1, zhufang.UnitVolunteerTeam, 1, zhufang.UnitAvailable), north(50)) // not a guard team
	place(t, ix, mkUnit(2, zhufang.UnitGuardTeam, 1, zhufang.UnitBusy), north(100))         // busy
	place(t, ix, mkUnit(3, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable), north(150))    // police
	place(t, ix, mkUnit(4, zhufang.UnitGuardTeam, 2, zhufang.UnitAvailable), north(600))
	place(t, ix, mkUnit(5, zhufang.UnitGuardTeam, 1, zhufang.UnitAvailable), north(900))
	stale := mkUnit(6, zhufang.UnitGuardTeam, 1, zhufang.UnitAvailable)
	stale.Position, stale.PositionAt = north(10), t0.Add(-time.Hour)
	if err := ix.Put(stale); err != nil {
		t.Fatal(err)
	}
	got, ok := FirstResponder(ix, at, zhufang.ZoneUrban)
	want := zhufang.Recommendation{UnitID: 4, CallSign: "U4", Kind: zhufang.UnitGuardTeam, ETA: 540 * time.Second, Meters: 600,
		Reason: "警保联动先期处置：最近可用保安队，600米约9分钟 / police–security linkage, first responder: nearest available guard team, 600 m, about 9 min"}
	if d := gocmp.Diff(want, got, cmpopts.EquateApprox(0, 0.01)); !ok || d != "" {
		t.Errorf("ok %v (-want +got):\n%s", ok, d)
	}
	// Returning counts, and says so.
	if err := ix.SetStatus(2, zhufang.UnitReturning); err != nil {
		t.Fatal(err)
	}
	if got, _ := FirstResponder(ix, at, zhufang.ZoneUrban); got.UnitID != 2 || !strings.Contains(got.Reason, "返程") || !strings.Contains(got.Reason, "returning") {
		t.Errorf("returning guard team: %+v", got)
	}
}
