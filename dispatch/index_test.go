package dispatch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/zhufangtest"
)

// fill puts n random units into ix and m: random kinds, statuses and
// capabilities; positions mostly fresh, some stale, some home positions
// with no time, some none; mostly in box, some outside it.
func fill(t *testing.T, r *rand.Rand, ix *Index, m *model, n int, box zhufang.Rect) {
	t.Helper()
	caps := []string{zhufang.CapArmed, zhufang.CapMedical, zhufang.CapTraffic}
	for id := int64(1); id <= int64(n); id++ {
		var have []string
		for _, c := range caps {
			if r.IntN(3) == 0 {
				have = append(have, c)
			}
		}
		u := mkUnit(id, zhufang.UnitKinds[r.IntN(len(zhufang.UnitKinds))], 1+r.Int64N(5),
			zhufang.UnitStatuses[r.IntN(len(zhufang.UnitStatuses))], have...)
		switch x := r.Float64(); {
		case x < 0.7:
			u.Position, u.PositionAt = randomPoint(r, box), t0.Add(-time.Duration(r.IntN(100))*time.Second)
		case x < 0.8:
			u.Position, u.PositionAt = randomPoint(r, box), t0.Add(-time.Duration(121+r.IntN(1000))*time.Second)
		case x < 0.9:
			u.Position = randomPoint(r, box)
		}
		if err := ix.Put(u); err != nil {
			t.Fatal(err)
		}
		m.put(u)
	}
}

func TestNearestAgainstBruteForce(t *testing.T) {
	filters := []struct {
		name string
		keep func(*UnitView) bool
	}{
		{"all", nil},
		{"recommendable", func(u *UnitView) bool { return u.Status.Recommendable() }},
		{"armed and medical", func(u *UnitView) bool { return u.Has([]string{zhufang.CapArmed, zhufang.CapMedical}) }},
		{"guard teams", func(u *UnitView) bool { return u.Kind == zhufang.UnitGuardTeam }},
		{"none", func(*UnitView) bool { return false }},
	}
	for _, tc := range []struct {
		name       string
		units      int
		cellMeters float64
		bounds     zhufang.Rect // of the grid
		box        zhufang.Rect // where most units and queries are
	}{
		{"sparse 500 m cells", 2000, 500, yongzhou, yongzhou},
		{"dense 1 km cells", 3000, 1000, yongzhou, zhufang.Rect{Min: zhufang.Point{Lon: 111.5, Lat: 26.2}, Max: zhufang.Point{Lon: 111.7, Lat: 26.4}}},
		{"few units", 12, 500, yongzhou, yongzhou},
		{"grid far from the units", 1000, 500, yongzhou, zhufang.Rect{Min: zhufang.Point{Lon: 100, Lat: 30}, Max: zhufang.Point{Lon: 101, Lat: 31}}},
		{"near the antimeridian", 500, 5000, zhufang.Rect{Min: zhufang.Point{Lon: 175, Lat: -20}, Max: zhufang.Point{Lon: 179.9, Lat: -10}},
			zhufang.Rect{Min: zhufang.Point{Lon: 175, Lat: -20}, Max: zhufang.Point{Lon: 179.9, Lat: -10}}},
		{"the whole planet, around the antimeridian", 1000, 100_000, zhufang.Rect{Min: zhufang.Point{Lon: -180, Lat: -80}, Max: zhufang.Point{Lon: 180, Lat: 80}},
			zhufang.Rect{Min: zhufang.Point{Lon: 170, Lat: -30}, Max: zhufang.Point{Lon: 180, Lat: 30}}},
		{"high latitude", 1000, 2000, zhufang.Rect{Min: zhufang.Point{Lon: 20, Lat: 70}, Max: zhufang.Point{Lon: 40, Lat: 84}},
			zhufang.Rect{Min: zhufang.Point{Lon: 20, Lat: 70}, Max: zhufang.Point{Lon: 40, Lat: 84}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.units)))
			ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0), Bounds: tc.bounds, CellMeters: tc.cellMeters})
			m := newModel()
			fill(t, r, ix, m, tc.units, tc.box)
			for q := range 400 {
				p := randomPoint(r, tc.box)
				k := 1 + r.IntN(20)
				f := filters[q%len(filters)]
				got := ix.Nearest(p, k, f.keep)
				all := m.nearest(p, t0, DefaultStaleAfter, f.keep)
				checkNearest(t, fmt.Sprintf("query %d at %v, k=%d, %s", q, p, k, f.name), m, got, all, k)
			}
		})
	}
}

