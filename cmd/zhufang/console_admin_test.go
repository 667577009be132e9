package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"zhufang"
)

// TestStationPageRoles checks the station dashboard against the README's
// console table: station chiefs and above (the roles that read 1-3-5
// standing) open it; every other role gets a 403 page in Chinese, no nav
// link to it and a home page elsewhere.
func TestStationPageRoles(t *testing.T) {
	srv := secStart(t)
	api := secNewClient(t, srv)
	api.token = signIn(t, srv.base, srv.dsn, "stsetup", zhufang.RoleDispatcher)
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	secDecode(t, api.get("/api/v1/locate?lon=111.6015&lat=26.4372"), &loc)
	j := loc.Jurisdiction
	st := j.Station.ID
	grounds := map[zhufang.Role][]string{
		zhufang.RoleCountyCommander:  {"--scope", "county", "--org", fmt.Sprint(j.County.ID)},
		zhufang.RoleStationChief:     {"--scope", "station", "--org", fmt.Sprint(st)},
		zhufang.RoleCaseOfficer:      {"--scope", "station", "--org", fmt.Sprint(st)},
		zhufang.RoleMediator:         {"--scope", "station", "--org", fmt.Sprint(st)},
		zhufang.RoleCommunityOfficer: {"--scope", "community", "--org", fmt.Sprint(j.Community.ID)},
		zhufang.RoleAuxiliary:        {"--scope", "community", "--org", fmt.Sprint(j.Community.ID)},
		zhufang.RoleDronePilot:       {"--scope", "county", "--org", fmt.Sprint(j.County.ID)},
	}
	may := []zhufang.Role{zhufang.RoleCityCommander, zhufang.RoleCountyCommander, zhufang.RoleDispatcher, zhufang.RoleStationChief, zhufang.RoleAnalyst}
	navLink := regexp.MustCompile(`<nav>(?s:.*?)href="/stations/\d+"(?s:.*?)</nav>`)
	for _, role := range zhufang.Roles {
		t.Run(string(role), func(t *testing.T) {
			name := "st" + strings.ReplaceAll(string(role), "_", "")
			secAddUser(t, srv.dsn, name, role, grounds[role]...)
			c := secNewClient(t, srv)
			c.mustSignIn(name)
			r := c.get(fmt.Sprintf("/stations/%d", st))
			want := http.StatusForbidden
			if slices.Contains(may, role) {
				want = http.StatusOK
			}
			if r.code != want {
				t.Fatalf("GET /stations/%d: %s, want %d", st, r, want)
			}
			if want == http.StatusForbidden && !strings.Contains(r.body, `<p class="error-message">无权操作</p>`) {
				t.Errorf("the refusal does not say 无权操作 in Chinese: %s", r)
			}
			home := c.get("/")
			hasLink := navLink.MatchString(c.get("/org").body)
			if role == zhufang.RoleStationChief {
				if !hasLink || home.header.Get("Location") != fmt.Sprintf("/stations/%d", st) {
					t.Errorf("a station chief's nav link %v, home %q; want the link and home at the station", hasLink, home.header.Get("Location"))
				}
				return
			}
			if hasLink || strings.HasPrefix(home.header.Get("Location"), "/stations/") {
				t.Errorf("a %s is offered the station page: nav link %v, home %q", role, hasLink, home.header.Get("Location"))
			}
		})
	}
}

