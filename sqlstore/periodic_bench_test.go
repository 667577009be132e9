package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/data"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/inmem"
	"zhufang/locate"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/tiling"
	"zhufang/zhufangtest"
)

// The reads a server makes on a timer or on every event, on the demo city
// with two years of history (some 670,000 incidents) and a few hundred
// open: each must cost what is open or new, never the history, and answer
// within 1 ms. Each runs on the city without history too, with the same
// incidents open: the two must cost the same. Run them with
//
//	go test ./sqlstore -run '^$' -bench Periodic
//
// and with ZHUFANG_TEST_POSTGRES set for PostgreSQL too. Besides the wall
// time, each reports cpu-ns/op, the CPU this process spent per read, which
// other work on a shared machine does not inflate (on PostgreSQL the
// server's share is not in it).

// benchCacheEnv names a folder that keeps the benchmarks' SQLite cities
// between runs; with it set, the PostgreSQL ones are kept too, in schemas
// zhufang_bench_days_N. Delete them to build afresh.
const benchCacheEnv = "ZHUFANG_BENCH_CACHE"

// The benchmarks' city has openIncidents incidents open, a third of them
// before handling (watched by the breach watcher), the rest handling or
// waiting for feedback, as in a command room at a busy hour.
const (
	openIncidents    = 300
	watchedIncidents = openIncidents / 3
)

// historyDays are the histories the reads are compared on: none and the
// demo's two years.
var historyDays = []int{0, 730}

// cities are the benchmark cities by engine and days of history, each
// built once per benchmark process (the two-year one takes a minute or
// more: its history is generated and stored) and shared by every
// benchmark, which only read it.
var cities struct {
	sync.Mutex
	built   map[string]*benchCity
	cleanup []func()
}

type benchCity struct {
	engine sqlstore.Engine
	days   int
	once   sync.Once
	db     *sqlstore.DB
	err    error
	// a ground with open incidents, for the scoped reads
	bureauID, stationID int64
	opened              time.Time // when openSome began taking incidents in

}

// TestMain removes the cities the benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	cities.Lock()
	for _, f := range cities.cleanup {
		f()
	}
	cities.Unlock()
	os.Exit(code)
}

// cityOf returns engine's city with days of history, building it the
// first time.
func cityOf(b *testing.B, engine sqlstore.Engine, days int) *benchCity {
	b.Helper()
	key := fmt.Sprintf("%s/%d", engine, days)
	cities.Lock()
	if cities.built == nil {
		cities.built = map[string]*benchCity{}
	}
	c := cities.built[key]
	if c == nil {
		c = &benchCity{engine: engine, days: days}
		cities.built[key] = c
	}
	cities.Unlock()
	c.once.Do(func() {
		start := time.Now()
		c.err = c.build(b, engine, days)
		b.Logf("city with %d days of history on %s ready in %.1f s", days, engine, time.Since(start).Seconds())
	})
	if c.err != nil {
		b.Fatalf("city with %d days of history on %s: %v", days, engine, c.err)
	}
	return c
}

