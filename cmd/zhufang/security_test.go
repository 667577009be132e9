package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// The security tests drive `zhufang serve` as a browser and an attacker
// would: over HTTP, with a cookie jar, from loopback addresses of their own
// (so each client has its own sign-in limit), and reach into the SQLite file
// only to move time (a session's last-seen time, an account's last failure)
// or to clear an account's failures between unrelated attempts.

// secPassword is the password of every user the security tests add.
const secPassword = "a long security password"

func secNoEnv(string) string { return "" }

// secServer is `zhufang serve --demo` on a fresh SQLite database.
type secServer struct {
	base string // http://127.0.0.1:PORT
	dsn  string
}

// secStart serves the demo city for one test and stops it when the test ends.
func secStart(t *testing.T) *secServer {
	t.Helper()
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	base, stop := startServe(t, demoArgs(t, dsn)...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve ended with %v", err)
		}
	})
	return &secServer{base: base, dsn: dsn}
}

// secCLI runs a zhufang command and returns what it printed.
func secCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, secNoEnv, &out, io.Discard)
	return out.String(), err
}

// secAddUser adds a user with secPassword; their ground is the city unless
// scope gives other flags (--scope station --org ID).
func secAddUser(t *testing.T, dsn, username string, role zhufang.Role, scope ...string) {
	t.Helper()
	pw := writeFile(t, t.TempDir(), "pw", secPassword+"\n")
	if len(scope) == 0 {
		scope = []string{"--scope", "city"}
	}
	args := append([]string{"user", "add", "--db", dsn, "--name", "测试 " + username, "--role", string(role), "--password-file", pw}, scope...)
	if _, err := secCLI(t, append(args, username)...); err != nil {
		t.Fatalf("user add %s: %v", username, err)
	}
}

// secAddrs hands each client a loopback address of its own.
var secAddrs atomic.Int32

// secResp is an answer, read whole.
type secResp struct {
	code   int
	body   string
	header http.Header
}

var secMessageRE = regexp.MustCompile(`<p class="(?:error-message|flash error)"[^>]*>([^<]*)</p>`)

// String shows the status and, for a page, its error message rather than
// its head.
func (r secResp) String() string {
	if m := secMessageRE.FindStringSubmatch(r.body); m != nil {
		return fmt.Sprintf("%d page saying %q", r.code, html.UnescapeString(m[1]))
	}
	b := r.body
	if len(b) > 400 {
		b = b[:400] + "…"
	}
	return fmt.Sprintf("%d %s", r.code, b)
}

// secClient is a browser (a cookie jar, redirects shown rather than
// followed) or, with a token, an API client.
type secClient struct {
	t     *testing.T
	base  string
	from  string // the loopback address it connects from
	jar   *cookiejar.Jar
	tr    *http.Transport
	hc    *http.Client
	token string // sent as Authorization: Bearer when set
}

// secNewClient makes a client that connects from a loopback address no
// other client of the test run uses.
func secNewClient(t *testing.T, srv *secServer) *secClient {
	t.Helper()
	n := secAddrs.Add(1)
	return secClientFrom(t, srv, fmt.Sprintf("127.1.%d.%d", n/250, n%250+1))
}

// secClientFrom makes a client (a browser of its own, with an empty cookie
// jar) that connects from a given loopback address.
func secClientFrom(t *testing.T, srv *secServer, from string) *secClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &secClient{t: t, base: srv.base, from: from, jar: jar, tr: tr, hc: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request; header holds name, value pairs.
func (c *secClient) do(method, path, body string, header ...string) secResp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return secResp{code: res.StatusCode, body: string(b), header: res.Header}
}

func (c *secClient) get(path string, header ...string) secResp {
	c.t.Helper()
	return c.do(http.MethodGet, path, "", header...)
}

