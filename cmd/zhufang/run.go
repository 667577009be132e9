package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zhufang"
	"zhufang/data"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/inmem"
	"zhufang/live"
	"zhufang/locate"
	"zhufang/natsbus"
	"zhufang/posture"
	"zhufang/sim"
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
  simulate  replay a day of the demo city under each dispatch policy and report 1-3-5
  migrate   bring a database's schema up to date
  device    give a unit's device a token (device add --unit ID), or revoke one (device revoke --id N)
  user      add, passwd, disable, enable or list the console's users
  audit     verify the hash-chained audit trail (audit verify)
  backup    write an online backup of an SQLite database (backup --out FILE), or print a
            database's fingerprint to compare two (backup check)
  restore   copy an SQLite backup into a database (restore --from FILE)
  load      drive a server or a cluster at a steady rate of incidents and positions, and
            check afterwards that every acknowledged incident is stored with its history
  cluster   run N serve nodes on loopback ports against one PostgreSQL and one NATS
  version   print the module version, VCS revision and Go version of this binary (also --version)

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
	case "simulate":
		err = runSimulate(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "device":
		err = runDevice(ctx, args[1:], getenv, stdout)
	case "user":
		err = runUser(ctx, args[1:], getenv, os.Stdin, stdout)
	case "audit":
		err = runAudit(ctx, args[1:], getenv, stdout)
	case "backup":
		err = runBackup(ctx, args[1:], getenv, stdout)
	case "restore":
		err = runRestore(ctx, args[1:], getenv, stdout)
	case "load":
		err = runLoad(ctx, args[1:], getenv, stdout, stderr)
	case "cluster":
		err = runCluster(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		err = runVersion(args[1:], stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q (commands: serve, demo, simulate, migrate, device, user, audit, backup, restore, load, cluster, version)", args[0])}
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
	cfg.historyFlags(fs)
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
	cfg.progress = stderr
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
		printDemoUsers(stderr, users)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	fmt.Fprintf(stdout, "demo city (seed %d) built in %.1f s into %s: %d county bureaus, %d stations, %d urban communities, %d villages, %d officers, %d mass-prevention members, population %d\n",
		cfg.Seed, built.City.Seconds(), db.Where(), sum.CountyBureaus, sum.Stations, sum.UrbanCommunities, sum.Villages,
		sum.Officers, sum.MassPreventionMembers, sum.Population)
	if cfg.HistoryDays > 0 {
		anchor, _ := cfg.anchor()
		fmt.Fprintf(stdout, "history: %d incidents over %d days ending %s, built in %.1f s\n", built.Incidents, cfg.HistoryDays,
			anchor.Format(time.DateOnly), built.History.Seconds())
	}
	printDemoUsers(stdout, users)
	return nil
}

// installDemo builds the demo city and its history into db, replacing
// what is there if replace is set, with a progress bar on a terminal.
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
	bar := newProgress(cfg.progress, "history", cfg.HistoryDays)
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

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, zones, err := serveConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	// Every line logged with a request's context names the request's ID.
	logger := slog.New(web.NewLogHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	db, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := ensureDemo(ctx, db, cfg, logger, stdout); err != nil {
		return err
	}
	idx, nAreas, err := locate.FromOrg(ctx, db)
	if err != nil {
		return err
	}
	fsys, err := cfg.dataFS()
	if err != nil {
		return err
	}
	cats, err := data.Categories(fsys)
	if err != nil {
		return err
	}
	triage, err := loadTriage(cfg.TriageFile)
	if err != nil {
		return err
	}
	bus, closeBus, err := openBus(ctx, cfg.NATS, cfg.NATSStream, logger)
	if err != nil {
		return err
	}
	defer closeBus()
	rctx, stopBackground := context.WithCancel(context.Background())
	relay := db.StartRelay(rctx, bus, logger)
	var background sync.WaitGroup
	// The leader's jobs and the fleet's last snapshot finish, then the relay
	// publishes what they wrote on their way out, before the bus and the
	// database close.
	defer func() {
		stopBackground()
		background.Wait()
		<-relay.Done()
		dctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := relay.Drain(dctx); err != nil {
			logger.Warn("outbox relay: events left for the next start or another node", "err", err)
		}
	}()
	fl, err := dispatch.NewFleet(ctx, db, cfg.StaleAfter, logger)
	if err != nil {
		return err
	}
	background.Go(func() { fl.Follow(rctx, bus) })
	intake := &zhufang.Intake{Categories: cats, Locator: idx, Triage: triage, Zones: zones, Clock: zhufang.SystemClock{}, Store: db}
	var live func(context.Context)
	if cfg.Demo && cfg.Live {
		if live, err = liveJob(ctx, db, fl, bus, intake, cfg, logger); err != nil {
			return err
		}
	}
	// The metrics exist before the leader's jobs start; whether this node
	// leads is read through lead once it is set.
	var lead atomic.Pointer[sqlstore.Leadership]
	metrics := newMetrics(db, bus, func() bool { l := lead.Load(); return l != nil && l.Leading() })
	watcher := &watch.Watcher{Store: db, Events: bus, Clock: zhufang.SystemClock{}, Logger: logger, MaxSleep: 15 * time.Second,
		Raised: func(b zhufang.Breach) { metrics.BreachRaised(b.Stage) }}
	// The jobs that must run once per cluster run on its leader; SQLite's
	// one node always leads.
	leadership := db.Lead(rctx, sqlstore.LeaderOptions{Logger: logger}, func(ctx context.Context) {
		var jobs sync.WaitGroup
		jobs.Go(func() { watcher.Run(ctx) })
		jobs.Go(func() { fl.Snapshot(ctx, 10*time.Second) }) // saves once more when stopped
		if live != nil {
			jobs.Go(func() { live(ctx) })
		}
		jobs.Wait()
	})
	lead.Store(leadership)
	background.Go(func() { <-leadership.Done() })
	plans, err := postureService(ctx, db, zones)
	if err != nil {
		return err
	}
	srv := &web.Server{Posture: plans, Org: db, Locator: idx, Incidents: db, Compliance: db, Assignments: db, Devices: db, Units: db,
		Users: db, Audit: db, EventLog: db, Fleet: fl, Events: bus, Intake: intake, Logger: logger, Ready: readiness(db, bus),
		SecureCookies: cfg.SecureCookies, Metrics: metrics, MetricsToken: cfg.MetricsToken}
	h, err := srv.Handler()
	if err != nil {
		return err
	}
	srv.Start(rctx)
	return web.ListenAndServe(ctx, cfg.Addr, h, srv.CloseStreams, logger, "db", db.Where(), "areas", nAreas)
}

// liveJob returns the job that keeps the demo city alive: incidents at the
// history's rates, patrols, and (unless --crews=false) simulated crews. It
// runs on the cluster's leader only, so that a city served by several
// nodes lives once. A database whose city was not built by this version's
// demo has no model to draw from, and gets no job.
func liveJob(ctx context.Context, db *sqlstore.DB, fl *dispatch.Fleet, bus zhufang.EventService,
	intake *zhufang.Intake, cfg Config, logger *slog.Logger) (func(context.Context), error) {
	fsys, err := cfg.dataFS()
	if err != nil {
		return nil, err
	}
	m, rec, err := loadModel(ctx, db, fsys)
	if zhufang.ErrorCode(err) == zhufang.ENOTFOUND {
		logger.Warn("no demo city record: the city stays still (rebuild it with zhufang demo --force to bring it alive)")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) {
		err := live.Run(ctx, live.Deps{Store: db, Fleet: fl, Events: bus, Intake: intake, Model: m, Crews: cfg.Crews,
			Seed: rec.Seed, Speed: 1, Logger: logger})
		if err != nil && ctx.Err() == nil {
			logger.Error("the living city stopped", "err", err)
		}
	}, nil
}

// newMetrics gives the node's Prometheus metrics, reading incident counts
// and the outbox lag from db at scrape time, the NATS connection's health
// when there is one, and whether this node leads.
func newMetrics(db *sqlstore.DB, bus zhufang.EventService, leading func() bool) *web.Metrics {
	src := web.StateSource{Database: web.StoreState(db), Leader: leading}
	if h, ok := bus.(interface{ Healthy() error }); ok {
		src.NATS = func() bool { return h.Healthy() == nil }
	}
	return web.NewMetrics(src)
}

// postureService plans rapid-response posts from the stored history with
// the recommender's estimator.
func postureService(ctx context.Context, db *sqlstore.DB, zones zhufang.ZoneProfiles) (*posture.Service, error) {
	stations, err := db.FindStations(ctx)
	if err != nil {
		return nil, err
	}
	return &posture.Service{History: db, Bureaus: zhufang.BureausOf(stations), Zones: zones,
		Pace: dispatch.DefaultEstimator().Pace, Allowance: sim.DispatchAllowance}, nil
}

// serveConfig reads serve's flags.
func serveConfig(args []string, getenv func(string) string, stdout io.Writer) (Config, zhufang.ZoneProfiles, error) {
	var cfg Config
	fs := flagSet("serve", "Serves the console and the API.", stdout)
	cfg.dbFlag(fs, getenv)
	if err := cfg.dataFlags(fs, getenv); err != nil {
		return cfg, nil, err
	}
	cfg.historyFlags(fs)
	fs.StringVar(&cfg.Addr, "addr", env(getenv, "ZHUFANG_ADDR", "127.0.0.1:8080"), "HOST:PORT to listen on (env ZHUFANG_ADDR)")
	cfg.addrSet = true
	fs.StringVar(&cfg.NATS, "nats", getenv("ZHUFANG_NATS"), "nats:// URL of a NATS JetStream event bus shared by several nodes (env ZHUFANG_NATS)")
	fs.StringVar(&cfg.NATSStream, "nats-stream", env(getenv, "ZHUFANG_NATS_STREAM", natsbus.DefaultStream),
		"the JetStream stream of this cluster's events; two clusters on one NATS need two names (env ZHUFANG_NATS_STREAM)")
	fs.BoolVar(&cfg.Demo, "demo", false, "build the demo city first if the database holds no organisation, and keep it alive:\nnew incidents at the history's rates, patrolling units and simulated crews")
	fs.BoolVar(&cfg.Live, "live", true, "with --demo: keep the city alive; --live=false keeps it still")
	fs.BoolVar(&cfg.Crews, "crews", env(getenv, "ZHUFANG_CREWS", "1") != "0", "with --demo: simulated crews dispatch, drive and handle; --crews=false leaves dispatch to you (env ZHUFANG_CREWS=0)")
	fs.StringVar(&cfg.MetricsToken, "metrics-token", getenv("ZHUFANG_METRICS_TOKEN"),
		"bearer token a Prometheus on another host reads /metrics with; without it only loopback may (env ZHUFANG_METRICS_TOKEN)")
	fs.TextVar(&cfg.LogLevel, "log-level", logLevel(getenv("ZHUFANG_LOG_LEVEL")),
		"debug, info, warn or error; debug logs every request with its ID (env ZHUFANG_LOG_LEVEL)")
	fs.StringVar(&cfg.TriageFile, "triage", getenv("ZHUFANG_TRIAGE"), "file of 一统三分 triage rules replacing the shipped ones (env ZHUFANG_TRIAGE)")
	fs.StringVar(&cfg.Zones, "zones", getenv("ZHUFANG_ZONES"), "1-3-5 thresholds over the defaults, e.g. urban=1m/5m/8m,rural=3m/20m/30m (env ZHUFANG_ZONES)")
	fs.BoolVar(&cfg.SecureCookies, "secure-cookies", getenv("ZHUFANG_SECURE_COOKIES") == "1", "mark cookies Secure on plain HTTP too, behind a TLS proxy (env ZHUFANG_SECURE_COOKIES=1)")
	fs.DurationVar(&cfg.StaleAfter, "stale-after", 2*time.Minute, "age past which a unit's position is not trusted for recommendation")
	if err := fs.parse(args); err != nil {
		return cfg, nil, err
	}
	if err := cfg.validate(); err != nil {
		return cfg, nil, err
	}
	zones, err := zhufang.ParseZoneProfiles(cfg.Zones)
	if err != nil {
		return cfg, nil, usageError{"--zones: " + zhufang.ErrorMessage(err)}
	}
	if cfg.StaleAfter < 10*time.Second || cfg.StaleAfter > 24*time.Hour {
		return cfg, nil, usageError{"--stale-after must be between 10s and 24h"}
	}
	if v := getenv("ZHUFANG_LOG_LEVEL"); v != "" {
		var l slog.Level
		if l.UnmarshalText([]byte(v)) != nil {
			return cfg, nil, usageError{"ZHUFANG_LOG_LEVEL must be debug, info, warn or error"}
		}
	}
	if cfg.MetricsToken != "" && len(cfg.MetricsToken) < 16 {
		return cfg, nil, usageError{"--metrics-token must be at least 16 characters"}
	}
	if !streamName.MatchString(cfg.NATSStream) {
		return cfg, nil, usageError{"--nats-stream must be 1 to 32 letters, digits, _ or -"}
	}
	return cfg, zones, nil
}

// logLevel reads a level from the environment, info if it says none or
// nonsense (the flag then reports nonsense it is given itself).
func logLevel(s string) *slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		l = slog.LevelInfo
	}
	return &l
}

