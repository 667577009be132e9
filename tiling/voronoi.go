package tiling

import (
	"math"
	"slices"

	"zhufang"
)

// halfPlane is the open set of points p with n·(p−m) < 0, in plain lon/lat
// coordinates. The projection is linear, so a bisector in projected space is
// still a straight line in lon/lat, and working in lon/lat spares a round
// trip that would round every output position twice.
type halfPlane struct {
	nLon, nLat float64       // normal, pointing away from the kept side
	m          zhufang.Point // a point on the boundary line
	tol        float64       // values of eval within ±tol count as on the line
}

// eval returns n·(p−m): negative on the kept side, and the distance from the
// line times |n|.
func (h halfPlane) eval(p zhufang.Point) float64 {
	return h.nLon*(p.Lon-h.m.Lon) + h.nLat*(p.Lat-h.m.Lat)
}

// bisector returns the half-plane of points nearer to a than to b under the
// projection, and false when a and b are the same place. The bisector of
// (b, a) is exactly the complement of that of (a, b) — negation and the
// midpoint's sum are exact under swapping — so neighbouring cells cut along
// the very same line.
func (t *tiler) bisector(a, b zhufang.Point) (halfPlane, bool) {
	h := halfPlane{
		nLon: (b.Lon - a.Lon) * t.kx2,
		nLat: b.Lat - a.Lat,
		m:    zhufang.Point{Lon: (a.Lon + b.Lon) / 2, Lat: (a.Lat + b.Lat) / 2},
	}
	if h.nLon == 0 && h.nLat == 0 {
		return h, false
	}
	h.tol = t.tol * math.Hypot(h.nLon, h.nLat)
	return h, true
}

// neighbour is another site and its squared projected distance.
type neighbour struct {
	d2 float64
	j  int
}

// dist2 returns the squared projected distance between a and b.
func (t *tiler) dist2(a, b zhufang.Point) float64 {
	dx, dy := b.Lon-a.Lon, b.Lat-a.Lat
	return dx*dx*t.kx2 + dy*dy
}

// voronoi returns the bisectors that bound site i's convex cell within the
// frame, and the cell's bounding box; false when the cell is empty.
// Neighbours come nearest first, so the cell shrinks fast and the search
// stops once no bisector can reach it: a bisector lies half the site
// distance away, so it misses a cell whose farthest corner is nearer than
// that. buf is scratch space.
func (t *tiler) voronoi(i int, buf []neighbour, planes []halfPlane) ([]neighbour, []halfPlane, zhufang.Rect, bool) {
	si := t.sites[i]
	c, spare := &t.cell[0], &t.cell[1]
	c.pts = append(c.pts[:0], t.frame...)
	c.by = append(c.by[:0], -1, -1, -1, -1)
	reach := 4 * c.reach2(t, si) * (1 + 1e-9)
	for r := 0; ; r++ {
		// Sites in ring r are more than r−1 bucket widths away.
		if gap := float64(r-1) * t.grid.size; r > 0 && gap*gap > reach {
			break
		}
		var more bool
		if buf, more = t.ring(i, r, buf[:0]); !more {
			break
		}
		for _, nb := range buf {
			if nb.d2 > reach {
				break
			}
			h, ok := t.bisector(si, t.sites[nb.j])
			if !ok {
				if nb.j < i {
					return buf, nil, zhufang.Rect{}, false // the first of equal sites takes the cell
				}
				continue
			}
			c.clip(h, nb.j, spare)
			c, spare = spare, c
			if len(c.pts) < 3 {
				return buf, nil, zhufang.Rect{}, false
			}
			reach = 4 * c.reach2(t, si) * (1 + 1e-9)
		}
	}
	planes = planes[:0]
	box := zhufang.EmptyRect()
	for k, j := range c.by {
		box = box.Extend(c.pts[k])
		// Frame edges lie outside the area, so they cut nothing; a line
		// seen twice (a rounding-thin edge) needs cutting only once.
		if j < 0 || slices.Contains(c.by[:k], j) {
			continue
		}
		h, _ := t.bisector(si, t.sites[j])
		planes = append(planes, h)
	}
	g := 4 * t.tol
	box.Min.Lon, box.Min.Lat = box.Min.Lon-g, box.Min.Lat-g
	box.Max.Lon, box.Max.Lat = box.Max.Lon+g, box.Max.Lat+g
	return buf, planes, box, true
}

// convex is a convex polygon, counter-clockwise and open, whose edge k (from
// pts[k] to pts[k+1]) lies on the bisector with site by[k], or on the frame
// when by[k] is −1.
type convex struct {
	pts []zhufang.Point
	by  []int
}

// reach2 returns the squared projected distance from s to the farthest
// corner of c.
func (c *convex) reach2(t *tiler, s zhufang.Point) float64 {
	var r2 float64
	for _, p := range c.pts {
		r2 = math.Max(r2, t.dist2(s, p))
	}
	return r2
}

// clip sets out to c cut by h, the bisector with site j (Sutherland–Hodgman,
// which is exact for a convex subject).
func (c *convex) clip(h halfPlane, j int, out *convex) {
	out.pts, out.by = out.pts[:0], out.by[:0]
	add := func(p zhufang.Point, by int) {
		out.pts = append(out.pts, p)
		out.by = append(out.by, by)
	}
	n := len(c.pts)
	for k := range n {
		a, b := c.pts[k], c.pts[(k+1)%n]
		da, db := h.eval(a), h.eval(b)
		switch {
		case da < 0 && db > 0:
			add(a, c.by[k])
			add(cut(a, b, da, db), j)
		case da == 0 && db > 0:
			add(a, j)
		case da <= 0:
			add(a, c.by[k])
		case db < 0:
			add(cut(a, b, da, db), c.by[k])
		}
	}
}

// cut returns where segment ab crosses the line on which eval is zero, given
// da and db of opposite signs. It interpolates from a, so the same edge cut
// by the same line from the other side (da, db negated) gives the same point.
func cut(a, b zhufang.Point, da, db float64) zhufang.Point {
	s := da / (da - db)
	return zhufang.Point{Lon: a.Lon + (b.Lon-a.Lon)*s, Lat: a.Lat + (b.Lat-a.Lat)*s}
}
