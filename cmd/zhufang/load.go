package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"zhufang"
	"zhufang/sqlstore"
)

// The load tool's bounds: one request may take loadTimeout, at most
// loadMaxInFlight are out at once (a due request that finds them all taken
// is skipped and counted behind, so a dying cluster cannot pile requests
// up), and at most loadMaxUnits devices report positions.
const (
	loadTimeout     = 5 * time.Second
	loadMaxInFlight = 64
	loadMaxRate     = 10000
	loadMaxUnits    = 50
	loadLatencyKept = 1 << 16 // latency samples kept; past that, a uniform sample
)

// runLoad drives one server or a cluster at a steady rate of incident
// intakes and position reports, or with --verify checks a record of a past
// run against the API.
func runLoad(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg Config
	var rawURLs []string
	var record, verify string
	var lc loadConfig
	fs := flagSet("load", "Drives the API of one server or a cluster (--url, several used in turn) at a steady rate of 110\n"+
		"intakes, each then dispatched and acknowledged, and of unit position reports; prints what was\n"+
		"acknowledged, what failed and the intake latency. A dispatcher and device tokens for the run are\n"+
		"made in the servers' database (--db). --record keeps every acknowledged incident; --verify FILE\n"+
		"later checks that each is stored with its whole history, and exits 1 naming what was lost.", stdout)
	cfg.dbFlag(fs, getenv)
	fs.Func("url", "base URL of a node, http://HOST:PORT; several (comma-separated or repeated) are used in turn", func(s string) error {
		for u := range strings.SplitSeq(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				rawURLs = append(rawURLs, u)
			}
		}
		return nil
	})
	fs.Float64Var(&lc.Rate, "rate", 10, "incident intakes per second, up to 10000")
	fs.Float64Var(&lc.Positions, "positions", 50, "position reports per second, 1 to 5 in a request (0: none)")
	fs.DurationVar(&lc.Duration, "duration", time.Minute, "how long to drive the load; 0 runs until interrupted")
	fs.StringVar(&record, "record", "", "append one JSON line to this file for every step the servers acknowledged")
	fs.StringVar(&verify, "verify", "", "instead of driving load, check every incident of this record file against the API")
	fs.BoolVar(&cfg.JSON, "json", false, "print the summary as JSON")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	urls, err := checkLoadURLs(rawURLs)
	if err != nil {
		return err
	}
	lc.URLs = urls
	if verify != "" {
		if record != "" {
			return usageError{"load: --record and --verify do not go together (see zhufang load --help)"}
		}
		return runVerify(ctx, cfg, urls, verify, stdout, stderr)
	}
	if !(lc.Rate > 0 && lc.Rate <= loadMaxRate) {
		return usageError{fmt.Sprintf("--rate %g must be more than 0 and at most %d intakes per second", lc.Rate, loadMaxRate)}
	}
	if !(lc.Positions >= 0 && lc.Positions <= loadMaxRate) {
		return usageError{fmt.Sprintf("--positions %g must be from 0 to %d reports per second", lc.Positions, loadMaxRate)}
	}
	if lc.Duration < 0 {
		return usageError{fmt.Sprintf("--duration %s must not be negative (0 runs until interrupted)", lc.Duration)}
	}
	if record != "" {
		// Unbuffered and appended: every line is on its way to the disk when
		// its Write returns, so killing the tool loses nothing acknowledged.
		f, err := os.OpenFile(record, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return zhufang.Errorf(zhufang.EINVALID, "cannot open the record file: %v", err)
		}
		defer f.Close()
		lc.Record = f
	}
	lc.Creds, err = provisionLoad(ctx, cfg.DB, urls, loadMaxUnits)
	if lc.Creds.Username != "" {
		defer retireQuietly(ctx, cfg.DB, lc.Creds, stderr)
	}
	if err != nil {
		return err
	}
	rep, err := driveLoad(ctx, lc)
	if err != nil && rep.Seconds == 0 {
		return err // it never started
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printLoadReport(stdout, rep, record)
	}
	if err != nil {
		return err
	}
	if rep.Intakes.Attempted > 0 && rep.Intakes.Acknowledged == 0 {
		return zhufang.Errorf(zhufang.EUNAVAILABLE, "none of %d intakes was acknowledged", rep.Intakes.Attempted)
	}
	return nil
}

