// Package demo builds the Yongzhou-shaped demo city: the real county
// boundaries and township list of Yongzhou, with stations, communities,
// villages, officers and mass-prevention forces generated around them in the
// numbers the Yongzhou police report. The same seed always gives the same
// city.
package demo

import (
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"strings"

	"zhufang"
)

// The counts the Yongzhou police report, which the demo city meets exactly.
const (
	UrbanCommunities      = 124
	Villages              = 3181
	CommunityPoliceTeams  = 159
	MassPreventionMembers = 115893
	Mediators             = 809
	// Population is the city's resident population, about 5.3 million.
	Population = 5_300_000
)

// Guards is how many of the mass-prevention members are security guards.
const Guards = 17_600

// Options say which city to build.
type Options struct {
	Seed uint64
	// Data holds yongzhou/ with the boundaries and division lists: the
	// embedded data (zhufang/data), or a folder of the same layout.
	Data fs.FS
	// Cells divides an area into the Voronoi cells of sites (tiling.Cells).
	Cells func(area zhufang.MultiPolygon, sites []zhufang.Point) ([]zhufang.MultiPolygon, error)
}

// builder carries the state of one build.
type builder struct {
	cells    func(zhufang.MultiPolygon, []zhufang.Point) ([]zhufang.MultiPolygon, error)
	r        *rand.Rand
	city     *zhufang.City
	counties []*county
	towns    []*township
	seat     map[string]zhufang.Point // township code → seat
	urban    map[string]bool          // township codes that are urban cores
	cell     map[int64]zhufang.MultiPolygon
	bureauOf map[string]*zhufang.Bureau // county code → bureau
	comms    map[int64][]*zhufang.Community
}

// Build generates the demo city.
func Build(opt Options) (*zhufang.City, error) {
	if opt.Cells == nil {
		return nil, fmt.Errorf("demo: Options.Cells is required to draw the jurisdictions")
	}
	if opt.Data == nil {
		return nil, fmt.Errorf("demo: Options.Data is required to place the counties")
	}
	counties, towns, err := loadData(opt.Data)
	if err != nil {
		return nil, err
	}
	b := &builder{
		cells:    opt.Cells,
		r:        rand.New(rand.NewPCG(opt.Seed, 0x7a687566616e67)),
		city:     &zhufang.City{},
		counties: counties,
		towns:    towns,
		seat:     map[string]zhufang.Point{},
		urban:    map[string]bool{},
		cell:     map[int64]zhufang.MultiPolygon{},
		bureauOf: map[string]*zhufang.Bureau{},
		comms:    map[int64][]*zhufang.Community{},
	}
	steps := []func() error{b.placeTownships, b.bureausAndStations, b.stationCells, b.communities,
		b.grids, b.officers, b.companiesAndTeams, b.members, b.fleet}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := b.city.Validate(); err != nil {
		return nil, fmt.Errorf("demo city does not validate: %w", err)
	}
	return b.city, nil
}

// groundOf returns the county whose boundary a county-level division lies
// on: itself, or its host.
func (b *builder) groundOf(code string) *county {
	if h := hostCounty[code]; h != "" {
		code = h
	}
	for _, c := range b.counties {
		if c.Code == code {
			return c
		}
	}
	return nil
}

func (b *builder) countyByCode(code string) *county {
	for _, c := range b.counties {
		if c.Code == code {
			return c
		}
	}
	return nil
}

// isUrbanCore reports whether a township is a street office, or the seat
// town of a county that has no street offices.
func (b *builder) isUrbanCore(t *township) bool {
	if t.Code[6] == '0' {
		return true
	}
	if t.Code[6:] != "100" {
		return false
	}
	for _, o := range b.towns {
		if o.County == t.County && o.Code[6] == '0' {
			return false
		}
	}
	return true
}

