package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// signInFrom tries a name and password from an address.
func signInFrom(db *sqlstore.DB, addr, name, password string) error {
	ctx := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{Address: addr})
	_, err := db.Authenticate(ctx, name, password)
	return err
}

// answerOf is what the outside sees of an attempt's error.
type answerOf struct{ Code, Message string }

func answer(err error) answerOf { return answerOf{zhufang.ErrorCode(err), zhufang.ErrorMessage(err)} }

const wrongPassword = "not the password"

// TestStrangerCannotLockOutUser: a stranger who guesses at an account from
// one address, ten times and more, then one guess each time the lock ends
// and many refused ones in between, for hours, never keeps the real user
// out: from another address the right password is checked at once every
// time. The stranger's own lock ends on time: refused guesses do not
// extend it.
func TestStrangerCannotLockOutUser(t *testing.T) {
	const stranger, user = "203.0.113.9", "198.51.100.7"
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			db, clock, _ := clockDB(t, engine, smallCity())
			createUser(t, db, "dispatcher", zhufang.RoleDispatcher, zhufang.Scope{Level: zhufang.ScopeCity})
			userGetsIn := func(t *testing.T, when string) {
				t.Helper()
				if err := signInFrom(db, user, "dispatcher", testPassword); err != nil {
					t.Fatalf("%s: the real user from another address: %v, want signed in at once", when, err)
				}
			}
			// Ten counted failures, each as soon as the stranger may.
			for counted := 0; counted < zhufang.LockAttempts; {
				switch err := signInFrom(db, stranger, "dispatcher", wrongPassword); zhufang.ErrorCode(err) {
				case zhufang.EUNAUTHORIZED:
					counted++
					if counted == zhufang.FreeAttempts {
						userGetsIn(t, "after the stranger's free attempts")
					}
				case zhufang.ETOOMANY:
					clock.Advance(time.Second)
				default:
					t.Fatalf("the stranger's guess: %v", err)
				}
			}
			wantCode(t, signInFrom(db, stranger, "dispatcher", testPassword), zhufang.ETOOMANY, "locked")
			userGetsIn(t, "with the stranger's address locked")
			lockedAt := clock.Now()
			// Hours of one guess as each lock ends and a refused one every minute.
			for clock.Now().Sub(lockedAt) < 4*time.Hour {
				for range 14 {
					clock.Advance(time.Minute)
					wantCode(t, signInFrom(db, stranger, "dispatcher", wrongPassword), zhufang.ETOOMANY, "")
				}
				clock.Advance(time.Minute)
				if err := signInFrom(db, stranger, "dispatcher", wrongPassword); zhufang.ErrorCode(err) != zhufang.EUNAUTHORIZED {
					t.Fatalf("%s into the attack: the stranger's guess as the lock ends: %v, want it checked (refused guesses extended the lock)",
						clock.Now().Sub(lockedAt), err)
				}
				userGetsIn(t, fmt.Sprintf("%s into the attack", clock.Now().Sub(lockedAt)))
			}
			// The stranger's last guess locked its address for 15 minutes, no more.
			clock.Advance(zhufang.LockDuration - time.Second)
			wantCode(t, signInFrom(db, stranger, "dispatcher", testPassword), zhufang.ETOOMANY, "locked")
			clock.Advance(time.Second)
			if err := signInFrom(db, stranger, "dispatcher", testPassword); err != nil {
				t.Fatalf("the right password from the locked address once its lock is over: %v", err)
			}
		})
	}
}

