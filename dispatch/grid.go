package dispatch

import (
	"math"

	"zhufang"
)

// earthRadius is the mean radius that zhufang.Point.DistanceMeters uses, so
// that the index and the domain agree on every distance.
const earthRadius = 6371008.8

const rad = math.Pi / 180

// vec is a position as a point on the unit sphere. The chord between two
// vecs grows with the great-circle distance, so ranking by the squared chord
// (three subtractions, three multiplications) ranks exactly as the
// haversine does (four trigonometric calls); a unit's vec is computed once
// per report, not once per query.
type vec struct{ x, y, z float64 }

func toVec(p zhufang.Point) vec {
	sinLat, cosLat := math.Sincos(p.Lat * rad)
	sinLon, cosLon := math.Sincos(p.Lon * rad)
	return vec{cosLat * cosLon, cosLat * sinLon, sinLat}
}

// chord2 returns the squared chord between a and b on the unit sphere.
func chord2(a, b vec) float64 {
	dx, dy, dz := a.x-b.x, a.y-b.y, a.z-b.z
	return dx*dx + dy*dy + dz*dz
}

// chordMeters converts a squared chord to great-circle metres.
func chordMeters(c2 float64) float64 {
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(c2)/2))
}

// metersChord2 converts great-circle metres to a squared chord.
func metersChord2(m float64) float64 {
	if m >= math.Pi*earthRadius {
		return 4
	}
	c := 2 * math.Sin(m/(2*earthRadius))
	return c * c
}

// entry is one positioned unit in a cell: its position as a vec, the time
// of that position, and where its record is. The cell holds what a search
// reads for every unit it passes, so that passing a unit costs no jump to
// its record.
type entry struct {
	v   vec
	at  int64 // Unix nanoseconds of the position
	idx int32 // into Index.units
}

// grid is a uniform lattice of cells over a box in lon/lat. Cells are
// square on the ground at the middle latitude of the box.
type grid struct {
	minLon, minLat float64
	dLon, dLat     float64
	nx, ny         int
}

// maxCells caps the cell array (24 bytes a cell) at about 100 MB whatever
// the bounds and cell size asked for; the cell grows instead.
const maxCells = 1 << 22

func newGrid(b zhufang.Rect, cellMeters float64) grid {
	dLat := cellMeters / (earthRadius * rad)
	dLon := dLat / math.Cos((b.Min.Lat+b.Max.Lat)/2*rad)
	for {
		nx := int((b.Max.Lon-b.Min.Lon)/dLon) + 1
		ny := int((b.Max.Lat-b.Min.Lat)/dLat) + 1
		if nx*ny <= maxCells {
			return grid{minLon: b.Min.Lon, minLat: b.Min.Lat, dLon: dLon, dLat: dLat, nx: nx, ny: ny}
		}
		dLon, dLat = dLon*2, dLat*2
	}
}

// coords returns the column and row of p, which lie outside 0..nx-1 and
// 0..ny-1 when p lies outside the grid. p must be a valid point.
func (g *grid) coords(p zhufang.Point) (int, int) {
	return int(math.Floor((p.Lon - g.minLon) / g.dLon)), int(math.Floor((p.Lat - g.minLat) / g.dLat))
}

// cell returns the number of the cell holding p, or outside.
func (g *grid) cell(p zhufang.Point) int32 {
	x, y := g.coords(p)
	if x < 0 || x >= g.nx || y < 0 || y >= g.ny {
		return g.outside()
	}
	return int32(y*g.nx + x)
}

// outside is the number of the extra cell that holds every unit beyond the
// grid; every search reads it whole.
func (g *grid) outside() int32 { return int32(g.nx * g.ny) }

// bound is the box of cells within r rings of (cx, cy), around the query
// point p, whose units a search has read. meters gives a distance no unit
// outside the box is nearer to p than; a search asks only once it has
// enough units to compare with.
type bound struct {
	g      *grid
	p      zhufang.Point
	cosLat float64 // of p
	cx, cy int
	r      int
}

// meters returns the bound. A point outside the box lies beyond one of its
// edges: beyond a parallel it is at least the difference in latitude away;
// beyond a meridian at least the cross-track distance from p to that
// meridian's great circle. Where the box touches a pole or the
// antimeridian the argument fails, and the bound is 0.
func (b bound) meters() float64 {
	dLat, dLon, ok := b.gaps()
	if !ok {
		return 0
	}
	lb := dLat * rad * earthRadius
	// sin grows with the angle below 90°, so the nearer meridian is the
	// one with the smaller difference in longitude.
	lb = min(lb, earthRadius*math.Asin(b.cosLat*math.Sin(dLon*rad)))
	// A unit filed in a cell by floor() may sit a rounding error inside the
	// edge recomputed here; a millimetre of slack covers it.
	return max(lb-1e-3, 0)
}

