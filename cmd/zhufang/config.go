package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"zhufang"
	"zhufang/data"
	"zhufang/demo"
	"zhufang/sqlstore"
	"zhufang/web"
)

// Config is everything a subcommand can be told, from flags with ZHUFANG_*
// environment fallbacks.
type Config struct {
	SecureCookies bool
	DB            string // SQLite file path or postgres:// URL
	Addr          string // HOST:PORT to serve on
	NATS          string // nats:// URL of the event bus, empty for in-process
	NATSStream    string // the JetStream stream the nodes of one cluster share
	MetricsToken  string // lets a scraper on another host read /metrics
	LogLevel      slog.Level
	DataDir       string // a folder replacing the embedded data, empty for the embedded
	Seed          uint64
	Demo          bool // serve: build the demo city first if the database is empty, and keep it alive
	Live          bool // serve --demo: new incidents arrive and units patrol
	Crews         bool // serve --demo: simulated crews answer the incidents
	Force         bool // demo: replace an existing organisation
	JSON          bool // demo: print the summary as JSON
	// AuditKeys is the folder of the audit chain's keys and checkpoints;
	// empty for the default (auditKeyDir).
	AuditKeys string
	// TriageFile replaces the shipped triage rules.
	TriageFile string
	addrSet    bool          // serve: --addr is required, so an empty one is an error
	Zones      string        // serve: 1-3-5 thresholds over the defaults
	StaleAfter time.Duration // serve: positions older than this are not recommended
	// HistoryDays is how many days of incident history the demo city gets,
	// ending on AnchorDay (YYYY-MM-DD, default yesterday).
	HistoryDays int
	AnchorDay   string
	progress    io.Writer    // where building shows progress, if a terminal
	progressLog *slog.Logger // where it logs progress otherwise

	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (serve --trusted-proxy).
	TrustedProxies []netip.Prefix
	// Tiles is the base map's tile server (serve --tiles), from a police
	// intranet's map server; nil draws the map without one. tilesURL and
	// tilesWGS84 are the flags it is parsed from.
	Tiles      *web.TileSource
	tilesURL   string
	tilesWGS84 bool
}

// tilesFlag adds serve's --tiles: a tile server's XYZ URL template, and
// --tiles-wgs84. Tiles are taken to be GCJ-02, as Chinese map servers draw
// them; validate parses them.
func (c *Config) tilesFlag(fs *flags, getenv func(string) string) {
	fs.StringVar(&c.tilesURL, "tiles", getenv("ZHUFANG_TILES"),
		"XYZ tile URL template of a base map drawn under the map, e.g. https://pgis.example/tiles/{z}/{x}/{y}.png;\ntiles are taken to be GCJ-02 (env ZHUFANG_TILES)")
	fs.BoolVar(&c.tilesWGS84, "tiles-wgs84", getenv("ZHUFANG_TILES_WGS84") == "1", "the --tiles server draws WGS-84, not GCJ-02 (env ZHUFANG_TILES_WGS84=1)")
}

// parseTiles reads the --tiles flags into Tiles.
func (c *Config) parseTiles() error {
	c.Tiles = nil
	if c.tilesURL == "" {
		if c.tilesWGS84 {
			return usageError{"--tiles-wgs84 needs --tiles"}
		}
		return nil
	}
	t, err := web.ParseTileTemplate(c.tilesURL)
	if err != nil {
		return usageError{"--tiles: " + zhufang.ErrorMessage(err)}
	}
	t.GCJ02 = !c.tilesWGS84
	c.Tiles = t
	return nil
}

// usageError is a mistake in how zhufang was called; main exits with 2.
type usageError struct{ msg string }

// Error returns the one line to print.
func (e usageError) Error() string { return e.msg }

// errHelp means --help was asked for and printed.
var errHelp = errors.New("help")

// flags is a subcommand's flag set with its usage text.
type flags struct {
	*flag.FlagSet
	help func()
}

