package dispatch

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhufang"
)

// The benchmarks and the peers share one data set: benchUnits units at
// random over the Yongzhou area (lon 110.9–112.4, lat 24.6–26.9) and
// benchQueries query points over the same area, from fixed seeds.
const (
	benchUnits   = 10_000
	benchQueries = 4096
)

type benchData struct {
	units   []zhufang.Unit // positions set, times not
	queries []zhufang.Point
}

var benchOnce = sync.OnceValue(func() benchData {
	r := rand.New(rand.NewPCG(2026, 431100))
	in := func() zhufang.Point {
		return zhufang.Point{Lon: 110.9 + 1.5*r.Float64(), Lat: 24.6 + 2.3*r.Float64()}
	}
	// A fleet shaped like the city's: mostly police vehicles, a fifth
	// guard teams, some volunteers, a few drones; most units free.
	kinds := []zhufang.UnitKind{
		zhufang.UnitPatrolCar, zhufang.UnitPatrolCar, zhufang.UnitPatrolCar, zhufang.UnitPatrolCar,
		zhufang.UnitMotorcycle, zhufang.UnitMotorcycle, zhufang.UnitFoot,
		zhufang.UnitGuardTeam, zhufang.UnitGuardTeam, zhufang.UnitVolunteerTeam,
	}
	statuses := []zhufang.UnitStatus{
		zhufang.UnitAvailable, zhufang.UnitAvailable, zhufang.UnitAvailable, zhufang.UnitAvailable, zhufang.UnitAvailable,
		zhufang.UnitAvailable, zhufang.UnitReturning, zhufang.UnitBusy, zhufang.UnitOnScene, zhufang.UnitOffDuty,
	}
	var d benchData
	for id := int64(1); id <= benchUnits; id++ {
		kind := kinds[r.IntN(len(kinds))]
		if r.IntN(50) == 0 {
			kind = zhufang.UnitDrone
		}
		var caps []string
		if kind == zhufang.UnitPatrolCar || kind == zhufang.UnitMotorcycle {
			if r.IntN(10) < 6 {
				caps = append(caps, zhufang.CapArmed)
			}
			if r.IntN(5) == 0 {
				caps = append(caps, zhufang.CapMedical)
			}
		}
		u := mkUnit(id, kind, 1+r.Int64N(200), statuses[r.IntN(len(statuses))], caps...)
		u.Position = in()
		d.units = append(d.units, u)
	}
	for range benchQueries {
		d.queries = append(d.queries, in())
	}
	return d
})

// benchIndex returns an index of the benchmark units, every position
// reported at "at".
func benchIndex(tb testing.TB, clock zhufang.Clock, at time.Time) *Index {
	ix := newIndex(tb, IndexOptions{Clock: clock})
	for _, u := range benchOnce().units {
		u.PositionAt = at
		if err := ix.Put(u); err != nil {
			tb.Fatal(err)
		}
	}
	return ix
}

// latencies collects the time of each call, to report percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
}

// BenchmarkIngest applies position reports to an index of 10,000 units,
// each report moving a random unit up to ~50 m, as vehicles between two
// 10 s reports do: most stay in their cell.
func BenchmarkIngest(b *testing.B) {
	benchIngest(b, func(r *rand.Rand, p zhufang.Point) zhufang.Point {
		return zhufang.Point{Lon: p.Lon + (r.Float64()-0.5)*0.001, Lat: p.Lat + (r.Float64()-0.5)*0.001}
	})
}

// BenchmarkIngestJump moves every unit anywhere in the area on each
// report: nearly every report changes the unit's cell, the worst case.
func BenchmarkIngestJump(b *testing.B) {
	benchIngest(b, func(r *rand.Rand, _ zhufang.Point) zhufang.Point {
		return zhufang.Point{Lon: 110.9 + 1.5*r.Float64(), Lat: 24.6 + 2.3*r.Float64()}
	})
}

func benchIngest(b *testing.B, move func(*rand.Rand, zhufang.Point) zhufang.Point) {
	base := time.Now().Add(-time.Minute)
	ix := benchIndex(b, zhufang.SystemClock{}, base)
	r := rand.New(rand.NewPCG(9, 9))
	units := benchOnce().units
	pos := make([]zhufang.Point, len(units))
	for i, u := range units {
		pos[i] = u.Position
	}
	reports := make([]zhufang.PositionReport, 1<<18)
	for i := range reports {
		j := r.IntN(len(units))
		pos[j] = move(r, pos[j])
		reports[i] = zhufang.PositionReport{UnitID: units[j].ID, Point: pos[j]}
	}
	applied := 0
	i := 0
	for b.Loop() {
		rep := reports[i&(len(reports)-1)]
		i++
		rep.At = base.Add(time.Duration(i)) // always newer
		ok, err := ix.Update(rep)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			applied++
		}
	}
	if applied != i {
		b.Fatalf("%d of %d reports applied", applied, i)
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "updates/s")
}

// updater applies position reports to ix at a steady rate from another
// goroutine, as the AVL feed does, until stopped; it catches up every
// millisecond.
type updater struct {
	done    chan struct{}
	stopped chan struct{}
	n       int
	elapsed time.Duration
}

