package posture_test

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"zhufang"
	"zhufang/posture"
)

// solveGap is the share of the optimum Solve may miss on any one of the
// random small instances of TestSolveNearExact, and meanFloor the least
// mean ratio to the optimum over them. Greedy alone promises only
// 1−1/e ≈ 0.632. Measured over seeds 1–5 of this generator (1,500
// instances): Solve's worst ratio 0.916, mean 0.998–0.999 per seed; greedy
// without the swaps: worst 0.803, mean 0.991–0.995. A 1-swap local optimum can sit
// several percent below the optimum when P is small and covers overlap
// heavily; the mean is the number that matters for a plan of many units.
const (
	solveGap  = 0.10
	meanFloor = 0.995
)

func TestSolveNearExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type tally struct {
		count      int
		worst, sum float64
	}
	tallies := map[string]*tally{}
	all := &tally{worst: 1}
	for i := range 300 {
		p, structure := randomProblem(r, 10+r.IntN(21), 40+r.IntN(161))
		ratio := solveRatio(t, i, p)
		if ratio < 1-solveGap {
			t.Errorf("instance %d (%s, P=%d, %d candidates): Solve reaches %.4f of the optimum", i, structure, p.P, len(p.Covers), ratio)
		}
		if tallies[structure] == nil {
			tallies[structure] = &tally{worst: 1}
		}
		for _, tl := range []*tally{tallies[structure], all} {
			tl.count++
			tl.worst = min(tl.worst, ratio)
			tl.sum += ratio
		}
	}
	for _, s := range structures {
		tl := tallies[s]
		t.Logf("%-15s %3d instances: worst %.5f, mean %.5f", s, tl.count, tl.worst, tl.sum/float64(tl.count))
	}
	mean := all.sum / float64(all.count)
	t.Logf("%-15s %3d instances: worst %.5f, mean %.5f", "all", all.count, all.worst, mean)
	if mean < meanFloor {
		t.Errorf("mean ratio %.5f, want at least %.3f", mean, meanFloor)
	}
}

// solveRatio returns Solve's coverage over Exact's on p, checking both
// solutions and that Solve does not beat the optimum.
func solveRatio(t *testing.T, i int, p posture.Problem) float64 {
	t.Helper()
	got := mustSolve(t, p)
	opt, err := posture.Exact(p)
	if err != nil {
		t.Fatalf("instance %d: Exact: %v", i, err)
	}
	checkSolution(t, p, got)
	checkSolution(t, p, opt)
	if got.Covered > opt.Covered*(1+1e-9) {
		t.Fatalf("instance %d: Solve covers %v, more than Exact's %v", i, got.Covered, opt.Covered)
	}
	if opt.Covered == 0 {
		return 1
	}
	return got.Covered / opt.Covered
}

func TestExactMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 150 {
		p, _ := randomProblem(r, 1+r.IntN(15), 1+r.IntN(60))
		got, err := posture.Exact(p)
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		checkSolution(t, p, got)
		want := bruteForce(p)
		if !near(got.Covered, want) {
			t.Fatalf("instance %d (P=%d, %d candidates): Exact covers %v, brute force %v", i, p.P, len(p.Covers), got.Covered, want)
		}
	}
}

