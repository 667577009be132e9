package sqlstore_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

func pt(lon, lat float64) zhufang.Point { return zhufang.Point{Lon: lon, Lat: lat} }

// square returns a closed square area of side d degrees at (lon, lat).
func square(lon, lat, d float64) zhufang.MultiPolygon {
	return zhufang.MultiPolygon{{{pt(lon, lat), pt(lon+d, lat), pt(lon+d, lat+d), pt(lon, lat+d), pt(lon, lat)}}}
}

// smallCity is a city of one county, one station with two offices, an
// urban community and a village, and one of each other record.
func smallCity() *zhufang.City {
	return &zhufang.City{
		Bureaus: []*zhufang.Bureau{
			{ID: 1, Code: "431100", Name: "永州市公安局", Level: zhufang.BureauCity, Seat: zhufang.Point{Lon: 111.6, Lat: 26.4}},
			{ID: 2, Code: "431103", Name: "冷水滩分局", Level: zhufang.BureauCounty, ParentID: 1, Seat: zhufang.Point{Lon: 111.6, Lat: 26.4}, Area: square(111.5, 26.3, 0.2)},
		},
		Stations: []*zhufang.Station{{ID: 1, Code: "431103001", Name: "梅湾派出所", Kind: zhufang.StationUrban, BureauID: 2,
			Townships: []string{"431103001"}, Seat: zhufang.Point{Lon: 111.6, Lat: 26.4}, Area: square(111.5, 26.3, 0.2)}},
		SubUnits: []*zhufang.SubUnit{{ID: 1, StationID: 1, Kind: zhufang.SubUnitCommunityTeam, Name: "梅湾社区警务队"}},
		Offices: []*zhufang.PoliceOffice{
			{ID: 1, Name: "滨江社区警务室", Kind: zhufang.OfficeUrban, StationID: 1, Seat: zhufang.Point{Lon: 111.55, Lat: 26.35}},
			{ID: 2, Name: "石冲村警务室", Kind: zhufang.OfficeRural, StationID: 1, Seat: zhufang.Point{Lon: 111.65, Lat: 26.45}},
		},
		Communities: []*zhufang.Community{
			{ID: 1, Code: "431103001001", Name: "滨江社区", Kind: zhufang.CommunityUrban, CountyCode: "431103", StationID: 1, OfficeID: 1,
				Population: 12000, Households: 4000, Zone: zhufang.ZoneUrbanCore, Seat: zhufang.Point{Lon: 111.55, Lat: 26.35}, Area: square(111.5, 26.3, 0.1)},
			{ID: 2, Code: "431103001201", Name: "石冲村", Kind: zhufang.CommunityVillage, CountyCode: "431103", StationID: 1, OfficeID: 2,
				Population: 1200, Households: 400, Zone: zhufang.ZoneRural, Seat: zhufang.Point{Lon: 111.65, Lat: 26.45}, Area: square(111.6, 26.4, 0.1)},
		},
		Grids: []*zhufang.Grid{{ID: 1, Code: "431103001001001", Name: "滨江社区第1网格", CommunityID: 1, Households: 4000,
			Seat: zhufang.Point{Lon: 111.55, Lat: 26.35}, Area: square(111.5, 26.3, 0.1)}},
		Officers: []*zhufang.Officer{
			{ID: 1, BadgeNo: "030001", Name: "唐明", Rank: zhufang.RankPolice, Post: zhufang.PostCommunityOfficer, StationID: 1, SubUnitID: 1, OfficeID: 1, SecondedFrom: "市局治安支队"},
			{ID: 2, BadgeNo: "F4311030001", Name: "蒋芳", Rank: zhufang.RankAuxiliary, Post: zhufang.PostVillageAuxiliary, StationID: 1, SubUnitID: 1, OfficeID: 2},
		},
		Companies: []*zhufang.SecurityCompany{{ID: 1, Name: "冷水滩平安保安服务有限公司", BureauID: 2, Seat: zhufang.Point{Lon: 111.6, Lat: 26.4}}},
		Teams:     []*zhufang.Team{{ID: 1, Name: "滨江社区群防群治队", StationID: 1, CommunityID: 1, Seat: zhufang.Point{Lon: 111.55, Lat: 26.35}}},
		Members: []*zhufang.Member{
			{ID: 1, Kind: zhufang.MemberGuard, Name: "周强", CommunityID: 1, CompanyID: 1, Home: zhufang.Point{Lon: 111.55, Lat: 26.35}},
			{ID: 2, Kind: zhufang.MemberVolunteer, Name: "李娟", CommunityID: 1, TeamID: 1, Home: zhufang.Point{Lon: 111.55, Lat: 26.35}},
			{ID: 3, Kind: zhufang.MemberGridWorker, Name: "王磊", CommunityID: 1, GridID: 1, Home: zhufang.Point{Lon: 111.55, Lat: 26.35}},
			{ID: 4, Kind: zhufang.MemberMediator, Name: "刘洋", CommunityID: 2, Home: zhufang.Point{Lon: 111.65, Lat: 26.45}},
		},
		Units: []*zhufang.Unit{
			{ID: 1, CallSign: "梅湾巡01", Kind: zhufang.UnitPatrolCar, Platform: zhufang.PlatformPolice, StationID: 1,
				Capabilities: []string{"armed"}, Crew: 2, Status: zhufang.UnitAvailable, Position: pt(111.6, 26.4)},
			{ID: 2, CallSign: "保001-1", Kind: zhufang.UnitGuardTeam, Platform: zhufang.PlatformMass, StationID: 1, CompanyID: 1,
				Capabilities: []string{}, Crew: 4, Status: zhufang.UnitAvailable, Position: pt(111.55, 26.35)},
		},
	}
}

