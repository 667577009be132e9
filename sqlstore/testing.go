package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// TestPostgresEnv names the environment variable with the URL of the
// PostgreSQL server that tests run against. CI sets it; where it is set, a
// server that cannot be reached fails the tests rather than skipping them.
const TestPostgresEnv = "ZHUFANG_TEST_POSTGRES"

// TestEngines lists the engines a store test runs on: SQLite always,
// PostgreSQL when ZHUFANG_TEST_POSTGRES is set.
func TestEngines() []Engine {
	if os.Getenv(TestPostgresEnv) != "" {
		return []Engine{SQLite, Postgres}
	}
	return []Engine{SQLite}
}

// OpenTest opens a new, empty, migrated database on engine for one test and
// removes it when the test ends. On PostgreSQL every call gets a schema of
// its own, so tests can run in parallel against one server.
func OpenTest(tb testing.TB, engine Engine, opt Options) *DB {
	tb.Helper()
	dsn := TestDSN(tb, engine)
	db, err := Open(context.Background(), dsn, opt)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return db
}

// TestDSN returns the address of a new, empty database on engine for one
// test, removed when the test ends.
func TestDSN(tb testing.TB, engine Engine) string {
	tb.Helper()
	if engine == SQLite {
		return filepath.Join(tb.TempDir(), "test.db")
	}
	base := os.Getenv(TestPostgresEnv)
	if base == "" {
		tb.Fatalf("%s is not set", TestPostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("%s: %v", TestPostgresEnv, err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "zt_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("cannot create a test schema on the PostgreSQL of %s: %v", TestPostgresEnv, err)
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
		tb.Fatalf("%s is not a URL: %v", TestPostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