func TestSolveCases(t *testing.T) {
	tests := []struct {
		name string
		p    posture.Problem
		want posture.Solution
	}{{
		// Greedy takes the big middle candidate first and ends at 5.
		name: "swap repairs greedy",
		p:    posture.Problem{Weights: ones(6), Covers: [][]int32{{1, 2, 3, 4}, {0, 1, 2}, {3, 4, 5}}, P: 2},
		want: posture.Solution{Chosen: []int{1, 2}, Covered: 6},
	}, {
		name: "fixed candidate covering nothing is kept",
		p:    posture.Problem{Weights: ones(3), Covers: [][]int32{{0}, {1}, {}}, P: 2, Fixed: []int{2}},
		want: posture.Solution{Chosen: []int{0, 2}, Covered: 1},
	}, {
		name: "fixed candidate is not swapped out",
		p:    posture.Problem{Weights: []float64{5, 1}, Covers: [][]int32{{0}, {1}}, P: 1, Fixed: []int{1}},
		want: posture.Solution{Chosen: []int{1}, Covered: 1},
	}, {
		name: "all fixed",
		p:    posture.Problem{Weights: ones(3), Covers: [][]int32{{0}, {1}, {2}}, P: 2, Fixed: []int{2, 0}},
		want: posture.Solution{Chosen: []int{0, 2}, Covered: 2},
	}, {
		name: "P beyond the candidates takes only those that add weight",
		p:    posture.Problem{Weights: []float64{1, 2, 0}, Covers: [][]int32{{0}, {0, 1}, {2}, {}}, P: 10},
		want: posture.Solution{Chosen: []int{1}, Covered: 3},
	}, {
		name: "P equal to the candidates",
		p:    posture.Problem{Weights: ones(3), Covers: [][]int32{{0}, {1}, {1, 2}}, P: 3},
		want: posture.Solution{Chosen: []int{0, 2}, Covered: 3},
	}, {
		name: "P zero",
		p:    posture.Problem{Weights: ones(2), Covers: [][]int32{{0}, {1}}, P: 0},
		want: posture.Solution{Chosen: []int{}, Covered: 0},
	}, {
		name: "empty demand",
		p:    posture.Problem{Covers: [][]int32{{}, {}}, P: 1},
		want: posture.Solution{Chosen: []int{}, Covered: 0},
	}, {
		name: "no candidates",
		p:    posture.Problem{Weights: ones(2), P: 3},
		want: posture.Solution{Chosen: []int{}, Covered: 0},
	}, {
		name: "ties go to the lower index",
		p:    posture.Problem{Weights: ones(2), Covers: [][]int32{{0}, {0}, {1}, {1}}, P: 2},
		want: posture.Solution{Chosen: []int{0, 2}, Covered: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustSolve(t, tt.p)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Solve = %+v, want %+v", got, tt.want)
			}
			opt, err := posture.Exact(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if opt.Covered != tt.want.Covered {
				t.Errorf("Exact covers %v, want %v", opt.Covered, tt.want.Covered)
			}
		})
	}
}

func TestSolveDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 20 {
		p, _ := randomProblem(r, 50+r.IntN(300), 200+r.IntN(2000))
		p.P = 5 + r.IntN(40)
		before := cloneProblem(p)
		first := mustSolve(t, p)
		checkSolution(t, p, first)
		if !reflect.DeepEqual(p, before) {
			t.Fatalf("instance %d: Solve changed its input", i)
		}
		for range 2 {
			if again := mustSolve(t, cloneProblem(p)); !reflect.DeepEqual(again, first) {
				t.Fatalf("instance %d: second run gives %+v, first %+v", i, again, first)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	valid := posture.Problem{Weights: ones(3), Covers: [][]int32{{0, 2}, {1}}, P: 2, Fixed: []int{1}}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid problem: %v", err)
	}
	tests := []struct {
		name string
		edit func(*posture.Problem)
	}{
		{"negative weight", func(p *posture.Problem) { p.Weights[1] = -1 }},
		{"NaN weight", func(p *posture.Problem) { p.Weights[0] = math.NaN() }},
		{"infinite weight", func(p *posture.Problem) { p.Weights[2] = math.Inf(1) }},
		{"cover index negative", func(p *posture.Problem) { p.Covers[1] = []int32{-1} }},
		{"cover index out of range", func(p *posture.Problem) { p.Covers[0] = []int32{0, 3} }},
		{"cover unsorted", func(p *posture.Problem) { p.Covers[0] = []int32{2, 0} }},
		{"cover duplicate", func(p *posture.Problem) { p.Covers[0] = []int32{0, 0} }},
		{"P negative", func(p *posture.Problem) { p.P, p.Fixed = -1, nil }},
		{"fixed negative", func(p *posture.Problem) { p.Fixed = []int{-1} }},
		{"fixed out of range", func(p *posture.Problem) { p.Fixed = []int{2} }},
		{"fixed duplicated", func(p *posture.Problem) { p.Fixed = []int{1, 1} }},
		{"more fixed than P", func(p *posture.Problem) { p.P, p.Fixed = 1, []int{0, 1} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cloneProblem(valid)
			tt.edit(&p)
			if code := zhufang.ErrorCode(p.Validate()); code != zhufang.EINVALID {
				t.Errorf("Validate: code %q, want %q", code, zhufang.EINVALID)
			}
			if _, err := posture.Solve(p); zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Errorf("Solve: error %v, want code %q", err, zhufang.EINVALID)
			}
			if _, err := posture.Exact(p); zhufang.ErrorCode(err) != zhufang.EINVALID {
				t.Errorf("Exact: error %v, want code %q", err, zhufang.EINVALID)
			}
		})
	}
}