func TestNearestEdges(t *testing.T) {
	ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0)})
	u := mkUnit(1, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)
	u.Position, u.PositionAt = zhufang.Point{Lon: 111.6, Lat: 26.4}, t0
	if err := ix.Put(u); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    zhufang.Point
		k    int
		want int
	}{
		{"k zero", zhufang.Point{Lon: 111.6, Lat: 26.4}, 0, 0},
		{"k negative", zhufang.Point{Lon: 111.6, Lat: 26.4}, -1, 0},
		{"NaN point", zhufang.Point{Lon: math.NaN(), Lat: 26.4}, 5, 0},
		{"off the planet", zhufang.Point{Lon: 111.6, Lat: 91}, 5, 0},
		{"k beyond the units", zhufang.Point{Lon: 111.6, Lat: 26.4}, 5, 1},
		{"the other side of the planet", zhufang.Point{Lon: -68.4, Lat: -26.4}, 1, 1},
		{"the north pole", zhufang.Point{Lon: 0, Lat: 90}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ix.Nearest(tc.p, tc.k, nil); len(got) != tc.want {
				t.Fatalf("got %d units, want %d", len(got), tc.want)
			}
		})
	}
}

func TestUpdateNewestWins(t *testing.T) {
	clock := zhufangtest.NewClock(t0)
	ix := newIndex(t, IndexOptions{Clock: clock})
	if err := ix.Put(mkUnit(1, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)); err != nil {
		t.Fatal(err)
	}
	a := zhufang.Point{Lon: 111.60, Lat: 26.40}
	b := zhufang.Point{Lon: 111.61, Lat: 26.41}
	c := zhufang.Point{Lon: 111.62, Lat: 26.42}
	steps := []struct {
		name    string
		report  zhufang.PositionReport
		applied bool
		code    string
		at      zhufang.Point // where the unit is after the step
	}{
		{"first report", zhufang.PositionReport{UnitID: 1, At: t0.Add(-10 * time.Second), Point: a}, true, "", a},
		{"same time, another place", zhufang.PositionReport{UnitID: 1, At: t0.Add(-10 * time.Second), Point: b}, false, "", a},
		{"older, out of order", zhufang.PositionReport{UnitID: 1, At: t0.Add(-20 * time.Second), Point: b}, false, "", a},
		{"newer by a nanosecond", zhufang.PositionReport{UnitID: 1, At: t0.Add(-10*time.Second + 1), Point: b}, true, "", b},
		{"late report of an earlier time", zhufang.PositionReport{UnitID: 1, At: t0.Add(-5 * time.Second).Add(-6 * time.Second), Point: c}, false, "", b},
		{"newest", zhufang.PositionReport{UnitID: 1, At: t0, Point: c}, true, "", c},
		{"unknown unit", zhufang.PositionReport{UnitID: 2, At: t0, Point: a}, false, zhufang.ENOTFOUND, c},
		{"no unit", zhufang.PositionReport{At: t0.Add(time.Second), Point: a}, false, zhufang.EINVALID, c},
		{"NaN longitude", zhufang.PositionReport{UnitID: 1, At: t0.Add(time.Second), Point: zhufang.Point{Lon: math.NaN(), Lat: 26}}, false, zhufang.EINVALID, c},
		{"off the planet", zhufang.PositionReport{UnitID: 1, At: t0.Add(time.Second), Point: zhufang.Point{Lon: 111, Lat: 90.5}}, false, zhufang.EINVALID, c},
		{"no time", zhufang.PositionReport{UnitID: 1, Point: a}, false, zhufang.EINVALID, c},
		{"0,0: no fix", zhufang.PositionReport{UnitID: 1, At: t0.Add(time.Second)}, false, zhufang.EINVALID, c},
		{"in the future", zhufang.PositionReport{UnitID: 1, At: t0.Add(2 * time.Minute), Point: a}, false, zhufang.EINVALID, c},
		{"eight days old", zhufang.PositionReport{UnitID: 1, At: t0.Add(-8 * 24 * time.Hour), Point: a}, false, zhufang.EINVALID, c},
	}
	for _, s := range steps {
		applied, err := ix.Update(s.report)
		if applied != s.applied || zhufang.ErrorCode(err) != s.code {
			t.Fatalf("%s: got (%v, %v), want (%v, %q)", s.name, applied, err, s.applied, s.code)
		}
		u, err := ix.Get(1)
		if err != nil {
			t.Fatal(err)
		}
		if u.Position != s.at {
			t.Fatalf("%s: unit at %v, want %v", s.name, u.Position, s.at)
		}
		if got := ix.Nearest(s.at, 1, nil); len(got) != 1 || got[0].Position != s.at || got[0].Meters != 0 {
			t.Fatalf("%s: Nearest gives %+v, want the unit at %v", s.name, got, s.at)
		}
	}

	// Put with an older position does not move the unit back; with a newer
	// one it does; a home position never replaces a reported one.
	u := mkUnit(1, zhufang.UnitMotorcycle, 2, zhufang.UnitBusy)
	u.Position, u.PositionAt = a, t0.Add(-time.Minute)
	if err := ix.Put(u); err != nil {
		t.Fatal(err)
	}
	u.PositionAt = time.Time{}
	if err := ix.Put(u); err != nil {
		t.Fatal(err)
	}
	got, _ := ix.Get(1)
	if got.Position != c || got.Kind != zhufang.UnitMotorcycle || got.Status != zhufang.UnitBusy || got.StationID != 2 {
		t.Fatalf("after Put of older data: %+v, want the motorcycle still at %v", got, c)
	}
	clock.Advance(time.Second) // a position dated ahead of the clock counts as now (TestReportDatedAhead)
	u.PositionAt = t0.Add(time.Second)
	if err := ix.Put(u); err != nil {
		t.Fatal(err)
	}
	if got, _ := ix.Get(1); got.Position != a {
		t.Fatalf("after Put of newer data: at %v, want %v", got.Position, a)
	}
}

