package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/auth"
	"zhufang/sqlstore/sqltest"
)

// secAgo is a time d ago as zhufang stores times in SQLite.
func secAgo(d time.Duration) string {
	return time.Now().Add(-d).UTC().Format("2006-01-02T15:04:05.000000Z")
}

func secExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s %v: %d rows changed, want 1", q, args, n)
	}
}

// secPast moves the last failure of a name's sign-ins from one client's
// address d into the past, instead of the test sleeping through the wait.
func secPast(t *testing.T, db *sql.DB, name string, c *secClient, d time.Duration) {
	t.Helper()
	secExec(t, db, `UPDATE sign_in_throttle SET last_failure_at = ? WHERE kind = 'pair' AND name = ? AND source = ?`,
		secAgo(d), name, c.from)
}

// secAPIError reads a JSON error answer.
func secAPIError(r secResp) (code, message string) {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal([]byte(r.body), &e)
	return e.Error.Code, e.Error.Message
}

// secSignInThrottle: wrong passwords from one address are answered
// "wrong" a few times, then that address must wait, then it is locked even
// to the right password; the wait is moved into the past in the database
// instead of being slept through. The same account from another address is
// not held back, however long the stranger keeps at it, through the form or
// the API. Guesses sent at once do not slip past the count. One address
// cannot try more than 20 sign-ins a minute, whatever the names.
func secSignInThrottle(t *testing.T, srv *secServer) {
	raw := sqltest.Raw(t, srv.dsn)
	for _, u := range []string{"lockee", "target", "known", "dispatcher"} {
		secAddUser(t, srv.dsn, u, zhufang.RoleDispatcher)
	}

	t.Run("wrong, throttled, locked", func(t *testing.T) {
		// Before each attempt but the first the last failure is put ago
		// into the past: zero is "at once", however slowly the password
		// hashing of the last attempt ran. The address may try 20 times a
		// minute, so only some of the waits are tried early.
		type step struct {
			name     string
			ago      time.Duration
			password string
			code     int
			says     string
		}
		wrong, right := "not the password at all", secPassword
		steps := []step{
			{"1st wrong password", 0, wrong, 401, "wrong username or password"},
			{"2nd wrong password", 0, wrong, 401, "wrong username or password"},
			{"3rd wrong password", 0, wrong, 401, "wrong username or password"},
			{"4th at once: must wait", 0, wrong, 429, "wait 1 seconds"},
			{"right password at once: must wait too", 0, right, 429, "too many wrong passwords"},
		}
		for n := zhufang.FreeAttempts; n < zhufang.LockAttempts; n++ {
			d := zhufang.LoginDelay(n)
			if n == 5 || n == zhufang.LockAttempts-1 {
				steps = append(steps, step{fmt.Sprintf("failure %d: before its %s wait is over", n+1, d), d - time.Second, wrong, 429, "too many wrong passwords"})
			}
			steps = append(steps, step{fmt.Sprintf("failure %d: after its %s wait", n+1, d), d + time.Second, wrong, 401, "wrong username or password"})
		}
		steps = append(steps,
			step{"right password when locked", 0, right, 429, "locked"},
			step{"right password 14 minutes into the lock", 14 * time.Minute, right, 429, "locked"},
			step{"right password after the lock", zhufang.LockDuration + time.Second, right, 201, ""},
			step{"a wrong password after: counted from zero", 0, wrong, 401, "wrong username or password"},
		)
		c := secNewClient(t, srv)
		for i, s := range steps {
			if i > 0 {
				secPast(t, raw, "lockee", c, s.ago)
			}
			r := c.json("POST", "/api/v1/session", fmt.Sprintf(`{"username":"lockee","password":%q}`, s.password))
			code, message := secAPIError(r)
			if r.code != s.code || !strings.Contains(message, s.says) {
				t.Fatalf("%s: %s, want %d saying %q", s.name, r, s.code, s.says)
			}
			if s.code == 429 && code != zhufang.ETOOMANY {
				t.Fatalf("%s: code %q, want %s", s.name, code, zhufang.ETOOMANY)
			}
		}
	})

	t.Run("a stranger cannot lock the user out", func(t *testing.T) {
		stranger, user := secNewClient(t, srv), secNewClient(t, srv)
		guess := func() secResp {
			return stranger.json("POST", "/api/v1/session", `{"username":"dispatcher","password":"a stranger's guess"}`)
		}
		userGetsIn := func(when string) {
			t.Helper()
			b := secClientFrom(t, srv, user.from) // a fresh browser on the user's machine
			if r := b.signIn("dispatcher", secPassword); r.code != http.StatusSeeOther || b.cookie("/", "zf_session") == "" {
				t.Fatalf("%s: the user signing in on the form from another address: %s, want 303 and a session", when, r)
			}
			secAPISignIn(t, user, "dispatcher", secPassword)
		}
		for i := range zhufang.LockAttempts {
			if i > 0 {
				secPast(t, raw, "dispatcher", stranger, zhufang.LoginDelay(i)+time.Second)
			}
			if r := guess(); r.code != 401 {
				t.Fatalf("the stranger's guess %d: %s, want 401", i+1, r)
			}
		}
		if r := stranger.signIn("dispatcher", secPassword); r.code != http.StatusTooManyRequests {
			t.Fatalf("the right password from the stranger's locked address: %s, want 429", r)
		}
		userGetsIn("the stranger's address locked")
		for round := range 3 { // a guess each time the lock ends
			secPast(t, raw, "dispatcher", stranger, zhufang.LockDuration+time.Second)
			if r := guess(); r.code != 401 {
				t.Fatalf("round %d: the stranger's guess as the lock ends: %s, want 401", round+1, r)
			}
			if r := guess(); r.code != http.StatusTooManyRequests {
				t.Fatalf("round %d: the stranger's next guess: %s, want 429", round+1, r)
			}
			userGetsIn(fmt.Sprintf("round %d", round+1))
		}
	})

	t.Run("the sign-in page says try again later", func(t *testing.T) {
		c := secNewClient(t, srv)
		for i := range zhufang.FreeAttempts {
			if r := c.signIn("target", "not the password at all"); r.code != 401 || !strings.Contains(r.body, "用户名或密码错误") {
				t.Fatalf("wrong password %d: %s, want 401 and the wrong-password message", i+1, r)
			}
		}
		now := func() { secPast(t, raw, "target", c, 0) }
		now()
		r := c.signIn("target", secPassword)
		if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "请稍后再试") || c.cookie("/", "zf_session") != "" {
			t.Fatalf("right password while throttled: %s, want 429, the try-again-later message and no session", r)
		}
		// The same in English, chosen on the sign-in page.
		now()
		page := c.get("/login?lang=en")
		r = c.form("/login", url.Values{"csrf": {secField(page.body, "csrf")}, "lang": {secField(page.body, "lang")},
			"username": {"target"}, "password": {secPassword}})
		secCheckHTML(t, "throttled sign-in page", r.body)
		if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "try again later") {
			t.Errorf("right password while throttled, signing in in English: %s, want 429 saying try again later", r)
		}
	})

	t.Run("guesses at once", func(t *testing.T) {
		secAddUser(t, srv.dsn, "rushed", zhufang.RoleDispatcher)
		c := secNewClient(t, srv)
		for i := range zhufang.FreeAttempts {
			if r := c.json("POST", "/api/v1/session", `{"username":"rushed","password":"not the password at all"}`); r.code != 401 {
				t.Fatalf("wrong password %d: %s", i+1, r)
			}
		}
		secPast(t, raw, "rushed", c, zhufang.LoginDelay(zhufang.FreeAttempts)+time.Second)
		const n = 12
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", c.base+"/api/v1/session", strings.NewReader(`{"username":"rushed","password":"guess `+strconv.Itoa(i)+`"}`))
				req.Header.Set("Content-Type", "application/json")
				if res, err := c.hc.Do(req); err == nil {
					codes[i] = res.StatusCode
					res.Body.Close()
				}
			})
		}
		wg.Wait()
		counted := map[int]int{}
		for _, c := range codes {
			counted[c]++
		}
		if counted[401] != 1 || counted[429] != n-1 {
			t.Fatalf("%d guesses at once from one address after its free attempts were answered %v, want one checked (401) and the rest 429", n, counted)
		}
	})

	t.Run("20 sign-ins per address per minute", func(t *testing.T) {
		c := secNewClient(t, srv)
		clear := func() {
			if _, err := raw.Exec(`UPDATE sign_in_throttle SET failures = 0 WHERE name = 'known'`); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			name := fmt.Sprintf("nobody%02d", i)
			if i%5 == 0 {
				name = "known" // an existing name among them, with a wrong password
				clear()
			}
			if r := c.json("POST", "/api/v1/session", fmt.Sprintf(`{"username":%q,"password":"not the password"}`, name)); r.code != 401 {
				t.Fatalf("attempt %d (%s): %s, want 401", i+1, name, r)
			}
		}
		clear()
		for _, tc := range []struct {
			name string
			send func() secResp
		}{
			{"21st, with the right password", func() secResp {
				return c.json("POST", "/api/v1/session", fmt.Sprintf(`{"username":"known","password":%q}`, secPassword))
			}},
			{"claiming another address in X-Forwarded-For", func() secResp {
				return c.json("POST", "/api/v1/session", fmt.Sprintf(`{"username":"known","password":%q}`, secPassword),
					"X-Forwarded-For", "10.9.8.7", "X-Real-IP", "10.9.8.7")
			}},
			{"through the sign-in page", func() secResp { return c.signIn("known", secPassword) }},
		} {
			r := tc.send()
			if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "too many sign-in attempts from this address") && !strings.Contains(r.body, "请稍后再试") {
				t.Errorf("%s: %s, want 429", tc.name, r)
			}
		}
		if c.cookie("/", "zf_session") != "" {
			t.Error("a limited address got a session")
		}
		// Another address is not held back.
		secAPISignIn(t, secNewClient(t, srv), "known", secPassword)
	})
}

