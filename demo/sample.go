package demo

import (
	"math"
	"math/rand/v2"
	"sort"

	"zhufang"
)

// round6 keeps a coordinate to a millionth of a degree (about 0.1 m), which
// is finer than any position the city needs and keeps stored text short.
func round6(p zhufang.Point) zhufang.Point {
	return zhufang.Point{Lon: math.Round(p.Lon*1e6) / 1e6, Lat: math.Round(p.Lat*1e6) / 1e6}
}

// offset moves p by dx metres east and dy metres north.
func offset(p zhufang.Point, dx, dy float64) zhufang.Point {
	const mPerDeg = 111320.0
	return zhufang.Point{
		Lon: p.Lon + dx/(mPerDeg*math.Cos(p.Lat*math.Pi/180)),
		Lat: p.Lat + dy/mPerDeg,
	}
}

// uniformIn draws a point uniformly from area by rejection from its box.
func uniformIn(r *rand.Rand, area zhufang.MultiPolygon, box zhufang.Rect) (zhufang.Point, bool) {
	for range 10000 {
		p := round6(zhufang.Point{
			Lon: box.Min.Lon + r.Float64()*(box.Max.Lon-box.Min.Lon),
			Lat: box.Min.Lat + r.Float64()*(box.Max.Lat-box.Min.Lat),
		})
		if area.Contains(p) {
			return p, true
		}
	}
	return zhufang.Point{}, false
}

// spreadIn places a point in area far from the points already taken:
// Mitchell's best-candidate sampling, which gives the even-but-irregular
// spacing of real settlements.
func spreadIn(r *rand.Rand, area zhufang.MultiPolygon, box zhufang.Rect, taken []zhufang.Point, candidates int) (zhufang.Point, bool) {
	return spreadAway(r, area, box, taken, candidates, nil, 0)
}

// spreadAway is spreadIn that also keeps at least keepOff metres from every
// point of avoid, when it can.
func spreadAway(r *rand.Rand, area zhufang.MultiPolygon, box zhufang.Rect, taken []zhufang.Point, candidates int, avoid []zhufang.Point, keepOff float64) (zhufang.Point, bool) {
	var best zhufang.Point
	bestD := -1.0
	for c := 0; c < candidates; c++ {
		p, ok := uniformIn(r, area, box)
		if !ok {
			return zhufang.Point{}, false
		}
		if tooClose(p, avoid, keepOff) && c < candidates*20 {
			candidates++ // draw again; give up on the rule after many tries
			continue
		}
		d := math.Inf(1)
		for _, q := range taken {
			d = math.Min(d, p.DistanceMeters(q))
		}
		if d > bestD {
			best, bestD = p, d
		}
	}
	return best, bestD >= 0
}

func tooClose(p zhufang.Point, avoid []zhufang.Point, keepOff float64) bool {
	for _, q := range avoid {
		if p.DistanceMeters(q) < keepOff {
			return true
		}
	}
	return false
}

// nearIn places a point around centre with a Gaussian spread of sigma
// metres, inside area and at least minGap metres from the points taken. It
// relaxes the gap when the area is crowded.
func nearIn(r *rand.Rand, area zhufang.MultiPolygon, centre zhufang.Point, sigma, minGap float64, taken []zhufang.Point) (zhufang.Point, bool) {
	for try := 0; try < 2000; try++ {
		if try > 0 && try%200 == 0 {
			minGap *= 0.7
			sigma *= 1.3
		}
		p := round6(offset(centre, r.NormFloat64()*sigma, r.NormFloat64()*sigma))
		if !area.Contains(p) {
			continue
		}
		ok := true
		for _, q := range taken {
			if p.DistanceMeters(q) < minGap {
				ok = false
				break
			}
		}
		if ok {
			return p, true
		}
	}
	return zhufang.Point{}, false
}

// allocate splits total into len(weights) whole shares proportional to the
// weights (largest remainder), each at least least.
func allocate(total int, weights []float64, least int) []int {
	n := len(weights)
	out := make([]int, n)
	rest := total - least*n
	if rest < 0 {
		panic("allocate: total below the minimum")
	}
	var sum float64
	for _, w := range weights {
		sum += w
	}
	type frac struct {
		i int
		f float64
	}
	fr := make([]frac, n)
	given := 0
	for i, w := range weights {
		exact := float64(rest) * w / sum
		out[i] = least + int(exact)
		given += int(exact)
		fr[i] = frac{i, exact - math.Floor(exact)}
	}
	sort.SliceStable(fr, func(a, b int) bool { return fr[a].f > fr[b].f })
	for k := 0; given < rest; k++ {
		out[fr[k%n].i]++
		given++
	}
	return out
}

// lognormal draws a positive factor with median 1 and spread sigma.
func lognormal(r *rand.Rand, sigma float64) float64 {
	return math.Exp(r.NormFloat64() * sigma)
}
