package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"regexp"
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
	"zhufang/watch"
	"zhufang/web"
)

// runServe serves the console and the API, with its background jobs.
func runServe(ctx context.Context, c call) error {
	cfg, zones, err := serveConfig(c)
	if err != nil {
		return err
	}
	// Every line logged with a request's context names the request's ID.
	logger := slog.New(web.NewLogHandler(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	// The port first: a second serve on a busy port fails here, before it
	// builds a city, leads or starts a job, and says nothing it did not do.
	ln, err := web.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // Serve closes it too, when it gets that far
	// A signal ends ctx with its cause (SIGINT or SIGTERM, from main): the
	// log says which, and then whether the server stopped cleanly.
	stopLog := context.AfterFunc(ctx, func() { logger.Info("shutting down", "cause", context.Cause(ctx)) })
	defer stopLog()
	err = serve(ctx, ln, cfg, zones, logger, c)
	if err == nil && ctx.Err() != nil {
		logger.Info("shut down cleanly")
	}
	return err
}

// serve builds the server's parts on the database and serves them on ln
// until ctx ends, with the background jobs, then stops the jobs and
// drains the outbox.
func serve(ctx context.Context, ln net.Listener, cfg Config, zones zhufang.ZoneProfiles, logger *slog.Logger, c call) error {
	// One server per SQLite file: a second would run a second living city
	// and a second set of leader jobs on the same data.
	db, keys, err := openKeyed(ctx, cfg.DB, cfg.AuditKeys, sqlstore.Options{Serving: true})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := ensureDemo(ctx, db, cfg, logger, c.stdout); err != nil {
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
		jobs.Go(func() { auditCheckpoints(db, keys, logger).Run(ctx) })
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
		SecureCookies: cfg.SecureCookies, Metrics: metrics, MetricsToken: cfg.MetricsToken, TrustedProxies: cfg.TrustedProxies,
		Tiles: cfg.Tiles}
	h, err := srv.Handler()
	if err != nil {
		return err
	}
	srv.Start(rctx)
	return web.Serve(ctx, ln, h, srv.CloseStreams, logger, "db", db.Where(), "areas", nAreas)
}

// liveJob returns the job that keeps the demo city alive: incidents at the
// history's rates, patrols, and (unless --crews=false) simulated crews. It
// runs on the cluster's leader only, so that a city served by several
// nodes lives once. A database whose city was not built by this version's
// demo has no model to draw from, and gets no job.
func liveJob(ctx context.Context, db *sqlstore.DB, fl *dispatch.Fleet, bus zhufang.EventService,
	intake *zhufang.Intake, cfg Config, logger *slog.Logger) (func(context.Context), error) {
	m, rec, err := demo.LoadModel(ctx, db, intake.Categories) // the table intake already read
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
func serveConfig(c call) (Config, zhufang.ZoneProfiles, error) {
	var cfg Config
	getenv := c.getenv
	fs := c.flags("serve", "Serves the console and the API.")
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
	cfg.tilesFlag(fs, getenv)
	fs.DurationVar(&cfg.StaleAfter, "stale-after", 2*time.Minute, "age past which a unit's position is not trusted for recommendation")
	proxies := fs.String("trusted-proxy", getenv("ZHUFANG_TRUSTED_PROXIES"),
		"addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client, comma-separated;\nwithout it the header is ignored (env ZHUFANG_TRUSTED_PROXIES)")
	if err := fs.parseConfig(c.args, &cfg); err != nil {
		return cfg, nil, err
	}
	trusted, err := web.ParseTrustedProxies(*proxies)
	if err != nil {
		return cfg, nil, usageError{"--trusted-proxy: " + zhufang.ErrorMessage(err)}
	}
	cfg.TrustedProxies = trusted
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
	nb, err := natsbus.Open(ctx, url, natsbus.Options{Stream: stream, Logger: logger})
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
