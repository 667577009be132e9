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

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

// clockDB opens a new migrated database on a clock the test moves (so that
// throttling and session lifetimes are tested without sleeping), holding
// city when it is not nil, and returns its address for raw access.
func clockDB(t *testing.T, engine sqlstore.Engine, city *zhufang.City) (*sqlstore.DB, *zhufangtest.Clock, string) {
	t.Helper()
	ctx := context.Background()
	clock := zhufangtest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	dsn := sqltest.DSN(t, engine)
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if city != nil {
		if err := db.ImportCity(ctx, city); err != nil {
			t.Fatal(err)
		}
	}
	return db, clock, dsn
}

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// createUser stores a user with testPassword as the system.
func createUser(t *testing.T, db *sqlstore.DB, username string, role zhufang.Role, scope zhufang.Scope) *zhufang.User {
	t.Helper()
	u := &zhufang.User{Username: username, Name: "测试 " + username, Role: role, Scope: scope}
	if err := db.CreateUser(context.Background(), u, testPassword); err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// rawExec runs one statement through a bare connection, with ? placeholders
// on either engine.
func rawExec(t *testing.T, raw *sql.DB, engine sqlstore.Engine, q string, args ...any) {
	t.Helper()
	q = sqltest.Rebind(engine, q)
	if _, err := raw.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestCreateUser(t *testing.T) {
	tests := []struct {
		name      string
		user      zhufang.User
		password  string
		wantScope zhufang.Scope // for a user that is stored
		code      string
		says      string
	}{
		{"city commander loses stray lower IDs",
			zhufang.User{Username: "zhang.wei", Name: "张伟", Role: zhufang.RoleCityCommander,
				Scope: zhufang.Scope{Level: zhufang.ScopeCity, BureauID: 2, StationID: 1}},
			testPassword, zhufang.Scope{Level: zhufang.ScopeCity}, "", ""},
		{"county dispatcher",
			zhufang.User{Username: "li_na", Name: "李娜", Role: zhufang.RoleDispatcher,
				Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2, CommunityID: 1}},
			testPassword, zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2}, "", ""},
		{"station chief gets the station's county",
			zhufang.User{Username: "wang-qiang", Name: "王强", Role: zhufang.RoleStationChief,
				Scope: zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1, BureauID: 99, CommunityID: 2}},
			testPassword, zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 2, StationID: 1}, "", ""},
		{"community officer gets the community's station and county",
			zhufang.User{Username: "tang.ming", Name: "唐明", Role: zhufang.RoleCommunityOfficer,
				Scope: zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 2}},
			testPassword, zhufang.Scope{Level: zhufang.ScopeCommunity, BureauID: 2, StationID: 1, CommunityID: 2}, "", ""},
		{"village auxiliary speaking English",
			zhufang.User{Username: "jiang.fang", Name: "蒋芳", Role: zhufang.RoleAuxiliary, Lang: "en",
				Scope: zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1}},
			testPassword, zhufang.Scope{Level: zhufang.ScopeCommunity, BureauID: 2, StationID: 1, CommunityID: 1}, "", ""},

		{"username too short", zhufang.User{Username: "ab", Name: "x", Role: zhufang.RoleAnalyst,
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "username"},
		{"username in capitals", zhufang.User{Username: "Tang.Ming", Name: "x", Role: zhufang.RoleAnalyst,
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "username"},
		{"username starting with a digit", zhufang.User{Username: "0tang", Name: "x", Role: zhufang.RoleAnalyst,
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "username"},
		{"no name", zhufang.User{Username: "noname", Name: "  ", Role: zhufang.RoleAnalyst,
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "name must be given"},
		{"unknown role", zhufang.User{Username: "sheriff", Name: "x", Role: "sheriff",
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, `role "sheriff" is not known`},
		{"community officer at station level", zhufang.User{Username: "officer", Name: "x", Role: zhufang.RoleCommunityOfficer,
			Scope: zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "works at the community level"},
		{"admin at county level", zhufang.User{Username: "admin2", Name: "x", Role: zhufang.RoleAdmin,
			Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "works at the city level"},
		{"unknown scope level", zhufang.User{Username: "analyst", Name: "x", Role: zhufang.RoleAnalyst,
			Scope: zhufang.Scope{Level: "province"}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "scope level"},
		{"community scope without its community", zhufang.User{Username: "officer", Name: "x", Role: zhufang.RoleCommunityOfficer,
			Scope: zhufang.Scope{Level: zhufang.ScopeCommunity, StationID: 1}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "needs its community"},
		{"unknown language", zhufang.User{Username: "analyst", Name: "x", Role: zhufang.RoleAnalyst, Lang: "fr",
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword, zhufang.Scope{}, zhufang.EINVALID, "language"},
		{"short password", zhufang.User{Username: "analyst", Name: "x", Role: zhufang.RoleAnalyst,
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, "short1234", zhufang.Scope{}, zhufang.EINVALID, "at least 10 characters"},
		{"unknown community", zhufang.User{Username: "officer", Name: "x", Role: zhufang.RoleCommunityOfficer,
			Scope: zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 404}}, testPassword, zhufang.Scope{}, zhufang.ENOTFOUND, "community 404 does not exist"},
		{"unknown station", zhufang.User{Username: "chief", Name: "x", Role: zhufang.RoleStationChief,
			Scope: zhufang.Scope{Level: zhufang.ScopeStation, StationID: 404}}, testPassword, zhufang.Scope{}, zhufang.ENOTFOUND, "station 404 does not exist"},
		{"unknown county bureau", zhufang.User{Username: "commander", Name: "x", Role: zhufang.RoleCountyCommander,
			Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 404}}, testPassword, zhufang.Scope{}, zhufang.ENOTFOUND, "county bureau 404 does not exist"},
		// Bureau 1 is the city bureau: a county scope on it names no county,
		// and its user would silently see nothing.
		{"county scope naming the city bureau", zhufang.User{Username: "commander", Name: "x", Role: zhufang.RoleCountyCommander,
			Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 1}}, testPassword, zhufang.Scope{}, zhufang.ENOTFOUND, "county bureau 1 does not exist"},
		{"username taken", zhufang.User{Username: "tang.ming", Name: "另一个唐明", Role: zhufang.RoleAnalyst,
			Scope: zhufang.Scope{Level: zhufang.ScopeCity}}, testPassword, zhufang.Scope{}, zhufang.ECONFLICT, `username "tang.ming" is taken`},
	}
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, clock, _ := clockDB(t, engine, smallCity())
			var stored []*zhufang.User
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					u := tt.user
					err := db.CreateUser(ctx, &u, tt.password)
					if tt.code != "" {
						wantCode(t, err, tt.code, tt.says)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					lang := tt.user.Lang
					if lang == "" {
						lang = "zh"
					}
					want := &zhufang.User{ID: u.ID, Username: tt.user.Username, Name: tt.user.Name, Role: tt.user.Role,
						Scope: tt.wantScope, Lang: lang, CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
					if diff := cmp.Diff(want, &u); diff != "" {
						t.Errorf("created user (-want +got):\n%s", diff)
					}
					got, err := db.FindUserByID(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("FindUserByID (-want +got):\n%s", diff)
					}
					got, err = db.FindUserByName(ctx, u.Username)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("FindUserByName (-want +got):\n%s", diff)
					}
					stored = append(stored, want)
				})
				clock.Advance(time.Second)
			}
			// Only the valid users were stored, listed by username.
			all, err := db.FindUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]*zhufang.User{}
			for _, u := range stored {
				byName[u.Username] = u
			}
			var want []*zhufang.User
			for _, name := range []string{"jiang.fang", "li_na", "tang.ming", "wang-qiang", "zhang.wei"} {
				if u := byName[name]; u != nil {
					want = append(want, u)
				}
			}
			if diff := cmp.Diff(want, all); diff != "" {
				t.Errorf("FindUsers (-want +got):\n%s", diff)
			}
			_, err = db.FindUserByID(ctx, 404)
			wantCode(t, err, zhufang.ENOTFOUND, "user 404 does not exist")
			_, err = db.FindUserByName(ctx, "nobody")
			wantCode(t, err, zhufang.ENOTFOUND, `user "nobody" does not exist`)
		})
	}
}