func TestExactRefusesLarge(t *testing.T) {
	p := posture.Problem{Weights: ones(1), Covers: make([][]int32, 41), P: 2}
	if _, err := posture.Exact(p); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("41 candidates: error %v, want code %q", err, zhufang.EINVALID)
	}
	p.Covers = p.Covers[:40]
	if _, err := posture.Exact(p); err != nil {
		t.Errorf("40 candidates: %v", err)
	}
}

func FuzzSolve(f *testing.F) {
	f.Add([]byte{6, 3, 2, 1, 1, 1, 1, 1, 1, 0x1e, 0x07, 0x38, 0})
	f.Add([]byte{20, 12, 5, 255, 128, 64, 3, 200, 7, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	f.Add([]byte{0, 4, 9, 3})
	f.Add([]byte{9, 12, 15, 0xff, 0xfe, 0x7f, 0x41, 0x80, 0xc0, 0x33, 0x10, 0xaa, 0x55, 0xf0, 0x0f, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decodeProblem(data)
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded problem is invalid: %v", err)
		}
		got, err := posture.Solve(p)
		if err != nil {
			t.Fatal(err)
		}
		checkSolution(t, p, got)
		opt, err := posture.Exact(p)
		if err != nil {
			t.Fatal(err)
		}
		checkSolution(t, p, opt)
		if got.Covered > opt.Covered*(1+1e-9) {
			t.Fatalf("Solve covers %v, more than Exact's %v", got.Covered, opt.Covered)
		}
	})
}

// checkSolution checks what holds of any answer to p: at most P chosen,
// ascending, fixed ones included, and Covered as Coverage computes it.
func checkSolution(t *testing.T, p posture.Problem, s posture.Solution) {
	t.Helper()
	if len(s.Chosen) > p.P {
		t.Fatalf("%d chosen, more than P=%d", len(s.Chosen), p.P)
	}
	for i := 1; i < len(s.Chosen); i++ {
		if s.Chosen[i] <= s.Chosen[i-1] {
			t.Fatalf("chosen %v not strictly ascending", s.Chosen)
		}
	}
	for _, j := range p.Fixed {
		if !slices.Contains(s.Chosen, j) {
			t.Fatalf("fixed candidate %d missing from %v", j, s.Chosen)
		}
	}
	if c := posture.Coverage(p, s.Chosen); !near(s.Covered, c) {
		t.Fatalf("Covered = %v, Coverage of the chosen = %v", s.Covered, c)
	}
}

func mustSolve(t *testing.T, p posture.Problem) posture.Solution {
	t.Helper()
	s, err := posture.Solve(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b), 1e-300)
}

// bruteForce returns the optimum of p by trying every set of min(P, n)
// candidates that holds the fixed ones; a larger set never covers less.
func bruteForce(p posture.Problem) float64 {
	n := len(p.Covers)
	size := min(p.P, n)
	var fixed uint
	for _, j := range p.Fixed {
		fixed |= 1 << j
	}
	best := 0.0
	for mask := uint(0); mask < 1<<n; mask++ {
		if bits.OnesCount(mask) != size || mask&fixed != fixed {
			continue
		}
		var set []int
		for j := range n {
			if mask&(1<<j) != 0 {
				set = append(set, j)
			}
		}
		best = max(best, posture.Coverage(p, set))
	}
	return best
}

// randomProblem draws a problem with n candidates and m demand points, P
// from 1 to 8 and sometimes a fixed candidate or two. Coverage is either
// random or geometric: candidates cover the points within a radius, with
// points spread evenly or in clusters.
func randomProblem(r *rand.Rand, n, m int) (posture.Problem, string) {
	p := posture.Problem{Weights: randomWeights(r, m), P: 1 + r.IntN(8)}
	structure := structures[r.IntN(len(structures))]
	switch structure {
	case "random":
		p.Covers = randomCovers(r, n, m, 0.02+0.25*r.Float64())
	case "even disks":
		p.Covers = diskCovers(r, n, m, 0, 0.08+0.17*r.Float64())
	case "clustered disks":
		p.Covers = diskCovers(r, n, m, 1+r.IntN(4), 0.05+0.15*r.Float64())
	}
	if r.IntN(4) == 0 {
		p.Fixed = r.Perm(n)[:min(1+r.IntN(2), p.P, n)]
	}
	return p, structure
}

