package web

import (
	"math"
	"strconv"

	"zhufang"
)

// The console draws jurisdiction boundaries as SVG paths built here rather
// than on map tiles, because police intranets have no tile servers. Paths are
// built once at start-up, so this file trades a little CPU for small pages:
// simplification and one-decimal coordinates keep ~3,500 areas light enough
// to ship inline.

// mapMargin is the share of the map's width left empty on every side, so
// strokes on the outermost boundary are not clipped by the viewBox.
const mapMargin = 0.02

// mapMinSpan is the extent, in degrees (about 100 m), given to bounds that
// have none, so a single point still gets a finite scale.
const mapMinSpan = 1e-3

// projection maps WGS-84 lon/lat to SVG user units: an equirectangular
// projection with x scaled by cos(middle latitude), y growing southward,
// fitted so the given bounds fill a width of W units (height follows the
// aspect ratio), with a margin. At a city's size the distortion of this
// projection is far below a stroke width. Only the server projects: the
// browser gets positions in map units (see XY1).
type projection struct {
	// Lon0 and Lat0 are the lon/lat of the viewBox's top-left corner.
	Lon0, Lat0 float64
	// KX and KY are SVG units per degree of longitude and latitude.
	KX, KY float64
	// W and H are the size of the viewBox.
	W, H float64
}

// newProjection fits the box minLon..maxLon × minLat..maxLat into a map
// width units wide. A box with no width or height is widened around its
// centre, and a non-finite or inverted one (the Bounds of an empty area) is
// treated as the point (0, 0), so that no NaN reaches the page, where it
// would silently blank every path.
func newProjection(minLon, minLat, maxLon, maxLat, width float64) projection {
	if !allFinite(minLon, minLat, maxLon, maxLat) || minLon > maxLon || minLat > maxLat {
		minLon, minLat, maxLon, maxLat = 0, 0, 0, 0
	}
	c := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	if maxLat == minLat && maxLon == minLon {
		minLat, maxLat = minLat-mapMinSpan/2, maxLat+mapMinSpan/2
	}
	spanY := maxLat - minLat
	spanX := (maxLon - minLon) * c
	if spanX == 0 {
		// A north–south line: make the box square so the scale comes from
		// its height.
		mid, half := minLon, spanY/c/2
		minLon, maxLon, spanX = mid-half, mid+half, spanY
	}
	m := width * mapMargin
	k := (width - 2*m) / spanX
	p := projection{KX: k * c, KY: k, W: width, H: spanY*k + 2*m}
	p.Lon0 = minLon - m/p.KX
	p.Lat0 = maxLat + m/p.KY
	return p
}

// allFinite reports whether no value is NaN or infinite.
func allFinite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// XY returns pt's position in SVG user units.
func (p projection) XY(pt zhufang.Point) (x, y float64) {
	return (pt.Lon - p.Lon0) * p.KX, (p.Lat0 - pt.Lat) * p.KY
}

// Point returns the position at (x, y) in SVG user units: the inverse of
// XY, so that a place clicked on the map becomes a position on the
// server, which alone projects.
func (p projection) Point(x, y float64) zhufang.Point {
	return zhufang.Point{Lon: p.Lon0 + x/p.KX, Lat: p.Lat0 - y/p.KY}
}

// ViewBox returns "0 0 W H" for the svg element.
func (p projection) ViewBox() string {
	b := []byte("0 0 ")
	b = appendTenths(b, tenths(p.W))
	b = append(b, ' ')
	b = appendTenths(b, tenths(p.H))
	return string(b)
}

// XY1 returns pt's position in SVG user units rounded to 0.1, as the map
// writes every position it draws or moves: the page's markers, a marker
// drawn again after an event and a unit moved by the positions event then
// agree to the digit, and the browser never projects anything itself.
func (p projection) XY1(pt zhufang.Point) (x, y float64) {
	x, y = p.XY(pt)
	return float64(tenths(x)) / 10, float64(tenths(y)) / 10
}

// svgPath returns the "d" attribute for a multipolygon: each ring as
// M x y L ... Z, simplified with Douglas–Peucker at the given tolerance in
// SVG units, coordinates rounded to 1 decimal, with no separator wasted
// (e.g. "M12.3 45.6L78.9 10Z"). Rings that collapse below 3 points are
// dropped; holes are kept, and a polygon whose outer ring collapses is
// dropped with its holes, which would otherwise paint as filled islands.
// Ring orientation is not normalised, so the element wants
// fill-rule="evenodd" for holes to show.
func svgPath(p projection, m zhufang.MultiPolygon, tolerance float64) string {
	if !(tolerance > 0) {
		tolerance = 0
	}
	var s svgSimplifier
	var b []byte
	for _, poly := range m {
		mark := len(b)
		for _, r := range poly {
			b = s.appendRing(b, p, r, tolerance)
			if len(b) == mark {
				break
			}
		}
	}
	return string(b)
}

