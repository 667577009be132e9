package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/web"
	"zhufang/zhufangtest"
)

// fakePosture plans the same hour every time: two counties, the first
// with a unit to move, two cells no idle unit reaches and one post.
type fakePosture struct{}

func (fakePosture) Posture(ctx context.Context, now time.Time, units []zhufang.LiveUnit) (*zhufang.Posture, error) {
	return &zhufang.Posture{Hour: 9, HistoryDays: 28, Bureaus: []zhufang.BureauPosture{
		{BureauID: 99, Expected: 1, CoveredNow: 0, CoveredPlanned: 0.5},
		{BureauID: 2, Expected: 3, CoveredNow: 0.5, CoveredPlanned: 1,
			Units: []zhufang.PostureUnit{{UnitID: 11, CallSign: "冷巡01", At: zhufang.Point{Lon: 111.60, Lat: 26.40}}},
			Posts: []zhufang.PosturePost{{UnitID: 11, At: zhufang.Point{Lon: 111.62, Lat: 26.41}, Meters: 2345}},
			Uncovered: []zhufang.PostureCell{{At: zhufang.Point{Lon: 111.55, Lat: 26.35}, Expected: 1.2, Side: 400},
				{At: zhufang.Point{Lon: 111.65, Lat: 26.45}, Expected: 0.3, Side: 400}}},
	}}, nil
}

// liveCity holds open and ended incidents on two counties' grounds and
// answers as the store does: only what is on the actor's ground, and a
// record off it as if it did not exist.
type liveCity struct {
	zhufang.IncidentService
	zhufang.UnitService
	zhufang.Fleet
	incs []*zhufang.Incident
}

func (c liveCity) visible(ctx context.Context, inc *zhufang.Incident) bool {
	s := zhufang.ScopeFromContext(ctx)
	return s != nil && s.Covers(inc.BureauID, inc.StationID, inc.CommunityID)
}

func (c liveCity) FindIncidents(ctx context.Context, f zhufang.IncidentFilter) ([]*zhufang.Incident, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewIncidents); err != nil {
		return nil, err
	}
	var out []*zhufang.Incident
	for _, inc := range c.incs {
		if c.visible(ctx, inc) && !(f.Open && inc.State.Terminal()) {
			out = append(out, inc)
		}
	}
	return out, nil
}

func (c liveCity) FindIncidentByID(ctx context.Context, id int64) (*zhufang.Incident, error) {
	if err := zhufang.Authorize(ctx, zhufang.PermViewIncidents); err != nil {
		return nil, err
	}
	for _, inc := range c.incs {
		if inc.ID == id && c.visible(ctx, inc) {
			return inc, nil
		}
	}
	return nil, zhufang.Errorf(zhufang.ENOTFOUND, "incident %d does not exist", id)
}

func (liveCity) FindTransitions(ctx context.Context, id int64) ([]zhufang.Transition, error) {
	return nil, nil
}

func (liveCity) FindTransitionsOf(ctx context.Context, ids []int64) (map[int64][]zhufang.Transition, error) {
	return map[int64][]zhufang.Transition{}, nil
}

func (liveCity) FindUnits(ctx context.Context, stationID int64) ([]*zhufang.Unit, error) {
	return nil, nil
}

func (liveCity) Units(stationID int64) []zhufang.LiveUnit { return nil }

// scopedUsers signs in a user per token "<role>-<lang>-<level>", on the
// ground of community 7 of station 3 of county 2.
type scopedUsers struct{ fakeUsers }

func (scopedUsers) SessionUser(ctx context.Context, token string) (*zhufang.User, *zhufang.Session, error) {
	f := strings.Split(token, "-")
	scopes := map[string]zhufang.Scope{"city": {Level: zhufang.ScopeCity}, "county": {Level: zhufang.ScopeCounty, BureauID: 2},
		"station":   {Level: zhufang.ScopeStation, BureauID: 2, StationID: 3},
		"community": {Level: zhufang.ScopeCommunity, BureauID: 2, StationID: 3, CommunityID: 7}}
	if len(f) != 3 {
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "your session has ended; please sign in again")
	}
	return &zhufang.User{ID: 1, Username: f[0], Name: "测试", Role: zhufang.Role(f[0]), Scope: scopes[f[2]], Lang: f[1]},
		&zhufang.Session{UserID: 1, CSRF: "csrf"}, nil
}