func TestImportCitySummaryAndRead(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := sqltest.Open(t, engine, sqlstore.Options{})
			city := smallCity()
			if err := db.ImportCity(ctx, city); err != nil {
				t.Fatal(err)
			}
			got, err := db.OrgSummary(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := &zhufang.OrgSummary{CityBureaus: 1, CountyBureaus: 1, Stations: 1, SubUnits: 1, UrbanOffices: 1, RuralOffices: 1,
				UrbanCommunities: 1, Villages: 1, Grids: 1, Officers: 2, PoliceOfficers: 1, AuxiliaryOfficers: 1,
				CommunityOfficers: 1, VillageAuxiliaries: 1, SecondedOfficers: 1, SecurityCompanies: 1, CommunityPoliceTeams: 1,
				MassPreventionMembers: 4, Guards: 1, Volunteers: 1, GridWorkers: 1, Mediators: 1, Population: 13200,
				Units: 2, PoliceUnits: 1, MassUnits: 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("summary (-want +got):\n%s", diff)
			}
			c, err := db.FindCommunityByID(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(city.Communities[1], c); diff != "" {
				t.Fatalf("community read back (-want +got):\n%s", diff)
			}
			stations, err := db.FindStations(ctx)
			if err != nil || len(stations) != 1 {
				t.Fatalf("stations %v, %v", stations, err)
			}
			if diff := cmp.Diff(city.Stations[0], stations[0]); diff != "" {
				t.Fatalf("station read back (-want +got):\n%s", diff)
			}
			tree, err := db.FindOrgTree(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tree.City.Code != "431100" || len(tree.Counties) != 1 || len(tree.Counties[0].Stations) != 1 ||
				tree.Counties[0].Stations[0].Villages != 1 || tree.Counties[0].Stations[0].Officers != 2 {
				t.Fatalf("org tree %+v", tree)
			}

			// A second import must not mix two cities.
			wantCode(t, db.ImportCity(ctx, smallCity()), zhufang.ECONFLICT, "already holds")
			if err := db.ClearOrg(ctx); err != nil {
				t.Fatal(err)
			}
			if empty, _ := db.IsEmpty(ctx); !empty {
				t.Fatal("ClearOrg left an organisation")
			}
			// After clearing, IDs start afresh and new records get new IDs.
			if err := db.ImportCity(ctx, smallCity()); err != nil {
				t.Fatal(err)
			}
			b := &zhufang.Bureau{Code: "431102", Name: "零陵分局", Level: zhufang.BureauCounty, ParentID: 1, Seat: zhufang.Point{Lon: 111.6, Lat: 26.2}}
			if err := db.CreateBureau(ctx, b); err != nil {
				t.Fatalf("create after import: %v", err)
			}
			if b.ID != 3 {
				t.Fatalf("new bureau got ID %d, want 3", b.ID)
			}
		})
	}
}