func (c *benchCity) build(b *testing.B, engine sqlstore.Engine, days int) error {
	ctx := context.Background()
	dsn, err := benchDSN(engine, days)
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		return err
	}
	c.db = db
	cities.Lock()
	cities.cleanup = append([]func(){func() { db.Close() }}, cities.cleanup...)
	cities.Unlock()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	if _, err := db.FindDemoCity(ctx); zhufang.ErrorCode(err) == zhufang.ENOTFOUND {
		if _, err := demo.Install(ctx, db, demo.Setup{City: demo.Options{Seed: 1, Data: data.FS, Cells: tiling.Cells},
			HistoryDays: days, Anchor: sqltest.DemoAnchor, Categories: zhufangtest.Categories(b),
			ETA: dispatch.DefaultEstimator().ETA}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	c.opened = time.Now()
	if err := openSome(ctx, b, db); err != nil {
		return err
	}
	if engine == sqlstore.Postgres {
		// As autovacuum would soon after such a load.
		if err := analyze(dsn); err != nil {
			return err
		}
	}
	return c.findGround(ctx)
}

// benchDSN returns where engine's city with days of history lives: kept
// between runs in the cache benchCacheEnv names, else removed when the
// process ends.
func benchDSN(engine sqlstore.Engine, days int) (string, error) {
	cache := os.Getenv(benchCacheEnv)
	if engine == sqlstore.SQLite {
		if cache != "" {
			return filepath.Join(cache, fmt.Sprintf("days-%d.db", days)), os.MkdirAll(cache, 0o755)
		}
		dir, err := os.MkdirTemp("", "zhufang-bench-city-")
		if err != nil {
			return "", err
		}
		cities.Lock()
		cities.cleanup = append(cities.cleanup, func() { os.RemoveAll(dir) })
		cities.Unlock()
		return filepath.Join(dir, "city.db"), nil
	}
	base := os.Getenv(sqltest.PostgresEnv)
	if base == "" {
		return "", fmt.Errorf("%s is not set", sqltest.PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	schema := fmt.Sprintf("zb_days_%d_%d", days, os.Getpid())
	if cache != "" {
		schema = fmt.Sprintf("zhufang_bench_days_%d", days)
	} else {
		cities.Lock()
		cities.cleanup = append(cities.cleanup, func() {
			if admin, err := sql.Open("pgx", base); err == nil {
				admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
				admin.Close()
			}
		})
		cities.Unlock()
	}
	if _, err := admin.Exec(`CREATE SCHEMA IF NOT EXISTS ` + schema); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// analyze gathers PostgreSQL's planner statistics.
func analyze(dsn string) error {
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer raw.Close()
	_, err = raw.Exec(`ANALYZE`)
	return err
}

// openSome ends the incidents left open by an earlier run and takes in
// openIncidents new ones as intake does, received in the last minute and
// spread over the city: a third stay
// before handling, one in six with a breach raised; the others are
// handled, and half of those wait for feedback. A few more are taken in
// and cancelled, joining the history. Their events are then published, as
// on a server that has run for a while.
func openSome(ctx context.Context, b *testing.B, db *sqlstore.DB) error {
	left, err := db.FindIncidents(ctx, zhufang.IncidentFilter{Open: true, Limit: 1000})
	if err != nil {
		return err
	}
	for _, inc := range left {
		// Cancelled where it may be, else on along the flow to closed.
		for state := inc.State; !state.Terminal(); {
			next := zhufang.StateCancelled
			for _, s := range zhufang.IncidentStates {
				if !zhufang.CanTransition(state, next) && zhufang.CanTransition(state, s) {
					next = s
				}
			}
			if _, err := db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: next, Actor: "bench"}); err != nil {
				return err
			}
			state = next
		}
	}
	idx, _, err := locate.FromOrg(ctx, db)
	if err != nil {
		return err
	}
	intake := &zhufang.Intake{Categories: zhufangtest.Categories(b), Locator: idx, Triage: zhufang.DefaultTriage(),
		Zones: zhufang.DefaultZoneProfiles(), Clock: zhufang.SystemClock{}, Store: db}
	r := rand.New(rand.NewPCG(13, 730))
	codes := []string{"200100", "209100", "100100", "300100", "500300", "600300"}
	at := func() zhufang.Point { return zhufang.Point{Lon: 111.0 + r.Float64()*1.2, Lat: 25.0 + r.Float64()*1.6} }
	for n := 0; n < openIncidents+openIncidents/10; n++ {
		inc := &zhufang.Incident{Source: zhufang.SourceCall110,
			ReceivedAt:  time.Now().UTC().Add(-time.Duration(r.IntN(60)) * time.Second).Truncate(time.Microsecond),
			CallerPhone: "13812345678", Address: fmt.Sprintf("测试路%d号", n), Position: at(),
			Category: codes[r.IntN(len(codes))], Description: "基准警情"}
		for {
			err := intake.Receive(ctx, inc, "bench")
			if err == nil {
				break
			}
			if zhufang.ErrorCode(err) != zhufang.EINVALID {
				return err
			}
			inc.Position = at() // drawn outside the city: draw again
		}
		if err := moveOn(ctx, db, inc, n); err != nil {
			return err
		}
	}
	watched, err := db.FindOpenDeadlines(ctx)
	if err != nil {
		return err
	}
	if len(watched) != watchedIncidents {
		return fmt.Errorf("%d incidents watched, want %d", len(watched), watchedIncidents)
	}
	rctx, cancel := context.WithCancel(ctx)
	cancel() // the relay's loop stops at once; Drain below does its work
	relay := db.StartRelay(rctx, inmem.NewBus(1), slog.New(slog.NewTextHandler(io.Discard, nil)))
	<-relay.Done()
	return relay.Drain(ctx)
}

// moveOn takes the nth new incident where openSome says.
func moveOn(ctx context.Context, db *sqlstore.DB, inc *zhufang.Incident, n int) error {
	var path []zhufang.IncidentState
	switch {
	case n >= openIncidents:
		path = []zhufang.IncidentState{zhufang.StateCancelled}
	case n%3 == 0:
		if n%2 == 0 {
			_, err := db.RaiseBreach(ctx, zhufang.Breach{IncidentID: inc.ID, Stage: zhufang.StageAcknowledge, Due: inc.Due.Acknowledge})
			return err
		}
	default:
		path = []zhufang.IncidentState{zhufang.StateDispatched, zhufang.StateAcknowledged, zhufang.StateOnScene, zhufang.StateHandling}
		if n%3 == 2 {
			path = append(path, zhufang.StateFeedback)
		}
	}
	for _, s := range path {
		if _, err := db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: s, Actor: "bench"}); err != nil {
			return err
		}
	}
	return nil
}

