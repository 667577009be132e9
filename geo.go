package zhufang

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Point is a WGS-84 position. It encodes to JSON as a GeoJSON position
// [lon, lat].
type Point struct {
	Lon float64
	Lat float64
}

// Validate reports whether p is a position on the planet.
func (p Point) Validate() error {
	if math.IsNaN(p.Lon) || math.IsNaN(p.Lat) || math.IsInf(p.Lon, 0) || math.IsInf(p.Lat, 0) {
		return Errorf(EINVALID, "coordinates must be finite numbers")
	}
	if p.Lon < -180 || p.Lon > 180 {
		return Errorf(EINVALID, "longitude %g is off the planet (must be within -180..180)", p.Lon)
	}
	if p.Lat < -90 || p.Lat > 90 {
		return Errorf(EINVALID, "latitude %g is off the planet (must be within -90..90)", p.Lat)
	}
	return nil
}

// IsZero reports whether p is the zero value (an unset position).
func (p Point) IsZero() bool { return p.Lon == 0 && p.Lat == 0 }

// MarshalJSON encodes p as [lon, lat].
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{p.Lon, p.Lat})
}

// UnmarshalJSON decodes [lon, lat].
func (p *Point) UnmarshalJSON(b []byte) error {
	var a []float64
	if err := json.Unmarshal(b, &a); err != nil {
		return Errorf(EINVALID, "a position must be [lon, lat]")
	}
	// GeoJSON allows an altitude as a third number; zhufang keeps only the
	// horizontal position.
	if len(a) != 2 && len(a) != 3 {
		return Errorf(EINVALID, "a position must be [lon, lat] or [lon, lat, altitude], got %d numbers", len(a))
	}
	p.Lon, p.Lat = a[0], a[1]
	return nil
}

