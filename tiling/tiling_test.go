package tiling_test

import (
	"encoding/json"
	"io/fs"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/data"
	"zhufang/tiling"
)

const countiesFile = "yongzhou/431100_full.json"

// loadCounty returns the boundary of the Yongzhou county with the given
// adcode.
func loadCounty(tb testing.TB, adcode int) zhufang.MultiPolygon {
	tb.Helper()
	b, err := fs.ReadFile(data.FS, countiesFile)
	if err != nil {
		tb.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct{ Adcode int }
			Geometry   struct{ Coordinates zhufang.MultiPolygon }
		}
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		tb.Fatal(err)
	}
	for _, f := range fc.Features {
		if f.Properties.Adcode == adcode {
			return f.Geometry.Coordinates
		}
	}
	tb.Fatalf("no county %d in %s", adcode, countiesFile)
	return nil
}

// sitesInside returns n random points inside area.
func sitesInside(area zhufang.MultiPolygon, n int, rng *rand.Rand) []zhufang.Point {
	b := area.Bounds()
	var sites []zhufang.Point
	for len(sites) < n {
		p := zhufang.Point{
			Lon: b.Min.Lon + rng.Float64()*(b.Max.Lon-b.Min.Lon),
			Lat: b.Min.Lat + rng.Float64()*(b.Max.Lat-b.Min.Lat),
		}
		if area.Contains(p) {
			sites = append(sites, p)
		}
	}
	return sites
}

// planeArea returns the area of m in degrees² (outer rings minus holes).
func planeArea(m zhufang.MultiPolygon) float64 {
	var a float64
	for _, p := range m {
		for i, r := range p {
			s := math.Abs(signedArea(r))
			if i > 0 {
				s = -s
			}
			a += s
		}
	}
	return a
}

// signedArea returns the shoelace area of r. Coordinates are taken relative
// to the first position: at lon 111, lat 26 the plain formula cancels away
// about 1e-9 of a small cell's area.
func signedArea(r zhufang.Ring) float64 {
	var a float64
	o := r[0]
	for i := 0; i+1 < len(r); i++ {
		a += (r[i].Lon-o.Lon)*(r[i+1].Lat-o.Lat) - (r[i+1].Lon-o.Lon)*(r[i].Lat-o.Lat)
	}
	return a / 2
}

// edgeDistance returns the distance in degrees from p to the nearest edge
// of m.
func edgeDistance(m zhufang.MultiPolygon, p zhufang.Point) float64 {
	d := math.Inf(1)
	for _, poly := range m {
		for _, r := range poly {
			for i := 0; i+1 < len(r); i++ {
				d = math.Min(d, segmentDistance(p, r[i], r[i+1]))
			}
		}
	}
	return d
}

func segmentDistance(p, a, b zhufang.Point) float64 {
	dx, dy := b.Lon-a.Lon, b.Lat-a.Lat
	s := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		s = math.Max(0, math.Min(1, ((p.Lon-a.Lon)*dx+(p.Lat-a.Lat)*dy)/l))
	}
	return math.Hypot(p.Lon-a.Lon-s*dx, p.Lat-a.Lat-s*dy)
}

// nearest returns the index of the site nearest p under Cells' projection,
// and the gap in distance to the runner-up.
func nearest(area zhufang.MultiPolygon, sites []zhufang.Point, p zhufang.Point) (int, float64) {
	b := area.Bounds()
	kx := math.Cos((b.Min.Lat + b.Max.Lat) / 2 * math.Pi / 180)
	best, d1, d2 := -1, math.Inf(1), math.Inf(1)
	for i, s := range sites {
		d := math.Hypot((s.Lon-p.Lon)*kx, s.Lat-p.Lat)
		switch {
		case d < d1:
			best, d1, d2 = i, d, d1
		case d < d2 && s != sites[best]:
			d2 = d
		}
	}
	return best, d2 - d1
}

