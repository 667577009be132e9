package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"zhufang"
)

// secCSRF: a cookie session alone cannot change anything. Each
// console form and each cookie-authenticated API call is tried without the
// token, with a wrong one, another session's, the token where it does not
// belong, and the right token from another site; each is refused with 403
// and changes nothing. Then the right token is shown to work, so that the
// refusals were not for another reason. The sign-in form needs its own
// cookie and field pair.
func secCSRF(t *testing.T, srv *secServer) {
	secAddUser(t, srv.dsn, "victim", zhufang.RoleDispatcher)
	secAddUser(t, srv.dsn, "other", zhufang.RoleDispatcher)
	api := secAPIClient(t, srv, "victim") // reads the state with a session of its own
	id, station := secTakeCall(t, api, "芝山路10号")
	var units struct {
		Units []struct {
			ID     int64
			Status string
		}
	}
	secDecode(t, api.get(fmt.Sprintf("/api/v1/units?station_id=%d", station)), &units)
	var unit int64
	for _, u := range units.Units {
		if u.Status == "available" {
			unit = u.ID
			break
		}
	}
	if unit == 0 {
		t.Fatalf("station %d has no available unit: %+v", station, units.Units)
	}
	b := secNewClient(t, srv)
	b.mustSignIn("victim")
	o := secNewClient(t, srv)
	o.mustSignIn("other")
	token, otherToken, session := b.csrf(), o.csrf(), b.cookie("/", "zf_session")
	langRE := regexp.MustCompile(`data-lang="([a-z]+)"`)
	snapshot := func(t *testing.T) secSnapshot {
		t.Helper()
		var s secSnapshot
		var list struct{ Incidents []struct{ ID int64 } }
		secDecode(t, api.get("/api/v1/incidents?limit=1"), &list)
		// The newest incident's ID: the demo city's history fills any
		// page, so a count would not move. The list is newest first, so
		// a page of one holds it.
		if len(list.Incidents) > 0 {
			s.incidents = int(list.Incidents[0].ID)
		}
		var inc struct{ State string }
		secDecode(t, api.get(fmt.Sprintf("/api/v1/incidents/%d", id)), &inc)
		s.state = inc.State
		var as struct{ Assignments []struct{ ID int64 } }
		secDecode(t, api.get(fmt.Sprintf("/api/v1/incidents/%d/assignments", id)), &as)
		s.assignments = len(as.Assignments)
		var u struct{ Status string }
		secDecode(t, api.get(fmt.Sprintf("/api/v1/units/%d", unit)), &u)
		s.unitStatus = u.Status
		r := b.get("/incidents/999999999") // a small page: an error page in the user's language
		s.session = r.code
		if m := langRE.FindStringSubmatch(r.body); m != nil {
			s.lang = m[1]
		}
		return s
	}
	start := snapshot(t)
	if start.session != 404 || start.lang != "zh" || start.state != "received" {
		t.Fatalf("before the attacks: %+v", start)
	}
	refused := func(t *testing.T, r secResp, before secSnapshot) {
		t.Helper()
		if r.code != http.StatusForbidden {
			t.Errorf("answer %s, want 403", r)
		}
		if after := snapshot(t); after != before {
			t.Errorf("a refused request changed something:\nbefore %+v\nafter  %+v", before, after)
		}
	}

	forms := []struct {
		name, path string
		fields     url.Values
	}{
		{"intake", "/incidents", url.Values{"category": {"200100"}, "address": {"芝山路11号"}, "position": {"111.6015, 26.4372"}, "description": {"csrf"}}},
		{"assign", fmt.Sprintf("/incidents/%d/assign", id), url.Values{"unit_id": {fmt.Sprint(unit)}}},
		{"state", fmt.Sprintf("/incidents/%d/state", id), url.Values{"to": {"dispatched"}, "note": {"csrf"}}},
		{"lang", "/lang", url.Values{"lang": {"en"}, "back": {"/org"}}},
		{"logout", "/logout", url.Values{}},
		{"logout everywhere", "/logout", url.Values{"everywhere": {"1"}}},
	}
	attacks := []struct {
		name   string
		field  *string // the csrf form field; nil for none
		query  bool    // the right token in the URL's query instead
		origin string
	}{
		{"no token", nil, false, ""},
		{"empty token", new(""), false, ""},
		{"wrong token", new(secFlip(token)), false, ""},
		{"truncated token", new(token[:len(token)-1]), false, ""},
		{"another session's token", &otherToken, false, ""},
		{"the session cookie as the token", &session, false, ""},
		{"token in the query string", nil, true, ""},
		{"right token from another site", &token, false, "http://evil.example"},
		{"right token from an opaque origin", &token, false, "null"},
		{"right token from another port", &token, false, "http://127.0.0.1:1"},
	}
	for _, f := range forms {
		for _, a := range attacks {
			t.Run("form "+f.name+"/"+a.name, func(t *testing.T) {
				v := url.Values{}
				for k, vs := range f.fields {
					v[k] = vs
				}
				if a.field != nil {
					v.Set("csrf", *a.field)
				}
				path := f.path
				if a.query {
					path += "?csrf=" + url.QueryEscape(token)
				}
				var hdr []string
				if a.origin != "" {
					hdr = []string{"Origin", a.origin}
				}
				before := snapshot(t)
				refused(t, b.form(path, v, hdr...), before)
			})
		}
	}

	calls := []struct {
		name, method, path, body string
	}{
		{"take a call", "POST", "/api/v1/incidents", `{"source":"call_110","address":"芝山路12号","position":[111.6015,26.4372],"category":"200100","description":"csrf"}`},
		{"transition", "POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", id), `{"to":"dispatched"}`},
		{"lane", "POST", fmt.Sprintf("/api/v1/incidents/%d/lane", id), `{"lane":"case","reason":"csrf"}`},
		{"assign", "POST", fmt.Sprintf("/api/v1/incidents/%d/assignments", id), fmt.Sprintf(`{"unit_id":%d}`, unit)},
		{"unit status", "POST", fmt.Sprintf("/api/v1/units/%d/status", unit), `{"status":"off_duty"}`},
		{"sign out", "DELETE", "/api/v1/session", ""},
	}
	apiAttacks := []struct {
		name   string
		header string // X-CSRF-Token; "" for none
		query  bool
		origin string
	}{
		{"no header", "", false, ""},
		{"wrong header", secFlip(token), false, ""},
		{"another session's token", otherToken, false, ""},
		{"the session cookie as the token", session, false, ""},
		{"token in the query string", "", true, ""},
		{"right header from another site", token, false, "http://evil.example"},
		{"right header from an opaque origin", token, false, "null"},
	}
	for _, c := range calls {
		for _, a := range apiAttacks {
			t.Run("API "+c.name+"/"+a.name, func(t *testing.T) {
				hdr := []string{}
				if a.header != "" {
					hdr = append(hdr, "X-CSRF-Token", a.header)
				}
				if a.origin != "" {
					hdr = append(hdr, "Origin", a.origin)
				}
				path := c.path
				if a.query {
					path += "?csrf=" + url.QueryEscape(token)
				}
				before := snapshot(t)
				r := b.json(c.method, path, c.body, hdr...)
				refused(t, r, before)
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Errorf("an API refusal is not JSON: %s", r)
				}
			})
		}
	}

	// The right token works, as a field or as a header: the refusals above
	// were for the token alone.
	controls := []struct {
		name   string
		send   func() secResp
		code   int
		change func(before, after secSnapshot) bool
	}{
		{"intake form with its token", func() secResp {
			v := url.Values{"csrf": {token}}
			for k, vs := range forms[0].fields {
				v[k] = vs
			}
			return b.form("/incidents", v, "Origin", srv.base)
		}, 303, func(x, y secSnapshot) bool { return y.incidents == x.incidents+1 }},
		{"state form with its token", func() secResp {
			return b.form(forms[2].path, url.Values{"csrf": {token}, "to": {"dispatched"}})
		}, 303, func(x, y secSnapshot) bool { return y.state == "dispatched" }},
		{"assign form with its token", func() secResp {
			return b.form(forms[1].path, url.Values{"csrf": {token}, "unit_id": {fmt.Sprint(unit)}})
		}, 303, func(x, y secSnapshot) bool { return y.assignments == x.assignments+1 }},
		{"lang form with its token", func() secResp {
			return b.form("/lang", url.Values{"csrf": {token}, "lang": {"en"}, "back": {"/org"}})
		}, 303, func(x, y secSnapshot) bool { return y.lang == "en" }},
		// checkCSRF takes the token from the X-CSRF-Token header or the csrf
		// field; a form whose token rides in the header must still be read.
		{"lang form with its token in the X-CSRF-Token header", func() secResp {
			return b.form("/lang", url.Values{"lang": {"zh"}, "back": {"/org"}}, "X-CSRF-Token", token)
		}, 303, func(x, y secSnapshot) bool { return y.lang == "zh" }},
		{"API call with its token in the header", func() secResp {
			return b.json("POST", calls[0].path, calls[0].body, "X-CSRF-Token", token, "Origin", srv.base)
		}, 201, func(x, y secSnapshot) bool { return y.incidents == x.incidents+1 }},
		{"logout form with its token", func() secResp {
			return b.form("/logout", url.Values{"csrf": {token}})
		}, 303, func(x, y secSnapshot) bool { return y.session == http.StatusSeeOther }},
	}
	for _, c := range controls {
		t.Run("control/"+c.name, func(t *testing.T) {
			before := snapshot(t)
			if r := c.send(); r.code != c.code {
				t.Errorf("answer %s, want %d", r, c.code)
			}
			if after := snapshot(t); !c.change(before, after) {
				t.Errorf("the request with the right token did not do its work:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
	t.Run("control/API sign-out with its token", func(t *testing.T) {
		if r := o.do("DELETE", "/api/v1/session", "", "X-CSRF-Token", otherToken); r.code != http.StatusNoContent {
			t.Errorf("answer %s, want 204", r)
		}
		if r := o.get("/org"); r.code != http.StatusSeeOther {
			t.Errorf("the session still works after signing out: %s", r)
		}
	})

	// The sign-in form: double submit of a cookie and a field that another
	// site can set neither of.
	logins := []struct {
		name          string
		page          bool // GET /login first, for the cookie
		field         func(c *secClient, page string) string
		code          int
		sessionCookie bool
	}{
		{"neither cookie nor field", false, func(*secClient, string) string { return "" }, 403, false},
		{"a field but no cookie", false, func(*secClient, string) string { return token }, 403, false},
		{"the cookie but no field", true, func(*secClient, string) string { return "" }, 403, false},
		{"a field not matching the cookie", true, func(_ *secClient, p string) string { return secFlip(secField(p, "csrf")) }, 403, false},
		{"another browser's pair", true, func(*secClient, string) string {
			return secField(secNewClient(t, srv).get("/login").body, "csrf")
		}, 403, false},
		{"cookie and field", true, func(_ *secClient, p string) string { return secField(p, "csrf") }, 303, true},
	}
	for _, l := range logins {
		t.Run("sign-in/"+l.name, func(t *testing.T) {
			c := secNewClient(t, srv)
			page := ""
			if l.page {
				page = c.get("/login").body
			}
			v := url.Values{"username": {"victim"}, "password": {secPassword}}
			if f := l.field(c, page); f != "" {
				v.Set("csrf", f)
			}
			r := c.form("/login", v)
			if r.code != l.code {
				t.Errorf("answer %s, want %d", r, l.code)
			}
			if got := c.cookie("/", "zf_session") != ""; got != l.sessionCookie {
				t.Errorf("session cookie set: %v, want %v", got, l.sessionCookie)
			}
			if l.code == 403 && !strings.Contains(r.body, `id="login-message"`) {
				t.Errorf("a refused sign-in does not say why: %s", r)
			}
		})
	}
}

// secOversized: bodies over 64 KB are refused with 400 before
// anything is stored, as are fields over their own limits.
func secOversized(t *testing.T, srv *secServer) {
	api := secAPIClient(t, srv, "disp")
	id, _ := secTakeCall(t, api, "芝山路10号")
	b := secNewClient(t, srv)
	b.mustSignIn("disp")
	token := b.csrf()
	big := strings.Repeat("大", 70<<10/3+100) // over 64 KB in UTF-8
	count := func(t *testing.T) string {
		t.Helper()
		var list struct {
			Incidents []struct {
				ID    int64
				State string
			}
		}
		secDecode(t, api.get("/api/v1/incidents?limit=1000"), &list)
		return fmt.Sprint(list.Incidents)
	}
	intake := func(desc string) url.Values {
		return url.Values{"csrf": {token}, "category": {"200100"}, "address": {"芝山路11号"}, "position": {"111.6015, 26.4372"}, "description": {desc}}
	}
	tests := []struct {
		name string
		send func(t *testing.T) secResp
		says string // in the answer
	}{
		{"intake form over 64 KB", func(t *testing.T) secResp { return b.form("/incidents", intake(big)) }, "64 KB"},
		{"intake form over 64 KB, token in the header", func(t *testing.T) secResp {
			v := intake(big)
			v.Del("csrf")
			return b.form("/incidents", v, "X-CSRF-Token", token)
		}, "64 KB"},
		{"state form over 64 KB", func(t *testing.T) secResp {
			return b.form(fmt.Sprintf("/incidents/%d/state", id), url.Values{"csrf": {token}, "to": {"dispatched"}, "note": {big}})
		}, "64 KB"},
		{"sign-in form over 64 KB", func(t *testing.T) secResp {
			c := secNewClient(t, srv)
			csrf := secField(c.get("/login").body, "csrf")
			return c.form("/login", url.Values{"csrf": {csrf}, "username": {"disp"}, "password": {secPassword}, "pad": {big}})
		}, "64 KB"},
		{"description over its 4,000 characters", func(t *testing.T) secResp {
			// The board's form comes back as typed, with the error by its
			// field (422), rather than an error page that loses the call.
			r := b.form("/incidents", intake(strings.Repeat("打", zhufang.MaxTextRunes+1)))
			if r.code == http.StatusUnprocessableEntity && strings.Contains(r.body, `name="description" id="intake-description" rows="2" maxlength="4000" aria-invalid="true"`) {
				r.code = http.StatusBadRequest
			}
			return r
		}, "内容过长：最多 4000 个字"},
		{"note over its 500 characters", func(t *testing.T) secResp {
			return b.form(fmt.Sprintf("/incidents/%d/state", id), url.Values{"csrf": {token}, "to": {"dispatched"}, "note": {strings.Repeat("x", 501)}})
		}, "note"},
		{"JSON call over 64 KB", func(t *testing.T) secResp {
			return api.json("POST", "/api/v1/incidents", fmt.Sprintf(`{"source":"call_110","address":"芝山路12号","position":[111.6015,26.4372],"category":"200100","description":%q}`, big))
		}, "64 KB"},
		{"JSON transition over 64 KB", func(t *testing.T) secResp {
			return api.json("POST", fmt.Sprintf("/api/v1/incidents/%d/transitions", id), fmt.Sprintf(`{"to":"dispatched","note":%q}`, big))
		}, "64 KB"},
		{"JSON sign-in over 64 KB", func(t *testing.T) secResp {
			return secNewClient(t, srv).json("POST", "/api/v1/session", fmt.Sprintf(`{"username":"disp","password":%q}`, big))
		}, "64 KB"},
		{"JSON call over 64 KB with a cookie session", func(t *testing.T) secResp {
			return b.json("POST", "/api/v1/incidents", fmt.Sprintf(`{"source":"call_110","address":"芝山路12号","position":[111.6015,26.4372],"category":"200100","description":%q}`, big), "X-CSRF-Token", token)
		}, "64 KB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := count(t)
			r := tt.send(t)
			if r.code != http.StatusBadRequest || !strings.Contains(r.body, tt.says) {
				t.Errorf("answer %s, want 400 saying %q", r, tt.says)
			}
			for _, sc := range r.header.Values("Set-Cookie") {
				if strings.HasPrefix(sc, "zf_session=") && !strings.HasPrefix(sc, "zf_session=;") {
					t.Errorf("a refused request started a session: %s", sc)
				}
			}
			if after := count(t); after != before {
				t.Errorf("a refused request changed the incidents:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