// TestReportDatedAhead: a report dated ahead of the clock, within the
// minute allowed, does not hold the unit's position against the genuine
// reports that follow it.
func TestReportDatedAhead(t *testing.T) {
	clock := zhufangtest.NewClock(t0)
	ix := newIndex(t, IndexOptions{Clock: clock})
	if err := ix.Put(mkUnit(1, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)); err != nil {
		t.Fatal(err)
	}
	ahead := zhufang.Point{Lon: 111.60, Lat: 26.40}
	genuine := zhufang.Point{Lon: 111.61, Lat: 26.41}
	if ok, err := ix.Update(zhufang.PositionReport{UnitID: 1, At: t0.Add(50 * time.Second), Point: ahead}); !ok || err != nil {
		t.Fatalf("the report dated 50 s ahead: (%v, %v), want it applied", ok, err)
	}
	if u, _ := ix.Get(1); !u.PositionAt.Equal(t0) {
		t.Fatalf("the report dated ahead stands at %s, want its receipt %s", u.PositionAt, t0)
	}
	clock.Advance(time.Second)
	if ok, err := ix.Update(zhufang.PositionReport{UnitID: 1, At: t0.Add(time.Second), Point: genuine}); !ok || err != nil {
		t.Fatalf("the genuine report a second later: (%v, %v), want it applied", ok, err)
	}
	if u, _ := ix.Get(1); u.Position != genuine {
		t.Fatalf("unit at %v, want the genuine %v", u.Position, genuine)
	}
	// Nor does a unit put with a position dated ahead (a snapshot).
	u := mkUnit(2, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)
	u.Position, u.PositionAt = ahead, clock.Now().Add(50*time.Second)
	if err := ix.Put(u); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if ok, err := ix.Update(zhufang.PositionReport{UnitID: 2, At: clock.Now(), Point: genuine}); !ok || err != nil {
		t.Fatalf("unit 2's genuine report after a put dated ahead: (%v, %v), want it applied", ok, err)
	}
}