// flagSet makes a flag set that reports errors as one line and prints its
// usage only when asked.
func flagSet(name, summary string, stdout io.Writer) *flags {
	fs := flag.NewFlagSet("zhufang "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls Usage on every error
	return &flags{FlagSet: fs, help: func() {
		fmt.Fprintf(stdout, "usage: zhufang %s [flags]\n\n%s\n\nflags:\n", name, summary)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}}
}

// parse parses args, turning flag errors into one-line usage errors.
func (fs *flags) parse(args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.help()
			return errHelp
		}
		return usageError{fmt.Sprintf("%s: %v (see %s --help)", fs.command(), err, fs.Name())}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q (see %s --help)", fs.command(), fs.Arg(0), fs.Name())}
	}
	return nil
}

// command is the subcommand's name without the program's, for messages
// that main prefixes with "zhufang:" already.
func (fs *flags) command() string { return strings.TrimPrefix(fs.Name(), "zhufang ") }

// flags makes the flag set of the command name, printing its help on the
// call's standard output.
func (c call) flags(name, summary string) *flags { return flagSet(name, summary, c.stdout) }

// parseConfig parses args into fs and checks cfg (Config.validate).
func (fs *flags) parseConfig(args []string, cfg *Config) error {
	if err := fs.parse(args); err != nil {
		return err
	}
	return cfg.validate()
}

// splitVerb splits a command's first argument off as its verb, one of verbs,
// and leaves --help to the flags: say is the usage error for anything else.
func splitVerb(args []string, say string, verbs ...string) (string, []string, error) {
	switch {
	case len(args) > 0 && slices.Contains(verbs, args[0]):
		return args[0], args[1:], nil
	case len(args) > 0 && (args[0] == "--help" || args[0] == "-h"):
		return "", args, nil
	}
	return "", nil, usageError{say}
}

// withDB opens and migrates the database with its audit key, runs f on it
// and closes it, signing a checkpoint of the audit chain if f added to it.
func withDB(ctx context.Context, cfg Config, f func(db *sqlstore.DB) error) error {
	db, keys, err := openKeyed(ctx, cfg.DB, cfg.AuditKeys, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	return checkpointAfter(ctx, db, keys, func() error { return f(db) })
}

// openDB opens and migrates the database, with the audit key of the
// default key folder.
func openDB(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	db, _, err := openKeyed(ctx, dsn, "", sqlstore.Options{})
	return db, err
}

// openMigrated opens the database with opt and migrates it.
func openMigrated(ctx context.Context, dsn string, opt sqlstore.Options) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, dsn, opt)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// mustExist refuses an SQLite file that is not there, for the commands that
// read a database and must not make an empty one; hint says what to do.
func mustExist(dsn, hint string) error {
	if sqlstore.IsPostgresURL(dsn) {
		return nil
	}
	if _, err := os.Stat(dsn); err != nil {
		return zhufang.Errorf(zhufang.ENOTFOUND, "database file %s does not exist%s", dsn, hint)
	}
	return nil
}

