package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

// testAuditKey is the HMAC key of the keyed chains below.
var testAuditKey = bytes.Repeat([]byte{0x5a}, 32)

// keyedTrail returns a database whose chain has unkeyed rows, from before
// it had a key, then keyed ones; rows in all, the last keyed.
func keyedTrail(t *testing.T, engine sqlstore.Engine, unkeyed, rows int) (*sqlstore.DB, *sql.DB, *zhufangtest.Clock, string) {
	t.Helper()
	ctx := context.Background()
	db, clock, dsn := clockDB(t, engine, nil)
	for i := range rows {
		if i == unkeyed {
			keyed, err := db.UseAuditKey(ctx, testAuditKey)
			if err != nil || !keyed {
				t.Fatalf("UseAuditKey = %v, %v; want the chain keyed now", keyed, err)
			}
		}
		clock.Advance(time.Second)
		actx := zhufang.NewContextWithActor(ctx, &zhufang.Actor{User: &zhufang.User{ID: int64(i + 1), Username: fmt.Sprintf("user%d", i)}, Address: "10.0.0.9"})
		if err := db.RecordAudit(actx, zhufang.AuditViewPersonal, fmt.Sprintf("incident:%d", i+1), "caller phone"); err != nil {
			t.Fatal(err)
		}
	}
	raw := sqltest.Raw(t, dsn)
	t.Cleanup(func() { raw.Close() })
	return db, raw, clock, dsn
}

// record writes one more audit row through the store, as the application
// does after whatever was done to the table.
func record(t *testing.T, db *sqlstore.DB, clock *zhufangtest.Clock) {
	t.Helper()
	clock.Advance(time.Second)
	actx := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{User: &zhufang.User{ID: 99, Username: "later"}})
	if err := db.RecordAudit(actx, zhufang.AuditViewPersonal, "incident:99", "later"); err != nil {
		t.Fatal(err)
	}
}

// rehashFrom rewrites row id's detail and recomputes the hash of it and of
// every row after it by the unkeyed rule, each linked to the one before:
// what someone with the database and the source code, but not the key,
// would do to hide a change.
func rehashFrom(t *testing.T, db *sqlstore.DB, raw *sql.DB, engine sqlstore.Engine, id int64, detail string) {
	t.Helper()
	es, err := db.FindAudit(context.Background(), zhufang.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		if e.ID < id {
			prev = e.Hash
			continue
		}
		if e.ID == id {
			e.Detail = detail
		}
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		rawExec(t, raw, engine, `UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?`, e.Detail, e.PrevHash, e.Hash, e.ID)
		prev = e.Hash
	}
	rawExec(t, raw, engine, `UPDATE audit_chain SET head_hash = ?`, prev)
}