// The incidents of liveCity, received a little before now.
const (
	incHere     = 1 // open, in community 7
	incNextDoor = 2 // open, in community 8 of the same station
	incEnded    = 3 // closed, in community 7
	incAway     = 5 // open, in another county
)

func liveServer(t *testing.T, posture zhufang.PostureService) http.Handler {
	t.Helper()
	cats := zhufangtest.Categories(t)
	core := zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]
	inc := func(id, community, station, bureau int64, state zhufang.IncidentState, ago time.Duration, lane zhufang.Lane) *zhufang.Incident {
		at := now.Add(-ago)
		return &zhufang.Incident{ID: id, Number: fmt.Sprintf("J2026112900%02d", id), ReceivedAt: at, Address: fmt.Sprintf("芝山路%d号 <b>", id),
			Position: zhufang.Point{Lon: 111.55 + float64(id)/100, Lat: 26.42}, Category: "200100", CommunityID: community, StationID: station,
			BureauID: bureau, Zone: zhufang.ZoneUrbanCore, Triage: zhufang.TriageResult{Lane: lane}, State: state, Due: zhufang.DueTimes(at, core)}
	}
	city := liveCity{incs: []*zhufang.Incident{
		inc(incHere, 7, 3, 2, zhufang.StateReceived, 30*time.Second, zhufang.LaneStreet),
		inc(incNextDoor, 8, 3, 2, zhufang.StateDispatched, 150*time.Second, zhufang.LaneDispute),
		inc(incEnded, 7, 3, 2, zhufang.StateClosed, time.Hour, zhufang.LaneStreet),
		inc(4, 7, 3, 2, zhufang.StateAcknowledged, 2*time.Minute, zhufang.LaneStreet),
		inc(incAway, 11, 10, 9, zhufang.StateReceived, 10*time.Second, zhufang.LaneCase),
		inc(6, 7, 3, 2, zhufang.StateReceived, 10*time.Minute, zhufang.LaneStreet), // every deadline passed
	}}
	s := &web.Server{Org: mapOrg{}, Locator: squareLocator{}, Incidents: city, Units: city, Fleet: city, Users: scopedUsers{},
		Intake: &zhufang.Intake{Categories: cats, Clock: zhufang.FixedClock(now)}, Posture: posture,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// markerOf finds an incident's marker, the link around its circle.
func markerOf(body string, id int) string {
	return regexp.MustCompile(fmt.Sprintf(`<a href="/incidents/%d"><circle id="mi-%d".*?</a>`, id, id)).FindString(body)
}

// TestMapIncidentFragment checks /map/incidents/{id}, which the live map
// asks for after an event: it is the marker the map page draws, in the
// user's language, exactly when the map page would draw it, and a 404
// (the script removes the marker) when the incident has ended or is not on
// the user's ground.
func TestMapIncidentFragment(t *testing.T) {
	h := liveServer(t, nil)
	tests := []struct {
		name   string
		token  string
		id     int
		status int
		says   string // in the marker's title
	}{
		{"city dispatcher", "dispatcher-zh-city", incHere, 200, "J202611290001 · 打架斗殴 · 芝山路1号 &lt;b&gt; · 已接警"},
		{"in English", "dispatcher-en-city", incHere, 200, " · Received</title>"},
		{"county dispatcher, another county", "dispatcher-zh-county", incAway, 404, ""},
		{"community officer, own community", "community_officer-zh-community", incHere, 200, "芝山路1号"},
		{"community officer, next door", "community_officer-zh-community", incNextDoor, 404, ""},
		{"station chief, next door", "station_chief-zh-station", incNextDoor, 200, "芝山路2号"},
		{"ended", "dispatcher-zh-city", incEnded, 404, ""},
		{"unknown", "dispatcher-zh-city", 999, 404, ""},
		{"an administrator, who may not see incidents", "admin-zh-city", incHere, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := getAs(t, h, tt.token, fmt.Sprintf("/map/incidents/%d", tt.id))
			if res.StatusCode != tt.status {
				t.Fatalf("GET /map/incidents/%d: %d %s, want %d", tt.id, res.StatusCode, body, tt.status)
			}
			if tt.status != 200 {
				if strings.Contains(body, fmt.Sprintf(`id="mi-%d"`, tt.id)) {
					t.Errorf("a %d still draws the marker: %s", tt.status, body)
				}
			} else {
				if !strings.HasPrefix(body, `<svg xmlns="http://www.w3.org/2000/svg"><a href=`) || !strings.Contains(body, tt.says) {
					t.Errorf("marker %s, want an svg holding the marker, saying %q", body, tt.says)
				}
			}
			// The map page as the same user draws the same marker, or none.
			page := ""
			if res, body := getAs(t, h, tt.token, "/map"); res.StatusCode == 200 {
				page = markerOf(body, tt.id)
			}
			if diff := cmp.Diff(page, markerOf(body, tt.id)); diff != "" {
				t.Errorf("the marker on /map vs from /map/incidents/%d (-page +fragment):\n%s", tt.id, diff)
			}
		})
	}
	t.Run("not a number", func(t *testing.T) {
		if res, body := getAs(t, h, "dispatcher-zh-city", "/map/incidents/x"); res.StatusCode != 400 {
			t.Errorf("GET /map/incidents/x: %d %s, want 400", res.StatusCode, body)
		}
	})
}

