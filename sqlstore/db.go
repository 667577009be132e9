// Package sqlstore stores zhufang's data in SQLite (embedded, the default) or
// PostgreSQL (for a deployment of several nodes) through database/sql. The
// two engines differ only behind the small dialect seam in this file; SQL is
// written once with ? placeholders and rebound for PostgreSQL.
package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"zhufang"
)

// Engine names a database engine.
type Engine string

// The two engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Options tune Open. The zero value is the production default.
type Options struct {
	// BusyTimeout is how long SQLite waits for another process's lock
	// before giving up. Default 5 s.
	BusyTimeout time.Duration
	// ConnectTimeout bounds reaching PostgreSQL. Default 4 s, so that an
	// unreachable server is reported within 5 s.
	ConnectTimeout time.Duration
	// Clock gives transactions their frozen "now". Default the system clock.
	Clock zhufang.Clock
	// Serving takes the SQLite database's serving lock, refusing with
	// ECONFLICT a database another process serves; Close releases it.
	// PostgreSQL has no such lock: several nodes serve one database.
	Serving bool
}

// DB is an open zhufang database.
type DB struct {
	db     *sql.DB
	engine Engine
	where  string // the file path or host:port/dbname, never a password
	clock  zhufang.Clock
	relay  *Relay
	// writer admits one SQLite write transaction at a time. SQLite allows
	// only one writer anyway; queueing here instead of in SQLite's busy
	// handler, which sleeps up to 100 ms between tries, keeps tail latency
	// low under concurrent intake.
	writer chan struct{}
	// swept is when (Unix nanoseconds) this process last deleted expired
	// sign-in failures.
	swept atomic.Int64
	// keys are this database's (this schema's) PostgreSQL advisory lock
	// keys, so that two zhufang schemas on one server never share a lock.
	keys lockKeys
	// pgConfig reaches the PostgreSQL server again, for the leader's own
	// connection outside the pool.
	pgConfig *pgx.ConnConfig
	// unlockServe drops the serving lock, when Open took it.
	unlockServe func()
	// auditKey hashes the audit rows db writes (UseAuditKey); nil until set.
	auditKey []byte
	// beforeCommit, when set by a test, runs between a transaction's
	// outbox insert and its commit.
	beforeCommit func()
}

// lockKeys are PostgreSQL advisory lock keys, hashed from the schema's name.
type lockKeys struct {
	outbox int64 // held from the outbox insert to commit: IDs in commit order
	relay  int64 // held by one relay batch at a time: the stream in ID order
	leader int64 // held by the cluster's leader for as long as it leads
}

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// IsPostgresURL reports whether dsn names a PostgreSQL server rather than an
// SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn: a postgres:// URL or an SQLite file
// path (created if missing). It checks that the database can be reached but
// does not migrate it; call Migrate for that.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 4 * time.Second
	}
	if opt.Clock == nil {
		opt.Clock = zhufang.SystemClock{}
	}
	if dsn == "" {
		return nil, zhufang.Errorf(zhufang.EINVALID, "no database given: pass --db PATH or a postgres:// URL")
	}
	if IsPostgresURL(dsn) {
		return openPostgres(ctx, dsn, opt)
	}
	return openSQLite(ctx, dsn, opt)
}

func openSQLite(ctx context.Context, path string, opt Options) (*DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, zhufang.Errorf(zhufang.EINVALID, "database path %q may not contain ? or #", path)
	}
	// Look at the file ourselves before SQLite does, so that a file that is
	// not a database is refused without SQLite ever opening it for writing.
	if err := checkSQLiteFile(path); err != nil {
		return nil, err
	}
	release := func() {}
	if opt.Serving {
		var err error
		if release, err = takeServeLock(path); err != nil {
			return nil, err
		}
	}
	db, err := openSQLiteFile(ctx, path, opt)
	if err != nil {
		release()
		return nil, err
	}
	db.unlockServe = release
	return db, nil
}

func openSQLiteFile(ctx context.Context, path string, opt Options) (*DB, error) {
	ms := opt.BusyTimeout.Milliseconds()
	// synchronous(FULL): every commit reaches the disk before it is
	// acknowledged, so an incident a caller was told is stored survives a
	// power cut, not only a crash of the process (NORMAL would lose the last
	// commits of the write-ahead log). It costs about 40% of intake
	// throughput, some 800 incidents a second instead of 1,400.
	dsn := path + "?_pragma=busy_timeout(" + strconv.FormatInt(ms, 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot open database file "+path, err)
	}
	db := &DB{db: sdb, engine: SQLite, where: path, clock: opt.Clock, writer: make(chan struct{}, 1)}
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, db.translate(err)
	}
	// Only a database that is zhufang's, or new, is switched to WAL: another
	// program's SQLite file is refused before anything is written to it.
	if err := db.refuseForeign(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if _, err := sdb.ExecContext(ctx, `PRAGMA journal_mode = WAL`); err != nil {
		sdb.Close()
		return nil, db.translate(err)
	}
	return db, nil
}

