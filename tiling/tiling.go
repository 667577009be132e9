// Package tiling shares an area out among sites as Voronoi cells: every
// point of the area goes to the nearest site. The demo city uses it to draw
// jurisdictions: a county split among its police stations' seats, then each
// station's cell split among its communities' seats.
package tiling

import (
	"fmt"
	"math"

	"zhufang"
)

// sliver is the share of the area below which a piece of a cell that is
// also thinner than the snapping tolerance is dropped. Such a piece is
// rounding noise where a line grazes a corner, and would only trouble whoever
// draws or validates it; a small piece of fair width, such as the cell of a
// site a hair from another, stays.
const sliver = 1e-12

// Cells returns, for each site, the part of area nearer to that site than to
// any other site. cells[i] belongs to sites[i]; it is nil when that part is
// empty or negligible (a site far outside area can get nil, and of several
// sites at the same position only the first gets a cell). Pieces both
// smaller than 1e-12 of the area and thinner than about 1e-11 degrees are
// dropped as rounding noise, and so are pieces of a few cm² that
// zhufang's Validate would refuse as having no area.
//
// Distances are planar on a local equirectangular projection:
// x = lon·cos(lat0), y = lat, with lat0 the middle latitude of area.Bounds().
// area must be valid and have no holes. Each cell's polygons are
// counter-clockwise and hole-free, so a cell can itself be split again.
func Cells(area zhufang.MultiPolygon, sites []zhufang.Point) ([]zhufang.MultiPolygon, error) {
	if err := area.Validate(); err != nil {
		return nil, fmt.Errorf("area: %w", err)
	}
	for i, p := range area {
		if len(p) > 1 {
			return nil, zhufang.Errorf(zhufang.EINVALID, "polygon %d of the area has a hole; only areas without holes can be tiled", i)
		}
	}
	for i, s := range sites {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("site %d: %w", i, err)
		}
	}
	t := newTiler(area, sites)
	cells := make([]zhufang.MultiPolygon, len(sites))
	var buf []neighbour
	var planes []halfPlane
	for i := range sites {
		var box zhufang.Rect
		var ok bool
		buf, planes, box, ok = t.voronoi(i, buf, planes)
		if !ok {
			continue
		}
		cells[i] = t.clip(planes, box)
		// The splitting is built to keep rings simple; checking costs
		// little next to it and turns any rounding surprise into an error
		// instead of a jurisdiction other packages reject later.
		if cells[i] != nil {
			if err := cells[i].Validate(); err != nil {
				return nil, zhufang.WrapError(zhufang.EINTERNAL, "could not tile the area", fmt.Errorf("cell of site %d: %w", i, err))
			}
		}
	}
	return cells, nil
}

// tiler holds what every cell of one Cells call shares.
type tiler struct {
	pieces []ring         // the area's outer rings, counter-clockwise and open
	boxes  []zhufang.Rect // bounding box of each piece
	sites  []zhufang.Point
	kx     float64         // cos(lat0): the projection's x scale
	kx2    float64         // kx²
	grid   grid            // the sites, bucketed
	frame  []zhufang.Point // a box around the area where every cell starts
	tol    float64         // distance in degrees under which a vertex counts as on a line
	work   splitter
	cell   [2]convex // Voronoi cell under construction, and its next version
}

func newTiler(area zhufang.MultiPolygon, sites []zhufang.Point) *tiler {
	b := area.Bounds()
	lat0 := (b.Min.Lat + b.Max.Lat) / 2
	kx := math.Cos(lat0 * math.Pi / 180)
	t := &tiler{sites: sites, kx: kx, kx2: kx * kx}
	t.grid = newGrid(t)
	var total float64
	for _, p := range area {
		r := openRing(p[0])
		t.pieces = append(t.pieces, r)
		t.boxes = append(t.boxes, r.bounds())
		total += r.area()
	}
	t.work.minArea = sliver * total
	// The frame only has to hold the area; growing it keeps area vertices
	// off its edges.
	g := 0.01*math.Max(b.Max.Lon-b.Min.Lon, b.Max.Lat-b.Min.Lat) + 1e-6
	t.frame = []zhufang.Point{
		{Lon: b.Min.Lon - g, Lat: b.Min.Lat - g},
		{Lon: b.Max.Lon + g, Lat: b.Min.Lat - g},
		{Lon: b.Max.Lon + g, Lat: b.Max.Lat + g},
		{Lon: b.Min.Lon - g, Lat: b.Max.Lat + g},
	}
	// Rounding moves computed points by a few units in the last place of
	// the coordinates; a tolerance a few hundred times that still sits far
	// below any real feature (about 1 mm here).
	m := math.Max(math.Max(math.Abs(b.Min.Lon), math.Abs(b.Max.Lon)), math.Max(math.Abs(b.Min.Lat), math.Abs(b.Max.Lat)))
	t.tol = 1e-13 * (1 + m)
	t.work.minWidth = t.tol
	return t
}

// clip returns the area cut down to the convex cell bounded by planes, whose
// bounding box is box.
func (t *tiler) clip(planes []halfPlane, box zhufang.Rect) zhufang.MultiPolygon {
	var out zhufang.MultiPolygon
	var cur, next []ring
	for k, r := range t.pieces {
		if !t.boxes[k].Intersects(box) {
			continue
		}
		cur = append(cur[:0], r)
		for _, h := range planes {
			next = next[:0]
			for _, r := range cur {
				next = t.work.split(r, h, next)
			}
			cur, next = next, cur
			if len(cur) == 0 {
				break
			}
		}
		for _, r := range cur {
			out = append(out, zhufang.Polygon{r.closed()})
		}
	}
	return out
}
