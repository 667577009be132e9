package locate

import (
	"math"

	"zhufang"
)

// grid is the uniform lattice of cells laid over the bounds of an index.
// Build and query map coordinates to cells and pick reference points with
// the same methods, so both sides agree to the last bit.
type grid struct {
	minLon, minLat float64
	w, h           float64 // cell width and height in degrees
	invW, invH     float64
	nx, ny         int
}

// Grid sizing, measured on the synthetic 3,300-area city (see
// BenchmarkLocateGrid): at 64 cells per area 71% of cells are pure and a
// uniform lookup takes ~29 ns; at 256, 85% and ~20 ns for 22 MB; at 1024,
// 92% and ~19 ns for 47 MB. 256 buys nearly all the speed.
const (
	cellsPerArea = 256
	minCells     = 1 << 10
	maxCells     = 1 << 22 // caps the cell array at 16 MB, whatever the input
)

// newGrid lays about target roughly square cells over b.
func newGrid(b zhufang.Rect, target int) grid {
	target = min(max(target, minCells), maxCells)
	width, height := b.Max.Lon-b.Min.Lon, b.Max.Lat-b.Min.Lat
	side := math.Sqrt(width * height / float64(target))
	nx := min(max(int(math.Ceil(width/side)), 1), maxCells)
	ny := min(max(int(math.Ceil(height/side)), 1), maxCells/nx)
	g := grid{minLon: b.Min.Lon, minLat: b.Min.Lat, nx: nx, ny: ny}
	g.w, g.h = width/float64(nx), height/float64(ny)
	g.invW, g.invH = 1/g.w, 1/g.h
	return g
}

// col returns the column of lon, clamped to the grid. NaN maps to column 0;
// callers reject it before asking.
func (g *grid) col(lon float64) int {
	f := (lon - g.minLon) * g.invW
	if !(f >= 0) {
		return 0
	}
	if f >= float64(g.nx) {
		return g.nx - 1
	}
	return int(f)
}

// row returns the row of lat, clamped to the grid.
func (g *grid) row(lat float64) int {
	f := (lat - g.minLat) * g.invH
	if !(f >= 0) {
		return 0
	}
	if f >= float64(g.ny) {
		return g.ny - 1
	}
	return int(f)
}

// refs are the reference points a mixed cell may measure from, as fractions
// of the cell. The centre comes first because the build already knows which
// areas contain it; the others stand in when an edge passes too close to
// the centre for the crossing test to be trusted.
var refs = [...][2]float64{
	{0.5, 0.5}, {0.31, 0.29}, {0.71, 0.69}, {0.29, 0.73}, {0.73, 0.27},
	{0.5, 0.17}, {0.5, 0.83}, {0.17, 0.5}, {0.83, 0.5}, {0.39, 0.61},
	{0.61, 0.39}, {0.13, 0.87}, {0.87, 0.13}, {0.13, 0.13}, {0.87, 0.87},
	{0.43, 0.09},
}

// ref returns reference point k of cell (i, j).
func (g *grid) ref(i, j, k int) zhufang.Point {
	return zhufang.Point{
		Lon: g.minLon + (float64(i)+refs[k][0])*g.w,
		Lat: g.minLat + (float64(j)+refs[k][1])*g.h,
	}
}

// centreLon and centreLat are the coordinates of reference point 0, split
// so that the scanline fill can work one row at a time.
func (g *grid) centreLon(i int) float64 { return g.minLon + (float64(i)+refs[0][0])*g.w }
func (g *grid) centreLat(j int) float64 { return g.minLat + (float64(j)+refs[0][1])*g.h }