// printJSON prints v as indented JSON, for machines.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// env returns getenv(key) or def when it is unset.
func env(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func (c *Config) dbFlag(fs *flags, getenv func(string) string) {
	fs.StringVar(&c.DB, "db", env(getenv, "ZHUFANG_DB", "zhufang.db"), "SQLite database file, or a postgres:// URL (env ZHUFANG_DB)")
	c.auditKeysFlag(fs, getenv)
}

func (c *Config) dataFlags(fs *flags, getenv func(string) string) error {
	c.dataFlag(fs, getenv)
	seed := env(getenv, "ZHUFANG_SEED", "1")
	s, err := strconv.ParseUint(seed, 10, 64)
	if err != nil {
		return usageError{fmt.Sprintf("ZHUFANG_SEED=%q is not a whole number", seed)}
	}
	fs.Uint64Var(&c.Seed, "seed", s, "seed of the demo city: the same seed builds the same city (env ZHUFANG_SEED)")
	return nil
}

// dataFlag is --data: a folder of the embedded data's layout (yongzhou/,
// codes/) for another city.
func (c *Config) dataFlag(fs *flags, getenv func(string) string) {
	fs.StringVar(&c.DataDir, "data", getenv("ZHUFANG_DATA"),
		"folder replacing the embedded Yongzhou data and 110 category table, laid out as yongzhou/ and codes/ (env ZHUFANG_DATA; default the embedded data)")
}

// dataFS returns the run-time data: the folder --data names, or the
// embedded data.
func (c *Config) dataFS() (fs.FS, error) {
	fsys, err := data.Open(c.DataDir)
	if err != nil {
		return nil, usageError{"--data: " + err.Error()}
	}
	return fsys, nil
}

// historyFlags are the demo city's history: how long, ending when.
func (c *Config) historyFlags(fs *flags) {
	fs.IntVar(&c.HistoryDays, "history", demo.HistoryDays, "days of incident history the demo city gets, 0 to 730")
	fs.StringVar(&c.AnchorDay, "anchor", "", "last day of the history, YYYY-MM-DD (default yesterday, China time)")
}

// anchor returns the last day of the history: AnchorDay, or yesterday.
func (c *Config) anchor() (time.Time, error) {
	if c.AnchorDay == "" {
		return demo.Midnight(time.Now()).AddDate(0, 0, -1), nil
	}
	t, err := time.ParseInLocation(time.DateOnly, c.AnchorDay, zhufang.ChinaTime)
	if err != nil {
		return t, usageError{fmt.Sprintf("--anchor %q must be a date YYYY-MM-DD", c.AnchorDay)}
	}
	if yesterday := demo.Midnight(time.Now()).AddDate(0, 0, -1); t.After(yesterday) {
		return t, usageError{fmt.Sprintf("--anchor %s is after yesterday (%s): a history ends in the past", c.AnchorDay, yesterday.Format(time.DateOnly))}
	}
	return t, nil
}

// validate checks the values that flags cannot check by type.
func (c *Config) validate() error {
	if c.DB == "" {
		return usageError{"--db must name an SQLite file or a postgres:// URL"}
	}
	switch {
	case sqlstore.IsPostgresURL(c.DB):
		if err := sqlstore.CheckPostgresURL(c.DB); err != nil {
			return usageError{"--db: " + zhufang.ErrorMessage(err)}
		}
	case strings.Contains(c.DB, "://"):
		return usageError{fmt.Sprintf("--db %q: only postgres:// URLs and SQLite file paths are supported", redactURL(c.DB))}
	case strings.Contains(c.DB, "=") && strings.Contains(c.DB, " "):
		return usageError{"--db looks like PostgreSQL settings (key=value ...); write them as a postgres:// URL"}
	}
	if c.Addr != "" || c.addrSet {
		host, port, err := net.SplitHostPort(c.Addr)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
			return usageError{fmt.Sprintf("--addr %q must be HOST:PORT with a port from 0 to 65535, for example 127.0.0.1:8080", c.Addr)}
		}
	}
	if c.HistoryDays < 0 || c.HistoryDays > demo.HistoryDays {
		return usageError{fmt.Sprintf("--history %d must be from 0 to %d days", c.HistoryDays, demo.HistoryDays)}
	}
	if _, err := c.anchor(); err != nil {
		return err
	}
	if c.DataDir != "" {
		if _, err := c.dataFS(); err != nil {
			return err
		}
	}
	if err := c.parseTiles(); err != nil {
		return err
	}
	if c.NATS != "" {
		u, err := url.Parse(c.NATS)
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return usageError{fmt.Sprintf("--nats %q must be a nats://HOST:PORT URL", redactURL(c.NATS))}
		}
	}
	return nil
}

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparseable)"
}

// oneLine flattens an error for the terminal: the user-safe message of the
// zhufang error inside, kept with the context wrapped around it (a file
// name, a county), and the cause of an unavailable service.
func oneLine(err error) string {
	msg := err.Error()
	var ze *zhufang.Error
	if errors.As(err, &ze) && ze.Code != zhufang.EINTERNAL {
		inner := ze.Message
		if ze.Err != nil && ze.Code == zhufang.EUNAVAILABLE {
			inner += ": " + ze.Err.Error()
		}
		msg = strings.Replace(msg, ze.Error(), inner, 1)
	}
	return strings.Join(strings.Fields(msg), " ")
}
