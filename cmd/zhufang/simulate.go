package main

import (
	"context"
	"fmt"
	"time"

	"zhufang"
	"zhufang/sim"
)

// runSimulate replays a day of the demo city under each dispatch policy.
func runSimulate(ctx context.Context, c call) error {
	var cfg Config
	var date, policy string
	var seed uint64
	fs := c.flags("simulate", "Replays one day of the demo city's street incidents, faster than real time, under each dispatch\n"+
		"policy (station, nearest, zhufang, zhufang_posture) and reports the 1-3-5 shares by zone profile.\n"+
		"Days of the history replay the stored incidents; other days in the model's range are drawn from it.")
	cfg.dbFlag(fs, c.getenv)
	cfg.dataFlag(fs, c.getenv)
	fs.StringVar(&date, "date", "", "the day to replay, YYYY-MM-DD (China time); required")
	fs.StringVar(&policy, "policy", "", "one policy to run: station, nearest, zhufang or zhufang_posture (default all four)")
	fs.Uint64Var(&seed, "seed", 0, "seed of the simulation's random delays (default the demo city's seed)")
	fs.BoolVar(&cfg.JSON, "json", false, "print the rows as a JSON array")
	if err := fs.parseConfig(c.args, &cfg); err != nil {
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
	if err := mustExist(cfg.DB, ": build the demo city with zhufang demo --db "+cfg.DB); err != nil {
		return err
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
	d, err := sim.LoadDay(ctx, db, m, rec, day)
	if err != nil {
		return err
	}
	var rows []sim.Row
	for _, p := range policies {
		bar := newProgress(c.stderr, nil, "simulate "+string(p), len(d.Incidents))
		got, err := sim.Run(d.Incidents, d.City, p, sim.Options{Seed: seed, Progress: func(done, _ int) { bar.set(done) }})
		bar.done()
		if err != nil {
			return err
		}
		rows = append(rows, got...)
	}
	if cfg.JSON {
		return printJSON(c.stdout, rows)
	}
	source := "drawn from the incident model"
	if d.FromHistory {
		source = "from the stored history"
	}
	fmt.Fprintf(c.stdout, "simulation of %s: %d street incidents (%s), %d units, seed %d\n\n", date, len(d.Incidents), source, len(d.City.Units), seed)
	sim.WriteTable(c.stdout, rows)
	return nil
}
