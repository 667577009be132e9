package locate

import (
	"math"

	"zhufang"
)

// brute is the reference the index is checked against: MultiPolygon.Contains
// over the areas in order, first match wins. Areas are pre-filtered by
// bounding box through a coarse bucket grid only so that hundreds of
// thousands of points can be checked in seconds; TestBruteIsAScan checks the
// filter against a plain scan.
type brute struct {
	areas   []Area
	boxes   []zhufang.Rect
	g       grid
	buckets [][]int32
}

// bruteSlack widens every box so that nearEdge sees every edge within it.
const bruteSlack = 1e-6

func newBrute(areas []Area) *brute {
	br := &brute{areas: areas}
	all := zhufang.EmptyRect()
	for _, a := range areas {
		b := a.Area.Bounds()
		b.Min.Lon, b.Min.Lat = b.Min.Lon-bruteSlack, b.Min.Lat-bruteSlack
		b.Max.Lon, b.Max.Lat = b.Max.Lon+bruteSlack, b.Max.Lat+bruteSlack
		br.boxes = append(br.boxes, b)
		all = all.Union(b)
	}
	br.g = newGrid(all, 64*64)
	br.buckets = make([][]int32, br.g.nx*br.g.ny)
	for n, b := range br.boxes {
		for j := br.g.row(b.Min.Lat); j <= br.g.row(b.Max.Lat); j++ {
			for i := br.g.col(b.Min.Lon); i <= br.g.col(b.Max.Lon); i++ {
				br.buckets[j*br.g.nx+i] = append(br.buckets[j*br.g.nx+i], int32(n))
			}
		}
	}
	return br
}

// candidates returns, in area order, the areas whose widened box holds p.
func (br *brute) candidates(p zhufang.Point) []int32 {
	if math.IsNaN(p.Lon) || math.IsNaN(p.Lat) || math.IsInf(p.Lon, 0) || math.IsInf(p.Lat, 0) {
		return nil
	}
	var out []int32
	for _, n := range br.buckets[br.g.row(p.Lat)*br.g.nx+br.g.col(p.Lon)] {
		if br.boxes[n].Contains(p) {
			out = append(out, n)
		}
	}
	return out
}

// locate returns the first area that contains p, or -1.
func (br *brute) locate(p zhufang.Point) int {
	for _, n := range br.candidates(p) {
		if br.areas[n].Area.Contains(p) {
			return int(n)
		}
	}
	return -1
}

// scan is locate without the bucket filter.
func (br *brute) scan(p zhufang.Point) int {
	for n, a := range br.areas {
		if a.Area.Contains(p) {
			return n
		}
	}
	return -1
}

// nearEdge reports whether p lies within tol (≤ bruteSlack) of an edge of
// any area, where the index and the brute force may rightly disagree.
func (br *brute) nearEdge(p zhufang.Point, tol float64) bool {
	for _, n := range br.candidates(p) {
		for _, poly := range br.areas[n].Area {
			for _, r := range poly {
				for i := 0; i+1 < len(r); i++ {
					if r[i] != r[i+1] && distance(p, r[i], r[i+1]) <= tol {
						return true
					}
				}
			}
		}
	}
	return false
}

// agrees reports whether the index's answer for p is the brute force's, or
// p is so close to an edge that either neighbour is a right answer.
func (br *brute) agrees(ix *Index, p zhufang.Point) bool {
	got, ok := ix.Locate(p)
	want := br.locate(p)
	if want < 0 {
		if !ok {
			return true
		}
	} else if ok && got == br.areas[want].Jurisdiction {
		return true
	}
	return br.nearEdge(p, edgeTolerance)
}

// edgeTolerance is how close to an edge a point may be and still get either
// neighbour's answer.
const edgeTolerance = 1e-9