// refuseForeign returns EINVALID for a database that holds tables but no
// zhufang schema: it belongs to another program.
func (db *DB) refuseForeign(ctx context.Context) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil || v > 0 {
		return err
	}
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.engine == Postgres {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	var n int
	if err := db.queryRow(ctx, q).Scan(&n); err != nil {
		return db.translate(err)
	}
	if n > 0 {
		return zhufang.Errorf(zhufang.EINVALID, "%s holds %d tables of another program and no zhufang schema; it was left untouched", db.where, n)
	}
	return nil
}

// checkSQLiteFile refuses a path that exists but is a directory or a file
// that is not an SQLite database. A missing or empty file is fine: SQLite
// creates the database.
func checkSQLiteFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read database file "+path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot read database file "+path, err)
	}
	if st.IsDir() {
		return zhufang.Errorf(zhufang.EINVALID, "database path %s is a directory, not a file", path)
	}
	if st.Size() == 0 {
		return nil
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteMagic) {
		return zhufang.Errorf(zhufang.EINVALID, "%s is not a zhufang database (not an SQLite file); it was left untouched", path)
	}
	return nil
}

func openPostgres(ctx context.Context, dsn string, opt Options) (*DB, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, CheckPostgresURL(dsn)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	pcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, CheckPostgresURL(dsn)
	}
	guardSessions(pcfg)
	sdb := stdlib.OpenDB(*pcfg)
	sdb.SetMaxOpenConns(20)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, opt.ConnectTimeout)
	defer cancel()
	if err := sdb.PingContext(pctx); err != nil {
		sdb.Close()
		var pe *pgconn.PgError
		if errors.As(err, &pe) { // the server answered, and said no
			switch pe.Code {
			case "3D000":
				return nil, zhufang.Errorf(zhufang.EUNAVAILABLE, "PostgreSQL at %s has no database %q; create it first", where, cfg.Database)
			case "28000", "28P01":
				return nil, zhufang.Errorf(zhufang.EUNAVAILABLE, "PostgreSQL at %s refused user %q", where, cfg.User)
			}
			return nil, zhufang.WrapError(zhufang.EUNAVAILABLE, "PostgreSQL at "+where+" refused the connection", err)
		}
		return nil, zhufang.WrapError(zhufang.EUNAVAILABLE,
			fmt.Sprintf("cannot reach PostgreSQL at %s within %s", where, opt.ConnectTimeout), err)
	}
	db := &DB{db: sdb, engine: Postgres, where: where, clock: opt.Clock, pgConfig: pcfg}
	if err := db.queryRow(pctx, `SELECT hashtextextended(current_schema() || '/outbox', 0),
		hashtextextended(current_schema() || '/relay', 0), hashtextextended(current_schema() || '/leader', 0)`).
		Scan(&db.keys.outbox, &db.keys.relay, &db.keys.leader); err != nil {
		sdb.Close()
		return nil, db.translate(err)
	}
	return db, nil
}

// guardSessions bounds what a dead or stalled peer can hold: the server
// drops a connection whose client stopped answering within about 20 s
// (TCP keepalives) and a transaction left idle for a minute, and no
// statement waits more than 10 s for a lock, so that a node that froze
// holding the outbox or audit lock stalls the others for seconds, not
// hours. The client probes the server the same way. Settings the URL gives
// itself are kept.
func guardSessions(cfg *pgx.ConnConfig) {
	for k, v := range map[string]string{
		"tcp_keepalives_idle":                 "10",
		"tcp_keepalives_interval":             "5",
		"tcp_keepalives_count":                "2",
		"idle_in_transaction_session_timeout": "60s",
		"lock_timeout":                        "10s",
	} {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	d := &net.Dialer{Timeout: cfg.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 2}}
	cfg.DialFunc = d.DialContext
}

// CheckPostgresURL reports whether dsn is a PostgreSQL URL that can be
// parsed, with the reason if not.
func CheckPostgresURL(dsn string) error {
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		reason := err.Error()
		if i := strings.LastIndex(reason, ": "); i >= 0 {
			reason = reason[i+2:] // pgconn's prefix repeats the URL, password included
		}
		return zhufang.Errorf(zhufang.EINVALID, "cannot parse PostgreSQL URL %s: %s", redact(dsn), reason)
	}
	return nil
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Close closes the database and drops its serving lock.
func (db *DB) Close() error {
	err := db.db.Close()
	if db.unlockServe != nil {
		db.unlockServe()
		db.unlockServe = nil
	}
	return err
}