// checkLoadURLs checks that each --url is an http(s) base URL and drops
// its trailing slash.
func checkLoadURLs(raw []string) ([]string, error) {
	if len(raw) == 0 {
		return nil, usageError{"load: --url is required, e.g. --url http://127.0.0.1:8080 (see zhufang load --help)"}
	}
	out := make([]string, 0, len(raw))
	for _, s := range raw {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" {
			shown := "(unparseable)"
			if err == nil {
				shown = u.Redacted()
			}
			return nil, usageError{fmt.Sprintf("--url %q must be an http:// or https:// base URL, e.g. http://127.0.0.1:8080", shown)}
		}
		out = append(out, strings.TrimRight(u.String(), "/"))
	}
	return out, nil
}

// loadCreds are what a load run acts with: a dispatcher's session, unit
// devices, and the ground where incidents happen.
type loadCreds struct {
	Username string          // the run's dispatcher, load-<8 hex>
	Session  string          // its session token, signed in over HTTP
	Units    []loadUnit      // units whose devices report positions
	Points   []zhufang.Point // homes of units with a station: incidents happen near them
	// Inside reports whether a point lies in the city's jurisdiction; nil
	// takes every point.
	Inside func(zhufang.Point) bool
}

// loadUnit is one unit a load run moves, with its device's token.
type loadUnit struct {
	ID     int64
	Device int64
	Token  string
	Home   zhufang.Point
}

// provisionLoad makes, in the servers' database, a city-wide dispatcher
// with a random password and device tokens for up to units patrol units
// with a station, then signs the dispatcher in at the first of urls that
// answers. Both are audited as the system, like `user add` and `device add`.
// With units 0 (enough to verify) it reads no ground either.
func provisionLoad(ctx context.Context, dsn string, urls []string, units int) (loadCreds, error) {
	var creds loadCreds
	if !sqlstore.IsPostgresURL(dsn) {
		if _, err := os.Stat(dsn); err != nil {
			return creds, zhufang.Errorf(zhufang.ENOTFOUND, "database file %s does not exist", dsn)
		}
	}
	// Not migrated: the database belongs to the servers, which migrate it.
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		return creds, err
	}
	defer db.Close()
	var cands []loadUnit
	if units > 0 {
		if cands, err = loadGround(ctx, db, &creds); err != nil {
			return creds, err
		}
		cands = cands[:min(units, len(cands))]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return creds, err
	}
	password, err := newPassword()
	if err != nil {
		return creds, err
	}
	u := zhufang.User{Username: "load-" + hex.EncodeToString(b[:]), Name: "压力测试 load", Role: zhufang.RoleDispatcher,
		Scope: zhufang.Scope{Level: zhufang.ScopeCity}, Lang: "zh"}
	if err := db.CreateUser(ctx, &u, password); err != nil {
		return creds, err
	}
	creds.Username = u.Username
	for _, c := range cands {
		if c.Device, c.Token, err = db.CreateDevice(ctx, c.ID); err != nil {
			return creds, err
		}
		creds.Units = append(creds.Units, c)
	}
	client := newLoadClient()
	defer client.CloseIdleConnections()
	body := map[string]string{"username": u.Username, "password": password}
	for _, base := range urls {
		var sess struct{ Token string }
		if err = loadCall(ctx, client, http.MethodPost, base+"/api/v1/session", "", body, http.StatusCreated, &sess); err == nil {
			creds.Session = sess.Token
			return creds, nil
		}
	}
	return creds, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot sign in at any --url", err)
}