// findGround picks the station with the most open incidents, and its
// county bureau, for the scoped reads.
func (c *benchCity) findGround(ctx context.Context) error {
	open, err := c.db.FindIncidents(ctx, zhufang.IncidentFilter{Open: true, Limit: 1000})
	if err != nil {
		return err
	}
	n := map[int64]int{}
	for _, inc := range open {
		n[inc.StationID]++
		if n[inc.StationID] > n[c.stationID] {
			c.stationID, c.bureauID = inc.StationID, inc.BureauID
		}
	}
	if c.stationID == 0 {
		return fmt.Errorf("no open incident has a station")
	}
	return nil
}

// checkPlan fails the benchmark if the plan of a read of open incidents
// may read the history: on SQLite it must go through incidents_open; on
// PostgreSQL, which chooses by the table's statistics, it must not read
// the whole table when there is a history to read (it may rightly do so
// for the few hundred incidents of the city without one, and may seek the
// open states in the index on state instead of incidents_open).
func (c *benchCity) checkPlan(b *testing.B, what, plan string, err error) {
	b.Helper()
	switch {
	case err != nil:
		b.Fatalf("%s: %v", what, err)
	case c.engine == sqlstore.SQLite && !strings.Contains(plan, "incidents_open"):
		b.Fatalf("%s does not use incidents_open:\n%s", what, plan)
	case c.engine == sqlstore.Postgres && c.days > 0 && strings.Contains(plan, "Seq Scan on incidents "):
		b.Fatalf("%s reads the whole history:\n%s", what, plan)
	}
}

// scoped returns ctx with a dispatcher of the given scope.
func scoped(ctx context.Context, s zhufang.Scope) context.Context {
	return zhufang.NewContextWithActor(ctx, &zhufang.Actor{User: &zhufang.User{Username: "bench", Role: zhufang.RoleDispatcher, Scope: s}})
}

// onCities runs the benchmark on every test engine's cities.
func onCities(b *testing.B, run func(b *testing.B, c *benchCity)) {
	for _, engine := range sqltest.Engines() {
		for _, days := range historyDays {
			b.Run(fmt.Sprintf("%s/days=%d", engine, days), func(b *testing.B) { run(b, cityOf(b, engine, days)) })
		}
	}
}

