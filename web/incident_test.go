package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/web"
	"zhufang/zhufangtest"
)

// memIncidents keeps created incidents in memory for handler tests.
type memIncidents struct {
	zhufang.IncidentService
	created []*zhufang.Incident
}

func (m *memIncidents) CreateIncident(ctx context.Context, inc *zhufang.Incident, actor string) error {
	inc.ID = int64(len(m.created) + 1)
	m.created = append(m.created, inc)
	return nil
}

var now = time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)

func incidentServer(t testing.TB) (http.Handler, *memIncidents) {
	t.Helper()
	cats := zhufangtest.Categories(t)
	mem := &memIncidents{}
	s := &web.Server{Org: fakeOrg{}, Locator: squareLocator{}, Incidents: mem, Users: fakeUsers{},
		Intake: &zhufang.Intake{Categories: cats, Locator: squareLocator{}, Triage: zhufang.DefaultTriage(),
			Zones: zhufang.DefaultZoneProfiles(), Clock: zhufang.FixedClock(now), Store: mem},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return h, mem
}

func post(h http.Handler, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCreateIncident(t *testing.T) {
	h, mem := incidentServer(t)
	rec := post(h, "/api/v1/incidents", `{"source":"call_110","caller_phone":"13812345678","address":"滨江路",
		"position":[111.5,26.5],"category":"200100","description":"两人打架","flags":{"injured":true}}`)
	if rec.Code != 201 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var got map[string]any
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got["caller_phone"] != "****5678" {
		t.Errorf("phone shown as %v", got["caller_phone"])
	}
	inc := mem.created[0]
	if inc.CallerPhone != "13812345678" || inc.Triage.Rule != "danger" || inc.CommunityID != 7 || !inc.ReceivedAt.Equal(now) ||
		!inc.Due.Acknowledge.Equal(now.Add(3*time.Minute)) {
		t.Errorf("stored %+v", inc)
	}
	for _, tt := range []struct{ body, says string }{
		{``, "empty"},
		{`{`, "ends in the middle"},
		{`[]`, "must be"},
		{`{"source":"call_110"} {}`, "nothing after it"},
		{`{"source":1}`, `field "source" must be a string`},
		{`{"flags":{"weapon":"yes"}}`, "true or false"},
		{`{"surprise":true}`, `unknown field "surprise"`},
		{`{"source":"call_110","category":"200100","address":"x"}`, "position"},
		{`{"source":"call_110","position":[111.5,95],"category":"200100","address":"x"}`, "off the planet"},
		{`{"source":"call_110","position":[120,30],"category":"200100","address":"x"}`, "outside the city"},
		{`{"source":"call_110","position":[111.5,26.5],"category":"999999","address":"x"}`, "unknown incident category"},
		{`{"source":"call_110","position":[111.5,26.5],"category":"200100","received_at":"1999-01-01T00:00:00Z"}`, "30 days"},
		{`{"source":"call_110","position":[111.5,26.5],"category":"200100","received_at":"2099-01-01T00:00:00Z"}`, "future"},
		{`{"source":"call_110","position":[111.5,26.5],"category":"200100","received_at":"yesterday"}`, `field "received_at" must be an RFC 3339 time`},
		// Messages name the field and the JSON type in plain words, never
		// a Go type; names match exactly; a name given twice is refused.
		{`{"position":"here"}`, `field "position": a position must be [lon, lat]`},
		{`{"flags":[]}`, `field "flags" must be an object, not a list`},
		{`{"received_at":5}`, `field "received_at" must be an RFC 3339 time (a string), not a number`},
		{`{"caller_name":{"a":1}}`, `field "caller_name" must be a string, not an object`},
		{`{"SOURCE":"call_110"}`, `unknown field "SOURCE"`},
		{`{"Source":"call_110"}`, `unknown field "Source"`},
		{`{"flags":{"Weapon":true}}`, `unknown field "flags.Weapon"`},
		{`{"source":"call_110","source":"walk_in"}`, `field "source" is given twice`},
		{`"call_110"`, "request body must be an object, not a string"},
		{`{"description":"` + strings.Repeat("长", 30000) + `"}`, "larger than 64 KB"},
	} {
		rec := post(h, "/api/v1/incidents", tt.body)
		var body struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != 400 || !strings.Contains(body.Error.Message, tt.says) {
			t.Errorf("%.60s: %d %s, want 400 saying %q", tt.body, rec.Code, rec.Body, tt.says)
		}
	}
	if len(mem.created) != 1 {
		t.Fatalf("refused requests stored %d incidents", len(mem.created)-1)
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/incidents", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "application/json") {
		t.Errorf("text/plain body: %d %s", rec.Code, rec.Body)
	}
}

// FuzzCreateIncident throws arbitrary bodies at intake: each gets a 201 or
// a JSON 400, and only a 201 stores anything.
func FuzzCreateIncident(f *testing.F) {
	f.Add(`{"source":"call_110","position":[111.5,26.5],"category":"200100","address":"x"}`)
	f.Add(`{"source":"walk_in","position":[111.5,26.5,10],"category":"209100","description":"正在吵架","flags":{"minors":true}}`)
	f.Add(`{"position":[1e309,0]}`)
	f.Add(`{"received_at":"2026-11-29T03:59:00+08:00","source":"alarm","position":[111.9,26.9],"category":"100100","address":"y"}`)
	h, mem := incidentServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		before := len(mem.created)
		rec := post(h, "/api/v1/incidents", body)
		switch rec.Code {
		case 201:
			if len(mem.created) != before+1 {
				t.Fatal("201 without storing")
			}
			inc := mem.created[len(mem.created)-1]
			if inc.Position.Validate() != nil || inc.Triage.Lane == "" || inc.State != zhufang.StateReceived {
				t.Fatalf("stored a bad incident %+v", inc)
			}
		case 400:
			if len(mem.created) != before {
				t.Fatal("a refused request stored an incident")
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error.Code != "invalid" || body.Error.Message == "" {
				t.Fatalf("400 without a JSON error: %s", rec.Body)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// memDevices accepts one token for unit 7 and keeps tracks in memory.
type memDevices struct {
	zhufang.DeviceService
	track []zhufang.PositionReport
}

func (m *memDevices) DeviceUnit(ctx context.Context, token string) (int64, error) {
	if token == "zfd_good" {
		return 7, nil
	}
	return 0, zhufang.Errorf(zhufang.EUNAUTHORIZED, "unknown device token")
}

func (m *memDevices) AppendTrack(ctx context.Context, rs []zhufang.PositionReport) (int, error) {
	m.track = append(m.track, rs...)
	return len(rs), nil
}

// memFleet applies positions to a map, newest wins.
type memFleet struct {
	zhufang.Fleet
	at map[int64]time.Time
}

func (m *memFleet) Apply(r zhufang.PositionReport) (bool, error) {
	if !r.At.After(m.at[r.UnitID]) {
		return false, nil
	}
	m.at[r.UnitID] = r.At
	return true, nil
}

// FuzzPositions throws arbitrary batches at POST /api/v1/positions: a batch
// is taken whole (200) or refused whole (4xx, nothing kept).
func FuzzPositions(f *testing.F) {
	f.Add(`{"reports":[{"at":"2026-11-29T03:59:30Z","position":[111.6,26.4]}]}`)
	f.Add(`{"reports":[{"unit_id":8,"at":"2026-11-29T03:59:30Z","position":[111.6,26.4]}]}`)
	f.Add(`{"reports":[{"at":"2026-11-29T03:59:30Z","position":[111.6,26.4],"speed":1e400}]}`)
	f.Add(`{"reports":[{"at":"2099-11-29T03:59:30Z","position":[0,0]}]}`)
	dev := &memDevices{}
	fl := &memFleet{at: map[int64]time.Time{}}
	s := &web.Server{Org: fakeOrg{}, Locator: squareLocator{}, Devices: dev, Fleet: fl, // the city is the square at 111, 26
		Intake: &zhufang.Intake{Clock: zhufang.FixedClock(now)}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := s.Handler()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		before := len(dev.track)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/positions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer zfd_good")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == 200:
			for _, r := range dev.track[before:] {
				if _, in := (squareLocator{}).Locate(r.Point); r.UnitID != 7 || !in || r.At.After(now.Add(time.Minute)) {
					t.Fatalf("kept a bad report %+v", r)
				}
			}
		case rec.Code == 400 || rec.Code == 403:
			if len(dev.track) != before {
				t.Fatalf("a refused batch kept %d reports", len(dev.track)-before)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