// TestAuditKeyedChain: a keyed chain held against a checkpoint of its head
// names each way of hiding a change that an unkeyed chain alone misses.
func TestAuditKeyedChain(t *testing.T) {
	const unkeyed, rows = 2, 8
	type finding struct {
		Kind string
		ID   int64
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, db *sqlstore.DB, raw *sql.DB, e sqlstore.Engine, clock *zhufangtest.Clock)
		want   []finding
		says   []string // what the findings' text must say, in order
	}{
		{"untouched", func(*testing.T, *sqlstore.DB, *sql.DB, sqlstore.Engine, *zhufangtest.Clock) {}, nil, nil},
		{"the tail deleted", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine, _ *zhufangtest.Clock) {
			rawExec(t, raw, e, `DELETE FROM audit_log WHERE id > 5`)
		}, []finding{{zhufang.AuditMissing, 8}, {zhufang.AuditMissing, 8}}, []string{
			"the chain gave IDs up to 8, but its last row is 5",
			"says 8 rows up to ID 8 with head ", "the database has only 5, up to ID 5"}},
		{"the tail deleted and the high-water mark lowered to match", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine, _ *zhufangtest.Clock) {
			rawExec(t, raw, e, `DELETE FROM audit_log WHERE id > 5`)
			rawExec(t, raw, e, `UPDATE audit_chain SET head_id = 5, head_hash = (SELECT hash FROM audit_log WHERE id = 5)`)
		}, []finding{{zhufang.AuditMissing, 8}}, []string{"the database has only 5, up to ID 5: rows were deleted from the tail"}},
		{"a middle row rewritten and every later hash recomputed by the unkeyed rule", func(t *testing.T, db *sqlstore.DB, raw *sql.DB, e sqlstore.Engine, _ *zhufangtest.Clock) {
			rehashFrom(t, db, raw, e, 4, "nothing happened")
		}, []finding{{zhufang.AuditAltered, 4}, {zhufang.AuditReused, 8}}, []string{
			"row 4: its keyed hash does not match its content", "the database's row 8 has hash"}},
		{"the tail deleted, then rows written: their IDs are new", func(t *testing.T, db *sqlstore.DB, raw *sql.DB, e sqlstore.Engine, clock *zhufangtest.Clock) {
			rawExec(t, raw, e, `DELETE FROM audit_log WHERE id > 5`)
			record(t, db, clock)
			record(t, db, clock)
		}, []finding{{zhufang.AuditMissing, 9}, {zhufang.AuditMissing, 8}}, []string{
			"row 9: rows are missing before this one (ID 6 expected, 9 found)", "the database has no row 8"}},
		{"the tail deleted, the high-water mark lowered, then rows written: IDs given twice", func(t *testing.T, db *sqlstore.DB, raw *sql.DB, e sqlstore.Engine, clock *zhufangtest.Clock) {
			rawExec(t, raw, e, `DELETE FROM audit_log WHERE id > 5`)
			rawExec(t, raw, e, `UPDATE audit_chain SET head_id = 5, head_hash = (SELECT hash FROM audit_log WHERE id = 5)`)
			for range 4 {
				record(t, db, clock)
			}
		}, []finding{{zhufang.AuditReused, 8}}, []string{"the database's row 8 has hash", "the ID was given again"}},
		{"the keyed boundary moved past the head, to pass rehashed rows as unkeyed", func(t *testing.T, db *sqlstore.DB, raw *sql.DB, e sqlstore.Engine, _ *zhufangtest.Clock) {
			rehashFrom(t, db, raw, e, 4, "nothing happened")
			rawExec(t, raw, e, `UPDATE audit_chain SET keyed_from = 0, key_id = ''`)
		}, []finding{{zhufang.AuditAltered, 4}, {zhufang.AuditBadSeal, 3}, {zhufang.AuditReused, 8}}, []string{
			"row 4: its keyed hash", "says rows are keyed from ID 3; the database says 0", "row 8"}},
	}
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					db, raw, clock, _ := keyedTrail(t, engine, unkeyed, rows)
					cp, err := db.AuditHead(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if cp.Count != rows || cp.HeadID != rows || cp.KeyedFrom != unkeyed+1 || len(cp.Chain) != 32 {
						t.Fatalf("head %+v: want %d rows, keyed from %d, a chain ID", cp, rows, unkeyed+1)
					}
					tc.tamper(t, db, raw, engine, clock)
					r, err := db.CheckAudit(ctx, testAuditKey, []zhufang.AuditCheckpoint{cp})
					if err != nil {
						t.Fatal(err)
					}
					var got []finding
					var text string
					for _, f := range r.Findings {
						got = append(got, finding{f.Kind, f.ID})
						text += f.Detail + "\n"
					}
					if diff := cmp.Diff(tc.want, got); diff != "" {
						t.Errorf("findings (-want +got):\n%s\n%s", diff, text)
					}
					rest := text
					for _, s := range tc.says {
						i := strings.Index(rest, s)
						if i < 0 {
							t.Errorf("the findings do not say %q (in order):\n%s", s, text)
							break
						}
						rest = rest[i+len(s):]
					}
					if r.Checkpoint == nil || r.KeyedFrom != unkeyed+1 {
						t.Errorf("held against %+v, keyed from %d; want the checkpoint, keyed from %d", r.Checkpoint, r.KeyedFrom, unkeyed+1)
					}
					if tc.want == nil && (r.Unkeyed != unkeyed || r.Verified != rows || r.Rows != rows) {
						t.Errorf("report %+v: want %d rows verified, %d unkeyed", r, rows, unkeyed)
					}
				})
			}
		})
	}
}

// TestAuditKeyRules: a chain keyed once keeps its key; a process without
// the key neither writes to a keyed chain nor verifies it.
func TestAuditKeyRules(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _, clock, dsn := keyedTrail(t, engine, 1, 3)
			if keyed, err := db.UseAuditKey(ctx, testAuditKey); err != nil || keyed {
				t.Fatalf("the same key again: %v, %v; want accepted, not keyed anew", keyed, err)
			}
			other := bytes.Repeat([]byte{1}, 32)
			_, err := db.UseAuditKey(ctx, other)
			wantCode(t, err, zhufang.EINVALID, "is keyed with key "+zhufang.AuditKeyID(testAuditKey))
			record(t, db, clock) // the refused key changed nothing
			_, err = db.CheckAudit(ctx, nil, nil)
			wantCode(t, err, zhufang.EINVALID, "needs its HMAC key")

			// A process not given the key may not add rows no one could verify.
			keyless, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer keyless.Close()
			err = keyless.RecordAudit(zhufang.NewContextWithActor(ctx, &zhufang.Actor{}), zhufang.AuditViewPersonal, "incident:1", "")
			wantCode(t, err, zhufang.EUNAVAILABLE, "this process was not given its key")
			r, err := db.CheckAudit(ctx, testAuditKey, nil)
			if err != nil || len(r.Findings) != 0 || r.Rows != 4 || r.Unkeyed != 1 {
				t.Fatalf("CheckAudit = %+v, %v; want 4 rows, 1 unkeyed, no finding", r, err)
			}
		})
	}
}