// gaps returns, in degrees, how far p lies from the nearer parallel and the
// nearer meridian of the box the rings so far cover; ok is false where the
// box touches a pole or the antimeridian and no bound holds.
func (b bound) gaps() (dLat, dLon float64, ok bool) {
	g := b.g
	west := g.minLon + float64(b.cx-b.r)*g.dLon
	east := g.minLon + float64(b.cx+b.r+1)*g.dLon
	south := g.minLat + float64(b.cy-b.r)*g.dLat
	north := g.minLat + float64(b.cy+b.r+1)*g.dLat
	if west <= -180 || east >= 180 || south <= -90 || north >= 90 {
		return 0, 0, false
	}
	dw, de := b.p.Lon-west, east-b.p.Lon
	if dw >= 90 || de >= 90 {
		return 0, 0, false
	}
	return min(b.p.Lat-south, north-b.p.Lat), min(dw, de), true
}

// chord2 returns a lower bound on the squared chord from p to any point
// outside the box, the same bound as meters but in the units Nearest ranks
// by and without a trigonometric call: sin d ≥ d − d³/6, and the chord of
// an angle θ with sin θ = x is 2(1 − √(1 − x²)) squared-wise. The profile
// of every search showed the asin and two sines per ring.
func (b bound) chord2() float64 {
	dLat, dLon, ok := b.gaps()
	if !ok {
		return 0
	}
	// A millimetre of slack, as in meters, for units filed by floor().
	const slack = 1e-3 / earthRadius
	half := max(dLat*rad-slack, 0) / 2
	s := max(half-half*half*half/6, 0)
	lat := 4 * s * s
	d := dLon * rad
	x := min(b.cosLat*max(d-d*d*d/6, 0), 1)
	lon := 2 * (1 - math.Sqrt(1-x*x))
	lonSlack := 2 * slack * math.Sqrt(lon) // the chord shrinks by at most about the slack
	return max(min(lat, lon-lonSlack), 0)
}

// ring is a search's progress: the rings of cells around (cx, cy) up to
// r have been read.
type ring struct{ cx, cy, r int }

// holds reports whether the rings read so far include cell c.
func (g *grid) holds(rg ring, c int32) bool {
	if c == g.outside() {
		return true
	}
	x, y := int(c)%g.nx, int(c)/g.nx
	return abs(x-rg.cx) <= rg.r && abs(y-rg.cy) <= rg.r
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// walk calls visit with the units outside the grid and then with the cells
// around p ring by ring (Chebyshev rings of cells). Before each ring after
// the first it calls more with the bound of the rings read, and stops when
// more returns false or no cell is left.
// After budget cells it gives up on rings and returns false with how far it
// got, for the caller to read the remaining units one by one: in a sparse
// index, or for a rare unit, that beats reading thousands of empty cells.
// p must be a valid point.
func (g *grid) walk(cells [][]entry, p zhufang.Point, budget int, visit func([]entry), more func(bound) bool) (ring, bool) {
	visit(cells[g.outside()])
	cx, cy := g.coords(p)
	// Rings before r0 hold no cell of the grid; at rmax the rings cover it.
	r0 := max(0, -cx, cx-(g.nx-1), -cy, cy-(g.ny-1))
	rmax := max(cx, g.nx-1-cx, cy, g.ny-1-cy)
	read := 0
	b := bound{g: g, p: p, cosLat: math.Cos(p.Lat * rad), cx: cx, cy: cy}
	for r := r0; r <= rmax; r++ {
		if b.r = r - 1; r > 0 && !more(b) {
			return ring{}, true
		}
		x0, x1 := max(cx-r, 0), min(cx+r, g.nx-1)
		y0, y1 := max(cy-r+1, 0), min(cy+r-1, g.ny-1)
		if n := (x1 - x0 + 1) * 2; read+n+(y1-y0+1)*2 > budget && read > 0 {
			return ring{cx, cy, r - 1}, false
		}
		if y := cy - r; y >= 0 && y < g.ny {
			for _, c := range cells[y*g.nx+x0 : y*g.nx+x1+1] {
				if len(c) > 0 {
					visit(c)
				}
			}
		}
		if y := cy + r; r > 0 && y >= 0 && y < g.ny {
			for _, c := range cells[y*g.nx+x0 : y*g.nx+x1+1] {
				if len(c) > 0 {
					visit(c)
				}
			}
		}
		read += (x1 - x0 + 1) * 2
		if r == 0 {
			continue
		}
		for y := y0; y <= y1; y++ {
			if x := cx - r; x >= 0 && x < g.nx && len(cells[y*g.nx+x]) > 0 {
				visit(cells[y*g.nx+x])
			}
			if x := cx + r; x >= 0 && x < g.nx && len(cells[y*g.nx+x]) > 0 {
				visit(cells[y*g.nx+x])
			}
		}
		read += max(y1-y0+1, 0) * 2
	}
	return ring{}, true
}