// checkTiling asserts every promise of Cells: valid counter-clockwise cells,
// areas that add up, each of points random test points in exactly one cell,
// that of its nearest site, and each site inside the area inside its cell.
func checkTiling(t testing.TB, area zhufang.MultiPolygon, sites []zhufang.Point, cells []zhufang.MultiPolygon, points int, rng *rand.Rand) {
	t.Helper()
	if len(cells) != len(sites) {
		t.Fatalf("got %d cells for %d sites", len(cells), len(sites))
	}
	if len(sites) == 0 {
		return
	}
	var sum float64
	for i, c := range cells {
		if c == nil {
			continue
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("cell %d: %v", i, err)
		}
		for j, p := range c {
			if len(p) != 1 || signedArea(p[0]) <= 0 {
				t.Fatalf("cell %d polygon %d: want one counter-clockwise ring, got %d rings of area %g", i, j, len(p), signedArea(p[0]))
			}
			for _, q := range p[0] {
				if math.IsNaN(q.Lon) || math.IsNaN(q.Lat) {
					t.Fatalf("cell %d has a NaN position", i)
				}
			}
		}
		sum += planeArea(c)
	}
	if want := planeArea(area); math.Abs(sum-want) > 1e-9*want {
		t.Fatalf("cells cover %.15g deg², area is %.15g deg² (relative error %g)", sum, want, (sum-want)/want)
	}
	const near = 1e-9
	b := area.Bounds()
	for range points {
		p := zhufang.Point{
			Lon: b.Min.Lon + rng.Float64()*(b.Max.Lon-b.Min.Lon),
			Lat: b.Min.Lat + rng.Float64()*(b.Max.Lat-b.Min.Lat),
		}
		if !area.Contains(p) || edgeDistance(area, p) < near {
			continue
		}
		want, gap := nearest(area, sites, p)
		if gap < near {
			continue
		}
		var in []int
		onEdge := false
		for i, c := range cells {
			if c == nil {
				continue
			}
			onEdge = onEdge || edgeDistance(c, p) < near
			if c.Contains(p) {
				in = append(in, i)
			}
		}
		if onEdge {
			continue
		}
		if len(in) != 1 || in[0] != want {
			t.Fatalf("point %v: in cells %v, want only cell %d (nearest site %v)", p, in, want, sites[want])
		}
	}
	for i, s := range sites {
		if !area.Contains(s) || edgeDistance(area, s) < near {
			continue
		}
		// A repeated site leaves the cell to the first. A site within a
		// decimetre of another has a cell of a few hundredths of a m², which
		// zhufang's Validate, taking ring areas from absolute coordinates,
		// may see as having no area; Cells then drops it.
		if first, gap := nearest(area, sites, s); first != i || gap < 1e-6 {
			continue
		}
		if cells[i] == nil || (!cells[i].Contains(s) && edgeDistance(cells[i], s) >= near) {
			t.Fatalf("site %d %v is not inside its own cell", i, s)
		}
	}
}

func TestCellsCounties(t *testing.T) {
	for _, adcode := range []int{431102, 431126, 431128, 431121} {
		t.Run(strconv.Itoa(adcode), func(t *testing.T) {
			area := loadCounty(t, adcode)
			rng := rand.New(rand.NewPCG(uint64(adcode), 1))
			sites := sitesInside(area, 300, rng)
			cells, err := tiling.Cells(area, sites)
			if err != nil {
				t.Fatal(err)
			}
			checkTiling(t, area, sites, cells, 3000, rng)
		})
	}
}

