package locate

import (
	"math/rand/v2"
	"testing"

	"zhufang"
)

// latticeTiling builds an n×n tiling whose every vertex lies on a lattice of
// 1/512°, a power of two so that all coordinates and the grid of an index
// built with latticeConfig are exact binary fractions. Tile corners sit at
// size·k+d lattice steps with d drawn from jit; grid cells are four steps
// wide, so when size·k+d is 2 mod 4 the corner lies on a line of cell
// centres. It makes the degenerate cases that real data hits only rarely
// happen all the time.
func latticeTiling(n, size int, jit []int, seed uint64) []Area {
	rnd := rand.New(rand.NewPCG(seed, 3))
	const step = 1.0 / 512
	v := make([][]zhufang.Point, n+1)
	for i := range v {
		v[i] = make([]zhufang.Point, n+1)
		for j := range v[i] {
			di, dj := jit[rnd.IntN(len(jit))], jit[rnd.IntN(len(jit))]
			if i == 0 || i == n {
				di = 0 // a straight outline keeps the grid exactly one tile per cell
			}
			if j == 0 || j == n {
				dj = 0
			}
			v[i][j] = zhufang.Point{Lon: 111 + float64(size*i+di)*step, Lat: 25 + float64(size*j+dj)*step}
		}
	}
	var areas []Area
	for j := range n {
		for i := range n {
			r := zhufang.Ring{v[i][j], v[i+1][j], v[i+1][j+1], v[i][j+1], v[i][j]}
			areas = append(areas, Area{Jurisdiction: jurisdiction(len(areas), i, j), Area: zhufang.MultiPolygon{{r}}})
		}
	}
	return areas
}

// latticeConfig makes the cells of an index over n×n tiles of size steps
// exactly 1/128° (four steps) wide.
func latticeConfig(n, size int) config {
	side := n * size / 4
	return config{cells: side * side, tolerance: 1.0 / (1 << 10)}
}

// latticeProbes returns points on a finer lattice of 1/2048°, so that the
// segment from a cell's reference point to the probe often runs exactly
// through a tile vertex or along an edge line, plus uniform points.
func latticeProbes(ix *Index, count int, rnd *rand.Rand) []zhufang.Point {
	b := ix.Bounds()
	const step = 1.0 / 2048
	nx, ny := int((b.Max.Lon-b.Min.Lon)/step), int((b.Max.Lat-b.Min.Lat)/step)
	pts := make([]zhufang.Point, 0, count)
	for range count * 3 / 4 {
		pts = append(pts, zhufang.Point{Lon: b.Min.Lon + float64(rnd.IntN(nx+1))*step, Lat: b.Min.Lat + float64(rnd.IntN(ny+1))*step})
	}
	for len(pts) < count {
		pts = append(pts, zhufang.Point{Lon: b.Min.Lon + rnd.Float64()*(b.Max.Lon-b.Min.Lon), Lat: b.Min.Lat + rnd.Float64()*(b.Max.Lat-b.Min.Lat)})
	}
	return pts
}

func TestDegenerateAlignment(t *testing.T) {
	tests := []struct {
		name    string
		n, size int
		jit     []int
	}{
		// Many tile edges and vertices lie exactly on cell centres.
		{"edges through cell centres", 24, 8, []int{-2, 0, 2}},
		{"edges through cell centres, mixed", 24, 8, []int{-2, -1, 0, 2}},
		// Reference points stay clear, but segments from them to probes
		// often pass exactly through vertices.
		{"segments through vertices", 32, 4, []int{-1, 0, 1}},
		{"segments through vertices, odd corners", 24, 8, []int{-3, -1, 1, 3}},
	}
	for k, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			areas := latticeTiling(tt.n, tt.size, tt.jit, uint64(k))
			ix, err := build(areas, latticeConfig(tt.n, tt.size))
			if err != nil {
				t.Fatal(err)
			}
			side := tt.n * tt.size / 4
			if ix.g.nx != side || ix.g.ny != side || ix.g.w != 1.0/128 || ix.g.h != 1.0/128 {
				t.Fatalf("grid is %d×%d cells of %g×%g, want %d×%d of 1/128", ix.g.nx, ix.g.ny, ix.g.w, ix.g.h, side, side)
			}
			br := newBrute(areas)
			pts := latticeProbes(ix, 100_000, rand.New(rand.NewPCG(15, 16)))
			excused, bad := 0, 0
			for _, p := range pts {
				if br.agrees(ix, p) {
					if br.nearEdge(p, edgeTolerance) {
						excused++
					}
					continue
				}
				if bad++; bad <= 10 {
					got, ok := ix.Locate(p)
					t.Errorf("Locate(%v) = %q, %v; brute force says area %d", p, got.Community.Code, ok, br.locate(p))
				}
			}
			offCentre := 0
			for _, c := range ix.cands {
				if c.ref != 0 {
					offCentre++
				}
			}
			t.Logf("%d points, %d on edges, %d of %d candidates measure off-centre", len(pts), excused, offCentre, len(ix.cands))
			if bad > 0 {
				t.Fatalf("%d of %d points disagree with brute force", bad, len(pts))
			}
			if excused > len(pts)/2 {
				t.Errorf("weak sample: %d of %d points on edges", excused, len(pts))
			}
		})
	}
}