func TestAuthenticate(t *testing.T) {
	const wrong = "not the password"
	type step struct {
		name     string
		wait     time.Duration // the clock moves on this much first
		username string
		password string
		code     string
		says     string
	}
	ok := func(name string, wait time.Duration) step { return step{name, wait, "tang.ming", testPassword, "", ""} }
	fail := func(name string, wait time.Duration) step {
		return step{name, wait, "tang.ming", wrong, zhufang.EUNAUTHORIZED, "wrong username or password"}
	}
	throttled := func(name string, wait time.Duration, password string) step {
		return step{name, wait, "tang.ming", password, zhufang.ETOOMANY, "too many wrong passwords"}
	}
	steps := []step{
		ok("right password", 0),
		{"unknown user", 0, "nobody", testPassword, zhufang.EUNAUTHORIZED, "wrong username or password"},
		fail("wrong 1", 0),
		fail("wrong 2", 0),
		ok("right password resets the count", 0),
		fail("wrong 1 after the reset", 0),
		fail("wrong 2 after the reset", 0),
		fail("wrong 3 after the reset", 0),
		throttled("right password at once after the free attempts", 0, testPassword),
		throttled("right password just before the delay ends", zhufang.LoginDelay(3)-time.Millisecond, testPassword),
		ok("right password once the delay has passed", time.Millisecond),
		fail("wrong 1", 0),
		fail("wrong 2", 0),
		fail("wrong 3", 0),
		fail("wrong 4 after the 1 s delay", zhufang.LoginDelay(3)),
		// A refused attempt is not counted and does not restart the wait.
		throttled("wrong password 1 s into the 2 s delay", time.Second, wrong),
		fail("wrong 5 once the rest of the delay has passed", zhufang.LoginDelay(4)-time.Second),
	}
	for failures := 5; failures < zhufang.LockAttempts; failures++ {
		steps = append(steps, fail(fmt.Sprintf("wrong %d after a %s delay", failures+1, zhufang.LoginDelay(failures)), zhufang.LoginDelay(failures)))
	}
	steps = append(steps,
		step{"locked: the right password is refused", 0, "tang.ming", testPassword, zhufang.ETOOMANY, "locked"},
		step{"still locked a second before the end", zhufang.LockDuration - time.Second, "tang.ming", testPassword, zhufang.ETOOMANY, "locked"},
		ok("the right password after the lock", time.Second),
		fail("free attempts again after the lock", 0),
	)
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			db, clock, _ := clockDB(t, engine, smallCity())
			created := createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			ctx := zhufang.NewContextWithActor(context.Background(), &zhufang.Actor{Address: "10.0.0.1"})
			for _, s := range steps {
				t.Run(s.name, func(t *testing.T) {
					clock.Advance(s.wait)
					u, err := db.Authenticate(ctx, s.username, s.password)
					if s.code != "" {
						wantCode(t, err, s.code, s.says)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					want := *created
					want.LastLoginAt = clock.Now()
					if diff := cmp.Diff(&want, u); diff != "" {
						t.Errorf("signed-in user (-want +got):\n%s", diff)
					}
					got, err := db.FindUserByID(context.Background(), created.ID)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(&want, got); diff != "" {
						t.Errorf("user read back after signing in (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

func TestAuthenticateGivesNothingAway(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _, _ := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			_, unknown := db.Authenticate(ctx, "nobody", testPassword)
			_, wrong := db.Authenticate(ctx, "tang.ming", "not the password")
			if unknown == nil || wrong == nil {
				t.Fatalf("unknown user: %v; wrong password: %v; want both refused", unknown, wrong)
			}
			type answer struct{ Code, Message string }
			if diff := cmp.Diff(answer{zhufang.ErrorCode(wrong), zhufang.ErrorMessage(wrong)},
				answer{zhufang.ErrorCode(unknown), zhufang.ErrorMessage(unknown)}); diff != "" {
				t.Errorf("an unknown user is answered differently from a wrong password (-wrong password +unknown user):\n%s", diff)
			}
			wantCode(t, wrong, zhufang.EUNAUTHORIZED, "wrong username or password")

			if err := db.SetUserDisabled(ctx, "tang.ming", true); err != nil {
				t.Fatal(err)
			}
			_, err := db.Authenticate(ctx, "tang.ming", testPassword)
			wantCode(t, err, zhufang.EUNAUTHORIZED, "wrong username or password")
			_, err = db.Authenticate(ctx, "tang.ming", "not the password")
			wantCode(t, err, zhufang.EUNAUTHORIZED, "wrong username or password")
			if err := db.SetUserDisabled(ctx, "tang.ming", false); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Authenticate(ctx, "tang.ming", testPassword); err != nil {
				t.Fatalf("enabled again: %v", err)
			}
			wantCode(t, db.SetUserDisabled(ctx, "nobody", true), zhufang.ENOTFOUND, `user "nobody" does not exist`)
		})
	}
}

// TestUnknownNamesThrottledAlike: guessing at a name no one has is
// throttled step for step like guessing at a real account, so the throttle
// does not tell which names exist.
func TestUnknownNamesThrottledAlike(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, clock, _ := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			type answer struct{ Code, Message string }
			for i := range zhufang.LockAttempts + 2 {
				_, real := db.Authenticate(ctx, "tang.ming", "not the password")
				_, ghost := db.Authenticate(ctx, "no.such.name", "not the password")
				if diff := cmp.Diff(answer{zhufang.ErrorCode(real), zhufang.ErrorMessage(real)},
					answer{zhufang.ErrorCode(ghost), zhufang.ErrorMessage(ghost)}); diff != "" {
					t.Fatalf("attempt %d: a real name and an unknown one are answered differently (-real +unknown):\n%s", i+1, diff)
				}
				clock.Advance(zhufang.LoginDelay(i+1) / 2) // some attempts fall inside the wait, some after
				if i%2 == 1 {
					clock.Advance(zhufang.LoginDelay(i + 1))
				}
			}
		})
	}
}

// TestAuthenticateThrottleHoldsUnderConcurrency: once the free attempts
// are spent, guesses sent at the same moment still get one check per
// delay, not one each.
func TestAuthenticateThrottleHoldsUnderConcurrency(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, clock, _ := clockDB(t, engine, smallCity())
			createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			for range zhufang.FreeAttempts {
				_, err := db.Authenticate(ctx, "tang.ming", "not the password")
				wantCode(t, err, zhufang.EUNAUTHORIZED, "")
			}
			clock.Advance(zhufang.LoginDelay(zhufang.FreeAttempts))
			errs := make([]error, 6)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { _, errs[i] = db.Authenticate(ctx, "tang.ming", fmt.Sprintf("guess number %d", i)) })
			}
			wg.Wait()
			codes := map[string]int{}
			for _, err := range errs {
				codes[zhufang.ErrorCode(err)]++
			}
			want := map[string]int{zhufang.EUNAUTHORIZED: 1, zhufang.ETOOMANY: len(errs) - 1}
			if diff := cmp.Diff(want, codes); diff != "" {
				t.Errorf("%d simultaneous guesses after the free attempts: want one checked and the rest told to wait (-want +got):\n%s",
					len(errs), diff)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, clock, dsn := clockDB(t, engine, smallCity())
			tang := createUser(t, db, "tang.ming", zhufang.RoleCommunityOfficer, zhufang.Scope{Level: zhufang.ScopeCommunity, CommunityID: 1})
			wang := createUser(t, db, "wang.qiang", zhufang.RoleStationChief, zhufang.Scope{Level: zhufang.ScopeStation, StationID: 1})
			var tokens []string // every token handed out, to look for in the table
			start := func(t *testing.T, u *zhufang.User) (string, *zhufang.Session) {
				t.Helper()
				token, s, err := db.CreateSession(ctx, u.ID, "10.0.0.7")
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, token)
				return token, s
			}
			live := func(t *testing.T, token string, u *zhufang.User) {
				t.Helper()
				got, _, err := db.SessionUser(ctx, token)
				if err != nil {
					t.Fatalf("session of %s: %v", u.Username, err)
				}
				if got.ID != u.ID {
					t.Fatalf("session of %s returned user %s", u.Username, got.Username)
				}
			}
			ended := func(t *testing.T, token, says string) {
				t.Helper()
				_, _, err := db.SessionUser(ctx, token)
				wantCode(t, err, zhufang.EUNAUTHORIZED, says)
			}

			t.Run("a token names its user and session", func(t *testing.T) {
				token, s := start(t, tang)
				want := &zhufang.Session{UserID: tang.ID, CSRF: s.CSRF, Address: "10.0.0.7", CreatedAt: clock.Now(), SeenAt: clock.Now()}
				if diff := cmp.Diff(want, s); diff != "" {
					t.Errorf("created session (-want +got):\n%s", diff)
				}
				if len(s.CSRF) < 40 || s.CSRF == token || len(token) < 40 {
					t.Errorf("token %q and CSRF secret %q: want two different long random strings", token, s.CSRF)
				}
				u, got, err := db.SessionUser(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tang, u); diff != "" {
					t.Errorf("session user (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("session read back (-want +got):\n%s", diff)
				}
				// Used again after a while, the session is marked seen.
				clock.Advance(5 * time.Minute)
				_, got, err = db.SessionUser(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				want.SeenAt = clock.Now()
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("session used 5 minutes later (-want +got):\n%s", diff)
				}
			})

			t.Run("unknown and tampered tokens", func(t *testing.T) {
				token, _ := start(t, tang)
				last := token[len(token)-1]
				flipped := byte('A')
				if last == 'A' {
					flipped = 'B'
				}
				for _, tc := range []struct{ name, token string }{
					{"empty", ""},
					{"made up", "c2Vzc2lvbi10aGF0LW5ldmVyLXdhcy1oYW5kZWQtb3V0LXRvLWFueW9uZQ"},
					{"last character changed", token[:len(token)-1] + string(flipped)},
					{"one character more", token + "A"},
					{"one character less", token[:len(token)-1]},
					{"upper-cased", strings.ToUpper(token)},
					{"far too long", strings.Repeat("x", 500)},
				} {
					t.Run(tc.name, func(t *testing.T) {
						_, _, err := db.SessionUser(ctx, tc.token)
						wantCode(t, err, zhufang.EUNAUTHORIZED, "")
					})
				}
				live(t, token, tang)
			})

			t.Run("idle sessions expire", func(t *testing.T) {
				token, _ := start(t, tang)
				clock.Advance(zhufang.IdleTimeout - time.Second)
				live(t, token, tang)
				clock.Advance(zhufang.IdleTimeout - time.Second)
				live(t, token, tang)
				clock.Advance(zhufang.IdleTimeout)
				ended(t, token, "expired")
				ended(t, token, "ended") // the expired session is gone for good
			})

			t.Run("busy sessions end at MaxSessionAge", func(t *testing.T) {
				token, _ := start(t, tang)
				const every = 5 * time.Minute
				for age := every; age < zhufang.MaxSessionAge; age += every {
					clock.Advance(every)
					if _, _, err := db.SessionUser(ctx, token); err != nil {
						t.Fatalf("used every %s, the session ended after %s: %v", every, age, err)
					}
				}
				clock.Advance(every)
				ended(t, token, "expired")
			})

			t.Run("signing out ends one session", func(t *testing.T) {
				one, _ := start(t, tang)
				other, _ := start(t, tang)
				if err := db.DeleteSession(ctx, one); err != nil {
					t.Fatal(err)
				}
				ended(t, one, "ended")
				live(t, other, tang)
			})

			t.Run("signing out everywhere ends only that user's sessions", func(t *testing.T) {
				one, _ := start(t, tang)
				two, _ := start(t, tang)
				his, _ := start(t, wang)
				if err := db.DeleteUserSessions(ctx, tang.ID); err != nil {
					t.Fatal(err)
				}
				ended(t, one, "ended")
				ended(t, two, "ended")
				live(t, his, wang)
			})

			t.Run("a new password ends the user's sessions", func(t *testing.T) {
				mine, _ := start(t, tang)
				his, _ := start(t, wang)
				if err := db.SetPassword(ctx, "tang.ming", "a new password entirely"); err != nil {
					t.Fatal(err)
				}
				ended(t, mine, "ended")
				live(t, his, wang)
				_, err := db.Authenticate(ctx, "tang.ming", testPassword)
				wantCode(t, err, zhufang.EUNAUTHORIZED, "wrong username or password")
				if _, err := db.Authenticate(ctx, "tang.ming", "a new password entirely"); err != nil {
					t.Fatalf("the new password: %v", err)
				}
				wantCode(t, db.SetPassword(ctx, "tang.ming", "short"), zhufang.EINVALID, "at least 10 characters")
				wantCode(t, db.SetPassword(ctx, "nobody", "a new password entirely"), zhufang.ENOTFOUND, `user "nobody"`)
			})

			t.Run("disabling a user ends their sessions", func(t *testing.T) {
				mine, _ := start(t, tang)
				his, _ := start(t, wang)
				if err := db.SetUserDisabled(ctx, "tang.ming", true); err != nil {
					t.Fatal(err)
				}
				ended(t, mine, "")
				live(t, his, wang)
				// No session starts for a disabled user.
				if _, _, err := db.CreateSession(ctx, tang.ID, "10.0.0.9"); zhufang.ErrorCode(err) != zhufang.EFORBIDDEN {
					t.Fatalf("a session for a disabled user: %v, want forbidden", err)
				}
				if err := db.SetUserDisabled(ctx, "tang.ming", false); err != nil {
					t.Fatal(err)
				}
				ended(t, mine, "ended")
			})

			t.Run("tokens and passwords are not stored in clear", func(t *testing.T) {
				raw := sqltest.Raw(t, dsn)
				defer raw.Close()
				rows, err := raw.Query(`SELECT token_hash, CAST(user_id AS TEXT), csrf, address, CAST(created_at AS TEXT), CAST(seen_at AS TEXT) FROM sessions`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				n := 0
				for rows.Next() {
					cols := make([]string, 6)
					if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5]); err != nil {
						t.Fatal(err)
					}
					n++
					row := strings.Join(cols, "|")
					for _, token := range tokens {
						if strings.Contains(row, token) {
							t.Errorf("the sessions table holds a token in clear: %s", row)
						}
					}
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					t.Fatal("no sessions left to look at")
				}
				var hashes string
				if err := raw.QueryRow(`SELECT password_hash FROM users WHERE username = 'wang.qiang'`).Scan(&hashes); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(hashes, testPassword) || !strings.HasPrefix(hashes, "$argon2id$") {
					t.Errorf("password stored as %q; want an argon2id hash", hashes)
				}
			})
		})
	}
}
