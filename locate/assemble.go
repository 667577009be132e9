package locate

import (
	"math"
	"slices"

	"zhufang"
)

// assemble turns the builder's per-cell entries into the compact index.
func (b *builder) assemble() *Index {
	ix := &Index{
		g:     b.g,
		juris: make([]zhufang.Jurisdiction, len(b.areas)),
		cells: make([]int32, len(b.owner)),
		brute: make([]zhufang.MultiPolygon, len(b.areas)),
	}
	for a := range b.areas {
		ix.juris[a] = b.areas[a].Jurisdiction
	}
	// Sized up front: growing by appends would churn several times the
	// index's size through the allocator.
	ix.segs = make([]seg, 0, len(b.ent))
	ix.cands = make([]cand, 0, b.countCands())
	for c := range ix.cells {
		if b.start[c] == b.start[c+1] {
			ix.cells[c] = b.owner[c]
			continue
		}
		ix.cells[c] = mixed - int32(len(ix.cands))
		b.assembleCell(ix, c)
	}
	// The sentinel ends the edge run of the last real candidate.
	ix.cands = append(ix.cands, cand{first: uint32(len(ix.segs))})
	return ix
}

// countCands returns an upper bound on the candidates assemble makes: one
// per area with edges in a mixed cell, the owners of mixed cells and the
// sentinel.
func (b *builder) countCands() int {
	n := 1
	for c := range b.owner {
		ents := b.ent[b.start[c]:b.start[c+1]]
		for k := range ents {
			if k == 0 || b.edges[ents[k]].area != b.edges[ents[k-1]].area {
				n++
			}
		}
		if len(ents) > 0 && b.owner[c] != none {
			n++
		}
	}
	return n
}

// assembleCell appends the candidates of mixed cell c in area order. An
// owner that covers the whole cell goes in its place in that order; areas
// after it can never be the first to contain a point of the cell, so they
// are left out.
func (b *builder) assembleCell(ix *Index, c int) {
	i, j := c%b.g.nx, c/b.g.nx
	ents := b.ent[b.start[c]:b.start[c+1]]
	k, clear := b.chooseRef(i, j, ents)
	ref := b.g.ref(i, j, k)
	owner := b.owner[c]
	for n := 0; n < len(ents); {
		a := b.edges[ents[n]].area
		if owner != none && a > owner {
			break
		}
		m := n + 1
		for m < len(ents) && b.edges[ents[m]].area == a {
			m++
		}
		cd := cand{area: a, first: uint32(len(ix.segs)), ref: uint8(k)}
		if clear {
			if b.refInside(a, k, ref, int(b.start[c])+n) {
				cd.flags |= candInside
			}
			for _, e := range ents[n:m] {
				ix.segs = append(ix.segs, relative(b.edges[e], ref))
			}
		} else {
			cd.flags |= candBrute
			if ix.brute[a] == nil {
				ix.brute[a] = clone(b.areas[a].Area)
			}
		}
		ix.cands = append(ix.cands, cd)
		n = m
	}
	if owner != none {
		ix.cands = append(ix.cands, cand{area: owner, first: uint32(len(ix.segs)), flags: candInside, ref: uint8(k)})
	}
	ix.cands[len(ix.cands)-1].flags |= candLast
}

// refInside reports whether area a contains reference point k (at ref) of
// the cell whose entry for a is number n. The fill has already decided the
// centre; other reference points are rare enough to test in full.
func (b *builder) refInside(a int32, k int, ref zhufang.Point, n int) bool {
	if k == 0 {
		return b.inside[n]
	}
	return b.areas[a].Area.Contains(ref)
}

// chooseRef picks the first reference point of cell (i, j) that keeps at
// least tolerance from every edge in the cell, so that neither the build's
// inside test nor the query's crossing test has to decide a near tie there.
// It reports false when every reference point is too close to some edge.
func (b *builder) chooseRef(i, j int, ents []int32) (int, bool) {
	for k := range refs {
		p := b.g.ref(i, j, k)
		clear := true
		for _, e := range ents {
			if distance(p, b.edges[e].a, b.edges[e].b) < b.tolerance {
				clear = false
				break
			}
		}
		if clear {
			return k, true
		}
	}
	return 0, false
}

// distance returns the planar distance in degrees from p to segment ab.
func distance(p, a, b zhufang.Point) float64 {
	dx, dy := b.Lon-a.Lon, b.Lat-a.Lat
	t := ((p.Lon-a.Lon)*dx + (p.Lat-a.Lat)*dy) / (dx*dx + dy*dy)
	t = min(max(t, 0), 1)
	return math.Hypot(p.Lon-(a.Lon+t*dx), p.Lat-(a.Lat+t*dy))
}

func relative(e edge, ref zhufang.Point) seg {
	return seg{e.a.Lon - ref.Lon, e.a.Lat - ref.Lat, e.b.Lon - ref.Lon, e.b.Lat - ref.Lat}
}

// clone copies m so that the index does not share the caller's slices.
func clone(m zhufang.MultiPolygon) zhufang.MultiPolygon {
	out := make(zhufang.MultiPolygon, len(m))
	for i, p := range m {
		out[i] = make(zhufang.Polygon, len(p))
		for j, r := range p {
			out[i][j] = slices.Clone(r)
		}
	}
	return out
}
