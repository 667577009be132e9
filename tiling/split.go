package tiling

import (
	"cmp"
	"math"
	"slices"

	"zhufang"
)

// Cutting a non-convex ring by a line the Sutherland–Hodgman way keeps one
// ring and joins the pieces on the kept side by zero-width bridges along the
// line, which no validator accepts. split instead cuts the ring into chains
// that run inside the half-plane, sorts where the chains meet the line, and
// joins each chain's exit to the entry that follows it along the line.
//
// Vertices on the line (within tol) count as outside, which amounts to
// moving the line an infinitesimal step into the kept side. Under that
// perturbation no vertex is ever on the line, so the pieces come out as
// disjoint simple rings; a vertex that touched the line from the kept side
// turns into an exit and an entry at the same position, whose order along
// the line the perturbation also settles.

// tinyArea (degrees², about 10 m²) bounds the pieces worth checking against
// zhufang's Validate before they are kept: far above its rounding noise, far
// below any piece that is not a sliver.
const tinyArea = 1e-9

// crossing is where a ring passes through the line.
type crossing struct {
	at    float64 // position along the line
	lean  float64 // how fast the position moves as the line steps into the kept side
	chain int     // index of the chain it begins or ends
	exit  bool    // the ring leaves the kept side here
}

// splitter holds scratch space that split reuses from call to call; the
// chains of all cuts would otherwise be most of what a tiling allocates.
type splitter struct {
	d     []float64  // eval of each vertex, snapped to 0 within tolerance
	pts   ring       // the chains, one after another
	ends  []int      // chain c is pts[ends[c-1]:ends[c]] (ends[-1] being 0)
	xs    []crossing // where chains begin and end
	next  []int      // chain that follows each chain in its piece
	taken []bool

	// Pieces smaller than minArea (degrees²) and on average narrower than
	// minWidth (degrees) are dropped.
	minArea, minWidth float64
}

// split appends to out the pieces of r (counter-clockwise, open) on the kept
// side of h. Pieces wholly kept are r itself; others are new rings.
func (w *splitter) split(r ring, h halfPlane, out []ring) []ring {
	n := len(r)
	w.d = slices.Grow(w.d[:0], n)[:n]
	in := 0
	for k, p := range r {
		v := h.eval(p)
		if math.Abs(v) <= h.tol {
			v = 0
		}
		w.d[k] = v
		if v < 0 {
			in++
		}
	}
	switch in {
	case n:
		return append(out, r)
	case 0:
		return out
	}
	w.cutChains(r, h)
	w.pair()
	w.taken = slices.Grow(w.taken[:0], len(w.ends))[:len(w.ends)]
	clear(w.taken)
	for c := range w.ends {
		if w.taken[c] {
			continue
		}
		size := 0
		for k := c; !w.taken[k]; k = w.next[k] {
			w.taken[k] = true
			size += len(w.chain(k))
		}
		piece := make(ring, 0, size)
		for k := c; len(piece) < size; k = w.next[k] {
			piece = append(piece, w.chain(k)...)
		}
		if piece = piece.clean(); !w.sliver(piece) {
			out = append(out, piece)
		}
	}
	return out
}

// sliver reports whether r is too small to keep.
func (w *splitter) sliver(r ring) bool {
	if len(r) < 3 {
		return true
	}
	a := r.area()
	if a < w.minArea && 2*a < w.minWidth*r.perimeter() {
		return true
	}
	// zhufang's Validate takes ring areas from absolute coordinates, which
	// at lon 111 carry some 1e-13 deg² of rounding noise, so it may find no
	// area in a piece of a few cm². Such a piece cannot be handed out; it
	// is dropped, at a cost far below the area's own rounding.
	return a < tinyArea && r.closed().Validate() != nil
}

// chain returns chain c's points.
func (w *splitter) chain(c int) ring {
	from := 0
	if c > 0 {
		from = w.ends[c-1]
	}
	return w.pts[from:w.ends[c]]
}

// cutChains walks r and cuts out the runs of it inside the kept side, each
// from its entry point to its exit point, and the crossings that bound them.
func (w *splitter) cutChains(r ring, h halfPlane) {
	n, d := len(r), w.d
	w.pts, w.ends, w.xs = w.pts[:0], w.ends[:0], w.xs[:0]
	// Starting just before an entry means no chain wraps around the end.
	start := 0
	for d[start] < 0 || d[(start+1)%n] >= 0 {
		start++
	}
	for s := range n {
		k, l := (start+s)%n, (start+s+1)%n
		if d[k] >= 0 {
			if d[l] < 0 {
				x, p := h.crossing(r[k], r[l], d[k], d[l], len(w.ends), false)
				w.xs = append(w.xs, x)
				w.pts = append(w.pts, p)
			}
			continue
		}
		w.pts = append(w.pts, r[k])
		if d[l] >= 0 {
			x, p := h.crossing(r[k], r[l], d[k], d[l], len(w.ends), true)
			w.xs = append(w.xs, x)
			w.pts = append(w.pts, p)
			w.ends = append(w.ends, len(w.pts))
		}
	}
}

// crossing describes where edge ab, with eval values da and db of which
// exactly one is negative, meets the line, and returns the meeting point: the
// outside end itself when that is on the line.
func (h halfPlane) crossing(a, b zhufang.Point, da, db float64, chain int, exit bool) (crossing, zhufang.Point) {
	w, o, dw, do := a, b, da, db // w inside, o outside
	if db < 0 {
		w, o, dw, do = b, a, db, da
	}
	p := o
	if do != 0 {
		p = cut(a, b, da, db)
	}
	// The line runs along (−nLat, nLon), which keeps the kept side on its
	// left. Positions compare along the larger component of that direction
	// so that they follow the coordinates exactly.
	dLon, dLat := -h.nLat, h.nLon
	at := p.Lat * sign(dLat)
	if math.Abs(dLon) >= math.Abs(dLat) {
		at = p.Lon * sign(dLon)
	}
	// Moving the line by ε into the kept side moves the crossing towards w
	// by ε/(do−dw) of the edge.
	lean := ((w.Lon-o.Lon)*dLon + (w.Lat-o.Lat)*dLat) / (do - dw)
	return crossing{at: at, lean: lean, chain: chain, exit: exit}, p
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// pair sets w.next: for each chain, the chain that follows it in its piece.
// Along the line (kept side on the left) the crossings of a
// counter-clockwise ring go exit, entry, exit, entry…: each exit is followed
// by the entry where the piece's boundary leaves the line again.
func (w *splitter) pair() {
	xs := w.xs
	slices.SortFunc(xs, func(a, b crossing) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.lean, b.lean),
			cmp.Compare(a.chain, b.chain), cmp.Compare(b2i(b.exit), b2i(a.exit)))
	})
	// Crossings that rounding puts out of order are a rounding apart: move
	// the nearest one of the expected kind forward rather than pair two
	// exits.
	for k := range xs {
		want := k%2 == 0
		if xs[k].exit == want {
			continue
		}
		for l := k + 1; l < len(xs); l++ {
			if xs[l].exit == want {
				x := xs[l]
				copy(xs[k+1:l+1], xs[k:l])
				xs[k] = x
				break
			}
		}
	}
	w.next = slices.Grow(w.next[:0], len(xs)/2)[:len(xs)/2]
	for k := 0; k+1 < len(xs); k += 2 {
		w.next[xs[k].chain] = xs[k+1].chain
	}
}
