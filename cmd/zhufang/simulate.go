package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/posture"
	"zhufang/sim"
	"zhufang/sqlstore"
)

// DemandDays is how many days before the simulated one its posture demand
// is learnt from.
const DemandDays = 28

func runSimulate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var date, policy string
	var seed uint64
	fs := flagSet("simulate", "Replays one day of the demo city's street incidents, faster than real time, under each dispatch\n"+
		"policy (station, nearest, zhufang, zhufang_posture) and reports the 1-3-5 shares by zone profile.\n"+
		"Days of the history replay the stored incidents; other days in the model's range are drawn from it.", stdout)
	cfg.dbFlag(fs, getenv)
	cfg.dataFlag(fs, getenv)
	fs.StringVar(&date, "date", "", "the day to replay, YYYY-MM-DD (China time); required")
	fs.StringVar(&policy, "policy", "", "one policy to run: station, nearest, zhufang or zhufang_posture (default all four)")
	fs.Uint64Var(&seed, "seed", 0, "seed of the simulation's random delays (default the demo city's seed)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the rows as a JSON array")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if date == "" {
		return usageError{"simulate: --date YYYY-MM-DD is required (see zhufang simulate --help)"}
	}
	day, err := time.ParseInLocation(time.DateOnly, date, zhufang.ChinaTime)
	if err != nil {
		return usageError{fmt.Sprintf("--date %q must be a date YYYY-MM-DD", date)}
	}
	policies := sim.Policies
	if policy != "" {
		p, err := sim.ParsePolicy(policy)
		if err != nil {
			return usageError{"--policy: " + zhufang.ErrorMessage(err)}
		}
		policies = []sim.Policy{p}
	}
	if !sqlstore.IsPostgresURL(cfg.DB) {
		if _, err := os.Stat(cfg.DB); err != nil {
			return zhufang.Errorf(zhufang.ENOTFOUND, "database file %s does not exist: build the demo city with zhufang demo --db %s", cfg.DB, cfg.DB)
		}
	}
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	fsys, err := cfg.dataFS()
	if err != nil {
		return err
	}
	m, rec, err := loadModel(ctx, db, fsys)
	if err != nil {
		return err
	}
	if seed == 0 {
		seed = rec.Seed
	}
	city, err := simCity(ctx, db)
	if err != nil {
		return err
	}
	incs, fromHistory, err := streetDay(ctx, db, m, rec, city.Bureaus, day)
	if err != nil {
		return err
	}
	if len(incs) == 0 {
		return zhufang.Errorf(zhufang.ENOTFOUND, "no street incidents on %s to replay", date)
	}
	if city.Demand, err = demandBefore(ctx, db, m, rec, city.Bureaus, day); err != nil {
		return err
	}

	var rows []sim.Row
	for _, p := range policies {
		bar := newProgress(stderr, "simulate "+string(p), len(incs))
		got, err := sim.Run(incs, city, p, sim.Options{Seed: seed, Progress: func(done, _ int) { bar.set(done) }})
		bar.done()
		if err != nil {
			return err
		}
		rows = append(rows, got...)
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	source := "drawn from the incident model"
	if fromHistory {
		source = "from the stored history"
	}
	fmt.Fprintf(stdout, "simulation of %s: %d street incidents (%s), %d units, seed %d\n\n", date, len(incs), source, len(city.Units), seed)
	printRows(stdout, rows)
	return nil
}

// printRows prints the simulation's rows as a table.
func printRows(w io.Writer, rows []sim.Row) {
	fmt.Fprintf(w, "%-16s %-11s %7s %9s %11s %14s %8s %8s\n", "policy", "zone", "street", "ack≤1min", "scene≤3min", "handling≤5min", "median", "p90")
	for _, r := range rows {
		if r.StreetIncidents == 0 {
			continue
		}
		fmt.Fprintf(w, "%-16s %-11s %7d %8.1f%% %10.1f%% %13.1f%% %7.0fs %7.0fs\n", r.Policy, r.ZoneProfile, r.StreetIncidents,
			100*r.Ack1, 100*r.Scene3, 100*r.Handling5, r.MedianOnScene, r.P90OnScene)
	}
}

// simCity reads the fleet and the stations' bureaus.
func simCity(ctx context.Context, db *sqlstore.DB) (sim.City, error) {
	c := sim.City{Bureaus: map[int64]int64{}, Zones: zhufang.DefaultZoneProfiles(), Estimate: dispatch.DefaultEstimator()}
	stations, err := db.FindStations(ctx)
	if err != nil {
		return c, err
	}
	for _, s := range stations {
		c.Bureaus[s.ID] = s.BureauID
	}
	units, err := db.FindUnits(ctx, 0)
	if err != nil {
		return c, err
	}
	for _, u := range units {
		c.Units = append(c.Units, *u)
	}
	return c, nil
}

// demandBefore learns the posture demand of each hour from the street
// incidents of the DemandDays before day.
func demandBefore(ctx context.Context, db *sqlstore.DB, m *demo.Model, rec zhufang.DemoCity, bureaus map[int64]int64, day time.Time) ([24][]posture.Cell, error) {
	var samples []posture.Sample
	for d := 1; d <= DemandDays; d++ {
		past, _, err := streetDay(ctx, db, m, rec, bureaus, day.AddDate(0, 0, -d))
		if err != nil {
			return [24][]posture.Cell{}, err
		}
		for _, p := range past {
			samples = append(samples, posture.Sample{At: p.At, Position: p.Position, Zone: p.Zone, BureauID: p.BureauID})
		}
	}
	return posture.Demand(samples, DemandDays), nil
}

// streetDay returns a day's street incidents: the stored ones for a day
// of the history, else those the model draws, triaged as intake would.
// It reports whether they came from the history.
func streetDay(ctx context.Context, db *sqlstore.DB, m *demo.Model, rec zhufang.DemoCity, bureaus map[int64]int64, day time.Time) ([]sim.Incident, bool, error) {
	day = demo.Midnight(day)
	last := m.Anchor()
	first := last.AddDate(0, 0, -(rec.HistoryDays - 1))
	var out []sim.Incident
	if rec.HistoryDays > 0 && !day.Before(first) && !day.After(last) {
		incs, err := db.FindReceived(ctx, day, day.AddDate(0, 0, 1), zhufang.LaneStreet)
		if err != nil {
			return nil, false, err
		}
		for _, inc := range incs {
			out = append(out, sim.Incident{At: inc.ReceivedAt, Position: inc.Position, Zone: inc.Zone, StationID: inc.StationID, BureauID: inc.BureauID})
		}
		return out, true, nil
	}
	calls, err := m.Day(day)
	if err != nil {
		return nil, false, err
	}
	triage := zhufang.DefaultTriage()
	for _, c := range calls {
		r := triage.Classify(zhufang.TriageInput{Category: c.Category, Description: c.Description, PlaceType: c.PlaceType,
			ReceivedAt: c.ReceivedAt, Flags: c.Flags})
		if !r.Streetward() {
			continue
		}
		out = append(out, sim.Incident{At: c.ReceivedAt, Position: c.Position, Zone: c.Community.Zone,
			StationID: c.Community.StationID, BureauID: bureaus[c.Community.StationID]})
	}
	return out, false, nil
}