// structures names the coverage structures randomProblem draws from.
var structures = []string{"random", "even disks", "clustered disks"}

// randomWeights draws weights that are even, heavy-tailed, or small whole
// numbers with many zeros and ties.
func randomWeights(r *rand.Rand, m int) []float64 {
	kind := r.IntN(3)
	w := make([]float64, m)
	for k := range w {
		switch kind {
		case 0:
			w[k] = r.Float64()
		case 1:
			e := r.ExpFloat64()
			w[k] = e * e
		default:
			w[k] = float64(r.IntN(4))
		}
	}
	return w
}

func randomCovers(r *rand.Rand, n, m int, density float64) [][]int32 {
	covers := make([][]int32, n)
	for j := range covers {
		for k := range m {
			if r.Float64() < density {
				covers[j] = append(covers[j], int32(k))
			}
		}
	}
	return covers
}

// diskCovers places points in the unit square, evenly if clusters is 0 and
// around that many centres otherwise, then has each candidate cover the
// points within radius. Half the time candidates stand on demand points.
func diskCovers(r *rand.Rand, n, m, clusters int, radius float64) [][]int32 {
	centres := make([][2]float64, clusters)
	for i := range centres {
		centres[i] = [2]float64{r.Float64(), r.Float64()}
	}
	spot := func() [2]float64 {
		if clusters == 0 {
			return [2]float64{r.Float64(), r.Float64()}
		}
		c := centres[r.IntN(clusters)]
		return [2]float64{c[0] + 0.08*r.NormFloat64(), c[1] + 0.08*r.NormFloat64()}
	}
	pts := make([][2]float64, m)
	for k := range pts {
		pts[k] = spot()
	}
	onPoints := r.IntN(2) == 0
	covers := make([][]int32, n)
	for j := range covers {
		at := spot()
		if onPoints {
			at = pts[r.IntN(m)]
		}
		for k, q := range pts {
			if math.Hypot(q[0]-at[0], q[1]-at[1]) <= radius {
				covers[j] = append(covers[j], int32(k))
			}
		}
	}
	return covers
}

func ones(m int) []float64 {
	w := make([]float64, m)
	for k := range w {
		w[k] = 1
	}
	return w
}

func cloneProblem(p posture.Problem) posture.Problem {
	q := posture.Problem{Weights: slices.Clone(p.Weights), P: p.P, Fixed: slices.Clone(p.Fixed)}
	if p.Covers != nil {
		q.Covers = make([][]int32, len(p.Covers))
		for j, c := range p.Covers {
			q.Covers[j] = slices.Clone(c)
		}
	}
	return q
}

// decodeProblem turns fuzz bytes into a valid problem of at most 32 demand
// points and 12 candidates: sizes first, then weights, cover bitmaps and
// fixed candidates, reading zeros once the bytes run out.
func decodeProblem(data []byte) posture.Problem {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	m, n, P := int(next()%33), int(next()%13), int(next()%16)
	// Scales mix magnitudes and inexact decimals, to stress rounding.
	scales := [4]float64{1, 0.1, 1e3, 1.0 / 3}
	p := posture.Problem{Weights: make([]float64, m), Covers: make([][]int32, n), P: P}
	for k := range p.Weights {
		b := next()
		p.Weights[k] = float64(b&63) * scales[b>>6]
	}
	for j := range p.Covers {
		var bits byte
		for k := range m {
			if k%8 == 0 {
				bits = next()
			}
			if bits&(1<<(k%8)) != 0 {
				p.Covers[j] = append(p.Covers[j], int32(k))
			}
		}
	}
	if n > 0 {
		for range int(next()) % (min(P, n) + 1) {
			if j := int(next()) % n; !slices.Contains(p.Fixed, j) {
				p.Fixed = append(p.Fixed, j)
			}
		}
	}
	return p
}
