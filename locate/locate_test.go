package locate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
)

// city is the synthetic 3,300-area test city over Yongzhou's box.
func city() []Area { return tiling(50, 67, cityBox, 7) }

// defaultConfig is what New uses for areas.
func defaultConfig(areas []Area) config {
	return config{cells: len(areas) * cellsPerArea, tolerance: 1.0 / (1 << 10)}
}

// probes returns test points of every kind that is hard for the index:
// uniform ones over and around the bounds, points on the index's own cell
// lines and on the bounds, points on and just off area edges and vertices,
// and positions that are not on the planet at all.
func probes(ix *Index, areas []Area, n int, rnd *rand.Rand) []zhufang.Point {
	b, g := ix.Bounds(), &ix.g
	wLon, wLat := b.Max.Lon-b.Min.Lon, b.Max.Lat-b.Min.Lat
	uniform := func() zhufang.Point {
		return zhufang.Point{Lon: b.Min.Lon + wLon*(1.1*rnd.Float64()-0.05), Lat: b.Min.Lat + wLat*(1.1*rnd.Float64()-0.05)}
	}
	var pts []zhufang.Point
	for range n * 7 / 10 {
		pts = append(pts, uniform())
	}
	for range n / 10 { // on cell lines and cell corners of the index's grid
		p := uniform()
		i, j := rnd.IntN(g.nx+1), rnd.IntN(g.ny+1)
		lon, lat := g.minLon+float64(i)*g.w, g.minLat+float64(j)*g.h
		switch rnd.IntN(3) {
		case 0:
			p.Lon = lon
		case 1:
			p.Lat = lat
		default:
			p = zhufang.Point{Lon: lon, Lat: lat}
		}
		pts = append(pts, p)
	}
	for range n / 20 { // on the bounds
		p := uniform()
		p.Lon = []float64{b.Min.Lon, b.Max.Lon, p.Lon}[rnd.IntN(3)]
		p.Lat = []float64{b.Min.Lat, b.Max.Lat, p.Lat}[rnd.IntN(3)]
		pts = append(pts, p)
	}
	for range n * 3 / 20 { // on, and a hair off, area edges and vertices
		r := areas[rnd.IntN(len(areas))].Area[0][0]
		k := rnd.IntN(len(r) - 1)
		a, c := r[k], r[k+1]
		t := []float64{0, 0.5, rnd.Float64()}[rnd.IntN(3)]
		off := []float64{0, 2e-9, 1e-8, 1e-7, 1e-5}[rnd.IntN(5)] * float64(1-2*rnd.IntN(2))
		dx, dy := c.Lon-a.Lon, c.Lat-a.Lat
		l := math.Hypot(dx, dy)
		pts = append(pts, zhufang.Point{Lon: a.Lon + t*dx - off*dy/l, Lat: a.Lat + t*dy + off*dx/l})
	}
	return append(pts, unplanetary()...)
}

// unplanetary returns positions that are not on the planet or not numbers.
func unplanetary() []zhufang.Point {
	nan, inf := math.NaN(), math.Inf(1)
	return []zhufang.Point{
		{Lon: nan, Lat: 25}, {Lon: 111.5, Lat: nan}, {Lon: nan, Lat: nan},
		{Lon: inf, Lat: 25}, {Lon: -inf, Lat: 25}, {Lon: 111.5, Lat: inf}, {Lon: 111.5, Lat: -inf},
		{Lon: 200, Lat: 25}, {Lon: 111.5, Lat: -95}, {Lon: -180, Lat: -90}, {Lon: 180, Lat: 90},
		{Lon: math.MaxFloat64, Lat: math.MaxFloat64}, {Lon: -math.MaxFloat64, Lat: 25},
		{Lon: math.SmallestNonzeroFloat64, Lat: 0}, {},
	}
}

