package posture_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"zhufang/posture"
)

// BenchmarkSolveCity places 400 units over a whole city's hour of demand:
// 20,000 demand points and 3,000 waiting points on 100 km × 100 km, most of
// both in five urban clusters, each waiting point covering 900 m.
func BenchmarkSolveCity(b *testing.B) {
	benchmarkSolve(b, region{side: 100, demand: 20000, candidates: 3000, clusters: 5, spread: 4, radius: 0.9, p: 400})
}

// BenchmarkSolveCounty places 40 units in one county: 2,000 demand points
// and 300 waiting points on 30 km × 30 km around one town.
func BenchmarkSolveCounty(b *testing.B) {
	benchmarkSolve(b, region{side: 30, demand: 2000, candidates: 300, clusters: 1, spread: 3, radius: 0.9, p: 40})
}

func benchmarkSolve(b *testing.B, g region) {
	p := g.problem(rand.New(rand.NewPCG(7, 8)))
	total := 0.0
	for _, w := range p.Weights {
		total += w
	}
	var s posture.Solution
	for b.Loop() {
		var err error
		if s, err = posture.Solve(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(s.Covered/total, "covered-share")
}

// region describes a synthetic area: side in km, point counts, clusters of
// the given spread (km, standard deviation) and a cover radius in km.
type region struct {
	side               float64
	demand, candidates int
	clusters           int
	spread, radius     float64
	p                  int
}

// problem scatters three quarters of the demand points and two thirds of the
// waiting points in the clusters, the rest evenly; urban points carry about
// ten times the weight of rural ones.
func (g region) problem(r *rand.Rand) posture.Problem {
	centres := make([][2]float64, g.clusters)
	for i := range centres {
		centres[i] = [2]float64{g.side * (0.15 + 0.7*r.Float64()), g.side * (0.15 + 0.7*r.Float64())}
	}
	place := func(urban bool) [2]float64 {
		if !urban {
			return [2]float64{g.side * r.Float64(), g.side * r.Float64()}
		}
		c := centres[r.IntN(len(centres))]
		return [2]float64{c[0] + g.spread*r.NormFloat64(), c[1] + g.spread*r.NormFloat64()}
	}
	pts := make([][2]float64, g.demand)
	p := posture.Problem{Weights: make([]float64, g.demand), Covers: make([][]int32, g.candidates), P: g.p}
	for k := range pts {
		urban := r.IntN(4) != 0
		pts[k] = place(urban)
		p.Weights[k] = 0.005 * r.ExpFloat64()
		if urban {
			p.Weights[k] *= 10
		}
	}
	for j := range p.Covers {
		at := place(r.IntN(3) != 0)
		for k, q := range pts {
			if math.Hypot(q[0]-at[0], q[1]-at[1]) <= g.radius {
				p.Covers[j] = append(p.Covers[j], int32(k))
			}
		}
	}
	return p
}
