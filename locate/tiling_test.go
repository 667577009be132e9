package locate

import (
	"fmt"
	"math"
	"math/rand/v2"

	"zhufang"
)

// Yongzhou's box, which the synthetic city fills.
var cityBox = zhufang.Rect{
	Min: zhufang.Point{Lon: 110.9, Lat: 24.6},
	Max: zhufang.Point{Lon: 112.4, Lat: 26.9},
}

// tiling builds a synthetic city over box: a jittered nx×ny lattice of
// quadrilateral cells whose sides are shared polylines, so neighbours meet
// exactly as real boundary data does. Ordinary sides carry a few kinks
// (cells of 5–30 vertices); every tenth column line and every eleventh row
// line is a jagged "county border" of 40–120 vertices. A round lake of
// cells is left out, one cell has a hole filled by an enclave, and one area
// is two cells apart (an exclave), so the city has uncovered ground inside
// its bounds and along its ragged rim.
func tiling(nx, ny int, box zhufang.Rect, seed uint64) []Area {
	rnd := rand.New(rand.NewPCG(seed, 1))
	dx := (box.Max.Lon - box.Min.Lon) / float64(nx)
	dy := (box.Max.Lat - box.Min.Lat) / float64(ny)
	// Corners: jittered inside the box so the outline is ragged.
	corner := make([][]zhufang.Point, nx+1)
	for i := range corner {
		corner[i] = make([]zhufang.Point, ny+1)
		for j := range corner[i] {
			fx, fy := float64(i)+jitter(rnd), float64(j)+jitter(rnd)
			fx, fy = min(max(fx, 0), float64(nx)), min(max(fy, 0), float64(ny))
			corner[i][j] = zhufang.Point{Lon: box.Min.Lon + fx*dx, Lat: box.Min.Lat + fy*dy}
		}
	}
	// Sides: hside[i][j] runs from corner (i,j) to (i+1,j), vside[i][j]
	// from (i,j) to (i,j+1). Both exclude their end corners.
	hside := make([][][]zhufang.Point, nx)
	for i := range hside {
		hside[i] = make([][]zhufang.Point, ny+1)
		for j := range hside[i] {
			hside[i][j] = kinks(rnd, corner[i][j], corner[i+1][j], j%11 == 5)
		}
	}
	vside := make([][][]zhufang.Point, nx+1)
	for i := range vside {
		vside[i] = make([][]zhufang.Point, ny)
		for j := range vside[i] {
			vside[i][j] = kinks(rnd, corner[i][j], corner[i][j+1], i%10 == 5)
		}
	}
	cell := func(i, j int) zhufang.Ring {
		var r zhufang.Ring
		r = append(r, corner[i][j])
		r = append(r, hside[i][j]...)
		r = append(r, corner[i+1][j])
		r = append(r, vside[i+1][j]...)
		r = append(r, corner[i+1][j+1])
		r = append(r, reversed(hside[i][j+1])...)
		r = append(r, corner[i][j+1])
		r = append(r, reversed(vside[i][j])...)
		return append(r, corner[i][j])
	}

	var areas []Area
	lakeI, lakeJ := nx/2, ny/2
	enclI, enclJ := nx/5, 4*ny/5
	exI, exJ := 3*nx/5, ny/10
	for j := range ny {
		for i := range nx {
			if di, dj := i-lakeI, j-lakeJ; di*di+dj*dj < 6 {
				continue // the lake
			}
			if i == exI+2 && j == exJ {
				continue // folded into the exclave area below
			}
			area := zhufang.MultiPolygon{{cell(i, j)}}
			if i == exI && j == exJ {
				area = append(area, zhufang.Polygon{cell(exI+2, exJ)})
			}
			if i == enclI && j == enclJ {
				area[0] = append(area[0], inner(corner, i, j))
			}
			areas = append(areas, Area{Jurisdiction: jurisdiction(len(areas), i, j), Area: area})
		}
	}
	encl := Area{Jurisdiction: jurisdiction(len(areas), enclI, enclJ), Area: zhufang.MultiPolygon{{inner(corner, enclI, enclJ)}}}
	return append(areas, encl)
}

// jitter moves a lattice corner by up to a quarter cell, which keeps every
// quadrilateral convex with corner angles well away from zero.
func jitter(rnd *rand.Rand) float64 { return (rnd.Float64() - 0.5) / 2 }

// kinks returns the inner vertices of the side from a to b: points along it
// pushed sideways by up to amp of its length, tapering to zero at both ends
// so the side never leaves a narrow lens and cannot meet another side.
func kinks(rnd *rand.Rand, a, b zhufang.Point, border bool) []zhufang.Point {
	n, amp := rnd.IntN(7), 0.05
	if border {
		n, amp = 40+rnd.IntN(80), 0.06
	}
	if n == 0 {
		return nil
	}
	dx, dy := b.Lon-a.Lon, b.Lat-a.Lat
	pts := make([]zhufang.Point, n)
	for k := range pts {
		t := (float64(k) + 0.2 + 0.6*rnd.Float64()) / float64(n)
		off := amp * math.Sin(math.Pi*t) * (2*rnd.Float64() - 1)
		pts[k] = zhufang.Point{Lon: a.Lon + t*dx - off*dy, Lat: a.Lat + t*dy + off*dx}
	}
	return pts
}

func reversed(pts []zhufang.Point) []zhufang.Point {
	out := make([]zhufang.Point, len(pts))
	for k, p := range pts {
		out[len(pts)-1-k] = p
	}
	return out
}

// inner returns a small quadrilateral in the middle of lattice cell (i, j):
// the hole of that cell and the ring of the enclave that fills it.
func inner(corner [][]zhufang.Point, i, j int) zhufang.Ring {
	at := func(s, t float64) zhufang.Point {
		lerp := func(p, q zhufang.Point, u float64) zhufang.Point {
			return zhufang.Point{Lon: p.Lon + u*(q.Lon-p.Lon), Lat: p.Lat + u*(q.Lat-p.Lat)}
		}
		return lerp(lerp(corner[i][j], corner[i+1][j], s), lerp(corner[i][j+1], corner[i+1][j+1], s), t)
	}
	return zhufang.Ring{at(0.35, 0.35), at(0.65, 0.35), at(0.65, 0.65), at(0.35, 0.65), at(0.35, 0.35)}
}

// jurisdiction names area n at lattice cell (i, j): stations are 5×6 blocks
// of cells and counties 10×11 blocks, matching the jagged border lines.
func jurisdiction(n, i, j int) zhufang.Jurisdiction {
	county := (i+5)/10*10 + (j+6)/11 + 1
	station := (i/5)*100 + j/6 + 1
	return zhufang.Jurisdiction{
		Community: zhufang.AreaRef{ID: int64(n + 1), Code: fmt.Sprintf("4311%02d%06d", county, n), Name: fmt.Sprintf("村%d", n), Kind: "village"},
		Station:   zhufang.AreaRef{ID: int64(station), Code: fmt.Sprintf("4311%02d%03d", county, station%1000), Name: fmt.Sprintf("派出所%d", station)},
		County:    zhufang.AreaRef{ID: int64(county), Code: fmt.Sprintf("4311%02d", county), Name: fmt.Sprintf("县%d", county)},
	}
}