// loadGround sets where a run's incidents happen and which points are
// inside the city, and returns the units with a station inside it: police
// patrols first, in random order, so that a run's devices are spread over
// the city; the mass-prevention teams only after them.
func loadGround(ctx context.Context, db *sqlstore.DB, creds *loadCreds) ([]loadUnit, error) {
	idx, _, err := loadIndex(ctx, db)
	if err != nil {
		return nil, err
	}
	creds.Inside = func(p zhufang.Point) bool { _, ok := idx.Locate(p); return ok }
	all, err := db.FindUnits(ctx, 0)
	if err != nil {
		return nil, err
	}
	var cands []loadUnit
	patrol := map[int64]bool{}
	for _, u := range all {
		home := u.Home
		if home.IsZero() {
			home = u.Position
		}
		if u.StationID == 0 || home.IsZero() || !creds.Inside(home) {
			continue
		}
		creds.Points = append(creds.Points, home)
		cands = append(cands, loadUnit{ID: u.ID, Home: home})
		patrol[u.ID] = u.Kind == zhufang.UnitPatrolCar || u.Kind == zhufang.UnitMotorcycle || u.Kind == zhufang.UnitFoot
	}
	if len(cands) == 0 {
		return nil, zhufang.Errorf(zhufang.EINVALID, "database %s holds no unit with a station inside the city: is it the servers' database?", db.Where())
	}
	mrand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	sort.SliceStable(cands, func(i, j int) bool { return patrol[cands[i].ID] && !patrol[cands[j].ID] })
	return cands, nil
}

// retireLoad revokes a run's device tokens and disables its dispatcher,
// which ends the session: they were made for the run and nobody else
// holds them.
func retireLoad(ctx context.Context, dsn string, creds loadCreds) error {
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	for _, u := range creds.Units {
		if err := db.RevokeDevice(ctx, u.Device); err != nil {
			return err
		}
	}
	if creds.Username == "" {
		return nil
	}
	return db.SetUserDisabled(ctx, creds.Username, true)
}

// retireQuietly retires the run's credentials even after an interrupt;
// a failure leaves them behind, which is said but does not fail the run.
func retireQuietly(ctx context.Context, dsn string, creds loadCreds, w io.Writer) {
	if err := retireLoad(context.WithoutCancel(ctx), dsn, creds); err != nil {
		fmt.Fprintf(w, "note: could not retire user %s and its devices: %s\n", creds.Username, oneLine(err))
	}
}

// printLoadReport prints the summary of a run for people.
func printLoadReport(w io.Writer, r loadReport, record string) {
	fails := func(c loadCount) string {
		f := c.Failures
		return fmt.Sprintf("%d failed (refused/reset %d, 5xx %d, 4xx %d, timeout %d, other %d)", c.Failed, f.Refused, f.Server, f.Client, f.Timeout, f.Other)
	}
	fmt.Fprintf(w, "load: %.1f s against %s\n", r.Seconds, strings.Join(r.URLs, ", "))
	fmt.Fprintf(w, "intakes:      %d attempted, %d acknowledged (%.1f/s), %s, %d behind\n",
		r.Intakes.Attempted, r.Intakes.Acknowledged, r.IntakeRate, fails(r.Intakes), r.Intakes.Behind)
	fmt.Fprintf(w, "transitions:  %d acknowledged, %s\n", r.Transitions.Acknowledged, fails(r.Transitions))
	fmt.Fprintf(w, "positions:    %d of %d accepted (%.1f/s) in %d requests, %s, %d behind\n",
		r.Accepted, r.Sent, r.PosRate, r.Positions.Attempted, fails(r.Positions), r.Positions.Behind)
	fmt.Fprintf(w, "intake latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	if len(r.URLs) > 1 {
		for _, u := range r.URLs {
			c := r.ByURL[u]
			fmt.Fprintf(w, "  %s: %d intakes acknowledged, %d failed\n", u, c.Acknowledged, c.Failed)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.FirstErrors)) {
		fmt.Fprintf(w, "first %s error: %s\n", k, r.FirstErrors[k])
	}
	if record != "" {
		fmt.Fprintf(w, "record: %d lines appended to %s\n", r.Records, record)
	}
}
