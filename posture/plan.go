package posture

import (
	"math"
	"slices"
	"sort"
	"time"

	"zhufang"
)

// Sample is one past street incident, as demand for posts.
type Sample struct {
	At       time.Time
	Position zhufang.Point
	Zone     zhufang.ZoneKind
	BureauID int64
}

// Cell is a square of the city with the street incidents expected in it
// in one hour, and a candidate post at its centre of demand.
type Cell struct {
	At       zhufang.Point    `json:"at"`
	Zone     zhufang.ZoneKind `json:"zone"`
	BureauID int64            `json:"bureau_id"`
	Weight   float64          `json:"expected"` // street incidents expected in the hour
	Side     float64          `json:"side_m"`   // metres, by zone (CellSide)
}

// Window is how many hours either side of its own an incident counts for.
var Window = 6

// CellMeters is the side of a town's demand cell: about a city block
// group, small next to the 900 m a car covers in a town centre's budget.
const CellMeters = 400

// Demand turns days of past street incidents into the expected incidents
// of each hour of the day (China time), by cell; each hour's cells are in
// a fixed order (bureau, then position). A cell's post is at the mean of
// its incidents, which lie on streets, not in the middle of a block.
//
// Each incident counts for its hour and the Window hours either side, a
// share each: a few weeks hold too few incidents of one hour to show
// where the next ones will be, while the hours around it are alike.
func Demand(samples []Sample, days int) [24][]Cell {
	type key struct {
		bureau int64
		hour   int
		side   float64
		x, y   int64
	}
	type acc struct {
		n        float64
		lon, lat float64
		zones    map[zhufang.ZoneKind]int
	}
	cells := map[key]*acc{}
	share := 1 / float64(2*Window+1)
	for _, s := range samples {
		side := CellSide(s.Zone)
		x, y := cellOf(s.Position, side)
		for dh := -Window; dh <= Window; dh++ {
			h := (s.At.In(zhufang.ChinaTime).Hour() + dh + 24) % 24
			k := key{s.BureauID, h, side, x, y}
			a := cells[k]
			if a == nil {
				a = &acc{zones: map[zhufang.ZoneKind]int{}}
				cells[k] = a
			}
			a.n += share
			a.lon += s.Position.Lon * share
			a.lat += s.Position.Lat * share
			a.zones[s.Zone]++
		}
	}
	keys := make([]key, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.bureau != b.bureau {
			return a.bureau < b.bureau
		}
		if a.side != b.side {
			return a.side < b.side
		}
		if a.x != b.x {
			return a.x < b.x
		}
		return a.y < b.y
	})
	var out [24][]Cell
	for _, k := range keys {
		a := cells[k]
		zone, most := zhufang.ZoneRural, -1
		for _, z := range zhufang.ZoneKinds {
			if a.zones[z] > most {
				zone, most = z, a.zones[z]
			}
		}
		out[k.hour] = append(out[k.hour], Cell{At: zhufang.Point{Lon: a.lon / a.n, Lat: a.lat / a.n}, Zone: zone,
			BureauID: k.bureau, Weight: a.n / float64(max(days, 1)), Side: k.side})
	}
	return out
}

// CellSide is the side of the demand cells of a zone, in metres: fine in
// towns, where a car covers under a kilometre in time, coarse in the
// country, where it covers ten and finer cells would only multiply the
// work.
func CellSide(z zhufang.ZoneKind) float64 {
	switch z {
	case zhufang.ZoneUrbanCore, zhufang.ZoneUrban:
		return CellMeters
	case zhufang.ZoneSuburban:
		return 1000
	}
	return 2000
}

// cellOf returns the grid cell of p: squares of side metres on an
// equirectangular grid at Yongzhou's latitude, plenty accurate for
// grouping.
func cellOf(p zhufang.Point, side float64) (int64, int64) {
	const mPerDeg = 111320.0
	kx := mPerDeg * math.Cos(26*math.Pi/180) / side
	return int64(math.Floor(p.Lon * kx)), int64(math.Floor(p.Lat * mPerDeg / side))
}

