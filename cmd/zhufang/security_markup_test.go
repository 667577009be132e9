package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"zhufang"
)

// secMarkupInert puts script and HTML into every free-text field a
// user or a caller controls, and checks every page that shows them: the
// markup is shown as text and nothing of it runs; the API returns it as JSON
// strings.
func secMarkupInert(t *testing.T, srv *secServer) {
	p := map[string]string{
		"address":     `梅湾路"><script>alert('address')</script>`,
		"description": `有人打架<img src=x onerror="alert('description')"><svg onload=alert(1)>`,
		"caller":      `"><img src=x onerror=alert('caller')>`,
		"note":        `</textarea><script>alert('note')</script>`,
		"reason":      `'><img src=x onerror=alert('reason')>`,
		"username":    `"><script>alert('username')</script>`,
		"actor":       `"><script>alert('actor')</script>`,
		"record":      `' autofocus onfocus='alert(1)`,
		"action":      `<iframe src=javascript:alert('action')>`,
		"next":        `/"><script>alert('next')</script>`,
		"path":        `<img src=x onerror=alert('path')>`,
		"msg":         `<script>alert('msg')</script>`,
	}
	var payloads []string
	for _, v := range p {
		payloads = append(payloads, v)
	}
	b := secNewClient(t, srv)
	b.mustSignIn("disp")
	api := secAPIClient(t, srv, "disp")
	csrf := b.csrf()

	// A dispatcher types the call into the board's form.
	r := b.form("/incidents", url.Values{"csrf": {csrf}, "category": {"200100"}, "address": {p["address"]},
		"position": {"111.6015, 26.4372"}, "caller_phone": {"13912345678"}, "caller_name": {p["caller"]}, "description": {p["description"]}})
	id, err := strconv.ParseInt(strings.TrimPrefix(r.header.Get("Location"), "/board?sel="), 10, 64)
	if r.code != http.StatusSeeOther || err != nil {
		t.Fatalf("intake form: %s, Location %q", r, r.header.Get("Location"))
	}
	if r := b.form(fmt.Sprintf("/incidents/%d/state", id), url.Values{"csrf": {csrf}, "to": {"dispatched"}, "note": {p["note"]}}); r.code != http.StatusSeeOther {
		t.Fatalf("state form: %s", r)
	}
	if r := api.json(http.MethodPost, fmt.Sprintf("/api/v1/incidents/%d/lane", id), fmt.Sprintf(`{"lane":"case","reason":%q}`, p["reason"])); r.code != http.StatusOK {
		t.Fatalf("lane override: %s", r)
	}
	var inc struct {
		StationID   int64  `json:"station_id"`
		Address     string `json:"address"`
		Description string `json:"description"`
		CallerName  string `json:"caller_name"`
		Triage      struct{ Reason string }
		Transitions []struct{ Note string }
	}
	r = api.get(fmt.Sprintf("/api/v1/incidents/%d?personal=1", id))
	secCheckJSON(t, "GET /api/v1/incidents/{id}", r)
	secDecode(t, r, &inc)
	notes := []string{}
	for _, tr := range inc.Transitions {
		if tr.Note != "" {
			notes = append(notes, tr.Note)
		}
	}
	got := []string{inc.Address, inc.Description, inc.CallerName, inc.Triage.Reason, strings.Join(notes, "|")}
	want := []string{p["address"], p["description"], p["caller"], p["reason"], p["note"]}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("the API returns %q, want the text as typed, %q", got[i], want[i])
		}
	}

	admin := secNewClient(t, srv)
	admin.mustSignIn("auditor")
	adminAPI := secAPIClient(t, srv, "auditor")
	anon := secNewClient(t, srv)
	// A case officer of the station sees its page without the compliance
	// table (no view_stats), so the escaping of its list is checked even
	// while that table does not render.
	secAddUser(t, srv.dsn, "casework", zhufang.RoleCaseOfficer, "--scope", "station", "--org", fmt.Sprint(inc.StationID))
	casework := secNewClient(t, srv)
	casework.mustSignIn("casework")
	pages := []struct {
		name  string
		c     *secClient
		path  string
		code  int
		shown []string
	}{
		{"board", b, "/board", 200, []string{p["address"]}},
		{"board with the incident selected", b, fmt.Sprintf("/board?sel=%d", id), 200, []string{p["address"], p["description"], p["reason"]}},
		{"board row fragment", b, fmt.Sprintf("/board/rows/%d", id), 200, []string{p["address"]}},
		{"board message", b, "/board?msg=" + url.QueryEscape(p["msg"]), 200, []string{p["msg"]}},
		{"map", b, "/map", 200, nil},
		{"incident page", b, fmt.Sprintf("/incidents/%d", id), 200, []string{p["address"], p["description"], p["caller"], p["note"], p["reason"]}},
		{"station page refused to a case officer", casework, fmt.Sprintf("/stations/%d", inc.StationID), 403, nil},
		{"station page with its compliance table", b, fmt.Sprintf("/stations/%d", inc.StationID), 200, []string{p["address"]}},
		{"error page naming a bad ID", b, "/incidents/" + url.PathEscape(p["path"]), 400, []string{p["path"]}},
		{"audit page", admin, "/audit", 200, []string{p["reason"]}},
		{"audit page with filters", admin, "/audit?page=1&actor=" + url.QueryEscape(p["actor"]) + "&record=" + url.QueryEscape(p["record"]) +
			"&action=" + url.QueryEscape(p["action"]), 200, []string{p["actor"], p["record"], p["action"]}},
		{"sign-in page with next", anon, "/login?next=" + url.QueryEscape(p["next"]), 200, []string{p["next"]}},
	}
	for _, pg := range pages {
		t.Run(pg.name, func(t *testing.T) {
			r := pg.c.get(pg.path)
			if r.code != pg.code {
				t.Fatalf("GET %s: %s, want %d", pg.path, r, pg.code)
			}
			secCheckInert(t, pg.name, r.body, payloads, pg.shown)
		})
	}
	t.Run("sign-in page after a wrong password", func(t *testing.T) {
		r := secNewClient(t, srv).signIn(p["username"], "not the password at all", "next", p["next"])
		if r.code != http.StatusUnauthorized {
			t.Fatalf("wrong password: %s, want 401", r)
		}
		secCheckInert(t, "sign-in page", r.body, payloads, []string{p["username"], p["next"]})
	})

	apis := []struct {
		name string
		c    *secClient
		path string
		code int
		want string // a text the decoded answer must hold
	}{
		{"incident list", api, "/api/v1/incidents?open=1", 200, p["description"]},
		{"audit trail", adminAPI, "/api/v1/audit", 200, p["reason"]},
		{"audit trail filtered", adminAPI, "/api/v1/audit?actor=" + url.QueryEscape(p["actor"]) + "&action=" + url.QueryEscape(p["action"]), 200, ""},
		{"error naming a bad ID", api, "/api/v1/incidents/" + url.PathEscape(p["path"]), 400, p["path"]},
		{"error naming a bad state", api, "/api/v1/incidents?state=" + url.QueryEscape(p["msg"]), 400, p["msg"]},
	}
	for _, a := range apis {
		t.Run("API "+a.name, func(t *testing.T) {
			r := a.c.get(a.path)
			if r.code != a.code {
				t.Fatalf("GET %s: %s, want %d", a.path, r, a.code)
			}
			secCheckJSON(t, a.name, r)
			var v any
			secDecode(t, r, &v)
			if a.want != "" && !strings.Contains(secJSONText(v), a.want) {
				t.Errorf("%s: the answer does not hold %q as a string: %s", a.name, a.want, r)
			}
		})
	}
	t.Run("API sign-in with markup for a username", func(t *testing.T) {
		r := secNewClient(t, srv).json(http.MethodPost, "/api/v1/session", fmt.Sprintf(`{"username":%q,"password":"not the password"}`, p["username"]))
		if r.code != http.StatusUnauthorized {
			t.Fatalf("%s, want 401", r)
		}
		secCheckJSON(t, "API sign-in", r)
	})
}