// secWithCookie sends a GET with one session cookie set by hand, as an
// attacker replaying or forging one would.
func secWithCookie(t *testing.T, srv *secServer, path, value string) secResp {
	t.Helper()
	c := secNewClient(t, srv)
	return c.get(path, "Cookie", "zf_session="+value)
}

// secRefused checks that a session token no longer opens a page or the API,
// as a cookie or (if bearer) as a bearer token.
func secRefused(t *testing.T, srv *secServer, what, token string, bearer bool) {
	t.Helper()
	if r := secWithCookie(t, srv, "/board", token); r.code != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("%s: GET /board with the cookie: %s (Location %q), want 303 to /login", what, r, r.header.Get("Location"))
	}
	if r := secWithCookie(t, srv, "/api/v1/incidents", token); r.code != http.StatusUnauthorized {
		t.Errorf("%s: the API with the cookie: %s, want 401", what, r)
	}
	if !bearer {
		return
	}
	c := secNewClient(t, srv)
	c.token = token
	if r := c.get("/api/v1/incidents"); r.code != http.StatusUnauthorized {
		t.Errorf("%s: the API with the bearer token: %s, want 401", what, r)
	}
}

// secWorks checks that a session token still opens a page and the API.
func secWorks(t *testing.T, srv *secServer, what, token string) {
	t.Helper()
	if r := secWithCookie(t, srv, "/board", token); r.code != http.StatusOK {
		t.Errorf("%s: GET /board: %s, want 200", what, r)
	}
	c := secNewClient(t, srv)
	c.token = token
	if r := c.get("/api/v1/incidents"); r.code != http.StatusOK {
		t.Errorf("%s: the API: %s, want 200", what, r)
	}
}