// Reach says how far a unit gets in time: the travel budget of a zone, in
// seconds, and a car's pace there, in seconds per straight-line metre.
type Reach struct {
	Budget func(zhufang.ZoneKind) float64
	Pace   func(zhufang.ZoneKind) float64
}

// Cover is the covering problem of one area's cells in one hour, built
// once and solved for any number of units: a post at cell j covers cell i
// when a car at j reaches i within i's budget.
type Cover struct {
	Cells []Cell
	prob  Problem
	flat  flatEarth
}

// NewCover builds the coverage lists of the cells. Distances are measured
// on a plane tangent at the cells' mean latitude: over the tens of
// kilometres of one county the error is well under 1%, and the lists
// build an order of magnitude faster than with great-circle distances.
func NewCover(cells []Cell, r Reach) *Cover {
	c := &Cover{Cells: cells, prob: Problem{Weights: make([]float64, len(cells)), Covers: make([][]int32, len(cells))}}
	if len(cells) == 0 {
		return c
	}
	lat := 0.0
	for _, cell := range cells {
		lat += cell.At.Lat
	}
	c.flat = newFlatEarth(lat / float64(len(cells)))
	reach2 := make([]float64, len(cells)) // squared metres a car covers within cell i's budget
	xy := make([][2]float64, len(cells))
	maxReach := 0.0
	for i, cell := range cells {
		c.prob.Weights[i] = cell.Weight
		reach := r.Budget(cell.Zone) / r.Pace(cell.Zone)
		reach2[i] = reach * reach
		maxReach = max(maxReach, reach)
		xy[i] = c.flat.xy(cell.At)
	}
	// A grid of cells as wide as the longest reach, so that each post
	// looks only at the cells of its own and the eight neighbouring
	// squares.
	side := max(maxReach, CellMeters)
	grid := map[[2]int64][]int32{}
	for i, p := range xy {
		k := [2]int64{int64(math.Floor(p[0] / side)), int64(math.Floor(p[1] / side))}
		grid[k] = append(grid[k], int32(i))
	}
	for j, p := range xy {
		var cov []int32
		kx, ky := int64(math.Floor(p[0]/side)), int64(math.Floor(p[1]/side))
		for x := kx - 1; x <= kx+1; x++ {
			for y := ky - 1; y <= ky+1; y++ {
				for _, i := range grid[[2]int64{x, y}] {
					dx, dy := xy[i][0]-p[0], xy[i][1]-p[1]
					if dx*dx+dy*dy <= reach2[i] {
						cov = append(cov, i)
					}
				}
			}
		}
		slices.Sort(cov)
		c.prob.Covers[j] = cov
	}
	return c
}

// flatEarth maps points to metres on a plane tangent at one latitude.
type flatEarth struct{ kx, ky float64 }

func newFlatEarth(lat float64) flatEarth {
	const mPerDeg = 111320.0
	return flatEarth{kx: mPerDeg * math.Cos(lat*math.Pi/180), ky: mPerDeg}
}

func (f flatEarth) xy(p zhufang.Point) [2]float64 { return [2]float64{p.Lon * f.kx, p.Lat * f.ky} }

// meters is the plane distance between two points.
func (f flatEarth) meters(a, b zhufang.Point) float64 {
	return math.Hypot((a.Lon-b.Lon)*f.kx, (a.Lat-b.Lat)*f.ky)
}

// Plan is where each idle unit should wait, and how much of the hour's
// expected street demand that covers.
type Plan struct {
	Posts   []Post  `json:"posts"`
	Demand  float64 `json:"expected"` // street incidents expected in the hour
	Covered float64 `json:"covered"`  // of them, within reach of a post
}