// DistanceMeters returns the great-circle distance between p and q.
func (p Point) DistanceMeters(q Point) float64 {
	const r = 6371008.8
	la1, la2 := p.Lat*math.Pi/180, q.Lat*math.Pi/180
	dla := la2 - la1
	dlo := (q.Lon - p.Lon) * math.Pi / 180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// OffsetMeters moves p east and north by the given metres, on a local
// flat approximation good for the few kilometres of a beat.
func (p Point) OffsetMeters(east, north float64) Point {
	const perDegree = 111_320.0
	return Point{Lon: p.Lon + east/(perDegree*math.Cos(p.Lat*math.Pi/180)), Lat: p.Lat + north/perDegree}
}

// BearingTo is the heading from p to q in degrees from north, in [0, 360);
// 0 for q at p.
func (p Point) BearingTo(q Point) float64 {
	east := (q.Lon - p.Lon) * math.Cos(p.Lat*math.Pi/180)
	h := math.Atan2(east, q.Lat-p.Lat) * 180 / math.Pi
	if h < 0 {
		h += 360
	}
	if !(h >= 0 && h < 360) {
		return 0
	}
	return h
}

// Rect is an axis-aligned box in lon/lat.
type Rect struct {
	Min, Max Point
}

// EmptyRect returns a box that contains nothing and grows with Extend.
func EmptyRect() Rect {
	return Rect{Min: Point{math.Inf(1), math.Inf(1)}, Max: Point{math.Inf(-1), math.Inf(-1)}}
}

// Extend returns r grown to contain p.
func (r Rect) Extend(p Point) Rect {
	r.Min.Lon = math.Min(r.Min.Lon, p.Lon)
	r.Min.Lat = math.Min(r.Min.Lat, p.Lat)
	r.Max.Lon = math.Max(r.Max.Lon, p.Lon)
	r.Max.Lat = math.Max(r.Max.Lat, p.Lat)
	return r
}

// Union returns the smallest box containing r and s.
func (r Rect) Union(s Rect) Rect { return r.Extend(s.Min).Extend(s.Max) }

// Contains reports whether p lies in r, edges included.
func (r Rect) Contains(p Point) bool {
	return p.Lon >= r.Min.Lon && p.Lon <= r.Max.Lon && p.Lat >= r.Min.Lat && p.Lat <= r.Max.Lat
}

// Intersects reports whether r and s share any point.
func (r Rect) Intersects(s Rect) bool {
	return r.Min.Lon <= s.Max.Lon && s.Min.Lon <= r.Max.Lon && r.Min.Lat <= s.Max.Lat && s.Min.Lat <= r.Max.Lat
}

// Ring is a closed linear ring: the first and last points are equal.
type Ring []Point

// Polygon is an outer ring followed by zero or more holes.
type Polygon []Ring

// MultiPolygon is the area of a jurisdiction: one or more polygons (a county
// may have exclaves).
type MultiPolygon []Polygon

// MaxRingPoints bounds the size of one ring, and MaxAreaPoints of a whole
// area, accepted from outside, so that validating hostile input stays cheap.
const (
	MaxRingPoints = 10000
	MaxAreaPoints = 200000
)

// Validate reports whether the ring is closed, has at least three distinct
// corners, lies on the planet and does not cross itself.
func (r Ring) Validate() error {
	if len(r) < 4 {
		return Errorf(EINVALID, "a polygon ring needs at least 4 positions (3 corners and the closing one), got %d", len(r))
	}
	if len(r) > MaxRingPoints {
		return Errorf(EINVALID, "a polygon ring may have at most %d positions, got %d", MaxRingPoints, len(r))
	}
	for _, p := range r {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	if r[0] != r[len(r)-1] {
		return Errorf(EINVALID, "polygon ring does not close: first position %v differs from last %v", r[0], r[len(r)-1])
	}
	if i, j, ok := r.selfIntersection(); ok {
		return Errorf(EINVALID, "polygon ring crosses itself (edges %d and %d)", i, j)
	}
	if r.signedArea() == 0 {
		return Errorf(EINVALID, "polygon ring has no area")
	}
	return nil
}

// signedArea returns twice the signed planar area in degrees²; positive
// when the ring runs counter-clockwise.
func (r Ring) signedArea() float64 {
	if len(r) == 0 {
		return 0
	}
	// Relative to the first position: absolute coordinates near (111, 26)
	// would drown a small ring's area in rounding.
	o := r[0]
	var a float64
	for i := 0; i+1 < len(r); i++ {
		x0, y0 := r[i].Lon-o.Lon, r[i].Lat-o.Lat
		x1, y1 := r[i+1].Lon-o.Lon, r[i+1].Lat-o.Lat
		a += x0*y1 - x1*y0
	}
	return a
}

// selfIntersection finds two edges that touch or cross where they should
// not: non-adjacent edges that meet, or adjacent edges that fold back on
// each other. Repeated positions are ignored.
func (r Ring) selfIntersection() (int, int, bool) {
	r = r.compact()
	n := len(r) - 1 // number of edges
	box := make([]Rect, n)
	order := make([]int, n)
	for i := range n {
		box[i] = EmptyRect().Extend(r[i]).Extend(r[i+1])
		order[i] = i
	}
	// Sweep over edges sorted by west end: only edges whose longitudes
	// overlap are compared, which keeps ordinary rings near-linear.
	sort.Slice(order, func(a, b int) bool { return box[order[a]].Min.Lon < box[order[b]].Min.Lon })
	for a := range n {
		for b := a + 1; b < n && box[order[b]].Min.Lon <= box[order[a]].Max.Lon; b++ {
			i, j := min(order[a], order[b]), max(order[a], order[b])
			if !box[i].Intersects(box[j]) {
				continue
			}
			adjacent := j == i+1 || (i == 0 && j == n-1)
			if adjacent {
				// Adjacent edges share one end; they are bad only if they
				// overlap along a line (the ring doubles back).
				var shared, a, b Point
				if j == i+1 {
					shared, a, b = r[j], r[i], r[j+1]
				} else {
					shared, a, b = r[i], r[i+1], r[j]
				}
				if orient(a, shared, b) == 0 && dot(a, shared, b) > 0 {
					return i, j, true
				}
				continue
			}
			if segmentsIntersect(r[i], r[i+1], r[j], r[j+1]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// compact drops repeated consecutive positions, which add zero-length
// edges that would make neighbouring edges look non-adjacent.
func (r Ring) compact() Ring {
	out := make(Ring, 0, len(r))
	for i, p := range r {
		if i == 0 || p != r[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// orient returns >0 if a, b, c turn counter-clockwise, <0 if clockwise and
// 0 if they are collinear.
func orient(a, b, c Point) float64 {
	return (b.Lon-a.Lon)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lon-a.Lon)
}

// dot returns the dot product of (a-o) and (b-o).
func dot(a, o, b Point) float64 {
	return (a.Lon-o.Lon)*(b.Lon-o.Lon) + (a.Lat-o.Lat)*(b.Lat-o.Lat)
}

func onSegment(a, b, p Point) bool {
	return math.Min(a.Lon, b.Lon) <= p.Lon && p.Lon <= math.Max(a.Lon, b.Lon) &&
		math.Min(a.Lat, b.Lat) <= p.Lat && p.Lat <= math.Max(a.Lat, b.Lat)
}

// segmentsIntersect reports whether the closed segments ab and cd share a
// point.
func segmentsIntersect(a, b, c, d Point) bool {
	d1 := orient(c, d, a)
	d2 := orient(c, d, b)
	d3 := orient(a, b, c)
	d4 := orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

// Validate reports whether every ring of the polygon is valid.
func (p Polygon) Validate() error {
	if len(p) == 0 {
		return Errorf(EINVALID, "a polygon needs an outer ring")
	}
	for i, r := range p {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("ring %d: %w", i, err)
		}
	}
	for i, h := range p[1:] {
		if !p[0].crossings(h[0]) {
			return Errorf(EINVALID, "hole %d lies outside its polygon's outer ring", i+1)
		}
	}
	for i := range p {
		for j := i + 1; j < len(p); j++ {
			if ringsCross(p[i], p[j]) {
				return Errorf(EINVALID, "rings %d and %d of a polygon cross each other", i, j)
			}
		}
	}
	return nil
}

// ringsCross reports whether any edge of a meets any edge of b.
func ringsCross(a, b Ring) bool {
	ba, bb := EmptyRect(), EmptyRect()
	for _, p := range a {
		ba = ba.Extend(p)
	}
	for _, p := range b {
		bb = bb.Extend(p)
	}
	if !ba.Intersects(bb) {
		return false
	}
	for i := 0; i+1 < len(a); i++ {
		ea := EmptyRect().Extend(a[i]).Extend(a[i+1])
		if !ea.Intersects(bb) {
			continue
		}
		for j := 0; j+1 < len(b); j++ {
			if ea.Intersects(EmptyRect().Extend(b[j]).Extend(b[j+1])) && segmentsIntersect(a[i], a[i+1], b[j], b[j+1]) {
				return true
			}
		}
	}
	return false
}

// Validate reports whether the multipolygon has at least one polygon and
// every polygon is valid.
func (m MultiPolygon) Validate() error {
	if len(m) == 0 {
		return Errorf(EINVALID, "an area needs at least one polygon")
	}
	n := 0
	for _, p := range m {
		for _, r := range p {
			n += len(r)
		}
	}
	if n > MaxAreaPoints {
		return Errorf(EINVALID, "an area may have at most %d positions, got %d", MaxAreaPoints, n)
	}
	for i, p := range m {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("polygon %d: %w", i, err)
		}
	}
	return nil
}

// Bounds returns the bounding box of the multipolygon.
func (m MultiPolygon) Bounds() Rect {
	b := EmptyRect()
	for _, p := range m {
		for _, r := range p {
			for _, pt := range r {
				b = b.Extend(pt)
			}
		}
	}
	return b
}

// Contains reports whether pt lies inside the area (even-odd rule over all
// rings, so holes are excluded).
func (m MultiPolygon) Contains(pt Point) bool {
	in := false
	for _, p := range m {
		for _, r := range p {
			if r.crossings(pt) {
				in = !in
			}
		}
	}
	return in
}

// crossings reports whether a ray from pt towards +lon crosses the ring an
// odd number of times.
func (r Ring) crossings(pt Point) bool {
	in := false
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		if (a.Lat > pt.Lat) != (b.Lat > pt.Lat) {
			x := a.Lon + (pt.Lat-a.Lat)*(b.Lon-a.Lon)/(b.Lat-a.Lat)
			if pt.Lon < x {
				in = !in
			}
		}
	}
	return in
}

// AreaKm2 returns the area in square kilometres, on a local equirectangular
// projection, which is accurate to well under 1% at the size of a county.
func (m MultiPolygon) AreaKm2() float64 {
	b := m.Bounds()
	phi := (b.Min.Lat + b.Max.Lat) / 2 * math.Pi / 180
	// Kilometres per degree of longitude and latitude at the middle latitude.
	kx := 111.41284*math.Cos(phi) - 0.0935*math.Cos(3*phi)
	ky := 111.132954 - 0.559822*math.Cos(2*phi)
	var a float64
	for _, p := range m {
		for i, r := range p {
			s := math.Abs(r.signedArea()) / 2 * kx * ky
			if i == 0 {
				a += s
			} else {
				a -= s
			}
		}
	}
	return a
}