// secSessionEnds: a session ends when idle for 30 minutes, after
// 12 hours however busy, on sign-out, on signing out everywhere, on a
// password change and when the user is disabled; a revoked device token and
// a forged or damaged cookie open nothing.
func secSessionEnds(t *testing.T, srv *secServer) {
	raw := sqltest.Raw(t, srv.dsn)
	users := []string{"idle", "busy", "leaver", "roamer", "bystander", "changer", "gone", "forger"}
	for _, u := range users {
		secAddUser(t, srv.dsn, u, zhufang.RoleDispatcher)
	}
	browser := func(t *testing.T, user string) (*secClient, string) {
		t.Helper()
		b := secNewClient(t, srv)
		b.mustSignIn(user)
		return b, b.cookie("/", "zf_session")
	}
	age := func(t *testing.T, token string, created, seen time.Duration) {
		t.Helper()
		secExec(t, raw, `UPDATE sessions SET created_at = ?, seen_at = ? WHERE token_hash = ?`, secAgo(created), secAgo(seen), auth.HashToken(token))
	}

	t.Run("cookie attributes", func(t *testing.T) {
		c := secNewClient(t, srv)
		page := c.get("/login")
		r := c.form("/login", url.Values{"csrf": {secField(page.body, "csrf")}, "username": {"idle"}, "password": {secPassword}})
		for _, tc := range []struct {
			name   string
			header http.Header
			cookie string
			path   string
		}{
			{"the sign-in form's secret", page.header, "zf_login", "/login"},
			{"the session", r.header, "zf_session", "/"},
		} {
			var got *http.Cookie
			for _, ck := range (&http.Response{Header: tc.header}).Cookies() {
				if ck.Name == tc.cookie {
					got = ck
				}
			}
			// Secure only over TLS or with --secure-cookies: this is plain HTTP.
			if got == nil || got.Value == "" || !got.HttpOnly || got.SameSite != http.SameSiteStrictMode || got.Path != tc.path || got.Secure {
				t.Errorf("%s: cookie %+v, want %s set HttpOnly, SameSite=Strict, Path=%s", tc.name, got, tc.cookie, tc.path)
			}
		}
	})
	t.Run("idle", func(t *testing.T) {
		_, tok := browser(t, "idle")
		age(t, tok, 29*time.Minute, 29*time.Minute)
		secWorks(t, srv, "idle 29 minutes", tok)
		age(t, tok, 31*time.Minute, zhufang.IdleTimeout+time.Second)
		r := secWithCookie(t, srv, "/board?sel=1", tok)
		if r.code != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fboard%3Fsel%3D1" {
			t.Errorf("idle 30 minutes: %s (Location %q), want 303 to /login?next=…", r, r.header.Get("Location"))
		}
		if sc := r.header.Get("Set-Cookie"); !strings.HasPrefix(sc, "zf_session=;") {
			t.Errorf("the dead session's cookie is not cleared: Set-Cookie %q", sc)
		}
		secRefused(t, srv, "idle 30 minutes", tok, true)
	})
	t.Run("older than 12 hours though busy", func(t *testing.T) {
		_, tok := browser(t, "busy")
		age(t, tok, zhufang.MaxSessionAge-time.Minute, 0)
		secWorks(t, srv, "11 h 59 min old", tok)
		age(t, tok, zhufang.MaxSessionAge+time.Second, 0)
		secRefused(t, srv, "12 hours old", tok, true)
	})
	t.Run("signed out", func(t *testing.T) {
		b, tok := browser(t, "leaver")
		if r := b.form("/logout", url.Values{"csrf": {b.csrf()}}); r.code != http.StatusSeeOther {
			t.Fatalf("logout: %s", r)
		}
		if b.cookie("/", "zf_session") != "" {
			t.Error("the browser kept its cookie after signing out")
		}
		secRefused(t, srv, "after sign-out, the old cookie replayed", tok, true)
	})
	t.Run("signed out everywhere", func(t *testing.T) {
		a, tokA := browser(t, "roamer")
		_, tokB := browser(t, "roamer")
		tokC := secAPIClient(t, srv, "roamer").token
		_, other := browser(t, "bystander")
		if r := a.form("/logout", url.Values{"csrf": {a.csrf()}, "everywhere": {"1"}}); r.code != http.StatusSeeOther {
			t.Fatalf("logout everywhere: %s", r)
		}
		secRefused(t, srv, "the browser that signed out everywhere", tokA, true)
		secRefused(t, srv, "another browser of the user", tokB, true)
		secRefused(t, srv, "an API session of the user", tokC, true)
		secWorks(t, srv, "another user's session", other)
	})
	t.Run("password changed", func(t *testing.T) {
		_, tok := browser(t, "changer")
		api := secAPIClient(t, srv, "changer").token
		pw := writeFile(t, t.TempDir(), "pw", "a brand new password\n")
		if _, err := secCLI(t, "user", "passwd", "--db", srv.dsn, "--password-file", pw, "changer"); err != nil {
			t.Fatal(err)
		}
		secRefused(t, srv, "a browser session from before the change", tok, true)
		secRefused(t, srv, "an API session from before the change", api, true)
		if r := secNewClient(t, srv).signIn("changer", secPassword); r.code != http.StatusUnauthorized {
			t.Errorf("the old password: %s, want 401", r)
		}
		secAPISignIn(t, secNewClient(t, srv), "changer", "a brand new password")
	})
	t.Run("user disabled", func(t *testing.T) {
		_, tok := browser(t, "gone")
		if _, err := secCLI(t, "user", "disable", "--db", srv.dsn, "gone"); err != nil {
			t.Fatal(err)
		}
		secRefused(t, srv, "a session of a disabled user", tok, true)
		// The right password of a disabled account is answered exactly as
		// a wrong one, on the form and the API: the status and the body,
		// but for the sign-in form's fresh secret.
		secret := regexp.MustCompile(`name="csrf" value="[^"]*"`)
		answer := func(r secResp) string {
			return fmt.Sprintf("%d %s", r.code, secret.ReplaceAllString(r.body, `name="csrf" value=""`))
		}
		api := func(password string) secResp {
			return secNewClient(t, srv).json("POST", "/api/v1/session", fmt.Sprintf(`{"username":"gone","password":%q}`, password))
		}
		for _, tc := range []struct {
			name  string
			right func() secResp
			wrong func() secResp
		}{
			{"the form", func() secResp { return secNewClient(t, srv).signIn("gone", secPassword) },
				func() secResp { return secNewClient(t, srv).signIn("gone", "not the password at all") }},
			{"the API", func() secResp { return api(secPassword) }, func() secResp { return api("not the password at all") }},
		} {
			right, wrong := tc.right(), tc.wrong()
			if right.code != http.StatusUnauthorized {
				t.Errorf("a disabled user signing in on %s: %s, want 401", tc.name, right)
			}
			if diff := cmp.Diff(answer(wrong), answer(right)); diff != "" {
				t.Errorf("on %s a disabled account's right password is answered unlike a wrong one (-wrong +right):\n%s", tc.name, diff)
			}
		}
		if _, err := secCLI(t, "user", "enable", "--db", srv.dsn, "gone"); err != nil {
			t.Fatal(err)
		}
		secRefused(t, srv, "a session from before the user was disabled, after enabling", tok, true)
		secNewClient(t, srv).mustSignIn("gone")
	})
	t.Run("device token revoked", func(t *testing.T) {
		api := secAPIClient(t, srv, "forger")
		var units struct{ Units []struct{ ID int64 } }
		secDecode(t, api.get("/api/v1/units"), &units)
		if len(units.Units) == 0 {
			t.Fatal("no units")
		}
		out, err := secCLI(t, "device", "add", "--db", srv.dsn, "--unit", fmt.Sprint(units.Units[0].ID))
		f := strings.Fields(out) // device N of unit U: token T
		if err != nil || len(f) != 7 {
			t.Fatalf("device add: %q %v", out, err)
		}
		dev := secNewClient(t, srv)
		dev.token = f[6]
		report := func() secResp {
			return dev.json("POST", "/api/v1/positions", fmt.Sprintf(`{"reports":[{"at":%q,"position":[111.6,26.43]}]}`,
				time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano)))
		}
		if r := report(); r.code != http.StatusOK {
			t.Fatalf("positions before the revocation: %s", r)
		}
		if _, err := secCLI(t, "device", "revoke", "--db", srv.dsn, "--id", f[1]); err != nil {
			t.Fatal(err)
		}
		if r := report(); r.code != http.StatusUnauthorized {
			t.Errorf("positions with a revoked token: %s, want 401", r)
		}
		if r := secWithCookie(t, srv, "/board", f[6]); r.code != http.StatusSeeOther {
			t.Errorf("the revoked device token as a session cookie: %s, want 303 to /login", r)
		}
	})
	t.Run("damaged cookies", func(t *testing.T) {
		_, tok := browser(t, "forger")
		api := secAPIClient(t, srv, "forger")
		var units struct{ Units []struct{ ID int64 } }
		secDecode(t, api.get("/api/v1/units"), &units)
		out, err := secCLI(t, "device", "add", "--db", srv.dsn, "--unit", fmt.Sprint(units.Units[0].ID))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(out)
		device := f[len(f)-1]
		flip := func(i int) string {
			b := []byte(tok)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		for _, tc := range []struct{ name, value string }{
			{"first character changed", flip(0)},
			{"a middle character changed", flip(len(tok) / 2)},
			{"last character changed", flip(len(tok) - 1)},
			{"truncated", tok[:len(tok)-1]},
			{"extended", tok + "A"},
			{"doubled", tok + tok},
			{"empty", ""},
			{"upper-cased", strings.ToUpper(tok)},
			{"its hash, as stored", auth.HashToken(tok)},
			{"a device token", device},
			{"the CSRF token", secNewClient(t, srv).csrfOf(t, tok)},
			{"very long", strings.Repeat(tok, 100)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.value == tok {
					t.Fatal("the damaged cookie is the real one")
				}
				// As a bearer token a device token is a device's credential
				// (403 on a user's API); as a cookie it is nothing.
				secRefused(t, srv, tc.name, tc.value, tc.value != device)
			})
		}
		secWorks(t, srv, "the undamaged cookie", tok)
	})
}