// placeTownships gives every township a seat: the urban cores packed around
// the county seat, the development zone south of Lengshuitan's core, and the
// towns and townships spread over the county.
func (b *builder) placeTownships() error {
	for _, c := range b.counties {
		if c.Area == nil {
			continue
		}
		var taken []zhufang.Point
		box := c.Area.Bounds()
		// Urban cores first, on a spiral around the county seat.
		i := 0
		for _, t := range b.towns {
			if t.County != c.Code || !b.isUrbanCore(t) {
				continue
			}
			b.urban[t.Code] = true
			p := round6(c.Center)
			if i > 0 {
				angle := float64(i) * 2.39996 // the golden angle spreads the ring evenly
				radius := 1700 * math.Sqrt(float64(i)) * (0.85 + 0.3*b.r.Float64())
				p = round6(offset(c.Center, radius*math.Cos(angle), radius*math.Sin(angle)))
			}
			if !c.Area.Contains(p) {
				return fmt.Errorf("urban core %s %s falls outside its county", t.Code, t.Name)
			}
			b.seat[t.Code] = p
			taken = append(taken, p)
			i++
		}
		// Divisions hosted on this county's ground.
		for _, t := range b.towns {
			if hostCounty[t.County] != c.Code {
				continue
			}
			if t.Code[6] == '0' {
				b.urban[t.Code] = true
				p := round6(offset(c.Center, -1500, -7500))
				if !c.Area.Contains(p) {
					return fmt.Errorf("hosted street office %s falls outside %s", t.Code, c.Name)
				}
				b.seat[t.Code] = p
				taken = append(taken, p)
			}
		}
		// Everything else spread over the county.
		for _, t := range b.towns {
			if _, done := b.seat[t.Code]; done || (t.County != c.Code && hostCounty[t.County] != c.Code) {
				continue
			}
			p, ok := spreadIn(b.r, c.Area, box, taken, 24)
			if !ok {
				return fmt.Errorf("cannot place township %s in %s", t.Code, c.Name)
			}
			b.seat[t.Code] = p
			taken = append(taken, p)
		}
	}
	for _, t := range b.towns {
		if _, ok := b.seat[t.Code]; !ok {
			return fmt.Errorf("township %s %s got no seat", t.Code, t.Name)
		}
	}
	return nil
}

// bureauName gives a county bureau its name: districts and zones have
// branches of the city bureau (分局), counties their own bureau (县局).
func bureauName(c *county) string {
	switch {
	case c.Code == "431171":
		return "永州市公安局经济技术开发区分局"
	case c.Code == "431173":
		return "永州市公安局回龙圩管理区分局"
	case strings.HasSuffix(c.Name, "区"):
		return "永州市公安局" + strings.TrimSuffix(c.Name, "区") + "分局"
	}
	return c.Name + "公安局"
}

// bureausAndStations creates the city bureau, a bureau per county-level
// division and the stations: one per street office and town, one per pair
// of neighbouring small townships (乡), and farms and other special areas
// joined to the nearest station of their county.
func (b *builder) bureausAndStations() error {
	lst := b.countyByCode("431103")
	city := &zhufang.Bureau{ID: 1, Code: "431100", Name: "永州市公安局", Level: zhufang.BureauCity, Seat: round6(lst.Center)}
	b.city.Bureaus = append(b.city.Bureaus, city)
	for _, c := range b.counties {
		bu := &zhufang.Bureau{ID: int64(len(b.city.Bureaus) + 1), Code: c.Code, Name: bureauName(c),
			Level: zhufang.BureauCounty, ParentID: city.ID, Seat: round6(c.Center)}
		b.city.Bureaus = append(b.city.Bureaus, bu)
		b.bureauOf[c.Code] = bu
		city.Area = append(city.Area, c.Area...)

		var small, special []*township
		for _, t := range b.towns {
			if t.County != c.Code {
				continue
			}
			switch t.Code[6] {
			case '0', '1':
				b.addStation(bu, t)
			case '2':
				small = append(small, t)
			default:
				special = append(special, t)
			}
		}
		b.pairSmall(bu, small)
		for _, t := range special {
			s := b.nearestStation(bu.ID, b.seat[t.Code])
			if s == nil {
				b.addStation(bu, t)
				continue
			}
			s.Townships = append(s.Townships, t.Code)
		}
		if c.Area == nil { // a zone without its own boundary: seat at its first station
			for _, s := range b.city.Stations {
				if s.BureauID == bu.ID {
					bu.Seat = s.Seat
					break
				}
			}
		}
	}
	return nil
}

