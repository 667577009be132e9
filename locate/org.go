package locate

import (
	"context"

	"zhufang"
)

// Org is what the index of a city's jurisdictions is read from.
type Org interface {
	FindBureaus(ctx context.Context) ([]*zhufang.Bureau, error)
	FindStations(ctx context.Context) ([]*zhufang.Station, error)
	FindCommunities(ctx context.Context, f zhufang.CommunityFilter) ([]*zhufang.Community, error)
}

// FromOrg builds the point-in-jurisdiction index from the stored areas of
// the communities and villages, and says how many it holds. An
// organisation without areas gives a locator for which every point is
// outside.
func FromOrg(ctx context.Context, org Org) (zhufang.Locator, int, error) {
	bureaus, err := org.FindBureaus(ctx)
	if err != nil {
		return nil, 0, err
	}
	stations, err := org.FindStations(ctx)
	if err != nil {
		return nil, 0, err
	}
	comms, err := org.FindCommunities(ctx, zhufang.CommunityFilter{WithArea: true})
	if err != nil {
		return nil, 0, err
	}
	bureauByID := map[int64]*zhufang.Bureau{}
	for _, b := range bureaus {
		bureauByID[b.ID] = b
	}
	stationByID := map[int64]*zhufang.Station{}
	for _, s := range stations {
		stationByID[s.ID] = s
	}
	areas := make([]Area, 0, len(comms))
	for _, c := range comms {
		s := stationByID[c.StationID]
		if c.Area == nil || s == nil || bureauByID[s.BureauID] == nil {
			continue
		}
		b := bureauByID[s.BureauID]
		areas = append(areas, Area{Area: c.Area, Jurisdiction: zhufang.Jurisdiction{
			Community: zhufang.AreaRef{ID: c.ID, Code: c.Code, Name: c.Name, Kind: string(c.Kind)},
			Station:   zhufang.AreaRef{ID: s.ID, Code: s.Code, Name: s.Name, Kind: string(s.Kind)},
			County:    zhufang.AreaRef{ID: b.ID, Code: b.Code, Name: b.Name, Kind: string(b.Level)},
			Zone:      c.Zone,
		}})
	}
	if len(areas) == 0 {
		return outside{}, 0, nil
	}
	idx, err := New(areas)
	if err != nil {
		return nil, 0, err
	}
	return idx, idx.Len(), nil
}

// outside is the locator of an organisation without areas: every point is
// outside.
type outside struct{}

func (outside) Locate(zhufang.Point) (zhufang.Jurisdiction, bool) {
	return zhufang.Jurisdiction{}, false
}