// csrfOf returns the CSRF token of the session a cookie names.
func (c *secClient) csrfOf(t *testing.T, token string) string {
	t.Helper()
	r := c.get("/org", "Cookie", "zf_session="+token)
	tok := secField(r.body, "csrf")
	if tok == "" {
		t.Fatalf("GET /org: %s", r)
	}
	return tok
}

// secNextStaysOnSite: the page a sign-in sends the browser on to
// is on this site, however the next parameter is written, as a browser
// reads the Location header (it drops tabs and newlines, and takes a
// backslash for a slash).
func secNextStaysOnSite(t *testing.T, srv *secServer) {
	base, _ := url.Parse(srv.base)
	browserURL := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/")
	tests := []struct {
		name, next, want string // want: the path the browser lands on
	}{
		{"a page of the site", "/board?sel=1", "/board"},
		{"nothing", "", "/"},
		{"another site", "https://evil.example/", "/"},
		{"scheme-relative", "//evil.example/", "/"},
		{"backslash", `/\evil.example/`, "/"},
		{"tab between the slashes", "/\t/evil.example/", "/"},
		{"newline between the slashes", "/\n/evil.example/", "/"},
		{"javascript", "javascript:alert(1)", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := secNewClient(t, srv)
			page := c.get("/login")
			// Sent past the client, whose redirect handling refuses some
			// Location headers a browser follows.
			form := url.Values{"csrf": {secField(page.body, "csrf")}, "username": {"disp"}, "password": {secPassword}, "next": {tt.next}}
			req, _ := http.NewRequest(http.MethodPost, srv.base+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range c.jar.Cookies(req.URL) {
				req.AddCookie(ck)
			}
			res, err := c.tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in: %d, want 303", res.StatusCode)
			}
			u, err := base.Parse(browserURL.Replace(loc))
			if err != nil || u.Host != base.Host || u.Path != tt.want {
				t.Errorf("next=%q sends the browser to Location %q, which a browser opens as %v; want %s on this site", tt.next, loc, u, tt.want)
			}
		})
	}
}
