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
	"zhufang/auditkey"
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
// copy of the trail: a copy of the SQLite file beside it (so that both
// have the same key folder), or on PostgreSQL a second schema, migrated
// once, whose audit_log and audit_chain are refilled from the original.
func secAuditCopier(t *testing.T, engine sqlstore.Engine, dsn string) func(t *testing.T) string {
	t.Helper()
	if engine == sqlstore.SQLite {
		n := 0
		return func(t *testing.T) string {
			t.Helper()
			n++
			cp := filepath.Join(filepath.Dir(dsn), fmt.Sprintf("copy%d.db", n))
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
		for _, table := range []string{"audit_log", "audit_chain"} {
			if _, err := raw.Exec(`DELETE FROM ` + table); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`INSERT INTO ` + table + ` SELECT * FROM ` + secSchema(t, dsn) + `.` + table); err != nil {
				t.Fatal(err)
			}
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
			var head string
			if err := raw.QueryRow(sqltest.Rebind(engine, `SELECT hash FROM audit_log WHERE id = ?`), last).Scan(&head); err != nil {
				t.Fatal(err)
			}
			out, err := secCLI(t, "audit", "verify", "--db", dsn)
			if want := fmt.Sprintf("audit chain intact: %d rows verified\n", rows); err != nil || !strings.HasPrefix(out, want) ||
				!strings.Contains(out, fmt.Sprintf(": %d rows up to ID %d\n", rows, last)) {
				t.Fatalf("audit verify of the untouched trail: %q, %v; want %q and the checkpoint of its head", out, err, want)
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
				tamper func(t *testing.T, raw *sql.DB, dsn string) []string // extra flags for verify
				row    int64                                                // the row the first finding names
				reason string                                               // what it must say about it
				also   string                                               // what a later finding must say, if anything
			}{
				{"a row's detail modified", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditExec(t, engine, raw, `UPDATE audit_log SET detail = 'received → closed' WHERE id = ?`, moved)
					return nil
				}, moved, "modified", ""},
				{"a row's actor modified", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditExec(t, engine, raw, `UPDATE audit_log SET actor = 'someone else' WHERE id = ?`, signIn)
					return nil
				}, signIn, "modified", ""},
				{"a row's time moved by a second", func(t *testing.T, raw *sql.DB, _ string) []string {
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
					return nil
				}, created, "modified", ""},
				// Whoever knows the unkeyed rule can rehash the row they
				// changed, and every row after it: the key is what they lack.
				{"a row modified and its own hash recomputed", func(t *testing.T, raw *sql.DB, dsn string) []string {
					secAuditRehash(t, engine, raw, dsn, moved, false)
					return nil
				}, moved, "rehashed by someone without the key", ""},
				{"a middle row rewritten and every later hash recomputed", func(t *testing.T, raw *sql.DB, dsn string) []string {
					secAuditRehash(t, engine, raw, dsn, moved, true)
					return nil
				}, moved, "rehashed by someone without the key", fmt.Sprintf("the database's row %d has hash", last)},
				{"a middle row deleted", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id = ?`, created)
					return nil
				}, created + 1, "missing", ""},
				{"the first row deleted", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id = 1`)
					return nil
				}, 2, "missing", ""},
				{"a middle row deleted and the rest renumbered", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id = ?`, created)
					secAuditExec(t, engine, raw, `UPDATE audit_log SET id = -id WHERE id > ?`, created)
					secAuditExec(t, engine, raw, `UPDATE audit_log SET id = -id - 1 WHERE id < 0`)
					return nil
				}, created, "reordered", fmt.Sprintf("rows up to ID %d with head", last)},
				{"two rows swapped", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditSwap(t, engine, raw, signIn, created)
					return nil
				}, signIn, "reordered", ""},
				{"two neighbouring rows swapped", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditSwap(t, engine, raw, created, created+1)
					return nil
				}, created, "reordered", ""},
				{"the tail deleted", func(t *testing.T, raw *sql.DB, _ string) []string {
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id > ?`, last-3)
					return nil
				}, 0, fmt.Sprintf("the chain gave IDs up to %d, but its last row is %d", last, last-3),
					fmt.Sprintf("rows up to ID %d with head %s; the database has only %d, up to ID %d", last, head, rows-3, last-3)},
				// Rows written to a copy sign checkpoints of its own: each
				// gets its own copy of the key folder, so that the trail and
				// the other copies keep theirs.
				{"the tail deleted, then rows written", func(t *testing.T, raw *sql.DB, dsn string) []string {
					keys := secAuditKeys(t, dsn)
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id > ?`, last-3)
					secAuditAddUser(t, dsn, keys, "later")
					return []string{"--audit-keys", keys}
				}, last + 1, fmt.Sprintf("rows are missing before this one (ID %d expected, %d found)", last-2, last+1),
					"the database has no row "},
				{"the tail deleted, the high-water mark lowered, then rows written", func(t *testing.T, raw *sql.DB, dsn string) []string {
					keys := secAuditKeys(t, dsn)
					secAuditExec(t, engine, raw, `DELETE FROM audit_log WHERE id > ?`, last-3)
					secAuditExec(t, engine, raw, `UPDATE audit_chain SET head_id = ?, head_hash = (SELECT hash FROM audit_log WHERE id = ?)`, last-3, last-3)
					for _, u := range []string{"later1", "later2", "later3"} {
						secAuditAddUser(t, dsn, keys, u)
					}
					return []string{"--audit-keys", keys}
				}, 0, "; the database's row ", "the ID was given again"},
				{"the chain's ID changed, and its keyed rows passed off as unkeyed, to escape its checkpoints", func(t *testing.T, raw *sql.DB, dsn string) []string {
					secAuditExec(t, engine, raw, `UPDATE audit_chain SET chain_id = 'ffffffffffffffffffffffffffffffff', keyed_from = 0, key_id = ''`)
					secAuditRehash(t, engine, raw, dsn, 1, true) // every row, so that all verify by the unkeyed rule
					return nil
				}, 0, "holds no checkpoint of chain ffffffffffffffffffffffffffffffff", ""},
				{"a checkpoint altered", func(t *testing.T, raw *sql.DB, _ string) []string {
					return []string{"--checkpoints", secAuditForge(t, engine, dsn, raw)}
				}, 0, "signature does not verify", ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					cp := copyOf(t)
					craw := sqltest.Raw(t, cp)
					flags := tt.tamper(t, craw, cp)
					var before, total int64
					if err := craw.QueryRow(sqltest.Rebind(engine, `SELECT count(*) FROM audit_log WHERE id < ?`), tt.row).Scan(&before); err != nil {
						t.Fatal(err)
					}
					if err := craw.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&total); err != nil {
						t.Fatal(err)
					}
					if tt.row == 0 {
						before = total // no row breaks the chain: something outside it does not fit
					}
					out, err := secCLI(t, append([]string{"audit", "verify", "--db", cp}, flags...)...)
					if err == nil || zhufang.ErrorCode(err) != zhufang.ECONFLICT {
						t.Errorf("audit verify of a tampered trail returned %v, want the broken-chain error", err)
					}
					head, rest, _ := strings.Cut(out, "\n")
					first, _, _ := strings.Cut(rest, "\n")
					wantHead := fmt.Sprintf("; %d of %d rows verify before the first break", before, total)
					wantFirst := "  "
					if tt.row != 0 {
						wantFirst = fmt.Sprintf("row %d: ", tt.row)
					}
					if !strings.HasPrefix(head, "audit chain BROKEN: ") || !strings.HasSuffix(head, wantHead) ||
						!strings.Contains(first, wantFirst) || !strings.Contains(first, tt.reason) || !strings.Contains(rest, tt.also) {
						t.Errorf("audit verify printed\n%s\nwant a first line ending %q, a first finding %q ... %q, and %q", out, wantHead, wantFirst, tt.reason, tt.also)
					}
				})
			}

			// As a shell sees it: exit status 1, the findings on standard
			// output, the error on standard error.
			t.Run("exit status", func(t *testing.T) {
				cp := copyOf(t) // changed, but not written to: the trail's key folder
				secAuditExec(t, engine, sqltest.Raw(t, cp), `DELETE FROM audit_log WHERE id = ?`, created)
				code, stdout, stderr, _ := runMain(t, "audit", "verify", "--db", cp)
				if code != 1 || !strings.Contains(stdout, fmt.Sprintf("missing: row %d: ", created+1)) || !strings.Contains(stderr, "audit chain is broken") {
					t.Errorf("exit %d, stdout %q, stderr %q; want 1, missing: row %d, and the error", code, stdout, stderr, created+1)
				}
				code, stdout, _, _ = runMain(t, "audit", "verify", "--db", dsn)
				if code != 0 || !strings.Contains(stdout, "intact") {
					t.Errorf("untouched trail: exit %d, stdout %q; want 0 and intact", code, stdout)
				}
			})

			// Without the key a keyed chain is not said to verify.
			t.Run("no key", func(t *testing.T) {
				empty := t.TempDir()
				out, err := secCLI(t, "audit", "verify", "--db", dsn, "--audit-keys", empty)
				if zhufang.ErrorCode(err) != zhufang.EINVALID || !strings.Contains(oneLine(err), "needs its HMAC key") ||
					!strings.Contains(oneLine(err), empty+" holds no hmac.key") || out != "" {
					t.Errorf("verify without the key: %q, %v; want a clear error naming the folder", out, err)
				}
			})
		})
	}
}

// secAuditRehash changes row id's detail as someone with the database and
// zhufang's source but not the key would: its hash recomputed by the
// unkeyed rule, and with all, every later row's too, each linked to the one
// before, and the chain's head moved to match.
func secAuditRehash(t *testing.T, engine sqlstore.Engine, raw *sql.DB, dsn string, id int64, all bool) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	es, err := db.FindAudit(context.Background(), zhufang.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		switch {
		case e.ID < id:
			prev = e.Hash
			continue
		case e.ID == id:
			e.Detail = "received → closed"
		case !all:
			return
		}
		e.PrevHash, e.Hash = prev, ""
		e.Hash = e.ComputeHash()
		secAuditExec(t, engine, raw, `UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?`, e.Detail, e.PrevHash, e.Hash, e.ID)
		secAuditExec(t, engine, raw, `UPDATE audit_chain SET head_hash = ? WHERE head_id = ?`, e.Hash, es[0].ID)
		prev = e.Hash
	}
}

// secAuditForge copies the checkpoints of the trail at dsn to a new file
// with its newest checkpoint changed to say the chain held more rows, and
// returns the file.
func secAuditForge(t *testing.T, engine sqlstore.Engine, dsn string, raw *sql.DB) string {
	t.Helper()
	var chain string
	if err := raw.QueryRow(`SELECT chain_id FROM audit_chain`).Scan(&chain); err != nil {
		t.Fatal(err)
	}
	dir, err := auditKeyDir(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], " chain="+chain+" ") {
			before := lines[i]
			lines[i] = strings.Replace(lines[i], " count=", " count=1", 1)
			if lines[i] == before {
				t.Fatal("the checkpoint was not changed")
			}
			return writeFile(t, t.TempDir(), "checkpoints", strings.Join(lines, "\n")+"\n")
		}
	}
	t.Fatalf("no checkpoint of chain %s in %s", chain, dir)
	return ""
}

// secAuditKeys copies the key folder of the trail at dsn, checkpoints and
// all, to a new folder and returns it.
func secAuditKeys(t *testing.T, dsn string) string {
	t.Helper()
	dir, err := auditKeyDir(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "keys")
	if err := os.CopyFS(to, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hmac.key", "checkpoint.key"} { // CopyFS makes every file 0644
		if err := os.Chmod(filepath.Join(to, secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// secAuditAddUser adds a user to dsn with the audit keys in the folder keys.
func secAuditAddUser(t *testing.T, dsn, keys, username string) {
	t.Helper()
	pw := writeFile(t, t.TempDir(), "pw", secPassword+"\n")
	if _, err := secCLI(t, "user", "add", "--db", dsn, "--audit-keys", keys, "--name", username, "--role", "analyst",
		"--scope", "city", "--password-file", pw, username); err != nil {
		t.Fatalf("user add %s: %v", username, err)
	}
}

// TestServeSignsAuditHead: serve's leader signs the audit chain's head when
// it stops, so that rows only the server wrote (a sign-in) are vouched for
// outside the database, and audit verify holds the chain against them.
func TestServeSignsAuditHead(t *testing.T) {
	t.Parallel()
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	args := demoArgs(t, dsn)
	secAddUser(t, dsn, "disp", zhufang.RoleDispatcher)
	base, stop := startServe(t, args...)
	secAPISignIn(t, secNewClient(t, &secServer{base: base, dsn: dsn}), "disp", secPassword)
	if err := stop(); err != nil {
		t.Fatalf("serve ended with %v", err)
	}
	var last int64
	var head, chain string
	raw := sqltest.Raw(t, dsn)
	if err := raw.QueryRow(`SELECT id, hash, (SELECT chain_id FROM audit_chain) FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&last, &head, &chain); err != nil {
		t.Fatal(err)
	}
	var action string
	if err := raw.QueryRow(`SELECT action FROM audit_log WHERE id = ?`, last).Scan(&action); err != nil || action != zhufang.AuditSignIn {
		t.Fatalf("the last row is %q (%v), want the sign-in", action, err)
	}
	dir, _ := auditKeyDir(dsn, "")
	keys, err := auditkey.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cps, bad, err := auditkey.ReadCheckpoints(keys.CheckpointPath(), keys.Public)
	if err != nil || len(bad) > 0 || len(cps) == 0 {
		t.Fatalf("checkpoints: %d, %v, %v", len(cps), bad, err)
	}
	if cp := cps[len(cps)-1]; cp.Chain != chain || cp.HeadID != last || cp.HeadHash != head {
		t.Errorf("the last checkpoint is %+v; want chain %s up to row %d, the sign-in, with head %s", cp, chain, last, head)
	}
	if out, err := secCLI(t, "audit", "verify", "--db", dsn); err != nil || !strings.Contains(out, fmt.Sprintf("rows up to ID %d\n", last)) {
		t.Errorf("audit verify: %q, %v", out, err)
	}
}
