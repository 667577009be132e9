package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"zhufang"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the engine's embedded migrations in order.
func migrations(engine Engine) ([]migration, error) {
	dir := "migrations/" + string(engine)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations of %s are not numbered 1, 2, 3…: found %d at place %d", engine, m.version, i+1)
		}
	}
	return ms, nil
}

// LatestVersion is the schema version this binary knows.
func LatestVersion(engine Engine) int {
	ms, err := migrations(engine)
	if err != nil {
		return 0
	}
	return len(ms)
}

// SchemaVersion returns the version the database is at: 0 for a new one.
// It only reads.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	var err error
	if db.engine == Postgres {
		err = db.queryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	} else {
		var n int
		err = db.queryRow(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
		exists = n > 0
	}
	if err != nil {
		return 0, db.translate(err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := db.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, db.translate(err)
	}
	return v, nil
}

// Migrate brings the schema up to date. A database whose schema is newer
// than this binary is refused before anything is written.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations(db.engine)
	if err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, "embedded migrations are broken", err)
	}
	cur, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur > len(ms) {
		return zhufang.Errorf(zhufang.EUNAVAILABLE,
			"database %s is at schema version %d, newer than this zhufang knows (%d); it was left untouched: run a newer zhufang",
			db.where, cur, len(ms))
	}
	if cur == len(ms) {
		return nil
	}
	if cur == 0 {
		if err := db.refuseForeign(ctx); err != nil {
			return err
		}
	}
	for _, m := range ms[cur:] {
		if err := db.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration and records it, in one transaction. On
// PostgreSQL an advisory lock keeps two nodes starting at once from both
// applying it.
func (db *DB) apply(ctx context.Context, m migration) (err error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.rollback()
		}
	}()
	if db.engine == Postgres {
		// Another node's migration may take longer than the session's lock
		// timeout: wait it out.
		if _, err := tx.exec(ctx, `SET LOCAL lock_timeout = 0`); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(7274661)`); err != nil {
			return err
		}
	}
	if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	var done int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&done); err != nil {
		return db.translate(err)
	}
	if done > 0 { // another node got there first
		return tx.commit()
	}
	if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
		return zhufang.WrapError(zhufang.EINTERNAL, fmt.Sprintf("migration %04d_%s failed", m.version, m.name), err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, tx.now.Format("2006-01-02T15:04:05.000000Z")); err != nil {
		return err
	}
	return tx.commit()
}

// Ready returns an error unless the database answers and its schema is
// the one this zhufang knows: what a node's /readyz reports.
func (db *DB) Ready(ctx context.Context) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if want := LatestVersion(db.engine); v != want {
		return zhufang.Errorf(zhufang.EUNAVAILABLE, "schema version %d, want %d", v, want)
	}
	return nil
}
