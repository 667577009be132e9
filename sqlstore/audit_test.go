package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// auditIDs returns the IDs of entries, in their order.
func auditIDs(es []*zhufang.AuditEntry) []int64 {
	ids := []int64{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestAuditTrail: signing in and changing records as a user writes one
// chained entry each, with the user's name and address; a refused change
// writes none.
func TestAuditTrail(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			sys := context.Background()
			db, clock, _ := clockDB(t, engine, smallCity())
			t0 := clock.Now()
			admin := createUser(t, db, "admin", zhufang.RoleAdmin, zhufang.Scope{Level: zhufang.ScopeCity})
			disp := createUser(t, db, "li.na", zhufang.RoleDispatcher, zhufang.Scope{Level: zhufang.ScopeCity})

			clock.Advance(time.Minute)
			from := zhufang.NewContextWithActor(sys, &zhufang.Actor{Address: "10.0.0.1"})
			_, err := db.Authenticate(from, "li.na", "not the password")
			wantCode(t, err, zhufang.EUNAUTHORIZED, "")
			if _, err := db.Authenticate(from, "li.na", testPassword); err != nil {
				t.Fatal(err)
			}

			clock.Advance(time.Minute)
			as := zhufang.NewContextWithActor(sys, &zhufang.Actor{User: disp, Address: "10.0.0.1"})
			inc := prepared()
			if err := db.CreateIncident(as, inc, "li.na"); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
			if _, err := db.TransitionIncident(as, inc.ID, zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "li.na"}); err != nil {
				t.Fatal(err)
			}
			// Refused changes leave no trace in the trail.
			_, err = db.TransitionIncident(as, inc.ID, zhufang.TransitionRequest{To: zhufang.StateClosed, Actor: "li.na"})
			wantCode(t, err, zhufang.ECONFLICT, "")
			wantCode(t, db.CreateUser(sys, &zhufang.User{Username: "li.na", Name: "x", Role: zhufang.RoleAnalyst,
				Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword), zhufang.ECONFLICT, "")

			minute := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
			userRec, incRec := fmt.Sprintf("user:%d", disp.ID), fmt.Sprintf("incident:%d", inc.ID)
			want := []*zhufang.AuditEntry{
				{ID: 6, At: minute(3), Actor: "li.na", UserID: disp.ID, Action: zhufang.AuditIncidentState, Record: incRec,
					Address: "10.0.0.1", Detail: "received → dispatched"},
				{ID: 5, At: minute(2), Actor: "li.na", UserID: disp.ID, Action: zhufang.AuditIncidentCreate, Record: incRec,
					Address: "10.0.0.1", Detail: "200100 street"},
				{ID: 4, At: minute(1), Actor: "li.na", UserID: disp.ID, Action: zhufang.AuditSignIn, Record: userRec, Address: "10.0.0.1"},
				{ID: 3, At: minute(1), Actor: "li.na", UserID: disp.ID, Action: zhufang.AuditSignInFailed, Record: userRec, Address: "10.0.0.1"},
				{ID: 2, At: minute(0), Actor: "system", Action: zhufang.AuditUserCreate, Record: userRec, Detail: "dispatcher city"},
				{ID: 1, At: minute(0), Actor: "system", Action: zhufang.AuditUserCreate, Record: fmt.Sprintf("user:%d", admin.ID), Detail: "admin city"},
			}
			got, err := db.FindAudit(sys, zhufang.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(zhufang.AuditEntry{}, "PrevHash", "Hash")); diff != "" {
				t.Fatalf("audit trail (-want +got):\n%s", diff)
			}
			// Each entry carries its own hash and its predecessor's.
			prev := ""
			for i := len(got) - 1; i >= 0; i-- {
				e := got[i]
				if e.PrevHash != prev || e.Hash != e.ComputeHash() || len(e.Hash) != 64 {
					t.Errorf("entry %d: prev_hash %q (want %q), hash %q (want %q)", e.ID, e.PrevHash, prev, e.Hash, e.ComputeHash())
				}
				prev = e.Hash
			}
			b, n, err := db.VerifyAudit(sys)
			if err != nil || b != nil || n != 6 {
				t.Fatalf("VerifyAudit of an intact chain = %+v, %d, %v; want no break and 6 rows checked", b, n, err)
			}

			for _, tc := range []struct {
				name   string
				filter zhufang.AuditFilter
				want   []int64
			}{
				{"everything", zhufang.AuditFilter{}, []int64{6, 5, 4, 3, 2, 1}},
				{"by actor", zhufang.AuditFilter{Actor: "li.na"}, []int64{6, 5, 4, 3}},
				{"by the system", zhufang.AuditFilter{Actor: "system"}, []int64{2, 1}},
				{"by an actor with no entries", zhufang.AuditFilter{Actor: "li"}, []int64{}},
				{"by record: the incident", zhufang.AuditFilter{Record: incRec}, []int64{6, 5}},
				{"by record: the user", zhufang.AuditFilter{Record: userRec}, []int64{4, 3, 2}},
				{"by action", zhufang.AuditFilter{Action: zhufang.AuditSignIn}, []int64{4}},
				{"from a time on", zhufang.AuditFilter{From: minute(2)}, []int64{6, 5}},
				{"before a time", zhufang.AuditFilter{To: minute(1)}, []int64{2, 1}},
				{"in a range, end excluded", zhufang.AuditFilter{From: minute(1), To: minute(3)}, []int64{5, 4, 3}},
				{"a range between entries", zhufang.AuditFilter{From: minute(1).Add(time.Second), To: minute(2)}, []int64{}},
				{"actor, action and range together", zhufang.AuditFilter{Actor: "li.na", Action: zhufang.AuditSignInFailed, From: minute(1), To: minute(2)}, []int64{3}},
				{"first page", zhufang.AuditFilter{Limit: 2}, []int64{6, 5}},
				{"second page", zhufang.AuditFilter{Limit: 2, Offset: 2}, []int64{4, 3}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := db.FindAudit(sys, tc.filter)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tc.want, auditIDs(got)); diff != "" {
						t.Errorf("entries (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

// TestAuditTamper changes the audit table behind the store's back, as
// someone with the database's password could, and checks that
// VerifyAudit finds the first row that no longer fits.
func TestAuditTamper(t *testing.T) {
	const rows = 6
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *sqlstore.DB, raw *sql.DB, engine sqlstore.Engine)
		breakID int64
		checked int64
		reason  string
	}{
		{"a detail changed", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			rawExec(t, raw, e, `UPDATE audit_log SET detail = 'nothing happened' WHERE id = 3`)
		}, 3, 2, "modified"},
		{"the first row's actor changed", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			rawExec(t, raw, e, `UPDATE audit_log SET actor = 'someone else' WHERE id = 1`)
		}, 1, 0, "modified"},
		{"a time changed", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			rawExec(t, raw, e, `UPDATE audit_log SET at = '2026-03-01T07:00:00.000000Z' WHERE id = 4`)
		}, 4, 3, "modified"},
		{"a middle row deleted", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			rawExec(t, raw, e, `DELETE FROM audit_log WHERE id = 3`)
		}, 4, 2, "missing"},
		{"the first row deleted", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			rawExec(t, raw, e, `DELETE FROM audit_log WHERE id = 1`)
		}, 2, 0, "missing"},
		{"two rows swapped", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			swapAuditRows(t, raw, e, 2, 5)
		}, 2, 1, "does not follow"},
		{"neighbours swapped", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			swapAuditRows(t, raw, e, 3, 4)
		}, 3, 2, "does not follow"},
		{"the last row's hash changed", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			rawExec(t, raw, e, `UPDATE audit_log SET hash = ? WHERE id = ?`, strings.Repeat("0", 64), rows)
		}, rows, rows - 1, "modified"},
		// Whoever knows the hash function can rehash the row they changed;
		// the next row still points at the old hash.
		{"a row changed and rehashed", func(t *testing.T, db *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			es, err := db.FindAudit(context.Background(), zhufang.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			forged := *es[rows-3] // ID 3
			forged.Detail = "nothing happened"
			rawExec(t, raw, e, `UPDATE audit_log SET detail = ?, hash = ? WHERE id = ?`, forged.Detail, forged.ComputeHash(), forged.ID)
		}, 4, 3, "does not follow"},
		{"a row appended outside the store", func(t *testing.T, _ *sqlstore.DB, raw *sql.DB, e sqlstore.Engine) {
			rawExec(t, raw, e, `INSERT INTO audit_log (id, at, actor, user_id, action, record, address, detail, prev_hash, hash)
				VALUES (?, '2026-03-01T09:00:00.000000Z', 'admin', 0, 'user_create', 'user:9', '', '', '', '')`, rows+1)
		}, rows + 1, rows, "does not follow"},
	}
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					db, clock, dsn := clockDB(t, engine, nil)
					for i := range rows {
						clock.Advance(time.Second)
						actx := zhufang.NewContextWithActor(ctx, &zhufang.Actor{User: &zhufang.User{ID: int64(i + 1), Username: fmt.Sprintf("user%d", i)}, Address: "10.0.0.9"})
						if err := db.RecordAudit(actx, zhufang.AuditViewPersonal, fmt.Sprintf("incident:%d", i+1), "caller phone"); err != nil {
							t.Fatal(err)
						}
					}
					if b, n, err := db.VerifyAudit(ctx); b != nil || n != rows || err != nil {
						t.Fatalf("before tampering: %+v, %d, %v", b, n, err)
					}
					raw := sqltest.Raw(t, dsn)
					defer raw.Close()
					tc.tamper(t, db, raw, engine)
					b, n, err := db.VerifyAudit(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if b == nil {
						t.Fatalf("VerifyAudit found no break after tampering (%d rows checked)", n)
					}
					type result struct{ BreakID, Checked int64 }
					if diff := cmp.Diff(result{tc.breakID, tc.checked}, result{b.ID, n}); diff != "" {
						t.Errorf("VerifyAudit (-want +got):\n%s\nreason: %s", diff, b.Reason)
					}
					if !strings.Contains(b.Reason, tc.reason) {
						t.Errorf("reason %q does not say %q", b.Reason, tc.reason)
					}
				})
			}
		})
	}
}