func TestStale(t *testing.T) {
	clock := zhufangtest.NewClock(t0)
	ix := newIndex(t, IndexOptions{Clock: clock, StaleAfter: 2 * time.Minute})
	p := zhufang.Point{Lon: 111.6, Lat: 26.4}
	if err := ix.Put(mkUnit(1, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)); err != nil {
		t.Fatal(err)
	}
	home := mkUnit(2, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)
	home.Position = zhufang.Point{Lon: 111.601, Lat: 26.4} // at home, never reported
	if err := ix.Put(home); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Update(zhufang.PositionReport{UnitID: 1, At: t0, Point: p}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		now   time.Time
		stale bool
	}{
		{"just reported", t0, false},
		{"exactly the stale age", t0.Add(2 * time.Minute), false},
		{"a nanosecond past", t0.Add(2*time.Minute + 1), true},
		{"an hour later", t0.Add(time.Hour), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(tc.now)
			u, err := ix.Get(1)
			if err != nil {
				t.Fatal(err)
			}
			if u.Stale != tc.stale || u.Position != p {
				t.Fatalf("Get: stale %v at %v, want stale %v at %v", u.Stale, u.Position, tc.stale, p)
			}
			if h, _ := ix.Get(2); !h.Stale || h.Position != home.Position {
				t.Fatalf("home position: stale %v at %v, want stale at %v", h.Stale, h.Position, home.Position)
			}
			wantN := 1
			if tc.stale {
				wantN = 0
			}
			if got := ix.Nearest(p, 5, nil); len(got) != wantN {
				t.Fatalf("Nearest found %v, want %d unit", ids(got), wantN)
			}
			if got := Recommend(ix, Query{At: p, Zone: zhufang.ZoneUrban}); len(got) != wantN {
				t.Fatalf("Recommend gave %d units, want %d", len(got), wantN)
			}
			if s := ix.Snapshot(); len(s) != 2 || s[0].Stale != tc.stale || !s[1].Stale {
				t.Fatalf("Snapshot: %+v", s)
			}
		})
	}
	// A fresh report revives the unit, even from its home position.
	clock.Set(t0.Add(time.Hour))
	for _, id := range []int64{1, 2} {
		if ok, err := ix.Update(zhufang.PositionReport{UnitID: id, At: t0.Add(time.Hour), Point: p}); !ok || err != nil {
			t.Fatalf("revive %d: %v %v", id, ok, err)
		}
	}
	if got := ix.Nearest(p, 5, nil); len(got) != 2 {
		t.Fatalf("after fresh reports Nearest found %v, want both", ids(got))
	}
}

