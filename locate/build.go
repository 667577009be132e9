package locate

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"zhufang"
)

// maxEntries bounds the (cell, edge) pairs a build may make: past it the
// index would take gigabytes, and the areas are too detailed (or their edges
// too long) for a uniform grid to help.
const maxEntries = 1 << 28

// New builds the index. It returns an EINVALID error for an empty list or an
// area that does not validate. The index keeps no reference to areas.
func New(areas []Area) (*Index, error) {
	return build(areas, config{cells: len(areas) * cellsPerArea, tolerance: 1.0 / (1 << 10)})
}

// config holds the build's tuning, which tests and benchmarks vary.
type config struct {
	cells     int     // grid cells to aim for
	tolerance float64 // clearance of reference points from edges, in cells
}

func build(areas []Area, cfg config) (*Index, error) {
	if len(areas) == 0 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "a locator needs at least one area")
	}
	if len(areas) >= math.MaxInt32 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "too many areas to index: %d", len(areas))
	}
	bounds := zhufang.EmptyRect()
	for i, a := range areas {
		if err := validateArea(i, a); err != nil {
			return nil, err
		}
		bounds = bounds.Union(a.Area.Bounds())
	}
	b := &builder{areas: areas, g: newGrid(bounds, cfg.cells)}
	b.margin = min(b.g.w, b.g.h) / (1 << 16)
	b.tolerance = min(b.g.w, b.g.h) * cfg.tolerance
	b.collectEdges()
	if err := b.rasterise(); err != nil {
		return nil, err
	}
	b.fill()
	ix := b.assemble()
	ix.bounds = bounds
	return ix, nil
}

// validateArea checks one area and names it in the message, because the
// inner errors only know polygon and ring numbers. Those stay in the message
// (they are what lets someone find the bad ring); the code inside the chain
// is dropped so the message does not read "invalid" twice.
func validateArea(i int, a Area) error {
	if err := a.Area.Validate(); err != nil {
		name := a.Jurisdiction.Community.Code
		if name == "" {
			name = a.Jurisdiction.Community.Name
		}
		msg := strings.Replace(err.Error(), zhufang.ErrorCode(err)+": ", "", 1)
		return zhufang.Errorf(zhufang.EINVALID, "area %d (%s): %s", i, name, msg)
	}
	return nil
}

// builder holds the scratch state of one build.
type builder struct {
	areas     []Area
	g         grid
	margin    float64 // cells are widened by this much when edges are rasterised
	tolerance float64 // how far a reference point must stay from every edge

	edges     []edge  // every ring edge of positive length, area after area
	areaEdges []int32 // edges of area a are edges[areaEdges[a]:areaEdges[a+1]]

	// Entries of cell c are ent[start[c]:start[c+1]]: the edges that touch
	// the cell, in edge order, so grouped by area in area order.
	start  []int32
	ent    []int32
	inside []bool // per entry: its edge's area contains the centre of the cell

	// owner is, per cell, the first area that contains the cell's centre
	// and has no edge in the cell (so contains the whole cell), or none.
	owner []int32
}

type edge struct {
	a, b zhufang.Point
	area int32
}

func (b *builder) collectEdges() {
	n := 0
	for _, a := range b.areas {
		for _, poly := range a.Area {
			for _, r := range poly {
				n += len(r) - 1
			}
		}
	}
	b.edges = make([]edge, 0, n)
	b.areaEdges = make([]int32, 0, len(b.areas)+1)
	for n, a := range b.areas {
		b.areaEdges = append(b.areaEdges, int32(len(b.edges)))
		for _, poly := range a.Area {
			for _, r := range poly {
				for i := 0; i+1 < len(r); i++ {
					if r[i] != r[i+1] {
						b.edges = append(b.edges, edge{r[i], r[i+1], int32(n)})
					}
				}
			}
		}
	}
	b.areaEdges = append(b.areaEdges, int32(len(b.edges)))
}

// rasterise records every edge in every cell it passes within margin of, by
// counting sort on the cell so that no pair list is ever materialised.
func (b *builder) rasterise() error {
	cells := b.g.nx * b.g.ny
	b.start = make([]int32, cells+1)
	total := 0
	for _, e := range b.edges {
		b.cellsOf(e, func(c int) { b.start[c+1]++; total++ })
		if total > maxEntries {
			return zhufang.Errorf(zhufang.EINVALID, "the areas are too large or too detailed to index")
		}
	}
	for c := range cells {
		b.start[c+1] += b.start[c]
	}
	b.ent = make([]int32, total)
	b.inside = make([]bool, total)
	next := slices.Clone(b.start[:cells])
	for n, e := range b.edges {
		b.cellsOf(e, func(c int) { b.ent[next[c]] = int32(n); next[c]++ })
	}
	return nil
}