// swapAuditRows exchanges two rows' places in the chain: each row keeps its
// content and takes the other's ID.
func swapAuditRows(t *testing.T, raw *sql.DB, engine sqlstore.Engine, a, b int64) {
	t.Helper()
	rawExec(t, raw, engine, `UPDATE audit_log SET id = -1 WHERE id = ?`, a)
	rawExec(t, raw, engine, `UPDATE audit_log SET id = ? WHERE id = ?`, a, b)
	rawExec(t, raw, engine, `UPDATE audit_log SET id = ? WHERE id = -1`, b)
}

// TestAuditConcurrentWriters: entries written at once by many requests
// (on several nodes, for PostgreSQL) still form one unbroken chain.
func TestAuditConcurrentWriters(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _, _ := clockDB(t, engine, nil)
			const writers, each = 8, 5
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for w := range writers {
				wg.Go(func() {
					actx := zhufang.NewContextWithActor(ctx, &zhufang.Actor{User: &zhufang.User{ID: int64(w + 1), Username: fmt.Sprintf("user%d", w)}})
					for i := range each {
						if err := db.RecordAudit(actx, zhufang.AuditViewPersonal, fmt.Sprintf("incident:%d", i), ""); err != nil {
							errs[w] = err
							return
						}
					}
				})
			}
			wg.Wait()
			for w, err := range errs {
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
			}
			b, n, err := db.VerifyAudit(ctx)
			if err != nil || b != nil || n != writers*each {
				t.Fatalf("VerifyAudit = %+v, %d, %v; want no break and %d rows", b, n, err, writers*each)
			}
		})
	}
}