// secJSONText joins every string in a decoded JSON value.
func secJSONText(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v)
			b.WriteByte('\n')
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

// secCheckHeaders checks the headers every answer must carry: a CSP that
// runs only the console's own scripts, no framing, no sniffing.
func secCheckHeaders(t *testing.T, where string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	dirs := map[string][]string{}
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			dirs[strings.ToLower(f[0])] = f[1:]
		}
	}
	script, ok := dirs["script-src"]
	if !ok {
		script, ok = dirs["default-src"]
	}
	if !ok {
		t.Errorf("%s: Content-Security-Policy %q limits no scripts", where, csp)
	}
	for _, s := range script {
		switch strings.ToLower(s) {
		case "'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:", "blob:":
			t.Errorf("%s: Content-Security-Policy allows scripts from %s: %q", where, s, csp)
		}
	}
	for d, want := range map[string]string{"frame-ancestors": "'none'", "object-src": "'none'", "base-uri": "'none'"} {
		if got := strings.Join(dirs[d], " "); got != want {
			t.Errorf("%s: Content-Security-Policy %s is %q, want %s", where, d, got, want)
		}
	}
	if v := h.Get("X-Frame-Options"); v != "DENY" {
		t.Errorf("%s: X-Frame-Options %q, want DENY", where, v)
	}
	if v := h.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", where, v)
	}
}

