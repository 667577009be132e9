package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/inmem"
	"zhufang/locate"
	"zhufang/natsbus"
	"zhufang/sqlstore"
	"zhufang/tiling"
	"zhufang/watch"
	"zhufang/web"
)

const usage = `zhufang: the operations platform of police-station-led prevention (派出所主防)

usage: zhufang <command> [flags]

commands:
  serve     serve the console and the API
  demo      build the Yongzhou-shaped demo city into a database
  migrate   bring a database's schema up to date
  device    give a unit's device a token (device add --unit ID), or revoke one (device revoke --id N)

Run zhufang <command> --help for a command's flags.
`

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		err = runDemo(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "device":
		err = runDevice(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q (commands: serve, demo, migrate, device)", args[0])}
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// openDB opens and migrates the database.
func openDB(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flagSet("migrate", "Applies the schema migrations this zhufang knows to the database.", stdout)
	cfg.dbFlag(fs, getenv)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, cfg.DB, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	before, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	after, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s: schema version %d → %d\n", db.Where(), before, after)
	return nil
}

// runDevice registers or revokes the token a unit's device reports with.
func runDevice(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "revoke" && args[0] != "--help" && args[0] != "-h") {
		return usageError{"device: say add --unit ID or revoke --id N (see zhufang device --help)"}
	}
	verb := args[0]
	var cfg Config
	var unit, id int64
	fs := flagSet("device", "device add --unit ID prints a new token for the unit's device (shown once);\ndevice revoke --id N stops a device's token from working.", stdout)
	cfg.dbFlag(fs, getenv)
	fs.Int64Var(&unit, "unit", 0, "add: the unit the device reports for")
	fs.Int64Var(&id, "id", 0, "revoke: the device to revoke")
	rest := args[1:]
	if verb != "add" && verb != "revoke" {
		rest = args
	}
	if err := fs.parse(rest); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if verb == "add" && unit <= 0 || verb == "revoke" && id <= 0 {
		return usageError{"device add needs --unit ID; device revoke needs --id N"}
	}
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if verb == "revoke" {
		if err := db.RevokeDevice(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "device %d revoked\n", id)
		return nil
	}
	dev, token, err := db.CreateDevice(ctx, unit)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "device %d of unit %d: token %s\n", dev, unit, token)
	return nil
}

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flagSet("demo", "Builds the Yongzhou-shaped demo city into the database. Refuses a database that already holds an organisation unless --force.", stdout)
	cfg.dbFlag(fs, getenv)
	if err := cfg.dataFlags(fs, getenv); err != nil {
		return err
	}
	fs.BoolVar(&cfg.Force, "force", false, "replace the organisation a database already holds")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary of counts as JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	empty, err := db.IsEmpty(ctx)
	if err != nil {
		return err
	}
	if !empty && !cfg.Force {
		return zhufang.Errorf(zhufang.ECONFLICT, "database %s already holds an organisation; pass --force to replace it", db.Where())
	}
	took, err := buildDemo(ctx, db, cfg, !empty)
	if err != nil {
		return err
	}
	sum, err := db.OrgSummary(ctx)
	if err != nil {
		return err
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(stdout, "demo city (seed %d) built in %.1f s into %s: %d county bureaus, %d stations, %d urban communities, %d villages, %d officers, %d mass-prevention members, population %d\n",
		cfg.Seed, took.Seconds(), db.Where(), sum.CountyBureaus, sum.Stations, sum.UrbanCommunities, sum.Villages,
		sum.Officers, sum.MassPreventionMembers, sum.Population)
	return nil
}

