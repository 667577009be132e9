// Package sqltest gives tests a fresh zhufang database on each engine: a
// file in the test's temporary folder for SQLite, a schema of its own on the
// server named by ZHUFANG_TEST_POSTGRES for PostgreSQL.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the admin connection

	"zhufang/sqlstore"
)

// PostgresEnv names the environment variable with the URL of the
// PostgreSQL server that tests run against. CI sets it; where it is set, a
// server that cannot be reached fails the tests rather than skipping them.
const PostgresEnv = "ZHUFANG_TEST_POSTGRES"

// Engines lists the engines a store test runs on: SQLite always,
// PostgreSQL when ZHUFANG_TEST_POSTGRES is set.
func Engines() []sqlstore.Engine {
	if os.Getenv(PostgresEnv) != "" {
		return []sqlstore.Engine{sqlstore.SQLite, sqlstore.Postgres}
	}
	return []sqlstore.Engine{sqlstore.SQLite}
}

// Open opens a new, empty, migrated database on engine for one test and
// removes it when the test ends. On PostgreSQL every call gets a schema of
// its own, so tests can run in parallel against one server.
func Open(tb testing.TB, engine sqlstore.Engine, opt sqlstore.Options) *sqlstore.DB {
	tb.Helper()
	dsn := DSN(tb, engine)
	db, err := sqlstore.Open(context.Background(), dsn, opt)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return db
}

// DSN returns the address of a new, empty database on engine for one
// test, removed when the test ends.
func DSN(tb testing.TB, engine sqlstore.Engine) string {
	tb.Helper()
	if engine == sqlstore.SQLite {
		return filepath.Join(tb.TempDir(), "test.db")
	}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Fatalf("%s is not set", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "zt_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("cannot create a test schema on the PostgreSQL of %s: %v", PostgresEnv, err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s is not a URL: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