// Post sends a unit to wait at a point.
type Post struct {
	UnitID int64         `json:"unit_id"`
	At     zhufang.Point `json:"at"`
	Meters float64       `json:"meters"` // from where the unit is now
}

// Mover is an idle unit that can take a post.
type Mover struct {
	ID int64
	At zhufang.Point
}

// Plan places units at the posts that cover the most demand, each unit at
// the chosen post nearest to it (greedily, nearest pairs first).
func (c *Cover) Plan(units []Mover) (Plan, error) {
	p := c.prob
	p.P = len(units)
	sol, err := Solve(p)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Covered: sol.Covered}
	for _, w := range p.Weights {
		plan.Demand += w
	}
	type pair struct {
		d    float64
		u, j int
	}
	pairs := make([]pair, 0, len(units)*len(sol.Chosen))
	for u, m := range units {
		for _, j := range sol.Chosen {
			pairs = append(pairs, pair{c.flat.meters(m.At, c.Cells[j].At), u, j})
		}
	}
	sort.Slice(pairs, func(a, b int) bool {
		if pairs[a].d != pairs[b].d {
			return pairs[a].d < pairs[b].d
		}
		if pairs[a].u != pairs[b].u {
			return pairs[a].u < pairs[b].u
		}
		return pairs[a].j < pairs[b].j
	})
	usedU, usedJ := make([]bool, len(units)), map[int]bool{}
	for _, pr := range pairs {
		if usedU[pr.u] || usedJ[pr.j] {
			continue
		}
		usedU[pr.u], usedJ[pr.j] = true, true
		plan.Posts = append(plan.Posts, Post{UnitID: units[pr.u].ID, At: c.Cells[pr.j].At, Meters: pr.d})
	}
	sort.Slice(plan.Posts, func(a, b int) bool { return plan.Posts[a].UnitID < plan.Posts[b].UnitID })
	return plan, nil
}

// Uncovered returns the cells no unit at the given points reaches within
// budget, most demand first: the parts of the area a unit cannot reach in
// time now.
func (c *Cover) Uncovered(at []zhufang.Point, r Reach) []Cell {
	g := newPointBuckets(at, CellMeters*8)
	var out []Cell
	for _, cell := range c.Cells {
		reach := r.Budget(cell.Zone) / r.Pace(cell.Zone)
		found := false
		g.near(cell.At, reach, func(i int) {
			if !found && at[i].DistanceMeters(cell.At) <= reach {
				found = true
			}
		})
		if !found {
			out = append(out, cell)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Weight > out[b].Weight })
	return out
}

// buckets is a coarse grid of points for neighbourhood searches.
type buckets struct {
	side float64 // metres
	pts  []zhufang.Point
	grid map[[2]int64][]int
}

func newPointBuckets(pts []zhufang.Point, side float64) *buckets {
	b := &buckets{side: side, pts: pts, grid: map[[2]int64][]int{}}
	for i, p := range pts {
		k := b.key(p)
		b.grid[k] = append(b.grid[k], i)
	}
	return b
}

func (b *buckets) key(p zhufang.Point) [2]int64 {
	const mPerDeg = 111320.0
	return [2]int64{int64(math.Floor(p.Lon * mPerDeg * math.Cos(26*math.Pi/180) / b.side)), int64(math.Floor(p.Lat * mPerDeg / b.side))}
}

// near calls visit for every point in the buckets within radius metres of
// p's bucket (a superset of the points within radius).
func (b *buckets) near(p zhufang.Point, radius float64, visit func(int)) {
	k := b.key(p)
	// The equirectangular grid is taken at 26°N; allow for the latitude
	// spread of Yongzhou (24.6–26.9°N) with one extra ring.
	n := int64(math.Ceil(radius/b.side)) + 1
	for x := k[0] - n; x <= k[0]+n; x++ {
		for y := k[1] - n; y <= k[1]+n; y++ {
			for _, i := range b.grid[[2]int64{x, y}] {
				visit(i)
			}
		}
	}
}