// form posts a form as a browser does.
func (c *secClient) form(path string, v url.Values, header ...string) secResp {
	c.t.Helper()
	return c.do(http.MethodPost, path, v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

// json sends a JSON body.
func (c *secClient) json(method, path, body string, header ...string) secResp {
	c.t.Helper()
	return c.do(method, path, body, append([]string{"Content-Type", "application/json"}, header...)...)
}

// cookie returns the value the jar would send to path for a cookie.
func (c *secClient) cookie(path, name string) string {
	u, _ := url.Parse(c.base + path)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// signIn fills in the sign-in form as a person does: the page first (for
// its CSRF cookie and field), then the post.
func (c *secClient) signIn(username, password string, extra ...string) secResp {
	c.t.Helper()
	page := c.get("/login")
	v := url.Values{"csrf": {secField(page.body, "csrf")}, "username": {username}, "password": {password}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return c.form("/login", v)
}

// mustSignIn signs in with secPassword and fails the test unless the
// browser gets a session.
func (c *secClient) mustSignIn(username string) {
	c.t.Helper()
	if r := c.signIn(username, secPassword); r.code != http.StatusSeeOther || c.cookie("/", "zf_session") == "" {
		c.t.Fatalf("sign in as %s: %s, want 303 and a session cookie", username, r)
	}
}

// csrf returns the CSRF token the console's forms carry for this session.
func (c *secClient) csrf() string {
	c.t.Helper()
	r := c.get("/org")
	tok := secField(r.body, "csrf")
	if r.code != http.StatusOK || tok == "" {
		c.t.Fatalf("GET /org for its CSRF token: %s", r)
	}
	return tok
}

// secAPIClient signs username in through the API and returns a client that
// sends the session's token.
func secAPIClient(t *testing.T, srv *secServer, username string) *secClient {
	t.Helper()
	c := secNewClient(t, srv)
	c.token = secAPISignIn(t, c, username, secPassword)
	return c
}

// secAPISignIn posts to /api/v1/session and returns the token.
func secAPISignIn(t *testing.T, c *secClient, username, password string) string {
	t.Helper()
	r := c.json(http.MethodPost, "/api/v1/session", fmt.Sprintf(`{"username":%q,"password":%q}`, username, password))
	var s struct{ Token string }
	if r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &s) != nil || s.Token == "" {
		t.Fatalf("API sign-in as %s: %s", username, r)
	}
	return s.Token
}

var secFieldRE = regexp.MustCompile(`name="([a-z_]+)" value="([^"]*)"`)

// secField returns the value of a form's hidden input.
func secField(page, name string) string {
	for _, m := range secFieldRE.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

// secDecode decodes a JSON answer, failing the test if it is not JSON.
func secDecode(t *testing.T, r secResp, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, r)
	}
}

// secFlip changes a token's first character.
func secFlip(s string) string {
	if strings.HasPrefix(s, "A") {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// secTakeCall takes a 110 call through the API and returns the incident.
func secTakeCall(t *testing.T, api *secClient, address string) (id, station int64) {
	t.Helper()
	r := api.json(http.MethodPost, "/api/v1/incidents", fmt.Sprintf(`{"source":"call_110","caller_phone":"13912345678",
		"address":%q,"position":[111.6015,26.4372],"category":"200100","description":"有人打架"}`, address))
	var inc struct {
		ID        int64
		StationID int64 `json:"station_id"`
	}
	if r.code != http.StatusCreated {
		t.Fatalf("take a call: %s", r)
	}
	secDecode(t, r, &inc)
	return inc.ID, inc.StationID
}

// secTag is one start tag of a page, with the text of a script element.
type secTag struct {
	name   string
	attrs  [][2]string // lower-case name, raw value
	script string
}

// secTags lists the start tags of an HTML document as a browser's tokenizer
// finds them: '<' and a letter open a tag, quoted attribute values may hold
// anything but their quote. Comments, doctypes and end tags are skipped.
func secTags(doc string) []secTag {
	var tags []secTag
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	isLetter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	i := 0
	for {
		j := strings.IndexByte(doc[i:], '<')
		if j < 0 || i+j+1 >= len(doc) {
			return tags
		}
		i += j + 1
		switch {
		case strings.HasPrefix(doc[i:], "!--"):
			end := strings.Index(doc[i:], "-->")
			if end < 0 {
				return tags
			}
			i += end + 3
			continue
		case doc[i] == '!' || doc[i] == '?' || doc[i] == '/':
			end := strings.IndexByte(doc[i:], '>')
			if end < 0 {
				return tags
			}
			i += end + 1
			continue
		case !isLetter(doc[i]):
			continue // a '<' in text
		}
		k := i
		for k < len(doc) && !isSpace(doc[k]) && doc[k] != '/' && doc[k] != '>' {
			k++
		}
		tag := secTag{name: strings.ToLower(doc[i:k])}
		i = k
	attrs:
		for i < len(doc) {
			switch c := doc[i]; {
			case isSpace(c) || c == '/':
				i++
				continue
			case c == '>':
				i++
				break attrs
			}
			k = i
			for k < len(doc) && !isSpace(doc[k]) && doc[k] != '/' && doc[k] != '>' && (doc[k] != '=' || k == i) {
				k++
			}
			name := strings.ToLower(doc[i:k])
			i = k
			for i < len(doc) && isSpace(doc[i]) {
				i++
			}
			val := ""
			if i < len(doc) && doc[i] == '=' {
				i++
				for i < len(doc) && isSpace(doc[i]) {
					i++
				}
				if i < len(doc) && (doc[i] == '"' || doc[i] == '\'') {
					end := strings.IndexByte(doc[i+1:], doc[i])
					if end < 0 {
						end = len(doc) - i - 1
					}
					val, i = doc[i+1:i+1+end], min(i+end+2, len(doc))
				} else {
					k = i
					for k < len(doc) && !isSpace(doc[k]) && doc[k] != '>' {
						k++
					}
					val, i = doc[i:k], k
				}
			}
			tag.attrs = append(tag.attrs, [2]string{name, val})
		}
		if tag.name == "script" {
			end := strings.Index(strings.ToLower(doc[i:]), "</script")
			if end < 0 {
				end = len(doc) - i
			}
			tag.script, i = doc[i:i+end], i+end
		}
		tags = append(tags, tag)
		if i >= len(doc) {
			return tags
		}
	}
}

// secCheckHTML reports what a strict CSP would block or what would run a
// script in a console page: a script element with a body or from elsewhere,
// an event-handler attribute, a javascript: URL.
func secCheckHTML(t *testing.T, where, doc string) {
	t.Helper()
	for _, tag := range secTags(doc) {
		var src string
		for _, a := range tag.attrs {
			v := strings.ToLower(strings.TrimSpace(html.UnescapeString(a[1])))
			switch {
			case strings.HasPrefix(a[0], "on"):
				t.Errorf("%s: <%s> has an event-handler attribute %s=%q", where, tag.name, a[0], a[1])
			case (a[0] == "href" || a[0] == "src" || a[0] == "action" || a[0] == "formaction") && strings.HasPrefix(v, "javascript:"):
				t.Errorf("%s: <%s %s=%q> is a javascript: URL", where, tag.name, a[0], a[1])
			}
			if a[0] == "src" {
				src = a[1]
			}
		}
		if tag.name == "script" {
			if strings.TrimSpace(tag.script) != "" {
				t.Errorf("%s: an inline script: <script>%.100s", where, tag.script)
			}
			if !strings.HasPrefix(src, "/static/") {
				t.Errorf("%s: a script from %q, not the console's own /static/", where, src)
			}
		}
	}
}

// secCheckInert checks that a page holds none of the payloads as markup and
// shows each of shown as text, so that the check is not passed by a page
// that simply leaves the field out.
func secCheckInert(t *testing.T, where, doc string, payloads, shown []string) {
	t.Helper()
	secCheckHTML(t, where, doc)
	for _, p := range payloads {
		if strings.Contains(doc, p) {
			t.Errorf("%s: the payload %q appears unescaped", where, p)
		}
	}
	text := html.UnescapeString(doc)
	for _, p := range shown {
		if !strings.Contains(text, p) {
			t.Errorf("%s: does not show %q as text (so the test proves nothing about it)", where, p)
		}
	}
}

// secCheckJSON checks that an API answer is JSON the browser will not sniff
// into HTML, with no raw markup in it.
func secCheckJSON(t *testing.T, where string, r secResp) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", where, ct)
	}
	if v := r.header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", where, v)
	}
	if !json.Valid([]byte(r.body)) {
		t.Errorf("%s: not JSON: %s", where, r)
	}
	if strings.Contains(r.body, "<script") || strings.Contains(r.body, "<img") {
		t.Errorf("%s: raw markup in the JSON (Go escapes < as \\u003c): %s", where, r)
	}
}

// TestSecurity attacks one `zhufang serve --demo` as a browser and an
// outsider would. The groups run in turn on one server (the demo city takes
// long to build, under -race most of all); each uses users and client
// addresses of its own.
func TestSecurity(t *testing.T) {
	t.Parallel()
	srv := secStart(t)
	secAddUser(t, srv.dsn, "disp", zhufang.RoleDispatcher)
	secAddUser(t, srv.dsn, "auditor", zhufang.RoleAdmin)
	for _, g := range []struct {
		name string
		run  func(t *testing.T, srv *secServer)
	}{
		{"markup is inert", secMarkupInert},
		{"security headers", secHeaders},
		{"CSRF", secCSRF},
		{"oversized bodies", secOversized},
		{"sign-in throttle", secSignInThrottle},
		{"sessions end", secSessionEnds},
		{"next stays on site", secNextStaysOnSite},
	} {
		t.Run(g.name, func(t *testing.T) { g.run(t, srv) })
	}
}