func TestLocateMatchesBruteForce(t *testing.T) {
	areas := city()
	br := newBrute(areas)
	tests := []struct {
		name   string
		cfg    config
		points int
	}{
		{"default", defaultConfig(areas), 240_000},
		{"coarse grid", config{cells: 1 << 10, tolerance: 1.0 / (1 << 10)}, 40_000},
		{"fine grid", config{cells: maxCells, tolerance: 1.0 / (1 << 10)}, 40_000},
		// A tolerance this large moves most reference points off-centre,
		// or finds none, which exercises both fallbacks.
		{"off-centre references", config{cells: len(areas) * 16, tolerance: 0.12}, 40_000},
		{"whole-area tests", config{cells: len(areas) * 16, tolerance: 0.45}, 40_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := build(areas, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			pts := probes(ix, areas, tt.points, rnd)
			var excused, mixedHits, found, bad int
			for _, p := range pts {
				got, ok := ix.Locate(p)
				want := br.locate(p)
				if ok {
					found++
				}
				if cell, in := ix.cellOf(p); in && cell <= mixed {
					mixedHits++
				}
				if want >= 0 && ok && got == areas[want].Jurisdiction || want < 0 && !ok {
					continue
				}
				if br.nearEdge(p, edgeTolerance) {
					excused++
					continue
				}
				if bad++; bad <= 10 {
					t.Errorf("Locate(%v) = %q, %v; brute force says area %d", p, got.Community.Code, ok, want)
				}
			}
			t.Logf("%d points: %d found, %d in mixed cells, %d on edges; cands %d, brute %d",
				len(pts), found, mixedHits, excused, len(ix.cands), countBrute(ix))
			if bad > 0 {
				t.Fatalf("%d of %d points disagree with brute force", bad, len(pts))
			}
			// The check means little if most points are excused or few
			// reach the mixed cells or the uncovered ground.
			if excused > len(pts)/20 || mixedHits < len(pts)/20 || found > len(pts)*99/100 {
				t.Errorf("weak sample: %d excused, %d in mixed cells, %d found of %d", excused, mixedHits, found, len(pts))
			}
		})
	}
}

// cellOf returns the cell value for p and whether p is within the bounds.
func (ix *Index) cellOf(p zhufang.Point) (int32, bool) {
	if !ix.bounds.Contains(p) {
		return 0, false
	}
	return ix.cells[ix.g.row(p.Lat)*ix.g.nx+ix.g.col(p.Lon)], true
}

func countBrute(ix *Index) int {
	n := 0
	for _, c := range ix.cands {
		if c.flags&candBrute != 0 {
			n++
		}
	}
	return n
}

func TestUnplanetaryPositions(t *testing.T) {
	ix, err := New(city())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range unplanetary() {
		if j, ok := ix.Locate(p); ok {
			t.Errorf("Locate(%v) = %+v, true; want false", p, j)
		}
	}
}

func TestBruteIsAScan(t *testing.T) {
	areas := city()
	br := newBrute(areas)
	ix, err := New(areas)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probes(ix, areas, 2000, rand.New(rand.NewPCG(3, 4))) {
		if got, want := br.locate(p), br.scan(p); got != want {
			t.Errorf("bucketed brute force says %d for %v, a plain scan %d", got, p, want)
		}
	}
}

func TestInteriorPoints(t *testing.T) {
	areas := city()
	ix, err := New(areas)
	if err != nil {
		t.Fatal(err)
	}
	for n, a := range areas {
		for k, poly := range a.Area {
			p, ok := interior(a.Area, zhufang.MultiPolygon{{poly[0]}}.Bounds())
			if !ok || !a.Area.Contains(p) {
				t.Fatalf("area %d polygon %d: no interior point found (%v)", n, k, p)
			}
			got, ok := ix.Locate(p)
			if !ok {
				t.Errorf("area %d polygon %d: Locate(%v) found nothing", n, k, p)
				continue
			}
			if diff := cmp.Diff(a.Jurisdiction, got); diff != "" {
				t.Errorf("area %d polygon %d: Locate(%v) (-want +got):\n%s", n, k, p, diff)
			}
		}
	}
}

