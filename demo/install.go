package demo

import (
	"context"
	"runtime"
	"time"

	"zhufang"
	"zhufang/auth"
)

// Store is where a demo city is installed: its organisation, its units,
// its users and its history.
type Store interface {
	zhufang.OrgService
	zhufang.HistoryService
	zhufang.UnitService
	zhufang.UserService
	// ReplaceCity replaces the organisation the store holds, and
	// everything on its ground, with c.
	ReplaceCity(ctx context.Context, c *zhufang.City) error
}

// Setup says which demo city to install and how.
type Setup struct {
	City Options // the organisation: seed, data and cells
	// HistoryDays of incident history end on Anchor (midnight China time).
	HistoryDays int
	Anchor      time.Time
	Replace     bool                // replace the organisation the store holds
	Categories  *zhufang.Categories // the 110 table the incident model draws from
	// ETA estimates a unit's travel time to a scene, for the history's
	// street incidents (dispatch.DefaultEstimator().ETA).
	ETA func(from, to zhufang.Point, kind zhufang.UnitKind, zone zhufang.ZoneKind) time.Duration
	// Progress, if set, is told as each day of history is stored.
	Progress func(done, total int)
}

// Installed is what installing a demo city took.
type Installed struct {
	City, History time.Duration
	Incidents     int64
}

// Install builds the demo city and its history into st, recording the
// city (seed, anchor, history) so that the living city and the simulation
// can draw from the same incident model later.
func Install(ctx context.Context, st Store, s Setup) (Installed, error) {
	var out Installed
	start := time.Now()
	city, err := Build(s.City)
	if err != nil {
		return out, err
	}
	if s.Replace {
		err = st.ReplaceCity(ctx, city)
	} else {
		err = st.ImportCity(ctx, city)
	}
	if err != nil {
		return out, err
	}
	out.City = time.Since(start)
	rec := zhufang.DemoCity{Seed: s.City.Seed, AnchorDay: Midnight(s.Anchor).Format(time.DateOnly), HistoryDays: s.HistoryDays, BuiltAt: time.Now()}
	if err := st.SetDemoCity(ctx, rec); err != nil {
		return out, err
	}
	m, _, err := LoadModel(ctx, st, s.Categories)
	if err != nil {
		return out, err
	}
	start = time.Now()
	if out.Incidents, err = storeHistory(ctx, st, m, s); err != nil {
		return out, err
	}
	out.History = time.Since(start)
	rec.Incidents = out.Incidents
	return out, st.SetDemoCity(ctx, rec)
}

// ModelStore is what the incident model is read from: the demo city's
// record and its communities.
type ModelStore interface {
	FindDemoCity(ctx context.Context) (zhufang.DemoCity, error)
	FindCommunities(ctx context.Context, f zhufang.CommunityFilter) ([]*zhufang.Community, error)
}

// LoadModel reads the demo city's record and communities and makes its
// incident model: ENOTFOUND when the store holds no demo city.
func LoadModel(ctx context.Context, st ModelStore, cats *zhufang.Categories) (*Model, zhufang.DemoCity, error) {
	rec, err := st.FindDemoCity(ctx)
	if err != nil {
		return nil, rec, err
	}
	anchor, err := rec.Anchor()
	if err != nil {
		return nil, rec, err
	}
	comms, err := st.FindCommunities(ctx, zhufang.CommunityFilter{WithArea: true})
	if err != nil {
		return nil, rec, err
	}
	m, err := NewModel(rec.Seed, anchor, comms, cats)
	return m, rec, err
}

