package sqltest

import (
	"database/sql"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver, as another program would use it

	"zhufang/sqlstore"
)

// Raw opens the database at dsn (an SQLite file or a postgres:// URL) with
// the bare driver, beside the store, as another program or someone holding
// its password would: for tests that reach under the store to delete or
// tamper with rows and to inspect tables. On SQLite it waits up to 5 s for
// the store's own writers (the outbox relay, a server under test) instead
// of failing at once with SQLITE_BUSY. The handle is closed when the test
// ends; closing it sooner is fine.
func Raw(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	driver := "pgx"
	if !sqlstore.IsPostgresURL(dsn) {
		driver, dsn = "sqlite", dsn+"?_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Rebind writes the ? placeholders of q as PostgreSQL's $1, $2, … on
// engine Postgres, for statements run on a Raw handle; on SQLite q is
// returned as it is. q must have no ? inside a string literal.
func Rebind(engine sqlstore.Engine, q string) string {
	if engine != sqlstore.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
