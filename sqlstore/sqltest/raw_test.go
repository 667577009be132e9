package sqltest_test

import (
	"context"
	"testing"

	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		name   string
		engine sqlstore.Engine
		q      string
		want   string
	}{
		{"sqlite keeps ?", sqlstore.SQLite, `UPDATE t SET a = ? WHERE id = ?`, `UPDATE t SET a = ? WHERE id = ?`},
		{"postgres numbers them", sqlstore.Postgres, `UPDATE t SET a = ?, b = ? WHERE id = ?`, `UPDATE t SET a = $1, b = $2 WHERE id = $3`},
		{"postgres without placeholders", sqlstore.Postgres, `DELETE FROM t WHERE id = 1`, `DELETE FROM t WHERE id = 1`},
		{"postgres past other text", sqlstore.Postgres, `SELECT '审计' || ? FROM t`, `SELECT '审计' || $1 FROM t`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sqltest.Rebind(tt.engine, tt.q); got != tt.want {
				t.Fatalf("Rebind(%s, %q) = %q, want %q", tt.engine, tt.q, got, tt.want)
			}
		})
	}
}

// TestRaw reaches under a store on each engine: a row the raw handle
// writes, the store reads.
func TestRaw(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			dsn := sqltest.DSN(t, engine)
			db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			raw := sqltest.Raw(t, dsn)
			var tables int
			q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
			if engine == sqlstore.Postgres {
				q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
			}
			if err := raw.QueryRow(sqltest.Rebind(engine, q), "schema_migrations").Scan(&tables); err != nil || tables != 1 {
				t.Fatalf("the raw handle sees %d schema_migrations tables in the store's database (%v), want 1", tables, err)
			}
			v, err := db.SchemaVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(sqltest.Rebind(engine, `DELETE FROM schema_migrations WHERE version = ?`), v); err != nil {
				t.Fatal(err)
			}
			if after, err := db.SchemaVersion(ctx); err != nil || after != v-1 {
				t.Fatalf("after the raw handle deleted version %d, the store reads version %d (%v)", v, after, err)
			}
		})
	}
}