// TestCellsNested splits a county among stations and each station's cell
// among communities, as the demo city does.
func TestCellsNested(t *testing.T) {
	county := loadCounty(t, 431128)
	rng := rand.New(rand.NewPCG(7, 7))
	seats := sitesInside(county, 12, rng)
	stations, err := tiling.Cells(county, seats)
	if err != nil {
		t.Fatal(err)
	}
	checkTiling(t, county, seats, stations, 1000, rng)
	for i, st := range stations {
		if st == nil {
			t.Fatalf("station %d has no cell", i)
		}
		sites := sitesInside(st, 15, rng)
		communities, err := tiling.Cells(st, sites)
		if err != nil {
			t.Fatalf("station %d: %v", i, err)
		}
		checkTiling(t, st, sites, communities, 300, rng)
	}
}

// rect returns the axis-aligned rectangle as a one-ring polygon.
func rect(x0, y0, x1, y1 float64) zhufang.Polygon {
	return zhufang.Polygon{ringOf(x0, y0, x1, y0, x1, y1, x0, y1)}
}

// ringOf returns a closed ring through the given lon, lat pairs.
func ringOf(c ...float64) zhufang.Ring {
	var r zhufang.Ring
	for i := 0; i+1 < len(c); i += 2 {
		r = append(r, zhufang.Point{Lon: c[i], Lat: c[i+1]})
	}
	return append(r, r[0])
}

var shapes = map[string]zhufang.MultiPolygon{
	// Three teeth pointing north from a bar along y 0..1.
	"comb": {{ringOf(0, 0, 5, 0, 5, 5, 4, 5, 4, 1, 3, 1, 3, 5, 2, 5, 2, 1, 1, 1, 1, 5, 0, 5)}},
	"u":    {{ringOf(0, 0, 3, 0, 3, 3, 2, 3, 2, 1, 1, 1, 1, 3, 0, 3)}},
	// A square whose V-shaped notch from the south reaches y=0 at (0,0):
	// the line y=0 touches the boundary at a reflex corner.
	"notch": {{ringOf(-2, -2, -0.5, -2, 0, 0, 0.5, -2, 2, -2, 2, 2, -2, 2)}},
	// A triangle whose apex touches y=0 from the south.
	"apex": {{ringOf(-1, -1, 1, -1, 0, 0)}},
	// An L whose inner edge lies on y=0.
	"ell": {{ringOf(-2, -1, 2, -1, 2, 0, 0, 0, 0, 1, -2, 1)}},
	// Clockwise, to check that rings come out counter-clockwise anyway.
	"clockwise": {{ringOf(0, 0, 0, 2, 2, 2, 2, 0)}},
	"two":       {rect(0, 0, 1, 1), rect(2, 0, 3, 1)},
}