// TestUsersPage has an administrator manage users in the console: list,
// add (a one-time password that signs in), change role and ground, disable,
// enable and reset the password; each change is audited and ends the
// user's sessions where it should; forms without the CSRF token and
// other roles are refused; the org page shows the IDs --org takes.
func TestUsersPage(t *testing.T) {
	srv := secStart(t)
	api := secNewClient(t, srv)
	api.token = signIn(t, srv.base, srv.dsn, "usetup", zhufang.RoleDispatcher)
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	secDecode(t, api.get("/api/v1/locate?lon=111.6015&lat=26.4372"), &loc)
	st := loc.Jurisdiction.Station.ID
	secAddUser(t, srv.dsn, "uadmin", zhufang.RoleAdmin)
	admin := secNewClient(t, srv)
	admin.mustSignIn("uadmin")
	list := admin.get("/users")
	if list.code != http.StatusOK || !strings.Contains(list.body, `id="user-usetup"`) || !strings.Contains(list.body, "接警调度员") {
		t.Fatalf("GET /users: %s", list)
	}
	csrf := secField(list.body, "csrf")
	if !strings.Contains(list.body, fmt.Sprintf(`<option value="%d" label="派出所 · `, st)) {
		t.Errorf("the org picker does not offer station %d with its ID", st)
	}
	if org := admin.get("/org").body; !strings.Contains(org, fmt.Sprintf(`<td class="n org-id">%d</td>`, st)) {
		t.Errorf("the org page does not show station %d's ID", st)
	}

	// Without the CSRF token nothing changes.
	add := url.Values{"username": {"newchief"}, "name": {"新所长"}, "role": {"station_chief"}, "scope": {"station"},
		"org": {fmt.Sprint(st)}, "lang": {"zh"}}
	if r := admin.form("/users", add); r.code != http.StatusForbidden {
		t.Fatalf("add without the CSRF token: %s, want 403", r)
	}
	add.Set("csrf", csrf)
	r := admin.form("/users", add)
	pw := regexp.MustCompile(`<code id="new-password">([^<]+)</code>`).FindStringSubmatch(r.body)
	if r.code != http.StatusOK || pw == nil {
		t.Fatalf("add: %s, want the page with a one-time password", r)
	}
	user := secNewClient(t, srv)
	if s := user.signIn("newchief", pw[1]); s.code != http.StatusSeeOther {
		t.Fatalf("the new user signing in with the one-time password: %s", s)
	}
	if s := user.get(fmt.Sprintf("/stations/%d", st)); s.code != http.StatusOK {
		t.Fatalf("the new station chief's station page: %s", s)
	}

	// A role that does not fit its ground is refused, in Chinese.
	bad := url.Values{"csrf": {csrf}, "role": {"community_officer"}, "scope": {"city"}}
	if r := admin.form("/users/newchief/role", bad); r.code != http.StatusBadRequest || !strings.Contains(r.body, "请求有误") {
		t.Fatalf("a community officer for the city: %s, want 400 in Chinese", r)
	}
	// A fitting one is taken; the user's session ends.
	role := url.Values{"csrf": {csrf}, "role": {"case_officer"}, "scope": {"station"}, "org": {fmt.Sprint(st)}}
	if r := admin.form("/users/newchief/role", role); r.code != http.StatusSeeOther {
		t.Fatalf("change role: %s", r)
	}
	if s := user.get("/org"); s.code != http.StatusSeeOther || !strings.HasPrefix(s.header.Get("Location"), "/login") {
		t.Errorf("after the role change the user's session goes on: %s", s)
	}
	if page := admin.get("/users?done=role").body; !strings.Contains(page, "办案民警") || !strings.Contains(page, "角色与辖区已更新") {
		t.Errorf("the list does not show the new role")
	}
	// Disabled, the user cannot sign in; enabled, they can again.
	if r := admin.form("/users/newchief/active", url.Values{"csrf": {csrf}, "active": {"0"}}); r.code != http.StatusSeeOther {
		t.Fatalf("disable: %s", r)
	}
	if s := secNewClient(t, srv).signIn("newchief", pw[1]); s.code == http.StatusSeeOther {
		t.Fatalf("a disabled user signed in")
	}
	if r := admin.form("/users/newchief/active", url.Values{"csrf": {csrf}, "active": {"1"}}); r.code != http.StatusSeeOther {
		t.Fatalf("enable: %s", r)
	}
	// A reset password replaces the old one.
	r = admin.form("/users/newchief/password", url.Values{"csrf": {csrf}})
	pw2 := regexp.MustCompile(`<code id="new-password">([^<]+)</code>`).FindStringSubmatch(r.body)
	if r.code != http.StatusOK || pw2 == nil || pw2[1] == pw[1] {
		t.Fatalf("reset: %s", r)
	}
	if s := secNewClient(t, srv).signIn("newchief", pw[1]); s.code == http.StatusSeeOther {
		t.Errorf("the old password still signs in")
	}
	if s := secNewClient(t, srv).signIn("newchief", pw2[1]); s.code != http.StatusSeeOther {
		t.Errorf("the reset password does not sign in: %s", s)
	}
	// The administrator cannot disable themselves.
	if r := admin.form("/users/uadmin/active", url.Values{"csrf": {csrf}, "active": {"0"}}); r.code != http.StatusBadRequest {
		t.Errorf("an administrator disabling themselves: %s, want 400", r)
	}

	// Every change is in the audit trail.
	audit := secNewClient(t, srv)
	audit.token = secAPISignIn(t, audit, "uadmin", secPassword)
	var found struct{ Entries []zhufang.AuditEntry }
	secDecode(t, audit.get("/api/v1/audit?actor=uadmin&limit=100"), &found)
	var actions []string
	for _, e := range found.Entries {
		if strings.HasPrefix(e.Record, "user:") {
			actions = append(actions, e.Action)
		}
	}
	for _, a := range []string{zhufang.AuditUserCreate, zhufang.AuditUserRole, zhufang.AuditUserDisable, zhufang.AuditUserEnable, zhufang.AuditUserPassword} {
		if !slices.Contains(actions, a) {
			t.Errorf("the audit trail lacks %s (has %v)", a, actions)
		}
	}

	// Other roles may not use the page.
	d := secNewClient(t, srv)
	secAddUser(t, srv.dsn, "udispatch", zhufang.RoleDispatcher)
	d.mustSignIn("udispatch")
	if r := d.get("/users"); r.code != http.StatusForbidden {
		t.Errorf("a dispatcher's GET /users: %s, want 403", r)
	}
	if r := d.form("/users", url.Values{"csrf": {d.csrf()}, "username": {"sneaky"}, "name": {"x"}, "role": {"admin"}, "scope": {"city"}}); r.code != http.StatusForbidden {
		t.Errorf("a dispatcher adding a user: %s, want 403", r)
	}
	if strings.Contains(d.get("/org").body, `href="/users"`) {
		t.Errorf("a dispatcher's nav offers the users page")
	}
}