// interior returns the middle of the widest inside run of m along the middle
// latitude of box, within box: a point well inside m.
func interior(m zhufang.MultiPolygon, box zhufang.Rect) (zhufang.Point, bool) {
	y := (box.Min.Lat + box.Max.Lat) / 2
	var xs []float64
	for _, poly := range m {
		for _, r := range poly {
			for i := 0; i+1 < len(r); i++ {
				a, b := r[i], r[i+1]
				if (a.Lat > y) != (b.Lat > y) {
					xs = append(xs, a.Lon+(y-a.Lat)*(b.Lon-a.Lon)/(b.Lat-a.Lat))
				}
			}
		}
	}
	slices.Sort(xs)
	best, at := 0.0, zhufang.Point{}
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > best && xs[i] >= box.Min.Lon && xs[i+1] <= box.Max.Lon {
			best, at = w, zhufang.Point{Lon: (xs[i] + xs[i+1]) / 2, Lat: y}
		}
	}
	return at, best > 0
}

func TestNewRejects(t *testing.T) {
	square := zhufang.Ring{{Lon: 111, Lat: 25}, {Lon: 111.1, Lat: 25}, {Lon: 111.1, Lat: 25.1}, {Lon: 111, Lat: 25.1}, {Lon: 111, Lat: 25}}
	valid := Area{Area: zhufang.MultiPolygon{{square}}}
	tests := []struct {
		name  string
		areas []Area
		want  string // in the message
	}{
		{"nil list", nil, "at least one area"},
		{"empty list", []Area{}, "at least one area"},
		{"not closed", []Area{valid, {Area: zhufang.MultiPolygon{{square[:4]}}}}, "area 1 (): polygon 0: ring 0: polygon ring does not close"},
		{"self-intersecting", []Area{{Area: zhufang.MultiPolygon{{{
			{Lon: 111, Lat: 25}, {Lon: 111.2, Lat: 25.1}, {Lon: 111.2, Lat: 25}, {Lon: 111, Lat: 25.2}, {Lon: 111, Lat: 25},
		}}}}}, "crosses itself"},
		{"no polygons", []Area{{Area: zhufang.MultiPolygon{}}}, "area 0"},
		{"no rings", []Area{{Area: zhufang.MultiPolygon{{}}}}, "area 0"},
		{"too few points", []Area{{Area: zhufang.MultiPolygon{{square[:3]}}}}, "area 0"},
		{"NaN vertex", []Area{{Area: zhufang.MultiPolygon{{{
			{Lon: 111, Lat: 25}, {Lon: math.NaN(), Lat: 25}, {Lon: 111.1, Lat: 25.1}, {Lon: 111, Lat: 25},
		}}}}}, "finite"},
		{"off the planet", []Area{{Area: zhufang.MultiPolygon{{{
			{Lon: 179, Lat: 25}, {Lon: 181, Lat: 25}, {Lon: 180, Lat: 26}, {Lon: 179, Lat: 25},
		}}}}}, "off the planet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := New(tt.areas)
			if code := zhufang.ErrorCode(err); code != zhufang.EINVALID || ix != nil {
				t.Fatalf("New = %v, %v; want nil and an %s error", ix, err, zhufang.EINVALID)
			}
			if msg := zhufang.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not mention %q", msg, tt.want)
			}
		})
	}
}