// TestThrottleSurvivesRestart: failures are kept in the database for a
// name no one has exactly as for a real one, so after a restart the two
// still answer alike, and the lock still holds.
func TestThrottleSurvivesRestart(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, clock, dsn := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			for range zhufang.LockAttempts {
				for _, name := range []string{"tang.ming", "no.such.name"} {
					wantCode(t, signInFrom(db, "10.0.0.1", name, wrongPassword), zhufang.EUNAUTHORIZED, "")
				}
				clock.Advance(2 * time.Minute) // past every delay before the lock
			}
			before := answer(signInFrom(db, "10.0.0.1", "tang.ming", testPassword))
			if before.Code != zhufang.ETOOMANY {
				t.Fatalf("before the restart the real name answers %v, want it locked", before)
			}
			db.Close()
			db2, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			clock.Advance(time.Minute)
			real := answer(signInFrom(db2, "10.0.0.1", "tang.ming", testPassword))
			ghost := answer(signInFrom(db2, "10.0.0.1", "no.such.name", testPassword))
			if diff := cmp.Diff(real, ghost); diff != "" {
				t.Errorf("after a restart a real name and an unknown one answer differently (-real +unknown):\n%s", diff)
			}
			if real.Code != zhufang.ETOOMANY {
				t.Errorf("after a restart the locked name answers %v, want still locked", real)
			}
		})
	}
}

// TestDisabledAnsweredAsWrong: a disabled account's right password gets
// the answer a wrong password gets, and is counted by the throttle the
// same way; only the audit trail says which it was.
func TestDisabledAnsweredAsWrong(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _, dsn := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			createUser(t, db, "wang.qiang", zhufang.RoleStationChief, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1})
			if err := db.SetUserDisabled(ctx, "tang.ming", true); err != nil {
				t.Fatal(err)
			}
			for i := range zhufang.FreeAttempts + 1 {
				disabled := answer(signInFrom(db, "10.0.0.1", "tang.ming", testPassword))
				wrong := answer(signInFrom(db, "10.0.0.1", "wang.qiang", wrongPassword))
				if diff := cmp.Diff(wrong, disabled); diff != "" {
					t.Fatalf("attempt %d: a disabled account's right password is answered unlike a wrong password (-wrong +disabled):\n%s", i+1, diff)
				}
			}
			var n int
			raw := sqltest.Raw(t, dsn)
			if err := raw.QueryRow(sqltest.Rebind(engine, `SELECT count(*) FROM audit_log WHERE actor = ? AND action = ? AND detail = ?`),
				"tang.ming", zhufang.AuditSignInFailed, "account disabled").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != zhufang.FreeAttempts {
				t.Errorf("the audit trail records %d refusals of the disabled account, want %d", n, zhufang.FreeAttempts)
			}
		})
	}
}

// TestSprayFromOneAddress: one address trying a password over many names
// is stopped after SourceLockAttempts failures within the window, even on a
// name whose right password it then sends, unless it signed in to that
// name before; another address is not held back.
func TestSprayFromOneAddress(t *testing.T) {
	const sprayer = "203.0.113.9"
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			db, clock, _ := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			createUser(t, db, "wang.qiang", zhufang.RoleStationChief, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1})
			if err := signInFrom(db, sprayer, "wang.qiang", testPassword); err != nil {
				t.Fatal(err)
			}
			for i := range zhufang.SourceLockAttempts {
				wantCode(t, signInFrom(db, sprayer, fmt.Sprintf("name%02d", i), wrongPassword), zhufang.EUNAUTHORIZED, "")
				clock.Advance(time.Second)
			}
			wantCode(t, signInFrom(db, sprayer, "name99", wrongPassword), zhufang.ETOOMANY, "from this address")
			wantCode(t, signInFrom(db, sprayer, "tang.ming", testPassword), zhufang.ETOOMANY, "from this address")
			if err := signInFrom(db, sprayer, "wang.qiang", testPassword); err != nil {
				t.Errorf("a name the address signed in to before: %v, want signed in", err)
			}
			if err := signInFrom(db, "198.51.100.7", "tang.ming", testPassword); err != nil {
				t.Errorf("another address: %v, want signed in", err)
			}
			clock.Advance(zhufang.SourceWindow)
			if err := signInFrom(db, sprayer, "tang.ming", testPassword); err != nil {
				t.Errorf("the sprayer's address once the window is over: %v, want signed in", err)
			}
		})
	}
}