var (
	rowRe   = regexp.MustCompile(`<tr id="inc-(\d+)"[^>]* data-sort="([0-9a-f]+)">`)
	clockRe = regexp.MustCompile(`<td class="clock ([a-z]+)" data-amber="([^"]*)" data-due="([^"]+)" data-reached="([^"]*)">`)
)

// TestBoardCarriesItsOrder checks what the board's script reads: the
// board lists rows in the order of their keys, which is what the script
// sorts by, each row fragment carries the key the board gave the row, and
// each running clock the instant it turns amber.
func TestBoardCarriesItsOrder(t *testing.T) {
	h := liveServer(t, nil)
	res, page := getAs(t, h, "dispatcher-zh-city", "/board")
	if res.StatusCode != 200 {
		t.Fatalf("GET /board: %d %s", res.StatusCode, page)
	}
	rows := rowRe.FindAllStringSubmatch(page, -1)
	var ids, keys []string
	for _, r := range rows {
		ids, keys = append(ids, r[1]), append(keys, r[2])
	}
	// Most urgent first, by the first clocked stage not reached (the lane
	// decides the clocks: zhufang.LaneClock): 6 (received 10 min ago,
	// every deadline gone); then due to come: 1 (street, received 30 s
	// ago) in 30 s, 4 (acknowledged 2 min ago) on scene in 60 s, 2 (a
	// dispute for mediation, dispatched 2.5 min ago) to be taken up within
	// the 5-minute window, in 150 s, 5 (a case, received 10 s ago) in 290 s.
	if diff := cmp.Diff([]string{"6", "1", "4", "2", "5"}, ids); diff != "" {
		t.Errorf("rows on the board (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(keys) {
		t.Errorf("the board's rows are not in the order of their keys: %q", keys)
	}
	for _, r := range rows {
		_, frag := getAs(t, h, "dispatcher-zh-city", "/board/rows/"+r[1])
		if m := rowRe.FindStringSubmatch(frag); m == nil || m[2] != r[2] {
			t.Errorf("row %s: the board says key %s, its fragment %q", r[1], r[2], m)
		}
	}

	// Three street clocks each for 6, 1 and 4; one for the dispute and
	// the case, whose other stages show no clock.
	clocks := clockRe.FindAllStringSubmatch(page, -1)
	if len(clocks) != 3*3+2 {
		t.Fatalf("%d clocks for %d rows, want 11", len(clocks), len(rows))
	}
	if n := strings.Count(page, `<td class="clock none">`); n != 4 {
		t.Errorf("%d stages without a clock, want 4", n)
	}
	// Incident 5, a case received 10 s ago: taken up within 5 minutes, so
	// amber from 1 min 40 s before that.
	if diff := cmp.Diff([]string{"green", now.Add(190 * time.Second).Format(time.RFC3339Nano), now.Add(290 * time.Second).Format(time.RFC3339Nano), ""},
		clocks[10][1:]); diff != "" {
		t.Errorf("incident 5's clock [class amber due reached] (-want +got):\n%s", diff)
	}
	for _, c := range clocks {
		if c[2] == "" {
			t.Errorf("a running clock without data-amber: %q", c[0])
		}
	}
	if strings.Contains(page, "data-start=") {
		t.Error("the board still sends clocks' start times, for the script to work the colour out")
	}
}

// TestPostureFragment checks /map/posture, the posture layer as the map
// draws it: refused exactly as /api/v1/posture is, and drawn from the same
// plan with its texts in the user's language.
func TestPostureFragment(t *testing.T) {
	h := liveServer(t, fakePosture{})
	for _, role := range zhufang.Roles {
		for _, level := range []string{"city", "station", "community"} {
			token := string(role) + "-zh-" + level
			api, _ := getAs(t, h, token, "/api/v1/posture")
			layer, body := getAs(t, h, token, "/map/posture")
			if api.StatusCode != layer.StatusCode {
				t.Errorf("%s at %s level: /api/v1/posture %d, /map/posture %d", role, level, api.StatusCode, layer.StatusCode)
			}
			if layer.StatusCode != 200 && strings.Contains(body, "posture-cell") {
				t.Errorf("%s at %s level: refused with %d but drawn", role, level, layer.StatusCode)
			}
		}
	}
	t.Run("no planner on this node", func(t *testing.T) {
		h := liveServer(t, nil)
		api, _ := getAs(t, h, "dispatcher-zh-city", "/api/v1/posture")
		layer, _ := getAs(t, h, "dispatcher-zh-city", "/map/posture")
		if api.StatusCode != 503 || layer.StatusCode != 503 {
			t.Errorf("without a planner: /api/v1/posture %d, /map/posture %d, want 503 both", api.StatusCode, layer.StatusCode)
		}
	})

	type drawn struct {
		Cells, Posts []string // titles
		Moves        int
		Basis        string
		Summary      string
		Bureaus      []string
	}
	titles := func(body, class string) (out []string) {
		re := regexp.MustCompile(`class="` + class + `"[^>]*><title>([^<]*)</title>`)
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	text := func(body, id string) string {
		if m := regexp.MustCompile(`id="` + id + `">([^<]*)<`).FindStringSubmatch(body); m != nil {
			return m[1]
		}
		return ""
	}
	tests := []struct {
		lang string
		want drawn
	}{
		{"zh", drawn{Cells: []string{"按时无警力可达 · 本小时预计 1.2 起", "按时无警力可达 · 本小时预计 0.3 起"},
			Posts: []string{"冷巡01 建议待命点，距现位置 2,345 米"}, Moves: 1, Basis: "9 时 · 依据近 28 天街面警情",
			Summary: "本小时预计街面警情 4 起，当前按时可达 38%，按部署可达 88%",
			Bureaus: []string{"冷水滩分局：3 起，50% → 100%", "#99：1 起，0% → 50%"}}},
		{"en", drawn{Cells: []string{"No idle unit in time · 1.2 expected this hour", "No idle unit in time · 0.3 expected this hour"},
			Posts: []string{"冷巡01: suggested post, 2,345 m from where it is"}, Moves: 1, Basis: "9:00 · learnt from 28 days of street incidents",
			Summary: "Expected street incidents this hour 4, reachable in time now 38%, with the plan 88%",
			Bureaus: []string{"冷水滩分局: 3 expected, 50% → 100%", "#99: 1 expected, 0% → 50%"}}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			res, body := getAs(t, h, "dispatcher-"+tt.lang+"-city", "/map/posture")
			if res.StatusCode != 200 {
				t.Fatalf("GET /map/posture: %d %s", res.StatusCode, body)
			}
			got := drawn{Cells: titles(body, "posture-cell"), Posts: titles(body, "posture-post"), Moves: strings.Count(body, `<line class="posture-move"`),
				Basis: text(body, "posture-basis"), Summary: text(body, "posture-summary")}
			for _, m := range regexp.MustCompile(`<li>([^<]*)</li>`).FindAllStringSubmatch(body, -1) {
				got.Bureaus = append(got.Bureaus, m[1])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("posture layer (-want +got):\n%s", diff)
			}
		})
	}
}