func TestSetStatusRemoveGet(t *testing.T) {
	ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0)})
	p := zhufang.Point{Lon: 111.6, Lat: 26.4}
	for id := int64(1); id <= 3; id++ {
		u := mkUnit(id, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable, zhufang.CapArmed)
		u.Position, u.PositionAt = zhufang.Point{Lon: p.Lon + float64(id)*0.001, Lat: p.Lat}, t0
		if err := ix.Put(u); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		id   int64
		s    zhufang.UnitStatus
		code string
	}{
		{"known", 1, zhufang.UnitBusy, ""},
		{"unknown unit", 9, zhufang.UnitBusy, zhufang.ENOTFOUND},
		{"unknown status", 1, "asleep", zhufang.EINVALID},
	} {
		if err := ix.SetStatus(tc.id, tc.s); zhufang.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.code)
		}
	}
	if got := Recommend(ix, Query{At: p}); len(got) != 2 || got[0].UnitID != 2 {
		t.Fatalf("Recommend with unit 1 busy: %+v", got)
	}
	if err := ix.Remove(2); err != nil {
		t.Fatal(err)
	}
	if err := ix.Remove(2); zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := ix.Get(2); zhufang.ErrorCode(err) != zhufang.ENOTFOUND {
		t.Fatalf("Get after Remove: %v", err)
	}
	if got := ids(ix.Nearest(p, 5, nil)); !slices.Equal(got, []int64{1, 3}) {
		t.Fatalf("Nearest after Remove: %v", got)
	}
	// The caller's capabilities slice is the caller's: changing it, or the
	// one Get returns, changes nothing in the index.
	u, _ := ix.Get(3)
	u.Capabilities[0] = "changed"
	if again, _ := ix.Get(3); again.Capabilities[0] != zhufang.CapArmed {
		t.Fatalf("Get shares its capabilities with the index")
	}
	if err := ix.Put(zhufang.Unit{ID: 4}); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Fatalf("Put of an invalid unit: %v", err)
	}
	future := mkUnit(5, zhufang.UnitFoot, 1, zhufang.UnitAvailable)
	future.Position, future.PositionAt = p, t0.Add(time.Hour)
	if err := ix.Put(future); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Fatalf("Put of a position in the future: %v", err)
	}
}

// TestRemoveAgainstBruteForce removes and re-adds units at random, checking
// that the cells and the records stay in step.
func TestRemoveAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	ix := newIndex(t, IndexOptions{Clock: zhufang.FixedClock(t0), CellMeters: 2000})
	m := newModel()
	fill(t, r, ix, m, 500, yongzhou)
	for step := range 2000 {
		id := 1 + r.Int64N(500)
		switch r.IntN(3) {
		case 0:
			if _, ok := m.units[id]; ok {
				if err := ix.Remove(id); err != nil {
					t.Fatal(err)
				}
				delete(m.units, id)
				delete(m.at, id)
			}
		case 1:
			u := mkUnit(id, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)
			u.Position, u.PositionAt = randomPoint(r, yongzhou), t0.Add(-time.Duration(r.IntN(60))*time.Second)
			if err := ix.Put(u); err != nil {
				t.Fatal(err)
			}
			m.put(u)
		case 2:
			rep := zhufang.PositionReport{UnitID: id, At: t0.Add(-time.Duration(r.IntN(60)) * time.Second), Point: randomPoint(r, yongzhou)}
			applied, err := ix.Update(rep)
			_, known := m.units[id]
			if known != (err == nil) || applied != m.update(rep) {
				t.Fatalf("step %d: Update(%+v) = %v, %v", step, rep, applied, err)
			}
		}
		if step%50 == 0 {
			p := randomPoint(r, yongzhou)
			checkNearest(t, fmt.Sprintf("step %d", step), m, ix.Nearest(p, 10, nil), m.nearest(p, t0, DefaultStaleAfter, nil), 10)
			if ix.Len() != len(m.units) {
				t.Fatalf("step %d: %d units, want %d", step, ix.Len(), len(m.units))
			}
		}
	}
}

func TestNewIndexOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  IndexOptions
		code string
	}{
		{"defaults", IndexOptions{}, ""},
		{"negative stale age", IndexOptions{StaleAfter: -time.Second}, zhufang.EINVALID},
		{"inverted bounds", IndexOptions{Bounds: zhufang.Rect{Min: zhufang.Point{Lon: 112, Lat: 26}, Max: zhufang.Point{Lon: 111, Lat: 27}}}, zhufang.EINVALID},
		{"bounds at the pole", IndexOptions{Bounds: zhufang.Rect{Min: zhufang.Point{Lon: 0, Lat: 80}, Max: zhufang.Point{Lon: 10, Lat: 90}}}, zhufang.EINVALID},
		{"NaN bounds", IndexOptions{Bounds: zhufang.Rect{Min: zhufang.Point{Lon: math.NaN(), Lat: 26}, Max: zhufang.Point{Lon: 112, Lat: 27}}}, zhufang.EINVALID},
		{"tiny cells", IndexOptions{CellMeters: 1}, zhufang.EINVALID},
		{"the whole planet in 10 m cells", IndexOptions{CellMeters: 10, Bounds: zhufang.Rect{Min: zhufang.Point{Lon: -180, Lat: -85}, Max: zhufang.Point{Lon: 180, Lat: 85}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := NewIndex(tc.opt)
			if zhufang.ErrorCode(err) != tc.code {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
			if err == nil && ix.grid.nx*ix.grid.ny > maxCells {
				t.Fatalf("%d cells", ix.grid.nx*ix.grid.ny)
			}
		})
	}
}

// TestConcurrent runs writers and readers together; under -race it checks
// the locking, and every answer must still be in order and fresh.
func TestConcurrent(t *testing.T) {
	ix := newIndex(t, IndexOptions{})
	now := time.Now()
	const n = 2000
	r := rand.New(rand.NewPCG(3, 3))
	for id := int64(1); id <= n; id++ {
		u := mkUnit(id, zhufang.UnitKinds[id%5], 1+id%7, zhufang.UnitAvailable, zhufang.CapArmed)
		u.Position, u.PositionAt = randomPoint(r, yongzhou), now
		if err := ix.Put(u); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for time.Now().Before(deadline) {
				id := 1 + r.Int64N(n)
				switch r.IntN(10) {
				case 0:
					ix.SetStatus(id, zhufang.UnitStatuses[r.IntN(len(zhufang.UnitStatuses))])
				case 1:
					u := mkUnit(id, zhufang.UnitKinds[id%5], 1+id%7, zhufang.UnitAvailable, zhufang.CapArmed)
					u.Position, u.PositionAt = randomPoint(r, yongzhou), time.Now()
					ix.Put(u)
				case 2:
					ix.Remove(id)
				default:
					ix.Update(zhufang.PositionReport{UnitID: id, At: time.Now(), Point: randomPoint(r, yongzhou)})
				}
			}
		})
	}
	for g := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for time.Now().Before(deadline) {
				p := randomPoint(r, yongzhou)
				cs := ix.Nearest(p, 8, func(u *UnitView) bool { return u.Has([]string{zhufang.CapArmed}) })
				for i := range cs {
					if cs[i].Stale || (i > 0 && cs[i].Meters < cs[i-1].Meters) {
						t.Errorf("Nearest out of order or stale: %+v", cs)
						return
					}
				}
				recs := Recommend(ix, Query{At: p, StationID: 3, Needs: []string{zhufang.CapArmed}})
				for i := 1; i < len(recs); i++ {
					if recs[i].ETA < recs[i-1].ETA {
						t.Errorf("Recommend out of order: %+v", recs)
						return
					}
				}
				FirstResponder(ix, p, zhufang.ZoneUrban)
				ix.Get(1 + r.Int64N(n))
				if g == 0 {
					ix.Snapshot()
				}
			}
		})
	}
	wg.Wait()
}

// TestNearestIDsAgrees: NearestIDs answers what Nearest answers, appended
// to what the caller passed in.
func TestNearestIDsAgrees(t *testing.T) {
	ix := benchIndex(t, zhufang.FixedClock(t0), t0)
	keep := func(u *UnitView) bool { return u.Kind == zhufang.UnitPatrolCar }
	var dst []Near
	for i, p := range benchOnce().queries[:500] {
		k := 1 + i%7
		f := keep
		if i%2 == 0 {
			f = nil
		}
		want := ix.Nearest(p, k, f)
		dst = ix.NearestIDs(dst[:0], p, k, f)
		if len(dst) != len(want) {
			t.Fatalf("query %d: %d answers, want %d", i, len(dst), len(want))
		}
		for j := range want {
			if dst[j].ID != want[j].ID || dst[j].Meters != want[j].Meters {
				t.Fatalf("query %d answer %d: %+v, want %d at %.1f m", i, j, dst[j], want[j].ID, want[j].Meters)
			}
		}
	}
	if got := ix.NearestIDs([]Near{{ID: 9}}, benchOnce().queries[0], 2, nil); len(got) != 3 || got[0].ID != 9 {
		t.Fatalf("did not append: %+v", got)
	}
}
