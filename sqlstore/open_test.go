package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

func wantCode(t *testing.T, err error, code, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := zhufang.ErrorCode(err); got != code {
		t.Fatalf("got code %s (%v), want %s", got, err, code)
	}
	if !strings.Contains(zhufang.ErrorMessage(err), contains) {
		t.Fatalf("message %q does not say %q", zhufang.ErrorMessage(err), contains)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			db := sqltest.Open(t, engine, sqlstore.Options{})
			ctx := context.Background()
			v, err := db.SchemaVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := sqlstore.LatestVersion(engine); v != want || want == 0 {
				t.Fatalf("schema version %d, want %d", v, want)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("second migrate: %v", err)
			}
			if empty, err := db.IsEmpty(ctx); err != nil || !empty {
				t.Fatalf("new database: empty=%v err=%v", empty, err)
			}
		})
	}
}

func TestNewerSchemaIsRefusedAndUntouched(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := sqltest.DSN(t, engine)
			db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			db.Close()
			raw := sqltest.Raw(t, dsn)
			if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			before := snapshot(t, engine, dsn)

			db, err = sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			wantCode(t, db.Migrate(ctx), zhufang.EUNAVAILABLE, "newer")
			db.Close()
			if after := snapshot(t, engine, dsn); after != before {
				t.Fatalf("refusing a newer database changed it:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// snapshot describes a database's content well enough to see a change: the
// file's bytes for SQLite, the schema's tables and migration rows for
// PostgreSQL.
func snapshot(t *testing.T, engine sqlstore.Engine, dsn string) string {
	t.Helper()
	if engine == sqlstore.SQLite {
		b, err := os.ReadFile(dsn)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		entries, _ := os.ReadDir(filepath.Dir(dsn))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return string(b) + strings.Join(names, ",")
	}
	db := sqltest.Raw(t, dsn)
	defer db.Close()
	var s string
	err := db.QueryRow(`SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := db.QueryRow(`SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return s + "|" + v
}

func TestNotADatabaseIsRefusedAndUntouched(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"text":      []byte("these are somebody's notes, not a database\n"),
		"truncated": []byte("SQLite form"),
		"binary":    bytes.Repeat([]byte{0xff, 0x00, 0x13}, 4000),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".db")
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := sqlstore.Open(context.Background(), path, sqlstore.Options{})
			wantCode(t, err, zhufang.EINVALID, "not a zhufang database")
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, content) {
				t.Fatal("the file was changed")
			}
			for _, suffix := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s%s was created", name, suffix)
				}
			}
		})
	}
	_, err := sqlstore.Open(context.Background(), dir, sqlstore.Options{})
	wantCode(t, err, zhufang.EINVALID, "directory")
}

func TestAnotherProgramsDatabaseIsRefusedAndUntouched(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			dsn := sqltest.DSN(t, engine)
			other := sqltest.Raw(t, dsn)
			if _, err := other.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Exec(`INSERT INTO notes VALUES ('keep me')`); err != nil {
				t.Fatal(err)
			}
			other.Close()
			var before []byte
			if engine == sqlstore.SQLite {
				before, _ = os.ReadFile(dsn)
			}
			db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
			if err == nil {
				err = db.Migrate(context.Background())
				db.Close()
			}
			wantCode(t, err, zhufang.EINVALID, "another program")
			if engine == sqlstore.SQLite {
				if after, _ := os.ReadFile(dsn); !bytes.Equal(before, after) {
					t.Fatal("the other program's file was changed")
				}
				return
			}
			raw := sqltest.Raw(t, dsn)
			defer raw.Close()
			var n int
			raw.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n)
			if n != 1 {
				t.Fatalf("the other program's schema now has %d tables", n)
			}
		})
	}
}

func TestLockedDatabaseIsRefusedAndUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`CREATE TABLE mine (x TEXT); INSERT INTO mine VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	// Another program holds an exclusive lock for as long as this test runs.
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	start := time.Now()
	db, err := sqlstore.Open(context.Background(), path, sqlstore.Options{BusyTimeout: 300 * time.Millisecond})
	if err == nil {
		err = db.Migrate(context.Background())
		db.Close()
	}
	wantCode(t, err, zhufang.EUNAVAILABLE, "locked")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s to report the lock", took)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the locked file was changed")
	}
	conn.ExecContext(context.Background(), `ROLLBACK`)
}

func TestUnreachablePostgres(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		// Port 1 on loopback has no server: the connection is refused at once.
		start := time.Now()
		_, err := sqlstore.Open(context.Background(), "postgres://zhufang:secret@127.0.0.1:1/zhufang", sqlstore.Options{})
		wantCode(t, err, zhufang.EUNAVAILABLE, "cannot reach PostgreSQL at 127.0.0.1:1/zhufang")
		if strings.Contains(err.Error(), "secret") {
			t.Fatal("the error shows the password")
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("took %s", took)
		}
	})
	t.Run("silent", func(t *testing.T) {
		// A server that never answers: only the connect timeout ends the
		// wait.
		silent := zhufangtest.SilentServer(t)
		start := time.Now()
		_, err := sqlstore.Open(context.Background(), "postgres://u@"+silent+"/db?sslmode=disable",
			sqlstore.Options{ConnectTimeout: 700 * time.Millisecond})
		wantCode(t, err, zhufang.EUNAVAILABLE, "within 700ms")
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("took %s, want about 0.7 s", took)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		_, err := sqlstore.Open(context.Background(), "postgres://u:pw@[::1/x", sqlstore.Options{})
		wantCode(t, err, zhufang.EINVALID, "cannot parse")
	})
}