// bboxAttr returns the projected bounding box of m as "x,y,w,h" (used for
// zoom-to-jurisdiction), rounded outwards to 0.1 so it still holds the whole
// shape, or "" for an empty area, which has nothing to zoom to.
func bboxAttr(p projection, m zhufang.MultiPolygon) string {
	r := m.Bounds()
	if !(r.Min.Lon <= r.Max.Lon && r.Min.Lat <= r.Max.Lat) {
		return ""
	}
	x0, y0 := p.XY(zhufang.Point{Lon: r.Min.Lon, Lat: r.Max.Lat})
	x1, y1 := p.XY(zhufang.Point{Lon: r.Max.Lon, Lat: r.Min.Lat})
	fx0, fy0 := int64(math.Floor(x0*10)), int64(math.Floor(y0*10))
	fx1, fy1 := int64(math.Ceil(x1*10)), int64(math.Ceil(y1*10))
	var b []byte
	for i, v := range [4]int64{fx0, fy0, fx1 - fx0, fy1 - fy0} {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTenths(b, v)
	}
	return string(b)
}

// svgPoint is a projected position.
type svgPoint struct{ x, y float64 }

// svgSpan is a run of ring positions, from index i to j, still to simplify.
type svgSpan struct{ i, j int }

// svgSimplifier holds the scratch buffers for one svgPath call, so that a
// multipolygon's rings reuse them instead of allocating for each ring.
type svgSimplifier struct {
	pts   []svgPoint
	keep  []bool
	stack []svgSpan
}

// appendRing appends r, projected and simplified, to b as one subpath, or
// leaves b as it was when r collapses below three distinct points.
func (s *svgSimplifier) appendRing(b []byte, p projection, r zhufang.Ring, tolerance float64) []byte {
	if len(r) < 3 {
		return b
	}
	s.pts = s.pts[:0]
	for _, pt := range r {
		x, y := p.XY(pt)
		s.pts = append(s.pts, svgPoint{x, y})
	}
	if r[0] != r[len(r)-1] {
		// Outside data may forget to close a ring; Z closes it anyway, and
		// simplification needs the closing position.
		s.pts = append(s.pts, s.pts[0])
	}
	n := len(s.pts) - 1 // distinct positions; pts[n] repeats pts[0]
	if n < 3 {
		return b
	}
	s.keep = append(s.keep[:0], make([]bool, n+1)...)
	// Douglas–Peucker needs two distinct ends, and a closed ring's ends are
	// one point: split it at the position farthest from the start, which is
	// always a corner worth keeping.
	f, best := 0, -1.0
	for i := 1; i < n; i++ {
		if d := dist2(s.pts[i], s.pts[0]); d > best {
			f, best = i, d
		}
	}
	s.keep[0], s.keep[f], s.keep[n] = true, true, true
	s.simplify(0, f, tolerance*tolerance)
	s.simplify(f, n, tolerance*tolerance)
	return s.emit(b, n)
}

// simplify marks, between pts[i] and pts[j], the positions that
// Douglas–Peucker keeps. It uses its own stack rather than recursion so a
// ring of thousands of positions cannot run deep.
func (s *svgSimplifier) simplify(i, j int, tol2 float64) {
	s.stack = append(s.stack[:0], svgSpan{i, j})
	for len(s.stack) > 0 {
		sp := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		a, b := s.pts[sp.i], s.pts[sp.j]
		k, far := -1, tol2
		for m := sp.i + 1; m < sp.j; m++ {
			if d := segDist2(s.pts[m], a, b); d > far {
				k, far = m, d
			}
		}
		if k < 0 {
			continue
		}
		s.keep[k] = true
		s.stack = append(s.stack, svgSpan{sp.i, k}, svgSpan{k, sp.j})
	}
}

// emit appends the kept positions among pts[:n] as "Mx yLx y…Z". Rounding
// can merge neighbours, so repeats are skipped after rounding, and the
// count of what is left decides whether the ring survives.
func (s *svgSimplifier) emit(b []byte, n int) []byte {
	mark := len(b)
	count, lastAt := 0, 0
	var fx, fy, lx, ly int64
	for i := range n {
		if !s.keep[i] {
			continue
		}
		x, y := tenths(s.pts[i].x), tenths(s.pts[i].y)
		if count > 0 && x == lx && y == ly {
			continue
		}
		lastAt = len(b)
		if count == 0 {
			b = append(b, 'M')
			fx, fy = x, y
		} else {
			b = append(b, 'L')
		}
		b = appendTenths(b, x)
		if y >= 0 {
			// A minus sign already separates the numbers.
			b = append(b, ' ')
		}
		b = appendTenths(b, y)
		lx, ly = x, y
		count++
	}
	if count > 1 && lx == fx && ly == fy {
		// Z already returns to the start.
		b = b[:lastAt]
		count--
	}
	if count < 3 {
		return b[:mark]
	}
	return append(b, 'Z')
}

// dist2 returns the squared distance between a and b.
func dist2(a, b svgPoint) float64 {
	dx, dy := a.x-b.x, a.y-b.y
	return dx*dx + dy*dy
}

// segDist2 returns the squared distance from q to the segment ab. The
// segment, not the line through it, so that a spike doubling back past an
// end is measured from that end and kept.
func segDist2(q, a, b svgPoint) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return dist2(q, a)
	}
	t := ((q.x-a.x)*dx + (q.y-a.y)*dy) / l2
	t = max(0, min(1, t))
	return dist2(q, svgPoint{a.x + t*dx, a.y + t*dy})
}

// tenths returns v rounded to the nearest 0.1, counted in tenths, so that
// rounded positions compare exactly.
func tenths(v float64) int64 { return int64(math.Round(v * 10)) }

// appendTenths appends v tenths as a decimal, without a ".0" that would
// only add bytes to the page.
func appendTenths(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/10, 10)
	if d := v % 10; d != 0 {
		b = append(b, '.', byte('0'+d))
	}
	return b
}