func TestCellsShapes(t *testing.T) {
	north, south := zhufang.Point{Lon: 0, Lat: 1}, zhufang.Point{Lon: 0, Lat: -1}
	tests := []struct {
		name   string
		shape  string
		sites  []zhufang.Point
		pieces []int     // polygons per cell
		areas  []float64 // deg² per cell
	}{
		{"comb teeth fall apart", "comb", []zhufang.Point{{Lon: 2.5, Lat: 6}, {Lon: 2.5, Lat: -1}}, []int{3, 1}, []float64{3 * 2.5, 5 + 3*1.5}},
		{"u arms fall apart", "u", []zhufang.Point{{Lon: 1.5, Lat: 3}, {Lon: 1.5, Lat: 1}}, []int{2, 1}, []float64{2, 5}},
		{"line through reflex corner", "notch", []zhufang.Point{north, south}, []int{1, 2}, []float64{8, 8 - 1}},
		{"line touches apex", "apex", []zhufang.Point{north, south}, []int{0, 1}, []float64{0, 1}},
		{"edge on line", "ell", []zhufang.Point{{Lon: 1, Lat: 0.5}, {Lon: 1, Lat: -0.5}}, []int{1, 1}, []float64{2, 4}},
		{"clockwise area", "clockwise", []zhufang.Point{{Lon: 0.5, Lat: 1}, {Lon: 1.5, Lat: 1}}, []int{1, 1}, []float64{2, 2}},
		{"one site", "comb", []zhufang.Point{{Lon: 9, Lat: 9}}, []int{1}, []float64{5 + 3*4}},
		{"site far away", "u", []zhufang.Point{{Lon: 1.5, Lat: 2}, {Lon: 170, Lat: 80}}, []int{1, 0}, []float64{7, 0}},
		{"repeated site", "u", []zhufang.Point{{Lon: 1, Lat: 2}, {Lon: 2, Lat: 2}, {Lon: 1, Lat: 2}}, []int{1, 1, 0}, []float64{3.5, 3.5, 0}},
		{"exclaves", "two", []zhufang.Point{{Lon: 1.5, Lat: 1.5}, {Lon: 1.5, Lat: -0.5}}, []int{2, 2}, []float64{1, 1}},
		{"no sites", "u", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			area := shapes[tt.shape]
			cells, err := tiling.Cells(area, tt.sites)
			if err != nil {
				t.Fatal(err)
			}
			checkTiling(t, area, tt.sites, cells, 2000, rand.New(rand.NewPCG(1, 2)))
			var pieces []int
			var areas []float64
			for _, c := range cells {
				pieces = append(pieces, len(c))
				areas = append(areas, planeArea(c))
			}
			if diff := cmp.Diff(tt.pieces, pieces); diff != "" {
				t.Errorf("polygons per cell (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.areas, areas, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
				t.Errorf("area per cell (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCellsDegenerateSites places sites where cutting is hardest: on the
// area's corners, in pairs whose bisector runs exactly through a corner, on
// a coarse lattice that lines bisectors up with edges, along one line, and
// a hair from each other.
func TestCellsDegenerateSites(t *testing.T) {
	areas := []zhufang.MultiPolygon{shapes["comb"], shapes["u"], shapes["notch"], shapes["ell"], shapes["two"], loadCounty(t, 431128)}
	rng := rand.New(rand.NewPCG(99, 12))
	for range 1500 {
		area := areas[rng.IntN(len(areas))]
		b := area.Bounds()
		w, h := b.Max.Lon-b.Min.Lon, b.Max.Lat-b.Min.Lat
		var corners []zhufang.Point
		for _, p := range area {
			corners = append(corners, p[0]...)
		}
		var sites []zhufang.Point
		for n := 1 + rng.IntN(30); len(sites) < n; {
			v := corners[rng.IntN(len(corners))]
			switch rng.IntN(5) {
			case 0:
				sites = append(sites, v)
			case 1:
				e := zhufang.Point{Lon: (rng.Float64() - 0.5) * w / 4, Lat: (rng.Float64() - 0.5) * h / 4}
				sites = append(sites, zhufang.Point{Lon: v.Lon + e.Lon, Lat: v.Lat + e.Lat}, zhufang.Point{Lon: v.Lon - e.Lon, Lat: v.Lat - e.Lat})
			case 2:
				sites = append(sites, zhufang.Point{Lon: b.Min.Lon + float64(rng.IntN(9))*w/8, Lat: b.Min.Lat + float64(rng.IntN(9))*h/8})
			case 3:
				sites = append(sites, zhufang.Point{Lon: b.Min.Lon + rng.Float64()*w, Lat: b.Min.Lat})
			case 4:
				if len(sites) > 0 {
					q := sites[rng.IntN(len(sites))]
					e := []float64{0, 1e-13, 1e-10, 1e-7}[rng.IntN(4)]
					sites = append(sites, zhufang.Point{Lon: q.Lon + e*(rng.Float64()-0.5), Lat: q.Lat + e*(rng.Float64()-0.5)})
				}
			}
		}
		cells, err := tiling.Cells(area, sites)
		if err != nil {
			t.Fatalf("sites %v: %v", sites, err)
		}
		checkTiling(t, area, sites, cells, 30, rng)
	}
}

func TestCellsErrors(t *testing.T) {
	square := rect(0, 0, 1, 1)
	tests := []struct {
		name  string
		area  zhufang.MultiPolygon
		sites []zhufang.Point
	}{
		{"hole", zhufang.MultiPolygon{{rect(0, 0, 3, 3)[0], rect(1, 1, 2, 2)[0]}}, []zhufang.Point{{Lon: 0.5, Lat: 0.5}}},
		{"empty area", nil, []zhufang.Point{{Lon: 0.5, Lat: 0.5}}},
		{"open ring", zhufang.MultiPolygon{{square[0][:4]}}, []zhufang.Point{{Lon: 0.5, Lat: 0.5}}},
		{"bow tie", zhufang.MultiPolygon{{ringOf(0, 0, 1, 1, 1, 0, 0, 1)}}, []zhufang.Point{{Lon: 0.5, Lat: 0.5}}},
		{"NaN site", zhufang.MultiPolygon{square}, []zhufang.Point{{Lon: math.NaN(), Lat: 0.5}}},
		{"site off the planet", zhufang.MultiPolygon{square}, []zhufang.Point{{Lon: 0.5, Lat: 91}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells, err := tiling.Cells(tt.area, tt.sites)
			if got := zhufang.ErrorCode(err); got != zhufang.EINVALID {
				t.Fatalf("got cells %v, error %v (code %q); want code %q", cells, err, got, zhufang.EINVALID)
			}
		})
	}
}

func TestCellsDeterministic(t *testing.T) {
	area := loadCounty(t, 431126)
	sites := sitesInside(area, 300, rand.New(rand.NewPCG(3, 4)))
	first, err := tiling.Cells(area, sites)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := tiling.Cells(area, sites)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("second run differs (-first +again):\n%s", diff)
		}
	}
}

func BenchmarkCells(b *testing.B) {
	area := loadCounty(b, 431121)
	sites := sitesInside(area, 300, rand.New(rand.NewPCG(5, 6)))
	for b.Loop() {
		if _, err := tiling.Cells(area, sites); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCells splits fixed shapes among arbitrary small site sets. Sites may
// be snapped to a coarse grid, which lines bisectors up with the shapes'
// corners and edges far more often than chance would.
func FuzzCells(f *testing.F) {
	names := []string{"comb", "u", "notch", "apex", "ell", "clockwise", "two", "county"}
	areas := make([]zhufang.MultiPolygon, len(names))
	for i, n := range names {
		areas[i] = shapes[n]
	}
	areas[len(areas)-1] = loadCounty(f, 431128)
	f.Add(uint8(0), true, []byte{10, 20, 30, 40, 50, 60, 70, 80})
	f.Add(uint8(2), true, []byte{128, 200, 128, 50})
	f.Add(uint8(7), false, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(uint8(4), true, []byte{0, 0, 0, 0, 255, 255, 255, 255, 128, 128, 128, 128})
	f.Fuzz(func(t *testing.T, shape uint8, grid bool, data []byte) {
		area := areas[int(shape)%len(areas)]
		b := area.Bounds()
		w, h := b.Max.Lon-b.Min.Lon, b.Max.Lat-b.Min.Lat
		var sites []zhufang.Point
		for i := 0; i+3 < len(data) && len(sites) < 16; i += 4 {
			u := float64(uint16(data[i])<<8|uint16(data[i+1])) / 65535
			v := float64(uint16(data[i+2])<<8|uint16(data[i+3])) / 65535
			if grid {
				u, v = math.Round(u*16)/16, math.Round(v*16)/16
			}
			// Sites spread a little beyond the area, to reach outside.
			sites = append(sites, zhufang.Point{Lon: b.Min.Lon + (1.4*u-0.2)*w, Lat: b.Min.Lat + (1.4*v-0.2)*h})
		}
		cells, err := tiling.Cells(area, sites)
		if err != nil {
			t.Fatal(err)
		}
		checkTiling(t, area, sites, cells, 50, rand.New(rand.NewPCG(uint64(len(data)), uint64(shape))))
	})
}