func TestOverlapFirstWins(t *testing.T) {
	sq := func(lon, lat, side float64) zhufang.MultiPolygon {
		return zhufang.MultiPolygon{{{{Lon: lon, Lat: lat}, {Lon: lon + side, Lat: lat},
			{Lon: lon + side, Lat: lat + side}, {Lon: lon, Lat: lat + side}, {Lon: lon, Lat: lat}}}}
	}
	ref := func(code string) zhufang.Jurisdiction {
		return zhufang.Jurisdiction{Community: zhufang.AreaRef{Code: code}}
	}
	big, small := Area{ref("big"), sq(111, 25, 1)}, Area{ref("small"), sq(111.3, 25.3, 0.2)}
	other := Area{ref("other"), sq(111.9, 25.9, 0.3)}
	tests := []struct {
		name  string
		areas []Area
		at    zhufang.Point
		want  string
	}{
		{"big first, in both", []Area{big, small, other}, zhufang.Point{Lon: 111.4, Lat: 25.4}, "big"},
		{"small first, in both", []Area{small, big, other}, zhufang.Point{Lon: 111.4, Lat: 25.4}, "small"},
		{"small first, in big only", []Area{small, big, other}, zhufang.Point{Lon: 111.8, Lat: 25.4}, "big"},
		{"other first, in both", []Area{other, small, big}, zhufang.Point{Lon: 111.95, Lat: 25.95}, "other"},
		{"other last, in both", []Area{small, big, other}, zhufang.Point{Lon: 111.95, Lat: 25.95}, "big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := New(tt.areas)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := ix.Locate(tt.at); !ok || got.Community.Code != tt.want {
				t.Errorf("Locate(%v) = %q, %v; want %q", tt.at, got.Community.Code, ok, tt.want)
			}
			// Points near the inner edges land in mixed cells, where the
			// order of candidates decides.
			br := newBrute(tt.areas)
			for _, p := range probes(ix, tt.areas, 20_000, rand.New(rand.NewPCG(13, 14))) {
				if !br.agrees(ix, p) {
					got, ok := ix.Locate(p)
					t.Fatalf("Locate(%v) = %q, %v; brute force says area %d", p, got.Community.Code, ok, br.locate(p))
				}
			}
		})
	}
}

func TestLenAndBounds(t *testing.T) {
	areas := city()
	ix, err := New(areas)
	if err != nil {
		t.Fatal(err)
	}
	want := zhufang.EmptyRect()
	for _, a := range areas {
		want = want.Union(a.Area.Bounds())
	}
	if ix.Len() != len(areas) {
		t.Errorf("Len() = %d, want %d", ix.Len(), len(areas))
	}
	if diff := cmp.Diff(want, ix.Bounds()); diff != "" {
		t.Errorf("Bounds() (-want +got):\n%s", diff)
	}
}

// TestIndexOwnsItsData checks that scribbling over the input after New
// changes no answer.
func TestIndexOwnsItsData(t *testing.T) {
	areas := city()
	ix, err := build(areas, config{cells: len(areas) * 16, tolerance: 0.45}) // many whole-area tests
	if err != nil {
		t.Fatal(err)
	}
	pts := probes(ix, areas, 20_000, rand.New(rand.NewPCG(5, 6)))
	before := make([]zhufang.Jurisdiction, len(pts))
	for i, p := range pts {
		before[i], _ = ix.Locate(p)
	}
	for _, a := range areas {
		for _, poly := range a.Area {
			for _, r := range poly {
				for k := range r {
					r[k] = zhufang.Point{}
				}
			}
		}
		a.Jurisdiction.Community.Code = "scribbled"
	}
	for i, p := range pts {
		if got, _ := ix.Locate(p); got != before[i] {
			t.Fatalf("Locate(%v) changed from %q to %q", p, before[i].Community.Code, got.Community.Code)
		}
	}
}

func TestLocateDoesNotAllocate(t *testing.T) {
	areas := city()
	ix, err := New(areas)
	if err != nil {
		t.Fatal(err)
	}
	pts := probes(ix, areas, 1000, rand.New(rand.NewPCG(7, 8)))
	n := 0
	allocs := testing.AllocsPerRun(10, func() {
		for _, p := range pts {
			if _, ok := ix.Locate(p); ok {
				n++
			}
		}
	})
	if allocs != 0 {
		t.Errorf("Locate allocates %v times per %d calls", allocs, len(pts))
	}
}

func TestMemoryAndBuildTime(t *testing.T) {
	areas := city()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	ix, err := New(areas)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d areas, %d×%d cells, %d mixed candidates, %d edges: %.1f MB held, built in %v",
		ix.Len(), ix.g.nx, ix.g.ny, len(ix.cands), len(ix.segs), float64(held)/1e6, took)
	if held > 100e6 {
		t.Errorf("index holds %.1f MB, want under 100 MB", float64(held)/1e6)
	}
	runtime.KeepAlive(ix)
	runtime.KeepAlive(areas) // freeing the input would hide part of the index's size
}

