package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"zhufang"
	"zhufang/web"
)

// fakeOrg answers the two reads the pages make; any other call fails the
// test by panicking on the nil interface.
type fakeOrg struct {
	zhufang.OrgService
	fail bool
}

func (f fakeOrg) OrgSummary(ctx context.Context) (*zhufang.OrgSummary, error) {
	if f.fail {
		return nil, zhufang.WrapError(zhufang.EINTERNAL, "database error", errors.New("secret driver detail"))
	}
	return &zhufang.OrgSummary{CountyBureaus: 13, Stations: 170, UrbanCommunities: 124, Villages: 3181}, nil
}

func (f fakeOrg) FindOrgTree(ctx context.Context) (*zhufang.OrgTree, error) {
	return &zhufang.OrgTree{
		City: &zhufang.Bureau{Code: "431100", Name: "永州市公安局"},
		Counties: []*zhufang.BureauNode{{
			Bureau:   &zhufang.Bureau{Code: "431103", Name: "永州市公安局冷水滩分局"},
			Stations: []*zhufang.StationNode{{Station: &zhufang.Station{Code: "431103001", Name: "梅湾派出所", Kind: zhufang.StationUrban}, UrbanCommunities: 5}},
		}},
	}, nil
}

// squareLocator owns the unit square at (111, 26).
type squareLocator struct{}

func (squareLocator) Locate(p zhufang.Point) (zhufang.Jurisdiction, bool) {
	if p.Lon >= 111 && p.Lon < 112 && p.Lat >= 26 && p.Lat < 27 {
		return zhufang.Jurisdiction{Community: zhufang.AreaRef{ID: 7, Code: "431103001201", Name: "石冲村", Kind: "village"}}, true
	}
	return zhufang.Jurisdiction{}, false
}

func newServer(t testing.TB, org fakeOrg, ready error) http.Handler {
	t.Helper()
	s := &web.Server{Org: org, Locator: squareLocator{}, Users: fakeUsers{}, Ready: func(context.Context) error { return ready },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, target string) (*http.Response, string) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestRoutes(t *testing.T) {
	h := newServer(t, fakeOrg{}, nil)
	tests := []struct {
		target string
		status int
		says   string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, `"ready"`},
		{"/api/v1/org/summary", 200, `"urban_communities": 124`},
		{"/api/v1/locate?lon=111.5&lat=26.5", 200, `"石冲村"`},
		{"/api/v1/locate?lon=116.4&lat=39.9", 404, "outside"},
		{"/api/v1/locate?lat=26.5", 400, "lon is required"},
		{"/api/v1/locate?lon=111.5", 400, "lat is required"},
		{"/api/v1/locate?lon=east&lat=26.5", 400, "decimal number"},
		{"/api/v1/locate?lon=0x1p-2&lat=26.5", 400, "decimal number"},
		{"/api/v1/locate?lon=111.5&lat=95", 400, "off the planet"},
		{"/api/v1/locate?lon=NaN&lat=26.5", 400, "decimal number"},
		{"/api/v1/locate?lon=Inf&lat=26.5", 400, "decimal number"},
		{"/api/v1/locate?lon=1e999&lat=26.5", 400, "decimal number"},
		{"/api/v1/nothing", 404, "no such API endpoint"},
		{"/", 303, ""},
		{"/org", 200, "梅湾派出所"},
		{"/org?", 200, "3,181"},
		// The console's files, but never a listing of them.
		{"/static/app.js", 200, ""},
		{"/static/", 404, ""},
		{"/static/app.js/", 404, ""},
		{"/static/nothing.js", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			res, body := get(h, tt.target)
			if res.StatusCode != tt.status || !strings.Contains(body, tt.says) {
				t.Fatalf("GET %s: %d %s\nwant %d containing %q", tt.target, res.StatusCode, body, tt.status, tt.says)
			}
			if strings.HasPrefix(tt.target, "/api/") && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("content type %q", res.Header.Get("Content-Type"))
			}
		})
	}
}

func TestErrorsDoNotLeakInternals(t *testing.T) {
	h := newServer(t, fakeOrg{fail: true}, zhufang.WrapError(zhufang.EUNAVAILABLE, "database gone", errors.New("dial tcp: secret")))
	for _, target := range []string{"/api/v1/org/summary", "/readyz", "/org"} {
		res, body := get(h, target)
		if res.StatusCode < 500 {
			t.Errorf("GET %s: status %d, want a 5xx", target, res.StatusCode)
		}
		if strings.Contains(body, "secret") {
			t.Errorf("GET %s shows internal detail: %s", target, body)
		}
	}
}

func TestWrongMethod(t *testing.T) {
	h := newServer(t, fakeOrg{}, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/locate?lon=1&lat=2", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+testToken)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Body.String(), `"method_not_allowed"`) {
		t.Fatalf("POST /api/v1/locate: %d %s, want a JSON 405", rec.Code, rec.Body)
	}
}

// FuzzLocateQuery throws arbitrary query strings at /api/v1/locate: the
// answer is always a JSON 200, 400 or 404, never a crash or a 500.
func FuzzLocateQuery(f *testing.F) {
	for _, s := range []string{"lon=111.5&lat=26.5", "lon=&lat=", "lon=1e400&lat=1", "lon=-0&lat=-0", "lat=26.5&lat=27&lon=111", "lon=%zz"} {
		f.Add(s)
	}
	h := newServer(f, fakeOrg{}, nil)
	f.Fuzz(func(t *testing.T, q string) {
		u := &url.URL{Path: "/api/v1/locate", RawQuery: q}
		req, err := http.NewRequest(http.MethodGet, "http://zhufang.test"+u.String(), nil)
		if err != nil {
			return // no client could send this request line
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404:
		default:
			t.Fatalf("%q: status %d: %s", q, rec.Code, rec.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%q: not JSON: %s", q, rec.Body)
		}
	})
}