func startUpdater(ix *Index, rate float64) *updater {
	u := &updater{done: make(chan struct{}), stopped: make(chan struct{})}
	units := benchOnce().units
	pos := make([]zhufang.Point, len(units))
	for i, un := range units {
		pos[i] = un.Position
	}
	go func() {
		defer close(u.stopped)
		r := rand.New(rand.NewPCG(5, 5))
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-u.done:
				u.elapsed = time.Since(start)
				return
			case <-tick.C:
			}
			for due := int(time.Since(start).Seconds() * rate); u.n < due; u.n++ {
				j := r.IntN(len(units))
				pos[j] = zhufang.Point{Lon: pos[j].Lon + (r.Float64()-0.5)*0.001, Lat: pos[j].Lat + (r.Float64()-0.5)*0.001}
				ix.Update(zhufang.PositionReport{UnitID: units[j].ID, At: time.Now(), Point: pos[j]})
			}
		}
	}()
	return u
}

// stop stops the updater and returns the rate it achieved.
func (u *updater) stop() float64 {
	close(u.done)
	<-u.stopped
	return float64(u.n) / u.elapsed.Seconds()
}

// BenchmarkRecommend recommends K=5 police units among 10,000 while
// another goroutine applies 50,000 position reports a second. Queries
// vary the point, zone and own station; every fourth needs an armed unit.
// With -cpu=1 the updater shares the one core with the benchmark.
func BenchmarkRecommend(b *testing.B) {
	ix := benchIndex(b, zhufang.SystemClock{}, time.Now())
	d := benchOnce()
	queries := make([]Query, len(d.queries))
	for i, p := range d.queries {
		queries[i] = Query{At: p, Zone: zhufang.ZoneKinds[i%4], StationID: 1 + int64(i*7%200), K: 5}
		if i%4 == 0 {
			queries[i].Needs = []string{zhufang.CapArmed}
		}
	}
	up := startUpdater(ix, 50_000)
	lat := make(latencies, 0, 1<<20)
	i := 0
	for b.Loop() {
		q := queries[i%len(queries)]
		i++
		t := time.Now()
		recs := Recommend(ix, q)
		lat = append(lat, time.Since(t))
		if len(recs) != 5 {
			b.Fatalf("query %d: %d recommendations", i, len(recs))
		}
	}
	rate := up.stop()
	lat.report(b)
	b.ReportMetric(rate, "updates/s")
}

// BenchmarkRecommendParallel is BenchmarkRecommend from every core at
// once (with -cpu=2: two recommenders and the updater on two cores), to
// weigh the index's one read-write lock.
func BenchmarkRecommendParallel(b *testing.B) {
	ix := benchIndex(b, zhufang.SystemClock{}, time.Now())
	d := benchOnce()
	up := startUpdater(ix, 50_000)
	var mu sync.Mutex
	var all latencies
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(seed.Add(1), 0))
		lat := make(latencies, 0, 1<<18)
		for pb.Next() {
			i := r.IntN(len(d.queries))
			q := Query{At: d.queries[i], Zone: zhufang.ZoneKinds[i%4], StationID: 1 + int64(i*7%200), K: 5}
			t := time.Now()
			Recommend(ix, q)
			lat = append(lat, time.Since(t))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	b.ReportMetric(up.stop(), "updates/s")
	all.report(b)
}

// BenchmarkFirstResponder finds the nearest free guard team among the
// same 10,000 units, without an updater.
func BenchmarkFirstResponder(b *testing.B) {
	ix := benchIndex(b, zhufang.SystemClock{}, time.Now())
	d := benchOnce()
	i := 0
	for b.Loop() {
		if _, ok := FirstResponder(ix, d.queries[i%len(d.queries)], zhufang.ZoneUrban); !ok {
			b.Fatal("no guard team")
		}
		i++
	}
}

// BenchmarkNearestIndex is the index's side of the peer comparison: the
// nearest 5 of all 10,000 units to each query point, no filter, answered
// as the peers answer, with IDs and distances.
func BenchmarkNearestIndex(b *testing.B) {
	ix := benchIndex(b, zhufang.FixedClock(t0), t0)
	d := benchOnce()
	lat := make(latencies, 0, 1<<20)
	var got []Near
	i := 0
	for b.Loop() {
		p := d.queries[i%len(d.queries)]
		i++
		t := time.Now()
		got = ix.NearestIDs(got[:0], p, 5, nil) // IDs and metres, as GEOSEARCH answers
		lat = append(lat, time.Since(t))
		if len(got) != 5 {
			b.Fatalf("%d units", len(got))
		}
	}
	lat.report(b)
}

// benchPeer runs one peer's nearest-5 over the shared queries.
func benchPeer(b *testing.B, nearest func(zhufang.Point, int) ([]int64, error)) {
	d := benchOnce()
	lat := make(latencies, 0, 1<<20)
	i := 0
	for b.Loop() {
		p := d.queries[i%len(d.queries)]
		i++
		t := time.Now()
		got, err := nearest(p, 5)
		lat = append(lat, time.Since(t))
		if err != nil || len(got) != 5 {
			b.Fatalf("query %d: %v, %v", i, got, err)
		}
	}
	lat.report(b)
}

func BenchmarkNearestRedis(b *testing.B) {
	benchPeer(b, redisPeer(b))
}

// BenchmarkNearestPostgres runs PostGIS KNN (ORDER BY geog <-> point with a
// GiST index) when the postgis extension can be had, and always the
// plain-SQL bounding box over lon/lat with a btree index.
func BenchmarkNearestPostgres(b *testing.B) {
	pg := postgresPeer(b)
	for _, v := range pg.variants() {
		b.Run(v.name, func(b *testing.B) { benchPeer(b, v.nearest) })
	}
}