// measure runs read in the benchmark's loop and reports the CPU it took
// per call beside the wall time.
func measure(b *testing.B, read func() error) {
	start := cpuTime()
	for b.Loop() {
		if err := read(); err != nil {
			b.Fatal(err)
		}
	}
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkPeriodicFindOpenDeadlines is the breach watcher's read, made
// on every wake (at least every 15 s, and at every due time).
func BenchmarkPeriodicFindOpenDeadlines(b *testing.B) {
	onCities(b, func(b *testing.B, c *benchCity) {
		ctx := context.Background()
		plan, err := c.db.PlanOfOpenDeadlines(ctx)
		c.checkPlan(b, "the watcher's read", plan, err)
		measure(b, func() error {
			open, err := c.db.FindOpenDeadlines(ctx)
			if err == nil && len(open) != watchedIncidents {
				err = fmt.Errorf("%d open deadlines, want %d", len(open), watchedIncidents)
			}
			return err
		})
	})
}

// BenchmarkPeriodicOpenIncidents is the board's read of the open incidents
// on the user's ground: on every board load and on every change to the
// selected incident, for a city, a county and a station dispatcher (the
// map and the living city's restart read the same).
func BenchmarkPeriodicOpenIncidents(b *testing.B) {
	onCities(b, func(b *testing.B, c *benchCity) {
		for _, s := range []zhufang.Scope{{Level: zhufang.ScopeCity}, {Level: zhufang.ScopeCounty, BureauID: c.bureauID},
			{Level: zhufang.ScopeStation, StationID: c.stationID}} {
			ctx := scoped(context.Background(), s)
			f := zhufang.IncidentFilter{Open: true, Limit: 1000}
			plan, err := c.db.PlanOfIncidents(ctx, f)
			c.checkPlan(b, "the "+string(s.Level)+" board's read", plan, err)
		}
		for _, s := range []zhufang.Scope{{Level: zhufang.ScopeCity}, {Level: zhufang.ScopeCounty, BureauID: c.bureauID},
			{Level: zhufang.ScopeStation, StationID: c.stationID}} {
			b.Run(string(s.Level), func(b *testing.B) {
				ctx := scoped(context.Background(), s)
				measure(b, func() error {
					open, err := c.db.FindIncidents(ctx, zhufang.IncidentFilter{Open: true, Limit: 1000})
					if err == nil && len(open) == 0 {
						err = fmt.Errorf("no open incidents")
					}
					return err
				})
			})
		}
	})
}

// BenchmarkPeriodicBoardRow is what a console reads for each incident an
// event names: the incident and its transitions.
func BenchmarkPeriodicBoardRow(b *testing.B) {
	onCities(b, func(b *testing.B, c *benchCity) {
		ctx := scoped(context.Background(), zhufang.Scope{Level: zhufang.ScopeCity})
		open, err := c.db.FindOpenDeadlines(ctx)
		if err != nil || len(open) == 0 {
			b.Fatal(len(open), err)
		}
		id := open[len(open)/2].IncidentID
		measure(b, func() error {
			if _, err := c.db.FindIncidentByID(ctx, id); err != nil {
				return err
			}
			_, err := c.db.FindTransitions(ctx, id)
			return err
		})
	})
}

// BenchmarkPeriodicMetrics is a Prometheus scrape's reads (kept for 10 s
// by the metrics endpoint): the open incidents by state and lane alone,
// with those of the last day (here the few hundred openSome took in; a
// day of the demo city is about 900), and the outbox's lag.
func BenchmarkPeriodicMetrics(b *testing.B) {
	onCities(b, func(b *testing.B, c *benchCity) {
		ctx := context.Background()
		counts := func(since time.Duration) func() error {
			return func() error {
				open, _, err := c.db.IncidentCounts(ctx, time.Now().Add(-since))
				if err == nil && len(open) == 0 {
					err = fmt.Errorf("no open incidents counted")
				}
				return err
			}
		}
		b.Run("open", func(b *testing.B) { measure(b, counts(0)) })
		// The day's incidents are this run's: those of earlier runs on a
		// kept city are left out, so that every run reads the same.
		b.Run("open+day", func(b *testing.B) { measure(b, counts(time.Since(c.opened)+time.Minute)) })
		b.Run("outbox", func(b *testing.B) {
			measure(b, func() error {
				_, _, err := c.db.OutboxLag(ctx)
				return err
			})
		})
	})
}

// BenchmarkPeriodicRelay is the outbox relay's round when nothing waits:
// every second, and after every commit.
func BenchmarkPeriodicRelay(b *testing.B) {
	onCities(b, func(b *testing.B, c *benchCity) {
		ctx := context.Background()
		rctx, cancel := context.WithCancel(ctx)
		cancel()
		relay := c.db.StartRelay(rctx, inmem.NewBus(1), slog.New(slog.NewTextHandler(io.Discard, nil)))
		<-relay.Done()
		measure(b, func() error { return relay.Drain(ctx) })
	})
}

// BenchmarkPeriodicEventsSince is a reconnecting console's replay of the
// events it missed: the newest few.
func BenchmarkPeriodicEventsSince(b *testing.B) {
	onCities(b, func(b *testing.B, c *benchCity) {
		ctx := context.Background()
		var last int64
		for {
			evs, err := c.db.FindEventsSince(ctx, last, 5000)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			last = evs[len(evs)-1].ID
		}
		measure(b, func() error {
			evs, err := c.db.FindEventsSince(ctx, last-20, 2000)
			if err == nil && len(evs) != 20 {
				err = fmt.Errorf("%d events, want 20", len(evs))
			}
			return err
		})
	})
}