// TestAuditOldTrail: a trail written before the chain had a key, by the
// unkeyed rule, is taken over by the migration as it is: its rows verify
// by the rule they were written with, the keyed rows after them link to
// them, and a rewrite of the old rows breaks that link.
func TestAuditOldTrail(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			for _, rewrite := range []bool{false, true} {
				t.Run(fmt.Sprintf("old rows rewritten %v", rewrite), func(t *testing.T) {
					ctx := context.Background()
					// The schema before audit_chain, and three rows as the
					// store wrote them then.
					clock := zhufangtest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
					dsn := sqltest.DSN(t, engine)
					db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Clock: clock})
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					if err := db.MigrateBefore(ctx, "audit_chain"); err != nil {
						t.Fatal(err)
					}
					raw := sqltest.Raw(t, dsn)
					defer raw.Close()
					prev := ""
					old := []*zhufang.AuditEntry{}
					for i := int64(1); i <= 3; i++ {
						e := &zhufang.AuditEntry{ID: i, At: clock.Now().Add(time.Duration(i) * time.Second), Actor: "system", Action: zhufang.AuditUserCreate,
							Record: fmt.Sprintf("user:%d", i), PrevHash: prev}
						e.Hash = e.ComputeHash()
						old = append(old, e)
						at := e.At.UTC().Format("2006-01-02T15:04:05.000000Z")
						rawExec(t, raw, engine, `INSERT INTO audit_log (id, at, actor, user_id, action, record, address, detail, prev_hash, hash)
							VALUES (?, ?, ?, 0, ?, ?, '', '', ?, ?)`, e.ID, at, e.Actor, e.Action, e.Record, e.PrevHash, e.Hash)
						prev = e.Hash
					}
					if err := db.Migrate(ctx); err != nil {
						t.Fatal(err)
					}
					if _, err := db.UseAuditKey(ctx, testAuditKey); err != nil {
						t.Fatal(err)
					}
					record(t, db, clock)
					record(t, db, clock)
					cp, err := db.AuditHead(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if rewrite {
						// Rows 2 and 3 rehashed by the unkeyed rule, as they
						// were written: right by the rule, but row 4 still
						// names the old row 3.
						prev = old[0].Hash
						for _, e := range old[1:] {
							e.Detail, e.PrevHash = "nothing happened", prev
							e.Hash = e.ComputeHash()
							rawExec(t, raw, engine, `UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?`, e.Detail, e.PrevHash, e.Hash, e.ID)
							prev = e.Hash
						}
					}
					r, err := db.CheckAudit(ctx, testAuditKey, []zhufang.AuditCheckpoint{cp})
					if err != nil {
						t.Fatal(err)
					}
					want := &zhufang.AuditReport{Chain: cp.Chain, Rows: 5, Verified: 5, Unkeyed: 3, KeyedFrom: 4, Checkpoint: &cp}
					if rewrite {
						want.Verified = 3
						want.Findings = []zhufang.AuditFinding{{Kind: zhufang.AuditAltered, ID: 4,
							Detail: "row 4: it does not follow the row before it: a row was removed, inserted or reordered"}}
					}
					if diff := cmp.Diff(want, r); diff != "" {
						t.Errorf("report (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

// TestAuditVerifyWhileWriting: checkpoints taken and the chain verified
// while rows are being written find nothing wrong: each reads one moment
// of the chain.
func TestAuditVerifyWhileWriting(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _, _ := clockDB(t, engine, nil)
			if _, err := db.UseAuditKey(ctx, testAuditKey); err != nil {
				t.Fatal(err)
			}
			const writers, each = 4, 25
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					actx := zhufang.NewContextWithActor(ctx, &zhufang.Actor{User: &zhufang.User{ID: int64(w + 1), Username: "w"}})
					for range each {
						if err := db.RecordAudit(actx, zhufang.AuditViewPersonal, "incident:1", ""); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			defer wg.Wait() // a failed check leaves the writers to finish before the database closes
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			var cps []zhufang.AuditCheckpoint
			for checks := 0; ; checks++ {
				select {
				case <-done:
					if checks == 0 {
						t.Log("the writers finished before a check")
					}
					return
				default:
				}
				cp, err := db.AuditHead(ctx)
				if err != nil {
					t.Fatal(err)
				}
				cps = append(cps, cp)
				r, err := db.CheckAudit(ctx, testAuditKey, cps)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Findings) > 0 {
					t.Fatalf("check %d while writing found %+v", checks, r.Findings)
				}
			}
		})
	}
}