// buildDemo generates the demo city and stores it, replacing what is there
// if replace is set, and reports how long it took.
func buildDemo(ctx context.Context, db *sqlstore.DB, cfg Config, replace bool) (time.Duration, error) {
	start := time.Now()
	city, err := demo.Build(demo.Options{Seed: cfg.Seed, DataDir: cfg.DataDir, Cells: tiling.Cells})
	if err != nil {
		return 0, err
	}
	if replace {
		err = db.ReplaceCity(ctx, city)
	} else {
		err = db.ImportCity(ctx, city)
	}
	return time.Since(start), err
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	fs := flagSet("serve", "Serves the console and the API.", stdout)
	cfg.dbFlag(fs, getenv)
	if err := cfg.dataFlags(fs, getenv); err != nil {
		return err
	}
	fs.StringVar(&cfg.Addr, "addr", env(getenv, "ZHUFANG_ADDR", "127.0.0.1:8080"), "HOST:PORT to listen on (env ZHUFANG_ADDR)")
	cfg.addrSet = true
	fs.StringVar(&cfg.NATS, "nats", getenv("ZHUFANG_NATS"), "nats:// URL of a NATS JetStream event bus shared by several nodes (env ZHUFANG_NATS)")
	fs.BoolVar(&cfg.Demo, "demo", false, "build the demo city first if the database holds no organisation")
	fs.StringVar(&cfg.TriageFile, "triage", getenv("ZHUFANG_TRIAGE"), "file of 一统三分 triage rules replacing the shipped ones (env ZHUFANG_TRIAGE)")
	fs.StringVar(&cfg.Zones, "zones", getenv("ZHUFANG_ZONES"), "1-3-5 thresholds over the defaults, e.g. urban=1m/5m/8m,rural=3m/20m/30m (env ZHUFANG_ZONES)")
	fs.DurationVar(&cfg.StaleAfter, "stale-after", 2*time.Minute, "age past which a unit's position is not trusted for recommendation")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	zones, err := zhufang.ParseZoneProfiles(cfg.Zones)
	if err != nil {
		return usageError{"--zones: " + zhufang.ErrorMessage(err)}
	}
	if cfg.StaleAfter < 10*time.Second || cfg.StaleAfter > 24*time.Hour {
		return usageError{"--stale-after must be between 10s and 24h"}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.Demo {
		empty, err := db.IsEmpty(ctx)
		if err != nil {
			return err
		}
		if empty {
			logger.Info("building the demo city", "seed", cfg.Seed, "db", db.Where())
			took, err := buildDemo(ctx, db, cfg, false)
			if err != nil {
				return err
			}
			logger.Info("demo city built", "seconds", fmt.Sprintf("%.2f", took.Seconds()))
		}
	}
	idx, nAreas, err := loadIndex(ctx, db)
	if err != nil {
		return err
	}
	cats, err := loadCategories(cfg.DataDir)
	if err != nil {
		return err
	}
	triage := zhufang.DefaultTriage()
	if cfg.TriageFile != "" {
		b, err := os.ReadFile(cfg.TriageFile)
		if err != nil {
			return zhufang.WrapError(zhufang.EINVALID, "cannot read the triage rules "+cfg.TriageFile, err)
		}
		if triage, err = zhufang.ParseTriage(string(b)); err != nil {
			return err
		}
	}
	var bus zhufang.EventService = inmem.NewBus(256)
	if cfg.NATS != "" {
		nb, err := natsbus.Open(ctx, cfg.NATS, natsbus.Options{Logger: logger})
		if err != nil {
			return err
		}
		defer nb.Close()
		bus = nb
		logger.Info("events over NATS JetStream", "nats", redactURL(cfg.NATS))
	}
	rctx, stopRelay := context.WithCancel(context.Background())
	relay := db.StartRelay(rctx, bus, logger)
	watcher := &watch.Watcher{Store: db, Events: bus, Clock: zhufang.SystemClock{}, Logger: logger, MaxSleep: 15 * time.Second}
	watched := make(chan struct{})
	go func() { watcher.Run(rctx); close(watched) }()
	// The fleet's last snapshot and the relay finish before db closes.
	var fleetDone sync.WaitGroup
	defer func() { stopRelay(); <-relay.Done(); <-watched; fleetDone.Wait() }()
	fl, err := newFleet(ctx, db, cfg.StaleAfter, logger)
	if err != nil {
		return err
	}
	fleetDone.Go(func() { fl.follow(rctx, bus) })
	fleetDone.Go(func() { fl.snapshot(rctx, 10*time.Second) }) // saves once more when stopped
	intake := &zhufang.Intake{Categories: cats, Locator: idx, Triage: triage, Zones: zones, Clock: zhufang.SystemClock{}}
	srv := &web.Server{Org: db, Locator: idx, Incidents: db, Compliance: db, Assignments: db, Devices: db, Fleet: fl, Events: bus, Intake: intake, Logger: logger, Ready: func(ctx context.Context) error {
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		if v != sqlstore.LatestVersion(db.Engine()) {
			return zhufang.Errorf(zhufang.EUNAVAILABLE, "schema version %d, want %d", v, sqlstore.LatestVersion(db.Engine()))
		}
		return nil
	}}
	h, err := srv.Handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot listen on "+cfg.Addr, err)
	}
	hs := web.NewHTTPServer(cfg.Addr, h, logger)
	logger.Info("serving", "url", "http://"+ln.Addr().String()+"/", "db", db.Where(), "areas", nAreas)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadCategories reads the 110 incident category table from the data folder.
func loadCategories(dataDir string) (*zhufang.Categories, error) {
	path := filepath.Join(dataDir, "codes", "incident_categories.csv")
	f, err := os.Open(path)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read the 110 category table "+path+" (pass --data with the shared data folder)", err)
	}
	defer f.Close()
	return zhufang.ParseCategories(f)
}

// loadIndex builds the point-in-jurisdiction index from the stored areas of
// the communities and villages.
func loadIndex(ctx context.Context, db *sqlstore.DB) (zhufang.Locator, int, error) {
	bureaus, err := db.FindBureaus(ctx)
	if err != nil {
		return nil, 0, err
	}
	stations, err := db.FindStations(ctx)
	if err != nil {
		return nil, 0, err
	}
	comms, err := db.FindCommunities(ctx, zhufang.CommunityFilter{WithArea: true})
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
	areas := make([]locate.Area, 0, len(comms))
	for _, c := range comms {
		if c.Area == nil {
			continue
		}
		s := stationByID[c.StationID]
		b := bureauByID[s.BureauID]
		areas = append(areas, locate.Area{Area: c.Area, Jurisdiction: zhufang.Jurisdiction{
			Community: zhufang.AreaRef{ID: c.ID, Code: c.Code, Name: c.Name, Kind: string(c.Kind)},
			Station:   zhufang.AreaRef{ID: s.ID, Code: s.Code, Name: s.Name, Kind: string(s.Kind)},
			County:    zhufang.AreaRef{ID: b.ID, Code: b.Code, Name: b.Name, Kind: string(b.Level)},
			Zone:      c.Zone,
		}})
	}
	if len(areas) == 0 {
		return noAreas{}, 0, nil
	}
	idx, err := locate.New(areas)
	if err != nil {
		return nil, 0, err
	}
	return idx, idx.Len(), nil
}

// noAreas is the locator of a database without an organisation: every
// point is outside.
type noAreas struct{}

func (noAreas) Locate(zhufang.Point) (zhufang.Jurisdiction, bool) {
	return zhufang.Jurisdiction{}, false
}