func FuzzLocate(f *testing.F) {
	box := zhufang.Rect{Min: zhufang.Point{Lon: 111.5, Lat: 25.5}, Max: zhufang.Point{Lon: 111.62, Lat: 25.6}}
	areas := tiling(8, 7, box, 11)
	ix, err := build(areas, config{cells: len(areas) * 16, tolerance: 1.0 / (1 << 10)})
	if err != nil {
		f.Fatal(err)
	}
	br := newBrute(areas)
	for _, p := range append(unplanetary(), box.Min, box.Max, zhufang.Point{Lon: 111.56, Lat: 25.55}) {
		f.Add(p.Lon, p.Lat)
	}
	// The grid's own lines, where rounding decides the cell.
	f.Add(ix.g.minLon+3*ix.g.w, ix.g.minLat+5*ix.g.h)
	r := areas[10].Area[0][0]
	f.Add(r[0].Lon, r[0].Lat)
	f.Fuzz(func(t *testing.T, lon, lat float64) {
		p := zhufang.Point{Lon: lon, Lat: lat}
		if !br.agrees(ix, p) {
			got, ok := ix.Locate(p)
			t.Errorf("Locate(%v) = %q, %v; brute force says area %d", p, got.Community.Code, ok, br.locate(p))
		}
		if p.Validate() != nil {
			if _, ok := ix.Locate(p); ok {
				t.Errorf("Locate(%v) found an area for an invalid position", p)
			}
		}
	})
}

// benchPoints returns n points uniformly inside the bounds of ix.
func benchPoints(ix *Index, n int) []zhufang.Point {
	rnd := rand.New(rand.NewPCG(9, 10))
	b := ix.Bounds()
	pts := make([]zhufang.Point, n)
	for i := range pts {
		pts[i] = zhufang.Point{
			Lon: b.Min.Lon + rnd.Float64()*(b.Max.Lon-b.Min.Lon),
			Lat: b.Min.Lat + rnd.Float64()*(b.Max.Lat-b.Min.Lat),
		}
	}
	return pts
}

// nearEdges returns n points each within 1e-4° (about 10 m) of an area
// edge, so that nearly all of them land in mixed cells: the slow path.
func nearEdges(areas []Area, n int) []zhufang.Point {
	rnd := rand.New(rand.NewPCG(11, 12))
	pts := make([]zhufang.Point, n)
	for i := range pts {
		r := areas[rnd.IntN(len(areas))].Area[0][0]
		k := rnd.IntN(len(r) - 1)
		a, b, t := r[k], r[k+1], rnd.Float64()
		pts[i] = zhufang.Point{
			Lon: a.Lon + t*(b.Lon-a.Lon) + 1e-4*(2*rnd.Float64()-1),
			Lat: a.Lat + t*(b.Lat-a.Lat) + 1e-4*(2*rnd.Float64()-1),
		}
	}
	return pts
}

func BenchmarkLocate(b *testing.B) {
	areas := city()
	ix, err := New(areas)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("uniform", func(b *testing.B) { benchLocate(b, ix, benchPoints(ix, 1<<16)) })
	b.Run("near-edges", func(b *testing.B) { benchLocate(b, ix, nearEdges(areas, 1<<16)) })
}

// BenchmarkLocateGrid measures lookups against the grid size, which is how
// cellsPerArea was chosen.
func BenchmarkLocateGrid(b *testing.B) {
	areas := city()
	for _, per := range []int{64, 256, 1024} {
		ix, err := build(areas, config{cells: len(areas) * per, tolerance: 1.0 / (1 << 10)})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("cells-per-area=%d", per), func(b *testing.B) { benchLocate(b, ix, benchPoints(ix, 1<<16)) })
	}
}

func benchLocate(b *testing.B, ix *Index, pts []zhufang.Point) {
	found, i := 0, 0
	for b.Loop() {
		if _, ok := ix.Locate(pts[i&(len(pts)-1)]); ok {
			found++
		}
		i++
	}
	if found == 0 {
		b.Fatal("no point found an area")
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns, "ns/op")
	b.ReportMetric(1e9/ns, "lookups/s")
}

func BenchmarkBuild(b *testing.B) {
	areas := city()
	for b.Loop() {
		if _, err := New(areas); err != nil {
			b.Fatal(err)
		}
	}
}
