package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"zhufang"
	"zhufang/sqlstore"
)

// runOrg lists the organisation a database holds, with the IDs that
// `user add --scope LEVEL --org ID` takes. It reads the database, not the
// embedded city data, because the database's records are what --org is
// checked against (a city built with --data or another seed has other IDs).
func runOrg(ctx context.Context, c call) error {
	_, args, err := splitVerb(c.args, "org: say list (see zhufang org --help)", "list")
	if err != nil {
		return err
	}
	var cfg Config
	var f orgFilter
	fs := c.flags("org", "org list prints the county bureaus, stations and communities (urban communities and villages)\n"+
		"the database holds, each with the ID and scope level that zhufang user add --scope LEVEL --org ID takes,\n"+
		"in the order of the tree: each county, its stations, each station's communities.")
	cfg.dbFlag(fs, c.getenv)
	fs.Int64Var(&f.county, "county", 0, "only this county bureau (its ID) and what lies under it")
	fs.Int64Var(&f.station, "station", 0, "only this station (its ID) and its communities")
	fs.StringVar(&f.kind, "kind", "", "only one level: county, station or community")
	if err := fs.parseConfig(args, &cfg); err != nil {
		return err
	}
	switch {
	case f.kind != "" && !slices.Contains([]string{"county", "station", "community"}, f.kind):
		return usageError{fmt.Sprintf("org list: --kind %q is not one of county, station, community (see zhufang org --help)", f.kind)}
	case f.county < 0 || f.station < 0:
		return usageError{"org list: --county and --station take an ID from zhufang org list (see zhufang org --help)"}
	case f.county != 0 && f.station != 0:
		return usageError{"org list: give --county or --station, not both: a station names its county (see zhufang org --help)"}
	}
	if err := mustExist(cfg.DB, "; build the demo city with zhufang demo, or name the database with --db"); err != nil {
		return err
	}
	return withDB(ctx, cfg, func(db *sqlstore.DB) error { return listOrg(ctx, db, f, c.stdout) })
}

// orgFilter is what org list shows: one county or one station (0 for
// all), one level ("" for all).
type orgFilter struct {
	county, station int64
	kind            string
}

// listOrg prints the organisation as a table in tree order.
func listOrg(ctx context.Context, db *sqlstore.DB, f orgFilter, w io.Writer) error {
	bureaus, err := db.FindBureaus(ctx)
	if err != nil {
		return err
	}
	stations, err := db.FindStations(ctx)
	if err != nil {
		return err
	}
	communities, err := db.FindCommunities(ctx, zhufang.CommunityFilter{StationID: f.station})
	if err != nil {
		return err
	}
	names := map[int64]string{} // bureau ID → name
	for _, b := range bureaus {
		names[b.ID] = b.Name
	}
	var station *zhufang.Station
	for _, s := range stations {
		if s.ID == f.station {
			station = s
		}
	}
	switch {
	case f.county != 0 && names[f.county] == "":
		return zhufang.Errorf(zhufang.ENOTFOUND, "no county bureau has ID %d (zhufang org list --kind county lists them)", f.county)
	case f.station != 0 && station == nil:
		return zhufang.Errorf(zhufang.ENOTFOUND, "no station has ID %d (zhufang org list --kind station lists them)", f.station)
	case station != nil:
		f.county = station.BureauID
	}
	byStation := map[int64][]*zhufang.Community{}
	for _, c := range communities {
		byStation[c.StationID] = append(byStation[c.StationID], c)
	}
	var t table
	t.row("ID", "LEVEL", "KIND", "CODE", "NAME", "IN")
	show := func(level string) bool { return f.kind == "" || f.kind == level }
	for _, b := range bureaus {
		if b.Level == zhufang.BureauCity {
			if f.county == 0 && f.kind == "" {
				t.row(formatID(b.ID), "city", string(b.Level), b.Code, b.Name, "")
			}
			continue
		}
		if f.county != 0 && b.ID != f.county {
			continue
		}
		if show("county") && f.station == 0 {
			t.row(formatID(b.ID), "county", string(b.Level), b.Code, b.Name, names[b.ParentID])
		}
		for _, s := range stations {
			if s.BureauID != b.ID || f.station != 0 && s.ID != f.station {
				continue
			}
			if show("station") {
				t.row(formatID(s.ID), "station", string(s.Kind), s.Code, s.Name, b.Name)
			}
			if show("community") {
				for _, c := range byStation[s.ID] {
					t.row(formatID(c.ID), "community", string(c.Kind), c.Code, c.Name, s.Name)
				}
			}
		}
	}
	return t.write(w, "")
}

// formatID writes a record ID as the flags take it.
func formatID(n int64) string { return strconv.FormatInt(n, 10) }
