package tiling

import (
	"math"
	"slices"

	"zhufang"
)

// ring is a ring without its closing position: the edges run from each
// point to the next and from the last back to the first, which spares the
// splitting code a special case.
type ring []zhufang.Point

// openRing returns r counter-clockwise, open and clean.
func openRing(r zhufang.Ring) ring {
	o := ring(slices.Clone(r[:len(r)-1])).clean()
	if o.signedArea() < 0 {
		slices.Reverse(o)
	}
	return o
}

// closed returns r as a zhufang.Ring, closing position included.
func (r ring) closed() zhufang.Ring {
	c := make(zhufang.Ring, len(r)+1)
	copy(c, r)
	c[len(r)] = r[0]
	return c
}

func (r ring) bounds() zhufang.Rect {
	b := zhufang.EmptyRect()
	for _, p := range r {
		b = b.Extend(p)
	}
	return b
}

// signedArea returns the planar area in degrees², positive when r runs
// counter-clockwise. Coordinates are taken relative to the first point, or
// the products, thousands of times the area of a small cell at lon 111,
// would cancel most of its digits away.
func (r ring) signedArea() float64 {
	if len(r) == 0 {
		return 0
	}
	var a float64
	o := r[0]
	for k, p := range r {
		q := r[(k+1)%len(r)]
		a += (p.Lon-o.Lon)*(q.Lat-o.Lat) - (q.Lon-o.Lon)*(p.Lat-o.Lat)
	}
	return a / 2
}

func (r ring) perimeter() float64 {
	var l float64
	for k, p := range r {
		q := r[(k+1)%len(r)]
		l += math.Hypot(q.Lon-p.Lon, q.Lat-p.Lat)
	}
	return l
}

// area returns the unsigned planar area in degrees².
func (r ring) area() float64 { return math.Abs(r.signedArea()) }

// clean drops repeated positions and corners where the boundary runs
// straight on or folds back on itself. Cutting makes them wherever a line
// meets a vertex; zhufang's validator refuses folds, and repeats and straight
// corners carry nothing.
func (r ring) clean() ring {
	for {
		removed := false
		for k := 0; k < len(r) && len(r) >= 3; {
			n := len(r)
			// Both argument orders, as the validator's rounding may see
			// either.
			a, b, c := r[(k+n-1)%n], r[k], r[(k+1)%n]
			if orient(a, b, c) == 0 || orient(c, b, a) == 0 {
				r = slices.Delete(r, k, k+1)
				removed = true
				// The corner before may have turned flat too.
				k = max(k-1, 0)
				continue
			}
			k++
		}
		if !removed || len(r) < 3 {
			return r
		}
	}
}

// orient returns >0 if a, b, c turn counter-clockwise, <0 if clockwise and 0
// if they are collinear (or two of them coincide).
func orient(a, b, c zhufang.Point) float64 {
	return (b.Lon-a.Lon)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lon-a.Lon)
}
