package demo

import (
	"fmt"
	"math"

	"zhufang"
)

// urbanWeight says how many urban communities a county's urban stations
// draw: the two districts' cores are the city proper.
func urbanWeight(county string) float64 {
	switch county {
	case "431102", "431103":
		return 5
	case "431171":
		return 3
	}
	return 2.5
}

// communities places the urban communities packed around the urban
// stations' seats and the villages spread over every station's ground,
// divides each station's ground among them, and gives each its police
// office.
func (b *builder) communities() error {
	stations := b.city.Stations
	var urbanStations []*zhufang.Station
	var uw []float64
	vw := make([]float64, len(stations))
	for i, s := range stations {
		km2 := s.Area.AreaKm2()
		vw[i] = km2
		if s.Kind == zhufang.StationUrban {
			urbanStations = append(urbanStations, s)
			uw = append(uw, urbanWeight(s.Code[:6]))
			// Only the ground beyond the urban core (some 50 km²) has villages.
			vw[i] = math.Max(0, km2-50) * 0.35
		}
	}
	urbanN := allocate(UrbanCommunities, uw, 1)
	urbanOf := map[int64]int{}
	for i, s := range urbanStations {
		urbanOf[s.ID] = urbanN[i]
	}
	villageN := allocate(Villages, vw, 0)
	for i, s := range stations { // every station answers for some ground
		if s.Kind == zhufang.StationRural && villageN[i] == 0 {
			most := 0
			for j := range villageN {
				if villageN[j] > villageN[most] {
					most = j
				}
			}
			villageN[most]--
			villageN[i]++
		}
	}

	for i, s := range stations {
		if err := b.stationCommunities(s, urbanOf[s.ID], villageN[i]); err != nil {
			return err
		}
	}
	b.scalePopulation()
	return nil
}

// stationCommunities creates one station's communities and villages.
func (b *builder) stationCommunities(s *zhufang.Station, nUrban, nVillage int) error {
	area := b.cell[s.ID]
	box := area.Bounds()
	var seats []zhufang.Point
	sigma := 800.0
	if s.Code[:6] == "431102" || s.Code[:6] == "431103" {
		sigma = 1100
	}
	for range nUrban {
		p, ok := nearIn(b.r, area, s.Seat, sigma, 380, seats)
		if !ok {
			return fmt.Errorf("no room for urban communities around %s", s.Name)
		}
		seats = append(seats, p)
	}
	// Villages keep out of the urban core: beyond the outermost urban
	// community, and at least 2 km from the station's seat.
	core := append([]zhufang.Point{s.Seat}, seats...)
	keepOff := 0.0
	if nUrban > 0 {
		keepOff = 2000
		for _, p := range seats {
			keepOff = math.Max(keepOff, p.DistanceMeters(s.Seat)+600)
		}
	}
	for range nVillage {
		p, ok := spreadAway(b.r, area, box, seats, 10, core, keepOff)
		if !ok {
			return fmt.Errorf("no room for villages in %s", s.Name)
		}
		seats = append(seats, p)
	}
	cells, err := b.cells(area, seats)
	if err != nil {
		return fmt.Errorf("dividing %s among its communities: %w", s.Name, err)
	}
	next := map[string]int{} // township code → last community number used
	names := map[string]nameSet{}
	for i, p := range seats {
		if cells[i] == nil {
			return fmt.Errorf("a community of %s got no ground", s.Name)
		}
		t := b.nearestTownship(s, p)
		kind, officeKind := zhufang.CommunityVillage, zhufang.OfficeRural
		pop := 1180 * lognormal(b.r, 0.5)
		if i < nUrban {
			kind, officeKind = zhufang.CommunityUrban, zhufang.OfficeUrban
			pop = 11800 * lognormal(b.r, 0.4)
		}
		if names[t] == nil {
			names[t] = nameSet{}
			next[t+"u"], next[t+"v"] = 0, 200
		}
		var name, code string
		if kind == zhufang.CommunityUrban {
			next[t+"u"]++
			name, code = names[t].urban(b.r), fmt.Sprintf("%s%03d", t, next[t+"u"])
		} else {
			next[t+"v"]++
			name, code = names[t].village(b.r), fmt.Sprintf("%s%03d", t, next[t+"v"])
		}
		office := &zhufang.PoliceOffice{ID: int64(len(b.city.Offices) + 1), Name: name + "警务室", Kind: officeKind,
			StationID: s.ID, Seat: p}
		b.city.Offices = append(b.city.Offices, office)
		cm := &zhufang.Community{ID: int64(len(b.city.Communities) + 1), Code: code, Name: name, Kind: kind,
			CountyCode: code[:6], StationID: s.ID, OfficeID: office.ID, Population: int(pop), Zone: zoneOf(s, kind),
			Seat: p, Area: cells[i]}
		b.city.Communities = append(b.city.Communities, cm)
		b.comms[s.ID] = append(b.comms[s.ID], cm)
	}
	return nil
}

