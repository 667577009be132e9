package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// secAuditTrail serves a new database, does what leaves an audit trail
// (users added through the CLI, a failed and a good sign-in, a call taken,
// moved on, its lane changed, its caller viewed, a sign-out, a password
// change, a device token) and stops the server, so the trail is complete
// and nothing writes while the tests copy it.
func secAuditTrail(t *testing.T, dsn string) {
	t.Helper()
	base, stop := startServe(t, demoArgs(t, dsn)...)
	srv := &secServer{base: base, dsn: dsn}
	secAddUser(t, dsn, "disp", zhufang.RoleDispatcher)
	secAddUser(t, dsn, "auditor", zhufang.RoleAdmin)
	api := secNewClient(t, srv)
	if r := api.json(http.MethodPost, "/api/v1/session", `{"username":"disp","password":"not the password"}`); r.code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s", r)
	}
	api.token = secAPISignIn(t, api, "disp", secPassword)
	id, _ := secTakeCall(t, api, "梅湾路口")
	for _, step := range []struct{ path, body string }{
		{fmt.Sprintf("/api/v1/incidents/%d/transitions", id), `{"to":"dispatched","note":"派车"}`},
		{fmt.Sprintf("/api/v1/incidents/%d/lane", id), `{"lane":"case","reason":"需立案"}`},
		{fmt.Sprintf("/api/v1/incidents/%d/transitions", id), `{"to":"acknowledged"}`},
	} {
		if r := api.json(http.MethodPost, step.path, step.body); r.code != http.StatusOK {
			t.Fatalf("POST %s: %s", step.path, r)
		}
	}
	if r := api.get(fmt.Sprintf("/api/v1/incidents/%d?personal=1", id)); r.code != http.StatusOK {
		t.Fatalf("view the caller: %s", r)
	}
	if r := api.do(http.MethodDelete, "/api/v1/session", ""); r.code != http.StatusNoContent {
		t.Fatalf("sign out: %s", r)
	}
	pw := writeFile(t, t.TempDir(), "pw", "another long password\n")
	for _, args := range [][]string{
		{"user", "passwd", "--db", dsn, "--password-file", pw, "auditor"},
		{"device", "add", "--db", dsn, "--unit", "1"},
	} {
		if _, err := secCLI(t, args...); err != nil {
			t.Fatalf("%s: %v", strings.Join(args[:2], " "), err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("serve ended with %v", err)
	}
}

// secSchema is the schema a sqltest PostgreSQL DSN works in.
func secSchema(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Query().Get("search_path") == "" {
		t.Fatalf("no search_path in %q", dsn)
	}
	return u.Query().Get("search_path")
}

// secAuditCopier returns a function that gives a fresh database holding a
// copy of the trail: a copy of the SQLite file, or on PostgreSQL a second
// schema, migrated once, whose audit_log is refilled from the original.
func secAuditCopier(t *testing.T, engine sqlstore.Engine, dsn string) func(t *testing.T) string {
	t.Helper()
	if engine == sqlstore.SQLite {
		return func(t *testing.T) string {
			t.Helper()
			cp := filepath.Join(t.TempDir(), "copy.db")
			for _, suffix := range []string{"", "-wal", "-shm"} {
				b, err := os.ReadFile(dsn + suffix)
				if os.IsNotExist(err) && suffix != "" {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(cp+suffix, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			return cp
		}
	}
	cp := sqltest.DSN(t, engine)
	if _, err := secCLI(t, "migrate", "--db", cp); err != nil {
		t.Fatal(err)
	}
	raw := sqltest.Raw(t, cp)
	return func(t *testing.T) string {
		t.Helper()
		if _, err := raw.Exec(`DELETE FROM audit_log`); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO audit_log SELECT * FROM ` + secSchema(t, dsn) + `.audit_log`); err != nil {
			t.Fatal(err)
		}
		return cp
	}
}

// secAuditExec runs one tampering statement and checks it hit one row or more.
func secAuditExec(t *testing.T, engine sqlstore.Engine, raw *sql.DB, q string, args ...any) {
	t.Helper()
	res, err := raw.Exec(sqltest.Rebind(engine, q), args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s %v changed no row", q, args)
	}
}

// secAuditColumns are the columns of an entry other than its ID.
const secAuditColumns = `at, actor, user_id, action, record, address, detail, prev_hash, hash`

// secAuditSwap swaps the contents of two rows, keeping their IDs: the
// entries are reordered.
func secAuditSwap(t *testing.T, engine sqlstore.Engine, raw *sql.DB, a, b int64) {
	t.Helper()
	read := func(id int64) []any {
		vals := make([]any, 9)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := raw.QueryRow(sqltest.Rebind(engine, `SELECT `+secAuditColumns+` FROM audit_log WHERE id = ?`), id).Scan(ptrs...); err != nil {
			t.Fatalf("read row %d: %v", id, err)
		}
		return vals
	}
	ra, rb := read(a), read(b)
	set := `UPDATE audit_log SET at = ?, actor = ?, user_id = ?, action = ?, record = ?, address = ?, detail = ?, prev_hash = ?, hash = ? WHERE id = ?`
	secAuditExec(t, engine, raw, set, append(rb, a)...)
	secAuditExec(t, engine, raw, set, append(ra, b)...)
}

// TestAuditCLI: `zhufang audit verify` finds a trail made by real use
// intact and counts it; on a copy of it changed behind zhufang's back (a row
// modified, deleted, reordered) it fails, prints BROKEN and names the first
// row that no longer fits.
func TestAuditCLI(t *testing.T) {
	t.Parallel()
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := sqltest.DSN(t, engine)
			secAuditTrail(t, dsn)
			raw := sqltest.Raw(t, dsn)
			var rows, last int64
			if err := raw.QueryRow(`SELECT count(*), max(id) FROM audit_log`).Scan(&rows, &last); err != nil {
				t.Fatal(err)
			}
			// The tampering below needs a first row, a last row and rows
			// between them: the trail has a dozen or more.
			if rows != last || rows < 10 {
				t.Fatalf("the trail has %d rows up to ID %d; want at least 10, numbered from 1", rows, last)
			}
			out, err := secCLI(t, "audit", "verify", "--db", dsn)
			if want := fmt.Sprintf("audit chain intact: %d rows verified\n", rows); err != nil || out != want {
				t.Fatalf("audit verify of the untouched trail: %q, %v; want %q", out, err, want)
			}
			// Rows in the middle of the trail, by what they record.
			idOf := func(action string) int64 {
				var id int64
				if err := raw.QueryRow(sqltest.Rebind(engine, `SELECT min(id) FROM audit_log WHERE action = ?`), action).Scan(&id); err != nil {
					t.Fatalf("no %s row: %v", action, err)
				}
				if id <= 1 || id >= last {
					t.Fatalf("the %s row is %d, not in the middle of 1..%d", action, id, last)
				}
				return id
			}
			signIn, created, moved := idOf(zhufang.AuditSignIn), idOf(zhufang.AuditIncidentCreate), idOf(zhufang.AuditIncidentState)
			copyOf := secAuditCopier(t, engine, dsn)

			tests := []struct {
				name   string
				tamper func(t *testing.T, raw *sql.DB, dsn string)
				row    int64  // the row verify must name
				reason string // what it must say about it
			}{
				{"a row's detail modified", func(t *testing.T, raw *sql.DB, _ string) {
					secAuditExec(t, engine, raw, `UPDATE audit_log SET detail = 'received → closed' WHERE id = ?`, moved)
				}, moved, "modified"},
				{"a row's actor modified", func(t *testing.T, raw *sql.DB, _ string) {
					secAuditExec(t, engine, raw, `UPDATE audit_log SET actor = 'someone else' WHERE id = ?`, signIn)
				}, signIn, "modified"},
				{"a row's time moved by a second", func(t *testing.T, raw *sql.DB, _ string) {
					var at any
					if err := raw.QueryRow(sqltest.Rebind(engine, `SELECT at FROM audit_log WHERE id = ?`), created).Scan(&at); err != nil {
						t.Fatal(err)
					}
					switch v := at.(type) {
					case time.Time:
						at = v.Add(time.Second)
					case string:
						tm, err := time.Parse(time.RFC3339Nano, v)
						if err != nil {
							t.Fatalf("time %q: %v", v, err)
						}
						at = tm.Add(time.Second).UTC().Format("2006-01-02T15:04:05.000000Z")
					default:
						t.Fatalf("time column read as %T", at)
					}
					secAuditExec(t, engine, raw, `UPDATE audit_log SET at = ? WHERE id = ?`, at, created)
				}, created, "modified"},
				{"a row modified and its own hash recomputed", func(t *testing.T, raw *sql.DB, dsn string) {
					db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					es, err := db.FindAudit(ctx, zhufang.AuditFilter{Action: zhufang.AuditIncidentState, Limit: 1000})
					if err != nil || len(es) == 0 {
						t.Fatalf("find the transition row: %v", err)
					}
					e := es[len(es)-1]
					if e.ID != moved {
						t.Fatalf("found row %d, want %d", e.ID, moved)
					}
					e.Detail = "received → closed"
					secAuditExec(t, engine, raw, `UPDATE audit_log SET detail = ?, hash = ? WHERE id = ?`, e.Detail, e.ComputeHash(), moved)
				}, moved + 1, "reordered"},
				{"a middle row deleted", func(t *testing.T, raw *sql.DB, _ string) {
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id = ?`, created)
				}, created + 1, "missing"},
				{"the first row deleted", func(t *testing.T, raw *sql.DB, _ string) {
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id = 1`)
				}, 2, "missing"},
				{"a middle row deleted and the rest renumbered", func(t *testing.T, raw *sql.DB, _ string) {
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id = ?`, created)
					secAuditExec(t, engine, raw, `UPDATE audit_log SET id = -id WHERE id > ?`, created)
					secAuditExec(t, engine, raw, `UPDATE audit_log SET id = -id - 1 WHERE id < 0`)
				}, created, "reordered"},
				{"two rows swapped", func(t *testing.T, raw *sql.DB, _ string) {
					secAuditSwap(t, engine, raw, signIn, created)
				}, signIn, "reordered"},
				{"two neighbouring rows swapped", func(t *testing.T, raw *sql.DB, _ string) {
					secAuditSwap(t, engine, raw, created, created+1)
				}, created, "reordered"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					cp := copyOf(t)
					craw := sqltest.Raw(t, cp)
					tt.tamper(t, craw, cp)
					var before int64
					if err := craw.QueryRow(sqltest.Rebind(engine, `SELECT count(*) FROM audit_log WHERE id < ?`), tt.row).Scan(&before); err != nil {
						t.Fatal(err)
					}
					out, err := secCLI(t, "audit", "verify", "--db", cp)
					if err == nil || zhufang.ErrorCode(err) != zhufang.ECONFLICT {
						t.Errorf("audit verify of a tampered trail returned %v, want the broken-chain error", err)
					}
					want := fmt.Sprintf("audit chain BROKEN at row %d (%d rows before it verify): ", tt.row, before)
					if !strings.HasPrefix(out, want) || !strings.Contains(out, tt.reason) || strings.Count(out, "\n") != 1 {
						t.Errorf("audit verify printed %q, want one line starting %q and saying %q", out, want, tt.reason)
					}
				})
			}

			// As a shell sees it: exit status 1, the break on standard
			// output, the error on standard error.
			t.Run("exit status", func(t *testing.T) {
				cp := copyOf(t)
				secAuditExec(t, engine, sqltest.Raw(t, cp), `DELETE FROM audit_log WHERE id = ?`, created)
				code, stdout, stderr, _ := runMain(t, "audit", "verify", "--db", cp)
				if code != 1 || !strings.Contains(stdout, fmt.Sprintf("BROKEN at row %d ", created+1)) || !strings.Contains(stderr, "audit chain is broken") {
					t.Errorf("exit %d, stdout %q, stderr %q; want 1, BROKEN at row %d, and the error", code, stdout, stderr, created+1)
				}
				code, stdout, _, _ = runMain(t, "audit", "verify", "--db", dsn)
				if code != 0 || !strings.Contains(stdout, "intact") {
					t.Errorf("untouched trail: exit %d, stdout %q; want 0 and intact", code, stdout)
				}
			})
		})
	}
}