func TestImportCityRejectsBadCities(t *testing.T) {
	tests := []struct {
		name   string
		mangle func(c *zhufang.City)
		code   string
		says   string
	}{
		{"invalid county code", func(c *zhufang.City) { c.Bureaus[1].Code = "43110" }, zhufang.EINVALID, "6 digits"},
		{"prefecture as county", func(c *zhufang.City) { c.Bureaus[1].Code = "431200" }, zhufang.EINVALID, "prefecture"},
		{"community outside its county", func(c *zhufang.City) { c.Communities[0].Code = "431102001001" }, zhufang.EINVALID, "does not lie in county"},
		{"duplicate community code", func(c *zhufang.City) { c.Communities[1].Code = c.Communities[0].Code }, zhufang.ECONFLICT, "used twice"},
		{"missing parent station", func(c *zhufang.City) { c.Communities[1].StationID = 9 }, zhufang.ENOTFOUND, "station 9 does not exist"},
		{"missing company", func(c *zhufang.City) { c.Members[0].CompanyID = 7 }, zhufang.ENOTFOUND, "security company 7"},
		{"ring not closed", func(c *zhufang.City) {
			r := c.Communities[0].Area[0][0]
			r[len(r)-1] = zhufang.Point{Lon: 111.5, Lat: 26.31}
		}, zhufang.EINVALID, "does not close"},
		{"self-intersecting ring", func(c *zhufang.City) {
			c.Stations[0].Area = zhufang.MultiPolygon{{{pt(111.5, 26.3), pt(111.7, 26.5), pt(111.7, 26.3), pt(111.5, 26.5), pt(111.5, 26.3)}}}
		}, zhufang.EINVALID, "crosses itself"},
		{"seat off the planet", func(c *zhufang.City) { c.Offices[0].Seat.Lat = 95 }, zhufang.EINVALID, "off the planet"},
		{"guard without company", func(c *zhufang.City) { c.Members[0].CompanyID = 0 }, zhufang.EINVALID, "security company"},
	}
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := sqltest.Open(t, engine, sqlstore.Options{})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c := smallCity()
					tt.mangle(c)
					wantCode(t, db.ImportCity(ctx, c), tt.code, tt.says)
					if empty, err := db.IsEmpty(ctx); err != nil || !empty {
						t.Fatalf("a refused import left data behind (empty=%v, err=%v)", empty, err)
					}
				})
			}
		})
	}
}

