package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// FuzzLoginForm throws arbitrary form bodies and login cookies at the
// sign-in form: the answer is the form again (200, 401, 403, 429) or a
// redirect on this site, never a crash or a 500, and a session cookie is
// set only for the right password with a matching CSRF pair.
func FuzzLoginForm(f *testing.F) {
	f.Add("csrf=abc&username=tester&password=a+long+test+password&next=%2Fboard", "abc")
	f.Add("csrf=abc&username=tester&password=wrong", "abc")
	f.Add("csrf=&username=&password=", "")
	f.Add("csrf=abc&username=tester&password=a+long+test+password&next=%2F%2Fevil.example", "abc")
	f.Add("%zz&&==", "x")
	f.Add("csrf=abc&username=tester&password=a+long+test+password&next=%2F%09%2Fevil.example%2F", "abc")
	h := newServer(f, fakeOrg{}, nil)
	f.Fuzz(func(t *testing.T, body, cookie string) {
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" && !strings.ContainsAny(cookie, ";\r\n\x00") {
			req.AddCookie(&http.Cookie{Name: "zf_login", Value: url.QueryEscape(cookie)})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 403, 429:
			for _, c := range rec.Result().Cookies() {
				if c.Name == "zf_session" && c.Value != "" {
					t.Fatalf("a refused sign-in set a session cookie: %q", body)
				}
			}
		case 303:
			loc := rec.Header().Get("Location")
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n") {
				t.Fatalf("redirect off the site to %q for %q", loc, body)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzSessionRequest throws arbitrary JSON at POST /api/v1/session: a JSON
// 201 only for the right password, a JSON 4xx otherwise.
func FuzzSessionRequest(f *testing.F) {
	f.Add(`{"username":"tester","password":"a long test password"}`)
	f.Add(`{"username":"tester","password":"nope"}`)
	f.Add(`{"username":1}`)
	f.Add(`{"username":"tester","password":"a long test password","extra":true}`)
	h := newServer(f, fakeOrg{}, nil)
	var fresh atomic.Int64
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/session", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		ok := body == `{"username":"tester","password":"a long test password"}`
		if ok {
			// The right password from an address of its own: one address
			// gets 20 sign-ins a minute, and the fuzzer sends far more.
			n := fresh.Add(1)
			req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", n>>16&255, n>>8&255, n&255)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == 201 && !strings.Contains(rec.Body.String(), `"token"`):
			t.Fatalf("201 without a token: %s", rec.Body)
		case rec.Code >= 500:
			t.Fatalf("status %d for %q", rec.Code, body)
		case ok && rec.Code != 201:
			t.Fatalf("the right password got %d", rec.Code)
		case !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"):
			t.Fatalf("not JSON: %q", rec.Header().Get("Content-Type"))
		}
	})
}