// TestAuditTailAndReuse: rows deleted from the chain's tail are seen even
// without a checkpoint, and rows written after them never take their IDs.
func TestAuditTailAndReuse(t *testing.T) {
	const rows = 6
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			for _, written := range []int{0, 2} {
				t.Run(fmt.Sprintf("%d rows written after", written), func(t *testing.T) {
					ctx := context.Background()
					db, clock, dsn := clockDB(t, engine, nil)
					write := func(n int) {
						for i := range n {
							clock.Advance(time.Second)
							actx := zhufang.NewContextWithActor(ctx, &zhufang.Actor{User: &zhufang.User{ID: int64(i + 1), Username: "u"}})
							if err := db.RecordAudit(actx, zhufang.AuditViewPersonal, "incident:1", ""); err != nil {
								t.Fatal(err)
							}
						}
					}
					write(rows)
					raw := sqltest.Raw(t, dsn)
					defer raw.Close()
					rawExec(t, raw, engine, `DELETE FROM audit_log WHERE id > 4`)
					write(written)
					got, err := db.FindAudit(ctx, zhufang.AuditFilter{})
					if err != nil {
						t.Fatal(err)
					}
					want := []int64{4, 3, 2, 1}
					if written > 0 {
						want = []int64{8, 7, 4, 3, 2, 1} // 5 and 6 were given once, to the deleted rows
					}
					if diff := cmp.Diff(want, auditIDs(got)); diff != "" {
						t.Errorf("IDs (-want +got):\n%s", diff)
					}
					b, n, err := db.VerifyAudit(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if b == nil {
						t.Fatalf("VerifyAudit found nothing wrong (%d rows checked) after the tail was deleted", n)
					}
					wantID, wantSay := int64(6), "the chain gave IDs up to 6, but its last row is 4"
					if written > 0 {
						wantID, wantSay = 7, "rows are missing before this one (ID 5 expected, 7 found)"
					}
					if b.ID != wantID || n != 4 || !strings.Contains(b.Reason, wantSay) {
						t.Errorf("VerifyAudit = row %d, %d checked, %q; want row %d, 4 checked, saying %q", b.ID, n, b.Reason, wantID, wantSay)
					}
				})
			}
		})
	}
}