func TestCreateRejectsBadRecords(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := sqltest.Open(t, engine, sqlstore.Options{})
			city := &zhufang.Bureau{Code: "431100", Name: "永州市公安局", Level: zhufang.BureauCity, Seat: zhufang.Point{Lon: 111.6, Lat: 26.4}}
			if err := db.CreateBureau(ctx, city); err != nil {
				t.Fatal(err)
			}
			county := &zhufang.Bureau{Code: "431103", Name: "冷水滩分局", Level: zhufang.BureauCounty, ParentID: city.ID, Seat: zhufang.Point{Lon: 111.6, Lat: 26.4}}
			if err := db.CreateBureau(ctx, county); err != nil {
				t.Fatal(err)
			}
			st := &zhufang.Station{Code: "431103001", Name: "梅湾派出所", Kind: zhufang.StationUrban, BureauID: county.ID,
				Seat: zhufang.Point{Lon: 111.6, Lat: 26.4}, Area: square(111.5, 26.3, 0.2)}
			if err := db.CreateStation(ctx, st); err != nil {
				t.Fatal(err)
			}
			off := &zhufang.PoliceOffice{Name: "滨江社区警务室", Kind: zhufang.OfficeUrban, StationID: st.ID, Seat: zhufang.Point{Lon: 111.55, Lat: 26.35}}
			if err := db.CreatePoliceOffice(ctx, off); err != nil {
				t.Fatal(err)
			}
			good := func() *zhufang.Community {
				return &zhufang.Community{Code: "431103001001", Name: "滨江社区", Kind: zhufang.CommunityUrban, CountyCode: "431103",
					StationID: st.ID, OfficeID: off.ID, Population: 100, Zone: zhufang.ZoneUrban, Seat: zhufang.Point{Lon: 111.55, Lat: 26.35}, Area: square(111.5, 26.3, 0.1)}
			}
			if err := db.CreateCommunity(ctx, good()); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				err  error
				code string
				says string
			}{
				{"invalid administrative code", db.CreateBureau(ctx, &zhufang.Bureau{Code: "99X103", Name: "x", Level: zhufang.BureauCounty, ParentID: city.ID}), zhufang.EINVALID, "6 digits"},
				{"unknown province", db.CreateBureau(ctx, &zhufang.Bureau{Code: "991103", Name: "x", Level: zhufang.BureauCounty, ParentID: city.ID}), zhufang.EINVALID, "no province"},
				{"duplicate bureau code", db.CreateBureau(ctx, &zhufang.Bureau{Code: "431103", Name: "x", Level: zhufang.BureauCounty, ParentID: city.ID, Seat: zhufang.Point{Lon: 111, Lat: 26}}), zhufang.ECONFLICT, "already exists"},
				{"duplicate community code", db.CreateCommunity(ctx, good()), zhufang.ECONFLICT, "already exists"},
				{"parent bureau missing", db.CreateBureau(ctx, &zhufang.Bureau{Code: "431102", Name: "x", Level: zhufang.BureauCounty, ParentID: 404, Seat: zhufang.Point{Lon: 111, Lat: 26}}), zhufang.ENOTFOUND, "parent bureau 404 does not exist"},
				{"station's bureau missing", db.CreateStation(ctx, &zhufang.Station{Code: "431103002", Name: "x", Kind: zhufang.StationUrban, BureauID: 404, Seat: zhufang.Point{Lon: 111, Lat: 26}}), zhufang.ENOTFOUND, "bureau 404 does not exist"},
				{"community's station missing", db.CreateCommunity(ctx, func() *zhufang.Community { c := good(); c.Code = "431103001002"; c.StationID = 404; return c }()), zhufang.ENOTFOUND, "station 404 does not exist"},
				{"community's office missing", db.CreateCommunity(ctx, func() *zhufang.Community { c := good(); c.Code = "431103001002"; c.OfficeID = 404; return c }()), zhufang.ENOTFOUND, "police office 404 does not exist"},
				{"polygon not closed", db.CreateCommunity(ctx, func() *zhufang.Community {
					c := good()
					c.Code = "431103001003"
					c.Area = zhufang.MultiPolygon{{{pt(111.5, 26.3), pt(111.6, 26.3), pt(111.6, 26.4), pt(111.5, 26.4)}}}
					return c
				}()), zhufang.EINVALID, "does not close"},
				{"polygon self-intersects", db.CreateStation(ctx, &zhufang.Station{Code: "431103003", Name: "x", Kind: zhufang.StationUrban, BureauID: county.ID,
					Seat: zhufang.Point{Lon: 111, Lat: 26}, Area: zhufang.MultiPolygon{{{pt(111.5, 26.3), pt(111.7, 26.5), pt(111.7, 26.3), pt(111.5, 26.5), pt(111.5, 26.3)}}}}), zhufang.EINVALID, "crosses itself"},
				{"unknown community", func() error { _, err := db.FindCommunityByID(ctx, 404); return err }(), zhufang.ENOTFOUND, "community 404 does not exist"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.err, tt.code, tt.says) })
			}
			comms, err := db.FindCommunities(ctx, zhufang.CommunityFilter{})
			if err != nil || len(comms) != 1 {
				t.Fatalf("after the refusals: %d communities, %v; want the one good one", len(comms), err)
			}
		})
	}
}