// zoneOf gives a community its 1-3-5 response profile: the city proper's
// communities are urban cores, the county seats' urban, the villages of an
// urban station suburban, every other village rural.
func zoneOf(s *zhufang.Station, kind zhufang.CommunityKind) zhufang.ZoneKind {
	switch {
	case kind == zhufang.CommunityUrban && urbanWeight(s.Code[:6]) >= 3:
		return zhufang.ZoneUrbanCore
	case kind == zhufang.CommunityUrban:
		return zhufang.ZoneUrban
	case s.Kind == zhufang.StationUrban:
		return zhufang.ZoneSuburban
	}
	return zhufang.ZoneRural
}

// nearestTownship returns the code of the station's township whose seat is
// nearest p: a community takes its code from the township it lies in.
func (b *builder) nearestTownship(s *zhufang.Station, p zhufang.Point) string {
	best, bestD := s.Townships[0], math.Inf(1)
	for _, t := range s.Townships {
		if d := b.seat[t].DistanceMeters(p); d < bestD {
			best, bestD = t, d
		}
	}
	return best
}

// scalePopulation brings the city's total to Population, keeping each
// community's share, and derives households.
func (b *builder) scalePopulation() {
	var sum float64
	for _, c := range b.city.Communities {
		sum += float64(c.Population)
	}
	k := Population / sum
	for _, c := range b.city.Communities {
		c.Population = int(math.Round(float64(c.Population) * k))
		c.Households = int(math.Round(float64(c.Population) / (2.8 + 0.5*b.r.Float64())))
	}
}

// grids divides every community into grids of a few hundred households.
func (b *builder) grids() error {
	for _, c := range b.city.Communities {
		n := max(1, min(4, c.Households/300))
		if c.Kind == zhufang.CommunityUrban {
			n = max(4, c.Households/320)
		}
		box := c.Area.Bounds()
		seats := []zhufang.Point{}
		for range n {
			p, ok := spreadIn(b.r, c.Area, box, seats, 6)
			if !ok {
				return fmt.Errorf("no room for grids in %s", c.Name)
			}
			seats = append(seats, p)
		}
		cells, err := b.cells(c.Area, seats)
		if err != nil {
			return fmt.Errorf("dividing %s into grids: %w", c.Name, err)
		}
		hh := allocate(c.Households, ones(n), 0)
		for i, p := range seats {
			if cells[i] == nil {
				return fmt.Errorf("a grid of %s got no ground", c.Name)
			}
			b.city.Grids = append(b.city.Grids, &zhufang.Grid{ID: int64(len(b.city.Grids) + 1),
				Code: fmt.Sprintf("%s%03d", c.Code, i+1), Name: fmt.Sprintf("%s第%d网格", c.Name, i+1),
				CommunityID: c.ID, Households: hh[i], Seat: p, Area: cells[i]})
		}
	}
	return nil
}

func ones(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}