// storeHistory draws the days of history ending on the anchor day and
// stores them in one import.
func storeHistory(ctx context.Context, st Store, m *Model, s Setup) (int64, error) {
	days := s.HistoryDays
	if days == 0 {
		return 0, nil
	}
	stations, err := st.FindStations(ctx)
	if err != nil {
		return 0, err
	}
	units, err := st.FindUnits(ctx, 0)
	if err != nil {
		return 0, err
	}
	h := NewHistory(m, zhufang.DefaultTriage(), zhufang.DefaultZoneProfiles(), stations, units, s.ETA)
	first := m.Anchor().AddDate(0, 0, -(days - 1))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Days are drawn in parallel and stored in order, so that IDs follow
	// time.
	results := make([]chan []zhufang.PastIncident, days)
	for i := range results {
		results[i] = make(chan []zhufang.PastIncident, 1)
	}
	errc := make(chan error, 1)
	next := make(chan int)
	workers := max(1, runtime.GOMAXPROCS(0))
	// Days are handed out in order, each after taking a place in ahead,
	// which bounds the days held in memory.
	ahead := make(chan struct{}, 4*workers)
	go func() {
		defer close(next)
		for i := range days {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		go func() {
			for i := range next {
				day, err := h.Day(first.AddDate(0, 0, i))
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					cancel()
					return
				}
				results[i] <- day
			}
		}()
	}
	batches := make(chan []zhufang.PastIncident)
	go func() {
		defer close(batches)
		for i := range days {
			select {
			case day := <-results[i]:
				<-ahead
				select {
				case batches <- day:
				case <-ctx.Done():
					return
				}
				if s.Progress != nil {
					s.Progress(i+1, days)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	n, err := st.ImportHistory(ctx, batches)
	select {
	case gerr := <-errc:
		return 0, gerr
	default:
	}
	return n, err
}

// User is one of the demo's users with the password it was given.
type User struct {
	zhufang.User
	Password string
}

// CreateUsers adds one user per role in sensible places: the city's
// command room, the busiest urban county and its busiest urban station,
// and a community of that station. Passwords are random; the caller shows
// them once.
func CreateUsers(ctx context.Context, st Store) ([]User, error) {
	tree, err := st.FindOrgTree(ctx)
	if err != nil {
		return nil, err
	}
	var county *zhufang.BureauNode
	var station *zhufang.StationNode
	for _, b := range tree.Counties {
		for _, s := range b.Stations {
			if station == nil || s.UrbanCommunities > station.UrbanCommunities {
				county, station = b, s
			}
		}
	}
	if station == nil {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "the database holds no station to put demo users in")
	}
	cs, err := st.FindCommunities(ctx, zhufang.CommunityFilter{StationID: station.Station.ID, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, zhufang.Errorf(zhufang.ENOTFOUND, "station %s has no community", station.Station.Name)
	}
	city := zhufang.Scope{Level: zhufang.ScopeCity}
	countyScope := zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: county.Bureau.ID}
	stationScope := zhufang.Scope{Level: zhufang.ScopeStation, StationID: station.Station.ID}
	communityScope := zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: cs[0].ID}
	plan := []struct {
		username, name string
		role           zhufang.Role
		scope          zhufang.Scope
	}{
		{"commander", "市局指挥长 李明", zhufang.RoleCityCommander, city},
		{"county", "县局指挥长 王刚", zhufang.RoleCountyCommander, countyScope},
		{"dispatcher", "接警员 张丽", zhufang.RoleDispatcher, city},
		{"chief", "所长 刘强", zhufang.RoleStationChief, stationScope},
		{"officer", "社区民警 陈静", zhufang.RoleCommunityOfficer, communityScope},
		{"auxiliary", "辅警 杨帆", zhufang.RoleAuxiliary, communityScope},
		{"detective", "办案民警 赵磊", zhufang.RoleCaseOfficer, stationScope},
		{"mediator", "调解员 黄梅", zhufang.RoleMediator, stationScope},
		{"pilot", "飞手 周洋", zhufang.RoleDronePilot, countyScope},
		{"analyst", "分析员 吴昊", zhufang.RoleAnalyst, city},
		{"admin", "管理员 郑伟", zhufang.RoleAdmin, city},
	}
	var out []User
	for _, p := range plan {
		pw, err := auth.NewPassword()
		if err != nil {
			return nil, err
		}
		u := zhufang.User{Username: p.username, Name: p.name, Role: p.role, Scope: p.scope}
		if err := st.CreateUser(ctx, &u, pw); err != nil {
			return nil, err
		}
		out = append(out, User{User: u, Password: pw})
	}
	return out, nil
}
