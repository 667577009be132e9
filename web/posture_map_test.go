package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/web"
)

// mapOrg is a city of one county, enough for the map page to draw.
type mapOrg struct{ fakeOrg }

func (mapOrg) FindBureaus(ctx context.Context) ([]*zhufang.Bureau, error) {
	square := zhufang.MultiPolygon{{{{Lon: 111.5, Lat: 26.3}, {Lon: 111.7, Lat: 26.3}, {Lon: 111.7, Lat: 26.5}, {Lon: 111.5, Lat: 26.5}, {Lon: 111.5, Lat: 26.3}}}}
	return []*zhufang.Bureau{
		{ID: 1, Name: "永州市公安局", Level: zhufang.BureauCity, Area: square},
		{ID: 2, Name: "冷水滩分局", ParentID: 1, Area: square},
	}, nil
}

func (mapOrg) FindStations(ctx context.Context) ([]*zhufang.Station, error) { return nil, nil }

func (mapOrg) FindCommunities(ctx context.Context, f zhufang.CommunityFilter) ([]*zhufang.Community, error) {
	return nil, nil
}

// quietCity has no open incidents and no units.
type quietCity struct {
	zhufang.IncidentService
	zhufang.UnitService
	zhufang.Fleet
}

func (quietCity) FindIncidents(ctx context.Context, f zhufang.IncidentFilter) ([]*zhufang.Incident, error) {
	return nil, nil
}

func (quietCity) FindUnits(ctx context.Context, stationID int64) ([]*zhufang.Unit, error) {
	return nil, nil
}

func (quietCity) Units(stationID int64) []zhufang.LiveUnit { return nil }

// roleUsers signs in a user per token: "<role>-<lang>".
type roleUsers struct{ fakeUsers }

func (roleUsers) SessionUser(ctx context.Context, token string) (*zhufang.User, *zhufang.Session, error) {
	role, lang, ok := strings.Cut(token, "-")
	if !ok {
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "your session has ended; please sign in again")
	}
	scope := zhufang.Scope{Level: zhufang.ScopeCity}
	if zhufang.Role(role) == zhufang.RoleMediator {
		scope = zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 2, StationID: 3}
	}
	return &zhufang.User{ID: 1, Username: role, Name: "测试", Role: zhufang.Role(role), Scope: scope, Lang: lang},
		&zhufang.Session{UserID: 1, CSRF: "csrf"}, nil
}