// pairSmall puts small townships two to a station, each with its nearest
// unpaired neighbour if that lies within 25 km.
func (b *builder) pairSmall(bu *zhufang.Bureau, small []*township) {
	used := map[string]bool{}
	for _, t := range small {
		if used[t.Code] {
			continue
		}
		used[t.Code] = true
		s := b.addStation(bu, t)
		var best *township
		bestD := 25000.0
		for _, o := range small {
			if d := b.seat[t.Code].DistanceMeters(b.seat[o.Code]); !used[o.Code] && d < bestD {
				best, bestD = o, d
			}
		}
		if best != nil {
			used[best.Code] = true
			s.Townships = append(s.Townships, best.Code)
		}
	}
}

func (b *builder) addStation(bu *zhufang.Bureau, t *township) *zhufang.Station {
	kind := zhufang.StationRural
	if b.urban[t.Code] {
		kind = zhufang.StationUrban
	}
	s := &zhufang.Station{ID: int64(len(b.city.Stations) + 1), Code: t.Code, Name: shortName(t.Name) + "派出所",
		Kind: kind, BureauID: bu.ID, Townships: []string{t.Code}, Seat: b.seat[t.Code]}
	b.city.Stations = append(b.city.Stations, s)
	for k, kind := range []zhufang.SubUnitKind{zhufang.SubUnitCommunityTeam, zhufang.SubUnitCaseTeam, zhufang.SubUnitCommandRoom} {
		suffix := [...]string{"社区警务队", "案件办理队", "综合指挥室"}[k]
		b.city.SubUnits = append(b.city.SubUnits, &zhufang.SubUnit{ID: int64(len(b.city.SubUnits) + 1),
			StationID: s.ID, Kind: kind, Name: shortName(t.Name) + suffix})
	}
	return s
}

func (b *builder) nearestStation(bureau int64, p zhufang.Point) *zhufang.Station {
	var best *zhufang.Station
	bestD := math.Inf(1)
	for _, s := range b.city.Stations {
		if d := s.Seat.DistanceMeters(p); s.BureauID == bureau && d < bestD {
			best, bestD = s, d
		}
	}
	return best
}

// stationCells divides each county's ground among the stations seated on
// it, then gives every bureau the union of its stations' cells.
func (b *builder) stationCells() error {
	for _, c := range b.counties {
		if c.Area == nil {
			continue
		}
		var on []*zhufang.Station
		var sites []zhufang.Point
		for _, s := range b.city.Stations {
			if b.groundOf(b.city.Bureaus[s.BureauID-1].Code) == c {
				on = append(on, s)
				sites = append(sites, s.Seat)
			}
		}
		cells, err := b.cells(c.Area, sites)
		if err != nil {
			return fmt.Errorf("dividing %s among its stations: %w", c.Name, err)
		}
		for i, s := range on {
			if cells[i] == nil {
				return fmt.Errorf("station %s got no ground", s.Name)
			}
			s.Area = cells[i]
			b.cell[s.ID] = cells[i]
		}
	}
	for _, bu := range b.city.Bureaus[1:] {
		c := b.countyByCode(bu.Code)
		hosts := false
		for _, h := range hostCounty {
			hosts = hosts || h == c.Code
		}
		if c.Area != nil && !hosts {
			bu.Area = c.Area
			continue
		}
		for _, s := range b.city.Stations {
			if s.BureauID == bu.ID {
				bu.Area = append(bu.Area, s.Area...)
			}
		}
	}
	return nil
}
