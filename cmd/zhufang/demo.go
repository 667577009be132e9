package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"
	"zhufang"
	"zhufang/data"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/sqlstore"
	"zhufang/tiling"
)

// runDemo builds the demo city into a database.
func runDemo(ctx context.Context, c call) error {
	var cfg Config
	fs := c.flags("demo", "Builds the Yongzhou-shaped demo city into the database. Refuses a database that already holds an organisation unless --force.")
	cfg.dbFlag(fs, c.getenv)
	if err := cfg.dataFlags(fs, c.getenv); err != nil {
		return err
	}
	cfg.historyFlags(fs)
	fs.BoolVar(&cfg.Force, "force", false, "replace the organisation a database already holds")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary of counts as JSON")
	if err := fs.parseConfig(c.args, &cfg); err != nil {
		return err
	}
	return withDB(ctx, cfg, func(db *sqlstore.DB) error { return demoInto(ctx, db, cfg, c) })
}

// demoInto builds the demo city into db and says what it built.
func demoInto(ctx context.Context, db *sqlstore.DB, cfg Config, c call) error {
	empty, err := db.IsEmpty(ctx)
	if err != nil {
		return err
	}
	if !empty && !cfg.Force {
		return zhufang.Errorf(zhufang.ECONFLICT, "database %s already holds an organisation; pass --force to replace it", db.Where())
	}
	cfg.progress, cfg.progressLog = c.stderr, slog.New(slog.NewTextHandler(c.stderr, nil))
	built, err := installDemo(ctx, db, cfg, !empty)
	if err != nil {
		return err
	}
	users, err := demo.CreateUsers(ctx, db)
	if err != nil {
		return err
	}
	sum, err := db.OrgSummary(ctx)
	if err != nil {
		return err
	}
	if cfg.JSON {
		// The summary alone goes to standard output, for machines; the
		// users and their one-time passwords to standard error.
		printDemoUsers(c.stderr, users)
		return printJSON(c.stdout, sum)
	}
	fmt.Fprintf(c.stdout, "demo city (seed %d) built in %.1f s into %s: %d county bureaus, %d stations, %d urban communities, %d villages, %d officers, %d mass-prevention members, population %d\n",
		cfg.Seed, built.City.Seconds(), db.Where(), sum.CountyBureaus, sum.Stations, sum.UrbanCommunities, sum.Villages,
		sum.Officers, sum.MassPreventionMembers, sum.Population)
	if cfg.HistoryDays > 0 {
		anchor, _ := cfg.anchor()
		fmt.Fprintf(c.stdout, "history: %d incidents over %d days ending %s, built in %.1f s\n", built.Incidents, cfg.HistoryDays,
			anchor.Format(time.DateOnly), built.History.Seconds())
	}
	printDemoUsers(c.stdout, users)
	return nil
}

// installDemo builds the demo city and its history into db, replacing
// what is there if replace is set, with a progress bar on a terminal and
// progress lines in a log.
func installDemo(ctx context.Context, db *sqlstore.DB, cfg Config, replace bool) (demo.Installed, error) {
	fsys, err := cfg.dataFS()
	if err != nil {
		return demo.Installed{}, err
	}
	cats, err := data.Categories(fsys)
	if err != nil {
		return demo.Installed{}, err
	}
	anchor, err := cfg.anchor()
	if err != nil {
		return demo.Installed{}, err
	}
	bar := newProgress(cfg.progress, cfg.progressLog, "history", cfg.HistoryDays)
	defer bar.done()
	return demo.Install(ctx, db, demo.Setup{City: demo.Options{Seed: cfg.Seed, Data: fsys, Cells: tiling.Cells},
		HistoryDays: cfg.HistoryDays, Anchor: anchor, Replace: replace, Categories: cats, ETA: dispatch.DefaultEstimator().ETA,
		Progress: func(done, _ int) { bar.set(done) }})
}

// loadModel reads the demo city's incident model from db, with the
// category table of fsys.
func loadModel(ctx context.Context, db *sqlstore.DB, fsys fs.FS) (*demo.Model, zhufang.DemoCity, error) {
	cats, err := data.Categories(fsys)
	if err != nil {
		return nil, zhufang.DemoCity{}, err
	}
	return demo.LoadModel(ctx, db, cats)
}

// ensureDemo builds the demo city when --demo is given and the database
// holds no organisation.
func ensureDemo(ctx context.Context, db *sqlstore.DB, cfg Config, logger *slog.Logger, stdout io.Writer) error {
	if !cfg.Demo {
		return nil
	}
	// Nodes of a cluster started together with --demo build the city once:
	// the others wait, then find it built.
	return db.Exclusive(ctx, "demo", func() error {
		empty, err := db.IsEmpty(ctx)
		if err != nil || !empty {
			return err
		}
		cfg.progress, cfg.progressLog = os.Stderr, logger
		logger.Info("building the demo city", "seed", cfg.Seed, "db", db.Where(), "history_days", cfg.HistoryDays)
		built, err := installDemo(ctx, db, cfg, false)
		if err != nil {
			return err
		}
		logger.Info("demo city built", "seconds", fmt.Sprintf("%.2f", built.City.Seconds()),
			"history_incidents", built.Incidents, "history_seconds", fmt.Sprintf("%.2f", built.History.Seconds()))
		users, err := demo.CreateUsers(ctx, db)
		if err != nil {
			return err
		}
		printDemoUsers(stdout, users)
		return nil
	})
}

// printDemoUsers shows the demo users and their passwords, once.
func printDemoUsers(w io.Writer, users []demo.User) {
	fmt.Fprintln(w, "demo users (passwords are shown only now; change one with zhufang user passwd NAME):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  USERNAME\tPASSWORD\tROLE\tSCOPE")
	for _, u := range users {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", u.Username, u.Password, u.Role, u.Scope)
	}
	tw.Flush()
}