// cellsOf calls visit for each cell that e passes within margin of. It
// works row by row: the part of e inside a row's band, widened by margin,
// gives a run of columns. Over-reporting a cell costs a little time at
// query; missing one would give wrong answers, hence the margin, which is
// far larger than the rounding in col and row.
func (b *builder) cellsOf(e edge, visit func(c int)) {
	g, m := &b.g, b.margin
	j0 := g.row(min(e.a.Lat, e.b.Lat) - m)
	j1 := g.row(max(e.a.Lat, e.b.Lat) + m)
	for j := j0; j <= j1; j++ {
		y0 := g.minLat + float64(j)*g.h - m
		y1 := g.minLat + float64(j+1)*g.h + m
		x0, x1 := clipLon(e.a, e.b, y0, y1)
		for i := g.col(x0 - m); i <= g.col(x1+m); i++ {
			visit(j*g.nx + i)
		}
	}
}

// clipLon returns the longitude range of the part of segment ab that lies
// between latitudes y0 and y1 (or the ends nearest to them, if none does).
func clipLon(a, b zhufang.Point, y0, y1 float64) (float64, float64) {
	if a.Lat == b.Lat {
		return min(a.Lon, b.Lon), max(a.Lon, b.Lon)
	}
	t0 := min(max((y0-a.Lat)/(b.Lat-a.Lat), 0), 1)
	t1 := min(max((y1-a.Lat)/(b.Lat-a.Lat), 0), 1)
	x0 := a.Lon + t0*(b.Lon-a.Lon)
	x1 := a.Lon + t1*(b.Lon-a.Lon)
	return min(x0, x1), max(x0, x1)
}

// crossing is where an edge meets the centre line of a grid row.
type crossing struct {
	row int
	lon float64
}

// fill finds, area by area, the cell centres each area contains, with the
// same even-odd ray rule as MultiPolygon.Contains applied along each row's
// centre line: a centre is inside when an odd number of crossings lie east
// of it. Pure cells take the first area that contains their centre as
// owner; mixed cells mark it on their entries.
func (b *builder) fill() {
	b.owner = make([]int32, b.g.nx*b.g.ny)
	for c := range b.owner {
		b.owner[c] = none
	}
	var xs []crossing
	for a := range b.areas {
		xs = b.crossings(xs[:0], b.edges[b.areaEdges[a]:b.areaEdges[a+1]])
		slices.SortFunc(xs, func(p, q crossing) int {
			return cmp.Or(cmp.Compare(p.row, q.row), cmp.Compare(p.lon, q.lon))
		})
		// Rings cross any line an even number of times, so each row's
		// crossings pair up into inside runs [x0, x1).
		for n := 0; n+1 < len(xs); {
			if xs[n].row != xs[n+1].row {
				n++ // unreachable for closed rings; resynchronise rather than mislabel
				continue
			}
			b.fillRun(int32(a), xs[n].row, xs[n].lon, xs[n+1].lon)
			n += 2
		}
	}
}

// crossings appends where edges cross the centre lines of grid rows, using
// the half-open rule of Contains so that a vertex on a centre line counts
// once.
func (b *builder) crossings(xs []crossing, edges []edge) []crossing {
	g := &b.g
	for _, e := range edges {
		lo, hi := min(e.a.Lat, e.b.Lat), max(e.a.Lat, e.b.Lat)
		for j := max(g.row(lo)-1, 0); j <= min(g.row(hi)+1, g.ny-1); j++ {
			y := g.centreLat(j)
			if (e.a.Lat > y) == (e.b.Lat > y) {
				continue
			}
			x := e.a.Lon + (y-e.a.Lat)*(e.b.Lon-e.a.Lon)/(e.b.Lat-e.a.Lat)
			xs = append(xs, crossing{j, x})
		}
	}
	return xs
}

// fillRun marks area a as containing the centres of row j that lie in
// [x0, x1).
func (b *builder) fillRun(a int32, j int, x0, x1 float64) {
	g := &b.g
	for i := max(g.col(x0)-1, 0); i <= min(g.col(x1)+1, g.nx-1); i++ {
		if x := g.centreLon(i); x0 <= x && x < x1 {
			b.markInside(j*g.nx+i, a)
		}
	}
}

// markInside records that area a contains the centre of cell c: on a's
// entries if it has edges there, else as the cell's owner unless an earlier
// area already is.
func (b *builder) markInside(c int, a int32) {
	found := false
	for n := b.start[c]; n < b.start[c+1]; n++ {
		if b.edges[b.ent[n]].area == a {
			b.inside[n] = true
			found = true
		}
	}
	if !found && b.owner[c] == none {
		b.owner[c] = a
	}
}
