package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/web"
	"zhufang/zhufangtest"
)

// postFormAs posts a console form as the user of token.
func postFormAs(t *testing.T, h http.Handler, token, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("csrf", "csrf")
	req := httptest.NewRequest(http.MethodPost, "http://zhufang.test"+target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// farFleet offers units nine to fourteen minutes away, as an urban-core
// call far from every free unit gets.
type farFleet struct{ zhufang.Fleet }

func (farFleet) Recommend(q zhufang.RecommendQuery) []zhufang.Recommendation {
	var out []zhufang.Recommendation
	for i, eta := range []time.Duration{9 * time.Minute, 11 * time.Minute, 14 * time.Minute} {
		out = append(out, zhufang.Recommendation{UnitID: int64(21 + i), CallSign: fmt.Sprintf("冷巡%02d", i+1), Kind: zhufang.UnitPatrolCar, ETA: eta, Meters: 9000})
	}
	return out
}

func (farFleet) FirstResponder(at zhufang.Point, zone zhufang.ZoneKind) (zhufang.Recommendation, bool) {
	return zhufang.Recommendation{}, false
}

func (farFleet) Units(stationID int64) []zhufang.LiveUnit {
	var out []zhufang.LiveUnit
	for i := range 3 {
		out = append(out, zhufang.LiveUnit{Unit: zhufang.Unit{ID: int64(21 + i), CallSign: fmt.Sprintf("冷巡%02d", i+1), StationID: 3, CommunityID: 7}})
	}
	return out
}

// noAssignments has no unit sent anywhere.
type noAssignments struct{ zhufang.AssignmentService }

func (noAssignments) FindAssignments(ctx context.Context, incidentID int64) ([]*zhufang.Assignment, error) {
	return nil, nil
}

// boardServer is liveServer's city with an intake that checks positions
// against the square city and a fleet whose units are all far away.
func boardServer(t *testing.T) http.Handler {
	t.Helper()
	core := zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]
	inc := func(id, community, station, bureau int64, state zhufang.IncidentState, ago time.Duration, lane zhufang.Lane) *zhufang.Incident {
		at := now.Add(-ago)
		return &zhufang.Incident{ID: id, Number: fmt.Sprintf("J2026112900%02d", id), ReceivedAt: at, Address: fmt.Sprintf("芝山路%d号", id),
			Position: zhufang.Point{Lon: 111.55 + float64(id)/100, Lat: 26.42}, Category: "200100", CommunityID: community, StationID: station,
			BureauID: bureau, Zone: zhufang.ZoneUrbanCore, Triage: zhufang.TriageResult{Lane: lane}, State: state, Due: zhufang.DueTimes(at, core)}
	}
	city := liveCity{incs: []*zhufang.Incident{
		inc(1, 7, 3, 2, zhufang.StateReceived, 30*time.Second, zhufang.LaneStreet),
		inc(5, 11, 10, 9, zhufang.StateReceived, 10*time.Minute, zhufang.LaneStreet), // another county, overdue
		inc(6, 7, 3, 2, zhufang.StateReceived, 10*time.Minute, zhufang.LaneStreet),   // every deadline passed
		inc(7, 7, 3, 2, zhufang.StateReceived, 10*time.Minute, zhufang.LaneCase),     // taken up late
	}}
	s := &web.Server{Org: mapOrg{}, Locator: squareLocator{}, Incidents: city, Units: city, Fleet: farFleet{}, Assignments: noAssignments{}, Users: scopedUsers{},
		Intake: &zhufang.Intake{Categories: zhufangtest.Categories(t), Locator: squareLocator{}, Clock: zhufang.FixedClock(now)},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestIntakeErrorsInline: a report intake refuses comes back as the board
// with the form as it was typed and what was wrong next to the field, in
// the user's language, with 422; nothing typed is lost.
func TestIntakeErrorsInline(t *testing.T) {
	h := boardServer(t)
	typed := url.Values{"category": {"200100"}, "address": {"梅湾路1号 <b>"}, "position": {"111.60, 26.43"},
		"caller_phone": {"13912345678"}, "caller_name": {"王小明"}, "description": {"两人打架，一人持刀"}, "weapon": {"on"}}
	tests := []struct {
		name, lang, field, value, says string
	}{
		{"position not numbers", "zh", "position", "梅湾路", "位置请填写“经度, 纬度”两个数字"},
		{"position not numbers, in English", "en", "position", "somewhere", "Give the position as two numbers"},
		{"outside the city", "zh", "position", "113.0, 28.2", "该位置不在本市辖区内"},
		{"outside the city, in English", "en", "position", "113.0, 28.2", "lies outside the city"},
		{"a phone of letters", "zh", "caller_phone", "call me", "报警电话应为 3 至 20 位数字"},
		{"unknown category", "en", "category", "999999", "Choose a category"},
		{"address too long", "zh", "address", strings.Repeat("路", 201), "内容过长：最多 200 个字"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range typed {
				form[k] = v
			}
			form.Set(tt.field, tt.value)
			res, body := postFormAs(t, h, "dispatcher-"+tt.lang+"-city", "/incidents", form)
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %.300s", res.StatusCode, body)
			}
			if strings.Contains(body, `class="error-message"`) || !strings.Contains(body, `id="intake"`) {
				t.Fatalf("not the board with its form: %.500s", body)
			}
			// The error sits right after its field (or the row it shares),
			// which is marked invalid.
			fieldRe := regexp.MustCompile(`name="` + tt.field + `"[^>]*aria-invalid="true"[^>]*>(.*?)<p class="field-error" id="intake-error" role="alert">([^<]*)</p>`)
			m := fieldRe.FindStringSubmatch(strings.ReplaceAll(body, "\n", " "))
			if m == nil || !strings.Contains(m[2], tt.says) || strings.Count(m[1], `name="`) > 1 || strings.Contains(m[1], "<p") {
				t.Fatalf("no error saying %q next to %s; the form: %s", tt.says, tt.field, formOf(body))
			}
			if n := strings.Count(body, `class="field-error"`); n != 1 {
				t.Errorf("%d errors shown, want 1", n)
			}
			// What was typed is all there.
			for _, want := range []string{`value="梅湾路1号 &lt;b&gt;"`, `value="王小明"`, `>两人打架，一人持刀</textarea>`, `name="weapon" checked`} {
				if tt.field == "address" && strings.HasPrefix(want, `value="梅湾路`) {
					want = `value="` + tt.value + `"`
				}
				if !strings.Contains(body, want) {
					t.Errorf("the form lost %s: %s", want, formOf(body))
				}
			}
			if tt.field != "category" && !strings.Contains(body, `<option value="200100" selected>`) {
				t.Errorf("the category chosen is not selected: %s", formOf(body))
			}
		})
	}
}

func formOf(page string) string {
	i, j := strings.Index(page, `<form id="intake"`), strings.Index(page, `</form>`+"\n</section>\n\n<section class=\"card keys\">")
	if i < 0 || j < i {
		return page
	}
	return page[i:j]
}

// TestHopelessRecommendation: an urban-core call whose nearest unit is
// nine minutes away cannot be reached in its three minutes; the API says
// so with the best ETA, and so does the board.
func TestHopelessRecommendation(t *testing.T) {
	h := boardServer(t)
	res, body := getAs(t, h, "dispatcher-en-city", "/api/v1/incidents/1/recommendations")
	if res.StatusCode != 200 {
		t.Fatalf("recommendations: %d %s", res.StatusCode, body)
	}
	var got struct {
		OnScene struct {
			Due            time.Time `json:"due"`
			Hopeless       bool      `json:"hopeless"`
			BestETASeconds int64     `json:"best_eta_seconds"`
			LateSeconds    int64     `json:"late_seconds"`
		} `json:"on_scene"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// Received 30 s ago, due on scene in 2 min 30 s; the soonest in 9 min.
	if !got.OnScene.Hopeless || got.OnScene.BestETASeconds != 540 || got.OnScene.LateSeconds != 390 || !got.OnScene.Due.Equal(now.Add(150*time.Second)) {
		t.Errorf("on_scene %+v, want hopeless, best 540 s, 390 s late, due %s", got.OnScene, now.Add(150*time.Second))
	}
	for lang, want := range map[string]string{
		"zh": "无警力能在到场时限 ",
		"en": "No unit can be on scene by the deadline at ",
	} {
		_, page := getAs(t, h, "dispatcher-"+lang+"-city", "/board?sel=1")
		m := regexp.MustCompile(`<p class="hopeless" id="hopeless" role="alert">([^<]*)</p>`).FindStringSubmatch(page)
		if m == nil || !strings.HasPrefix(m[1], want) || !strings.Contains(m[1], "09:00") || !strings.Contains(m[1], "06:30") {
			t.Errorf("%s board: hopeless note %q, want it to say %q with the best ETA 09:00, 06:30 late", lang, m, want)
		}
	}
}

// TestBreachListAndAlarm: the board lists the open breaches of the user's
// ground, most overdue first; the alarm of one breach is drawn for whoever
// may see its incident and is a 404 for anyone else; the incident's
// timeline says when each deadline was missed.
func TestBreachListAndAlarm(t *testing.T) {
	h := boardServer(t)
	_, page := getAs(t, h, "dispatcher-en-city", "/board")
	list := regexp.MustCompile(`<li data-incident="(\d+)" data-stage="([a-z_]+)">`).FindAllStringSubmatch(page, -1)
	var got []string
	for _, m := range list {
		got = append(got, m[1]+" "+m[2])
	}
	// 5 and 6 missed their minute first (9 min ago), then their three
	// minutes, then their five, when the case (7) was due to be taken up.
	want := []string{"5 acknowledge", "6 acknowledge", "5 on_scene", "6 on_scene", "5 handling", "6 handling", "7 acknowledge"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("city's breach list %q, want %q", got, want)
	}
	_, frag := getAs(t, h, "dispatcher-zh-station", "/board/breaches")
	if strings.Contains(frag, `data-incident="5"`) || !strings.Contains(frag, `data-incident="6" data-stage="on_scene"`) || !strings.Contains(frag, "到场超时") {
		t.Errorf("a station's breach list shows another county's or misses its own: %s", frag)
	}

	tests := []struct {
		token, target string
		status        int
		says          string
	}{
		{"dispatcher-zh-city", "/alarms/6?stage=on_scene", 200, "J202611290006</a> 打架斗殴 · 芝山路6号 — 到场超时（时限 "},
		{"dispatcher-en-city", "/alarms/6?stage=on_scene", 200, "on-scene deadline missed (due "},
		{"dispatcher-en-city", "/alarms/7?stage=acknowledge", 200, "acknowledge deadline missed"},
		{"dispatcher-zh-county", "/alarms/5?stage=on_scene", 404, ""}, // another county's
		{"dispatcher-zh-city", "/alarms/7?stage=on_scene", 404, ""},   // a case has no on-scene clock
		{"dispatcher-zh-city", "/alarms/6?stage=lunch", 400, ""},
		{"admin-zh-city", "/alarms/6?stage=on_scene", 403, ""},
	}
	for _, tt := range tests {
		res, body := getAs(t, h, tt.token, tt.target)
		if res.StatusCode != tt.status || tt.status == 200 && !strings.Contains(body, tt.says) {
			t.Errorf("%s %s: %d %.300s, want %d saying %q", tt.token, tt.target, res.StatusCode, body, tt.status, tt.says)
		}
		if tt.status != 200 && strings.Contains(body, "alarm-item") {
			t.Errorf("%s %s: refused but drawn", tt.token, tt.target)
		}
	}

	_, inc := getAs(t, h, "dispatcher-en-city", "/incidents/6")
	for _, want := range []string{"1-3-5 breach: acknowledge deadline missed at ", "1-3-5 breach: on-scene deadline missed at ", "1-3-5 breach: handling deadline missed at "} {
		if !strings.Contains(inc, want) {
			t.Errorf("the incident's timeline does not say %q", want)
		}
	}
	_, inc = getAs(t, h, "dispatcher-zh-city", "/incidents/7")
	if !strings.Contains(inc, "1-3-5 超时：签收超时，时限 ") || strings.Contains(inc, "到场超时") {
		t.Errorf("the case's timeline: want one missed take-up, no arrival: %s", regexp.MustCompile(`(?s)<ol class="timeline".*?</ol>`).FindString(inc))
	}
}