// streamName is what a JetStream stream may be called, kept to what also
// makes a subject token.
var streamName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

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
		cfg.progress = os.Stderr
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

// loadTriage reads the triage rules from path, or gives the shipped ones.
func loadTriage(path string) (*zhufang.Triage, error) {
	if path == "" {
		return zhufang.DefaultTriage(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EINVALID, "cannot read the triage rules "+path, err)
	}
	return zhufang.ParseTriage(string(b))
}

// openBus gives the in-process bus, or NATS JetStream when url is set.
func openBus(ctx context.Context, url, stream string, logger *slog.Logger) (zhufang.EventService, func(), error) {
	if url == "" {
		return inmem.NewBus(256), func() {}, nil
	}
	opt := natsbus.Options{Logger: logger}
	if stream != "" && stream != natsbus.DefaultStream {
		// Another stream is another cluster: its own subjects too, so that
		// two clusters on one NATS never read each other's events.
		opt.Stream, opt.Subject = stream, "zhufang."+strings.ToLower(stream)
	}
	nb, err := natsbus.Open(ctx, url, opt)
	if err != nil {
		return nil, nil, err
	}
	logger.Info("events over NATS JetStream", "nats", redactURL(url))
	return nb, func() { nb.Close() }, nil
}

// readiness reports whether the database answers and is migrated, and,
// with NATS, whether the event bus is connected.
func readiness(db *sqlstore.DB, bus zhufang.EventService) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := db.Ready(ctx); err != nil {
			return err
		}
		if h, ok := bus.(interface{ Healthy() error }); ok {
			return h.Healthy()
		}
		return nil
	}
}