// Engine reports which engine db runs on.
func (db *DB) Engine() Engine { return db.engine }

// Where names the database for logs: a path or host:port/dbname.
func (db *DB) Where() string { return db.where }

// rebind turns ? placeholders into $1, $2, … for PostgreSQL. Our SQL has no
// ? inside string literals, so a plain scan is enough.
func (db *DB) rebind(q string) string {
	if db.engine != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Tx is a transaction with one frozen "now" for every timestamp it writes.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	now time.Time
	// events wait for commit to be written to the outbox, last, so that
	// PostgreSQL's lock on the outbox is held only for the insert and the
	// commit.
	events []pendingEvent
	done   bool // committed or rolled back: the writer slot is free
	stmts  map[string]*sql.Stmt
}

// begin starts a transaction.
func (db *DB) begin(ctx context.Context) (*Tx, error) {
	if db.writer != nil {
		select {
		case db.writer <- struct{}{}:
		case <-ctx.Done():
			return nil, db.translate(ctx.Err())
		}
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		db.release()
		return nil, db.translate(err)
	}
	return &Tx{tx: tx, db: db, now: db.clock.Now().UTC().Truncate(time.Microsecond)}, nil
}

// release lets the next SQLite writer in.
func (db *DB) release() {
	if db.writer != nil {
		<-db.writer
	}
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := tx.tx.ExecContext(ctx, tx.db.rebind(q), args...)
	return r, tx.db.translate(err)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(q), args...)
}

func (tx *Tx) commit() error {
	wrote := len(tx.events) > 0
	if wrote {
		if err := tx.flushEvents(context.Background()); err != nil {
			tx.rollback()
			return err
		}
		if tx.db.beforeCommit != nil {
			tx.db.beforeCommit()
		}
	}
	err := tx.tx.Commit()
	if !tx.done {
		tx.done = true
		tx.db.release()
	}
	if err != nil {
		return tx.db.translate(err)
	}
	if wrote && tx.db.relay != nil {
		tx.db.relay.kick()
	}
	return nil
}
func (tx *Tx) rollback() error {
	err := tx.tx.Rollback()
	if !tx.done {
		tx.done = true
		tx.db.release()
	}
	return err
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := db.db.QueryContext(ctx, db.rebind(q), args...)
	return rows, db.translate(err)
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, db.rebind(q), args...)
}

// translate maps driver errors to zhufang error codes, in this one place.
// The driver's text stays in the wrapped error for the log.
func (db *DB) translate(err error) error {
	if err == nil {
		return nil
	}
	var ze *zhufang.Error
	if errors.As(err, &ze) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return zhufang.WrapError(zhufang.ENOTFOUND, "not found", err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT:
			switch se.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return zhufang.WrapError(zhufang.ECONFLICT, "a record with that code or ID already exists", err)
			case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
				return zhufang.WrapError(zhufang.ENOTFOUND, "the record refers to a parent that does not exist", err)
			}
			return zhufang.WrapError(zhufang.EINVALID, "the record breaks a rule of the database", err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return zhufang.WrapError(zhufang.EUNAVAILABLE, "database file "+db.where+" is locked by another process", err)
		case sqlite3.SQLITE_NOTADB:
			return zhufang.WrapError(zhufang.EINVALID, db.where+" is not a zhufang database (not an SQLite file)", err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY:
			return zhufang.WrapError(zhufang.EUNAVAILABLE, "cannot open database file "+db.where+" for writing", err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return zhufang.WrapError(zhufang.ECONFLICT, "a record with that code or ID already exists", err)
		case "23503":
			return zhufang.WrapError(zhufang.ENOTFOUND, "the record refers to a parent that does not exist", err)
		case "23514", "23502", "22P02":
			return zhufang.WrapError(zhufang.EINVALID, "the record breaks a rule of the database", err)
		case "40P01", "40001":
			return zhufang.WrapError(zhufang.ECONFLICT, "another change to the same record came first; try again", err)
		case "55P03", "25P03":
			return zhufang.WrapError(zhufang.EUNAVAILABLE, "the database is held by a stalled change; nothing was stored, try again", err)
		}
	}
	if errors.Is(err, context.Canceled) {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "interrupted; any unfinished change was rolled back", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return zhufang.WrapError(zhufang.EUNAVAILABLE, "the database did not answer in time", err)
	}
	return zhufang.WrapError(zhufang.EINTERNAL, "database error", err)
}
