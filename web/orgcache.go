package web

import (
	"context"
	"html/template"
	"sync"

	"zhufang"
)

// cityRef is the organisation as the console draws and names it, read once
// from the store: names for every jurisdiction, each station's county, and
// the map's boundary paths. The org does not change while serving (a new
// demo city needs a restart, as the locator does).
type cityRef struct {
	bureaus     map[int64]*zhufang.Bureau
	stations    map[int64]*zhufang.Station
	communities map[int64]*zhufang.Community
	counties    []*zhufang.Bureau // county bureaus, by code
	stationList []*zhufang.Station

	proj  projection
	paths mapPaths
}

// mapPaths are the boundary layers of the map, drawn once.
type mapPaths struct {
	Counties    []mapArea
	Stations    []mapArea
	Communities []mapArea
}

// mapArea is one boundary on the map.
type mapArea struct {
	ID    int64
	Kind  string // county, station, community
	Name  string
	Zone  zhufang.ZoneKind
	D     template.HTMLAttr // the path's d="…" attribute, built from numbers only
	BBox  string
	Scope zhufang.Scope // the ground the area is, to hide others' areas
}

// mapWidth is the map's width in SVG units.
const mapWidth = 1600

// refs is the lazily built city reference shared by every request.
type refs struct {
	mu   sync.Mutex
	city *cityRef
}

// city returns the city reference, building it on first use.
func (s *Server) city(ctx context.Context) (*cityRef, error) {
	s.refs.mu.Lock()
	defer s.refs.mu.Unlock()
	if s.refs.city != nil {
		return s.refs.city, nil
	}
	// The reference is the whole city's; what each user sees of it is
	// filtered per request.
	sys := zhufang.NewContextWithActor(ctx, nil)
	bs, err := s.Org.FindBureaus(sys)
	if err != nil {
		return nil, err
	}
	ss, err := s.Org.FindStations(sys)
	if err != nil {
		return nil, err
	}
	cs, err := s.Org.FindCommunities(sys, zhufang.CommunityFilter{WithArea: true, Limit: 1 << 20})
	if err != nil {
		return nil, err
	}
	c := &cityRef{bureaus: map[int64]*zhufang.Bureau{}, stations: map[int64]*zhufang.Station{}, communities: map[int64]*zhufang.Community{}}
	minLon, minLat, maxLon, maxLat := 180.0, 90.0, -180.0, -90.0
	for _, b := range bs {
		c.bureaus[b.ID] = b
		if b.ParentID == 0 {
			if len(b.Area) > 0 {
				r := b.Area.Bounds()
				minLon, minLat, maxLon, maxLat = r.Min.Lon, r.Min.Lat, r.Max.Lon, r.Max.Lat
			}
			continue
		}
		c.counties = append(c.counties, b)
	}
	if minLon > maxLon { // no city area: fit the counties
		for _, b := range c.counties {
			if len(b.Area) == 0 {
				continue
			}
			r := b.Area.Bounds()
			minLon, minLat, maxLon, maxLat = min(minLon, r.Min.Lon), min(minLat, r.Min.Lat), max(maxLon, r.Max.Lon), max(maxLat, r.Max.Lat)
		}
	}
	for _, st := range ss {
		c.stations[st.ID] = st
	}
	c.stationList = ss
	c.proj = newProjection(minLon, minLat, maxLon, maxLat, mapWidth)
	tol := 0.6
	for _, b := range c.counties {
		c.paths.Counties = append(c.paths.Counties, mapArea{ID: b.ID, Kind: "county", Name: b.Name,
			D: template.HTMLAttr(`d="` + svgPath(c.proj, b.Area, tol) + `"`), BBox: bboxAttr(c.proj, b.Area),
			Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: b.ID}})
	}
	for _, st := range ss {
		c.paths.Stations = append(c.paths.Stations, mapArea{ID: st.ID, Kind: "station", Name: st.Name,
			D: template.HTMLAttr(`d="` + svgPath(c.proj, st.Area, tol) + `"`), BBox: bboxAttr(c.proj, st.Area),
			Scope: zhufang.Scope{Level: zhufang.ScopeStation, BureauID: st.BureauID, StationID: st.ID}})
	}
	for _, cm := range cs {
		st := c.stations[cm.StationID]
		var bureau int64
		if st != nil {
			bureau = st.BureauID
		}
		c.paths.Communities = append(c.paths.Communities, mapArea{ID: cm.ID, Kind: "community", Name: cm.Name, Zone: cm.Zone,
			D: template.HTMLAttr(`d="` + svgPath(c.proj, cm.Area, tol) + `"`), BBox: bboxAttr(c.proj, cm.Area),
			Scope: zhufang.Scope{Level: zhufang.ScopeCommunity, BureauID: bureau, StationID: cm.StationID, CommunityID: cm.ID}})
		cm.Area = nil // the path is all the console needs of it
		c.communities[cm.ID] = cm
	}
	s.refs.city = c
	return c, nil
}

// bureauOf returns a station's county bureau.
func (c *cityRef) bureauOf(stationID int64) int64 {
	if st := c.stations[stationID]; st != nil {
		return st.BureauID
	}
	return 0
}

// place names an incident's ground: community, station.
func (c *cityRef) place(inc *zhufang.Incident) (community, station string) {
	if cm := c.communities[inc.CommunityID]; cm != nil {
		community = cm.Name
	}
	if st := c.stations[inc.StationID]; st != nil {
		station = st.Name
	}
	return community, station
}

// coversArea reports whether a scope sees a map area: the areas on its
// ground, and the county outlines above it for orientation.
func coversArea(s zhufang.Scope, a mapArea) bool {
	if a.Kind == "county" {
		return true
	}
	return s.Covers(a.Scope.BureauID, a.Scope.StationID, a.Scope.CommunityID)
}