func mapServer(t *testing.T) http.Handler {
	t.Helper()
	q := quietCity{}
	s := &web.Server{Org: mapOrg{}, Locator: squareLocator{}, Incidents: q, Units: q, Fleet: q, Users: roleUsers{},
		Intake: &zhufang.Intake{Clock: zhufang.FixedClock(now)}, Posture: fakePosture{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func getAs(t *testing.T, h http.Handler, token, target string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://zhufang.test"+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// postureView is what the map page shows of the posture layer.
type postureView struct {
	Toggle  string // the toggle's label, "" for none
	Layer   bool   // the SVG group it draws into
	Loading string // the legend's text while the plan comes
	Summary string // the legend's summary, filled in by /map/posture
}

var (
	toggleRe  = regexp.MustCompile(`<label class="toggle"[^>]*><input type="checkbox" id="posture-toggle"[^>]*>\s*([^<]*)</label>`)
	loadingRe = regexp.MustCompile(`id="posture-legend"[^>]*data-loading="([^"]*)"`)
	summaryRe = regexp.MustCompile(`<p id="posture-summary">([^<]*)</p>`)
)

func postureViewOf(page, layer string) postureView {
	var v postureView
	if m := toggleRe.FindStringSubmatch(page); m != nil {
		v.Toggle = m[1]
	}
	v.Layer = strings.Contains(page, `<g id="posture" class="posture"></g>`)
	if m := loadingRe.FindStringSubmatch(page); m != nil {
		v.Loading = m[1]
	}
	if m := summaryRe.FindStringSubmatch(layer); m != nil {
		v.Summary = m[1]
	}
	return v
}

// TestMapPostureToggle checks that the map offers the posture layer, in
// the user's language, only to users who may read the plan.
func TestMapPostureToggle(t *testing.T) {
	h := mapServer(t)
	tests := []struct {
		name  string
		token string
		want  postureView
	}{
		{"dispatcher in Chinese", "dispatcher-zh", postureView{Toggle: "快反部署", Layer: true, Loading: "正在计算…",
			Summary: "本小时预计街面警情 4 起，当前按时可达 38%，按部署可达 88%"}},
		{"dispatcher in English", "dispatcher-en", postureView{Toggle: "Posture", Layer: true, Loading: "Planning…",
			Summary: "Expected street incidents this hour 4, reachable in time now 38%, with the plan 88%"}},
		{"mediator, who may not see units", "mediator-zh", postureView{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := getAs(t, h, tt.token, "/map")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /map: %d %s", res.StatusCode, body)
			}
			_, layer := getAs(t, h, tt.token, "/map/posture")
			if diff := cmp.Diff(tt.want, postureViewOf(body, layer)); diff != "" {
				t.Errorf("posture layer on the map (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("the API refuses the mediator", func(t *testing.T) {
		res, body := getAs(t, h, "mediator-zh", "/api/v1/posture")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("GET /api/v1/posture as a mediator: %d %s, want 403", res.StatusCode, body)
		}
	})
	t.Run("the map's layer refuses the mediator", func(t *testing.T) {
		res, body := getAs(t, h, "mediator-zh", "/map/posture")
		if res.StatusCode != http.StatusForbidden || strings.Contains(body, "posture-summary") {
			t.Errorf("GET /map/posture as a mediator: %d %s, want 403 and no plan", res.StatusCode, body)
		}
	})
}

// TestMapStaysUnderStrictCSP checks that the map page and the console's
// script need nothing the Content-Security-Policy forbids: no inline
// script, no inline event handler, no style attribute.
func TestMapStaysUnderStrictCSP(t *testing.T) {
	h := mapServer(t)
	res, page := getAs(t, h, "dispatcher-zh", "/map")
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "style-src 'self';") || strings.Contains(csp, "unsafe-") {
		t.Fatalf("the policy is not strict: %q", csp)
	}
	// Every script the map loads: the shared one and the map's own.
	var srcs []string
	for _, m := range regexp.MustCompile(`<script src="([^"]+)" defer></script>`).FindAllStringSubmatch(page, -1) {
		srcs = append(srcs, m[1])
	}
	if diff := cmp.Diff([]string{"/static/app.js", "/static/map.js", "/static/posture.js", "/static/pick.js"}, srcs); diff != "" {
		t.Fatalf("scripts of the map page (-want +got):\n%s", diff)
	}
	var js string
	for _, src := range srcs {
		res, text := getAs(t, h, "dispatcher-zh", src)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", src, res.StatusCode)
		}
		js += text
	}
	if !strings.Contains(js, `"/map/posture"`) {
		t.Fatal("the map's scripts do not draw the posture layer")
	}
	tests := []struct {
		name, text string
		forbidden  *regexp.Regexp
	}{
		{"inline script in the page", page, regexp.MustCompile(`<script(\s[^>]*)?>`)},
		{"event handler in the page", page, regexp.MustCompile(`\son[a-z]+\s*=`)},
		{"style attribute in the page", page, regexp.MustCompile(`\sstyle\s*=`)},
		{"javascript: URL in the page", page, regexp.MustCompile(`(?i)javascript:`)},
		{"event handler or style set by the script", js, regexp.MustCompile(`setAttribute\(\s*["'](on[a-z]+|style)["']`)},
		{"code built from strings by the script", js, regexp.MustCompile(`\beval\(|new Function\(|set(Timeout|Interval)\(\s*["']`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range tt.forbidden.FindAllString(tt.text, -1) {
				if tt.name == "inline script in the page" && strings.Contains(m, ` src="/static/`) {
					continue // the console's own script file
				}
				t.Errorf("found %q", m)
			}
		})
	}
}