// secHeaders checks every kind of answer (pages, fragments, error
// pages, redirects, API answers and errors, static files, health checks,
// the mux's own 404 and 405) for the security headers, and every console
// page for inline scripts and event-handler attributes.
func secHeaders(t *testing.T, srv *secServer) {
	api := secAPIClient(t, srv, "disp")
	id, station := secTakeCall(t, api, "芝山路10号")
	var units struct{ Units []struct{ ID int64 } }
	secDecode(t, api.get(fmt.Sprintf("/api/v1/units?station_id=%d", station)), &units)
	if len(units.Units) == 0 {
		t.Fatalf("station %d has no units", station)
	}
	b := secNewClient(t, srv)
	b.mustSignIn("disp")
	admin := secNewClient(t, srv)
	admin.mustSignIn("auditor")
	secAddUser(t, srv.dsn, "casework2", zhufang.RoleCaseOfficer, "--scope", "station", "--org", fmt.Sprint(station))
	casework := secNewClient(t, srv)
	casework.mustSignIn("casework2")
	anon := secNewClient(t, srv)
	tests := []struct {
		name   string
		c      *secClient
		method string
		path   string
		code   int
		page   bool // a console page: no inline script, no handlers
	}{
		{"sign-in page", anon, "GET", "/login", 200, true},
		{"sign-in page in English", anon, "GET", "/login?lang=en", 200, true},
		{"stale sign-in post", anon, "POST", "/login", 403, true},
		{"page without a session", anon, "GET", "/board", 303, false},
		{"form post without a session", anon, "POST", "/lang", 401, true},
		{"home", b, "GET", "/", 303, false},
		{"board", b, "GET", "/board", 200, true},
		{"board with a selection", b, "GET", fmt.Sprintf("/board?sel=%d", id), 200, true},
		{"board row", b, "GET", fmt.Sprintf("/board/rows/%d", id), 200, true},
		{"board units", b, "GET", "/board/units", 200, true},
		{"map", b, "GET", "/map", 200, true},
		{"incident", b, "GET", fmt.Sprintf("/incidents/%d", id), 200, true},
		{"unit", b, "GET", fmt.Sprintf("/units/%d", units.Units[0].ID), 200, true},
		{"station", b, "GET", fmt.Sprintf("/stations/%d", station), 200, true},
		{"station refused to a case officer", casework, "GET", fmt.Sprintf("/stations/%d", station), 403, true},
		{"org", b, "GET", "/org", 200, true},
		{"audit", admin, "GET", "/audit?verify=1", 200, true},
		{"audit refused to a dispatcher", b, "GET", "/audit", 403, true},
		{"missing incident", b, "GET", "/incidents/999999", 404, true},
		{"form without its token", b, "POST", "/lang", 403, true},
		{"unknown page", b, "GET", "/no/such/page", 404, false},
		{"static script", anon, "GET", "/static/app.js", 200, false},
		{"static style", anon, "GET", "/static/app.css", 200, false},
		{"health", anon, "GET", "/healthz", 200, false},
		{"readiness", anon, "GET", "/readyz", 200, false},
		{"API without a session", anon, "GET", "/api/v1/incidents", 401, false},
		{"API answer", api, "GET", fmt.Sprintf("/api/v1/incidents/%d", id), 200, false},
		{"API error", api, "GET", "/api/v1/incidents/x", 400, false},
		{"API unknown endpoint", api, "GET", "/api/v1/nothing", 404, false},
		{"API wrong method", api, "PUT", "/api/v1/session", 405, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.do(tt.method, tt.path, "")
			if r.code != tt.code {
				t.Errorf("%s %s: %s, want %d", tt.method, tt.path, r, tt.code)
			}
			secCheckHeaders(t, tt.name, r.header)
			if tt.page {
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q, want text/html", ct)
				}
				secCheckHTML(t, tt.name, r.body)
			}
		})
	}
}

// secSnapshot describes what the CSRF attacks must not change.
type secSnapshot struct {
	incidents   int
	state       string
	assignments int
	lang        string
	session     int // what the victim's browser gets for a page: 404 for a missing incident while signed in
	unitStatus  string
}