// TestGuessesFromManyAddresses: past AccountPressure failures from many
// addresses the account is slowed for addresses new to it, never locked:
// a new address's first attempt is still checked at once, an address that
// signed in before is not slowed at all, and a new address that fails must
// wait a minute rather than a second.
func TestGuessesFromManyAddresses(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			db, clock, _ := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			if err := signInFrom(db, "10.1.0.1", "tang.ming", testPassword); err != nil {
				t.Fatal(err)
			}
			for i := range zhufang.AccountPressure {
				wantCode(t, signInFrom(db, fmt.Sprintf("10.9.%d.%d", i/200, i%200+1), "tang.ming", wrongPassword), zhufang.EUNAUTHORIZED, "")
			}
			// A botnet's next address: one guess, then a minute's wait.
			wantCode(t, signInFrom(db, "10.8.0.1", "tang.ming", wrongPassword), zhufang.EUNAUTHORIZED, "")
			clock.Advance(zhufang.PressureDelay - time.Second)
			wantCode(t, signInFrom(db, "10.8.0.1", "tang.ming", testPassword), zhufang.ETOOMANY, "")
			clock.Advance(time.Second)
			if err := signInFrom(db, "10.8.0.1", "tang.ming", testPassword); err != nil {
				t.Errorf("a new address after its minute: %v, want signed in", err)
			}
			if err := signInFrom(db, "10.2.0.1", "tang.ming", testPassword); err != nil {
				t.Errorf("a new address's first attempt under pressure: %v, want signed in at once", err)
			}
			for range 3 { // a known address mistyping: the ordinary free attempts
				wantCode(t, signInFrom(db, "10.1.0.1", "tang.ming", wrongPassword), zhufang.EUNAUTHORIZED, "")
			}
		})
	}
}

// TestThrottleRowsExpire: the failures of names no one has do not pile up:
// a day after the last attempt their rows are gone, while a source a user
// signed in from is still known.
func TestThrottleRowsExpire(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			db, clock, dsn := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			if err := signInFrom(db, "10.1.0.1", "tang.ming", testPassword); err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				signInFrom(db, fmt.Sprintf("10.9.%d.%d", i/200, i%200+1), fmt.Sprintf("ghost%03d", i), wrongPassword)
			}
			raw := sqltest.Raw(t, dsn)
			rows := func() (n int) {
				t.Helper()
				if err := raw.QueryRow(`SELECT count(*) FROM sign_in_throttle`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if n := rows(); n < 120 {
				t.Fatalf("%d rows after 40 failures, want 3 each", n)
			}
			clock.Advance(zhufang.ForgetAfter + time.Minute)
			if err := signInFrom(db, "10.1.0.1", "tang.ming", testPassword); err != nil {
				t.Fatal(err)
			}
			// The known pair and the rows of this last sign-in.
			if n := rows(); n > 3 {
				t.Errorf("%d rows a day after the failures, want at most 3", n)
			}
		})
	}
}

// TestSignInsAtOnce: right and wrong passwords for one name, from one
// address and from others, sent together with a password reset, are each
// answered (signed in, wrong, or wait) without a deadlock or other error.
func TestSignInsAtOnce(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			db, _, _ := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			errs := make([]error, 16)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() {
					password := testPassword
					if i%2 == 1 {
						password = wrongPassword
					}
					errs[i] = signInFrom(db, fmt.Sprintf("10.0.0.%d", i%3), "tang.ming", password)
				})
			}
			wg.Go(func() {
				if err := db.SetPassword(context.Background(), "tang.ming", testPassword); err != nil {
					t.Errorf("password reset among the sign-ins: %v", err)
				}
			})
			wg.Wait()
			signedIn := 0
			for i, err := range errs {
				switch zhufang.ErrorCode(err) {
				case "":
					signedIn++
				case zhufang.EUNAUTHORIZED, zhufang.ETOOMANY:
				default:
					t.Errorf("attempt %d: %v", i, err)
				}
			}
			if signedIn == 0 {
				t.Error("no right password got in")
			}
		})
	}
}
