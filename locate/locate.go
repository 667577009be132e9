// Package locate answers "whose ground is this point": it finds the
// community or village, station and county of a WGS-84 position among the
// few thousand leaf areas that tile a city, in well under a microsecond.
//
// The index is a uniform grid over the city. A cell that no area boundary
// touches is pure and answers from one array load. A mixed cell keeps, for
// each area with an edge in it, those edges (relative to a reference point
// in the cell) and whether the reference point is inside; a query then
// counts the edges crossed by the segment from the reference point to the
// query point. That decides membership as a full point-in-polygon test
// would, for every point not within about 1e-9° of an edge, while looking
// at only a handful of edges.
package locate

import (
	"zhufang"
)

var _ zhufang.Locator = (*Index)(nil)

// Area is one leaf area of the index and the jurisdiction it answers with.
type Area struct {
	Jurisdiction zhufang.Jurisdiction
	Area         zhufang.MultiPolygon
}

// Index finds the area that contains a point. It is immutable once built and
// safe for concurrent use.
type Index struct {
	g      grid
	bounds zhufang.Rect
	juris  []zhufang.Jurisdiction

	// cells holds, per grid cell (row-major), the answer for a pure cell:
	// an area number, or none; or, for a mixed cell, mixed-firstCand where
	// firstCand indexes cands.
	cells []int32
	cands []cand // candidates of mixed cells, cell after cell; one sentinel at the end
	segs  []seg  // edges of candidates, relative to the cell's reference point

	// brute holds copies of the areas that some cell must test in full
	// because no reference point in it is clear of edges; nil for the rest.
	brute []zhufang.MultiPolygon
}

// Cell values below zero: none marks a pure cell outside every area, and a
// mixed cell stores mixed minus the number of its first candidate.
const (
	none  = -1
	mixed = -2
)

// cand is one area that may contain points of a mixed cell. Its edges in the
// cell are segs[first:next.first], where next is the following cand.
type cand struct {
	area  int32
	first uint32
	flags uint8
	ref   uint8 // which refs entry the cell measures from
}

// cand flags.
const (
	candInside = 1 << iota // the reference point is inside the area
	candLast               // the last candidate of its cell
	candBrute              // test the whole area; the cell has no clear reference point
)

// seg is one ring edge, its ends relative to the reference point of the cell
// that holds it. Relative coordinates are small, so the orientation tests
// below keep nearly all of float64's precision.
type seg struct {
	ax, ay, bx, by float64
}

// crosses reports whether the segment from the reference point (the origin)
// to q crosses the edge. An edge end lying exactly on the line through the
// origin and q counts as being on its left; since both edges at a vertex see
// the vertex the same way, a segment through a vertex is counted once when
// the ring passes through the line there and not at all when it only
// touches it.
func (s *seg) crosses(qx, qy float64) bool {
	if (qx*s.ay-qy*s.ax > 0) == (qx*s.by-qy*s.bx > 0) {
		return false
	}
	origin := s.ax*s.by - s.ay*s.bx
	q := (s.bx-s.ax)*(qy-s.ay) - (s.by-s.ay)*(qx-s.ax)
	return (origin > 0) != (q > 0)
}

// Locate returns the jurisdiction of p and true, or false when p is in no
// area (outside the city) or p is not a valid position. Where areas overlap
// the first one given to New wins, as a scan in order would find it.
func (ix *Index) Locate(p zhufang.Point) (zhufang.Jurisdiction, bool) {
	// Every area lies on the planet, so the bounds test also rejects NaN,
	// infinities and off-planet positions.
	b := &ix.bounds
	if !(p.Lon >= b.Min.Lon && p.Lon <= b.Max.Lon && p.Lat >= b.Min.Lat && p.Lat <= b.Max.Lat) {
		return zhufang.Jurisdiction{}, false
	}
	i, j := ix.g.col(p.Lon), ix.g.row(p.Lat)
	a := ix.cells[j*ix.g.nx+i]
	if a <= mixed {
		a = ix.locateMixed(int(mixed-a), i, j, p)
	}
	if a < 0 {
		return zhufang.Jurisdiction{}, false
	}
	return ix.juris[a], true
}

// locateMixed decides p among the candidates of mixed cell (i, j), the first
// of which is cands[k], and returns the area or none.
func (ix *Index) locateMixed(k, i, j int, p zhufang.Point) int32 {
	ref := ix.g.ref(i, j, int(ix.cands[k].ref))
	qx, qy := p.Lon-ref.Lon, p.Lat-ref.Lat
	for ; ; k++ {
		c := &ix.cands[k]
		in := c.flags&candInside != 0
		if c.flags&candBrute != 0 {
			in = ix.brute[c.area].Contains(p)
		} else {
			segs := ix.segs[c.first:ix.cands[k+1].first]
			for n := range segs {
				if segs[n].crosses(qx, qy) {
					in = !in
				}
			}
		}
		if in {
			return c.area
		}
		if c.flags&candLast != 0 {
			return none
		}
	}
}

// Len returns the number of areas in the index.
func (ix *Index) Len() int { return len(ix.juris) }

// Bounds returns the smallest box that holds every area.
func (ix *Index) Bounds() zhufang.Rect { return ix.bounds }
