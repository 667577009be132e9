package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/inmem"
	"zhufang/web"
	"zhufang/zhufangtest"
)

// The hub passes each event to the consoles whose ground it is on, from
// the ground the event carries: these tests count the store's reads.

// hubUsers knows one session per token, each a user on some ground.
type hubUsers struct {
	zhufang.UserService
	users map[string]*zhufang.User
}

func (h hubUsers) SessionUser(ctx context.Context, token string) (*zhufang.User, *zhufang.Session, error) {
	u := h.users[token]
	if u == nil {
		return nil, nil, zhufang.Errorf(zhufang.EUNAUTHORIZED, "please sign in")
	}
	return u, &zhufang.Session{UserID: u.ID, CSRF: "csrf"}, nil
}

// countingIncidents fails every read, and counts it.
type countingIncidents struct {
	zhufang.IncidentService
	reads atomic.Int64
}

func (c *countingIncidents) FindIncidentByID(ctx context.Context, id int64) (*zhufang.Incident, error) {
	c.reads.Add(1)
	return nil, zhufang.IncidentNotFound(id)
}

func (c *countingIncidents) FindIncidents(ctx context.Context, f zhufang.IncidentFilter) ([]*zhufang.Incident, error) {
	c.reads.Add(1)
	return nil, nil
}

// hubOrg is a city of two counties (2, 3), each with one station (20,
// 30), each station with one community (200, 300).
type hubOrg struct{ zhufang.OrgService }

func (hubOrg) FindBureaus(ctx context.Context) ([]*zhufang.Bureau, error) {
	square := zhufang.MultiPolygon{{{{Lon: 111.5, Lat: 26.3}, {Lon: 111.7, Lat: 26.3}, {Lon: 111.7, Lat: 26.5}, {Lon: 111.5, Lat: 26.5}, {Lon: 111.5, Lat: 26.3}}}}
	return []*zhufang.Bureau{
		{ID: 1, Name: "市局", Level: zhufang.BureauCity, Area: square},
		{ID: 2, Name: "甲分局", ParentID: 1, Area: square},
		{ID: 3, Name: "乙分局", ParentID: 1, Area: square},
	}, nil
}

func (hubOrg) FindStations(ctx context.Context) ([]*zhufang.Station, error) {
	return []*zhufang.Station{{ID: 20, BureauID: 2, Name: "甲所"}, {ID: 30, BureauID: 3, Name: "乙所"}}, nil
}

func (hubOrg) FindCommunities(ctx context.Context, f zhufang.CommunityFilter) ([]*zhufang.Community, error) {
	return []*zhufang.Community{{ID: 200, StationID: 20, Name: "甲社区"}, {ID: 300, StationID: 30, Name: "乙社区"}}, nil
}

// hubFleet knows two units: 7 of station 20, 8 of station 30.
type hubFleet struct{ zhufang.Fleet }

func (hubFleet) Units(stationID int64) []zhufang.LiveUnit {
	return []zhufang.LiveUnit{
		{Unit: zhufang.Unit{ID: 7, StationID: 20, CallSign: "甲1"}},
		{Unit: zhufang.Unit{ID: 8, StationID: 30, CallSign: "乙1"}},
	}
}

// readFrames passes a console's server-sent events to out and closes it
// when the stream ends.
func readFrames(body io.Reader, out chan<- zhufangtest.SSEEvent) {
	zhufangtest.ReadSSE(body, func(e zhufangtest.SSEEvent) { out <- e })
	close(out)
}

func TestHubScopesEventsWithoutReadingTheStore(t *testing.T) {
	users := map[string]*zhufang.User{
		"city":      {ID: 1, Username: "city", Role: zhufang.RoleDispatcher, Scope: zhufang.Scope{Level: zhufang.ScopeCity}},
		"county2":   {ID: 2, Username: "county2", Role: zhufang.RoleCountyCommander, Scope: zhufang.Scope{Level: zhufang.ScopeCounty, BureauID: 2}},
		"station30": {ID: 3, Username: "station30", Role: zhufang.RoleStationChief, Scope: zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 3, StationID: 30}},
		"comm200":   {ID: 4, Username: "comm200", Role: zhufang.RoleCommunityOfficer, Scope: zhufang.Scope{Level: zhufang.ScopeCommunity, BureauID: 2, StationID: 20, CommunityID: 200}},
		// A mediator may see incidents but not units.
		"mediator20": {ID: 5, Username: "mediator20", Role: zhufang.RoleMediator, Scope: zhufang.Scope{Level: zhufang.ScopeStation, BureauID: 2, StationID: 20}},
	}
	incs := &countingIncidents{}
	bus := inmem.NewBus(64)
	srv := &web.Server{Org: hubOrg{}, Incidents: incs, Users: hubUsers{users: users}, Fleet: hubFleet{}, Events: bus,
		Intake: &zhufang.Intake{Clock: zhufang.SystemClock{}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h, err := srv.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.Start(ctx)
	ts := httptest.NewServer(h)
	defer ts.Close()
	defer srv.CloseStreams()

	streams := map[string]chan zhufangtest.SSEEvent{}
	for token := range users {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: GET /events %d", token, res.StatusCode)
		}
		defer res.Body.Close()
		streams[token] = make(chan zhufangtest.SSEEvent, 64)
		go readFrames(res.Body, streams[token])
	}
	waitFor(t, func() bool { return srv.Clients() == len(users) })

	a := zhufang.Ground{BureauID: 2, StationID: 20, CommunityID: 200}
	b := zhufang.Ground{BureauID: 3, StationID: 30, CommunityID: 300}
	now := time.Now().UTC()
	at := func(g zhufang.Ground) *zhufang.Incident {
		return &zhufang.Incident{ID: g.CommunityID, BureauID: g.BureauID, StationID: g.StationID, CommunityID: g.CommunityID}
	}
	bodies := []zhufang.EventBody{
		zhufang.IncidentCreated{Ground: a, Incident: at(a)},
		zhufang.IncidentTransitioned{Ground: b, Transition: zhufang.Transition{IncidentID: 300, From: zhufang.StateReceived, To: zhufang.StateDispatched}},
		zhufang.LaneChanged{Ground: a, Incident: at(a)},
		zhufang.BreachRaised{Ground: b, Breach: zhufang.Breach{IncidentID: 300, Stage: zhufang.StageOnScene}, RaisedAt: now},
		zhufang.AssignmentChanged{Ground: a, Assignment: zhufang.Assignment{ID: 9, IncidentID: 200, UnitID: 7}, UnitStatus: zhufang.UnitDispatched},
		zhufang.UnitStatusChanged{Ground: zhufang.Ground{BureauID: 3, StationID: 30}, UnitID: 8, Status: zhufang.UnitOffDuty, Actor: "乙1"},
		zhufang.PositionsReported{Reports: []zhufang.PositionReport{{UnitID: 7, At: now, Point: zhufang.Point{Lon: 111.6, Lat: 26.4}}, {UnitID: 8, At: now, Point: zhufang.Point{Lon: 111.55, Lat: 26.45}}}},
		// An event of no ground: only the city's consoles hear of it.
		zhufang.IncidentTransitioned{Transition: zhufang.Transition{IncidentID: 999, To: zhufang.StateClosed}},
	}
	for i, body := range bodies {
		e, err := zhufang.NewEvent(body, now)
		if err != nil {
			t.Fatal(err)
		}
		if body.Topic() != zhufang.TopicUnitPositions {
			e.ID = int64(i + 1)
		}
		if err := bus.Publish(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Two last events, one on each county's ground, mark the end of what
	// each console got.
	for i, g := range []zhufang.Ground{a, b} {
		end, _ := zhufang.NewEvent(zhufang.IncidentCreated{Ground: g, Incident: &zhufang.Incident{ID: endMarker + int64(i)}}, now)
		end.ID = 100 + int64(i)
		bus.Publish(ctx, end)
	}

	want := map[string][]string{
		"city": {`incident.created 200`, `incident.transition 300`, `incident.lane 200`, `incident.breach 300 on_scene`,
			`assignment 200 7 dispatched`, `unit.status 8 off_duty`, `positions 7,8`, `incident.transition 999`},
		"county2":    {`incident.created 200`, `incident.lane 200`, `assignment 200 7 dispatched`, `positions 7`},
		"station30":  {`incident.transition 300`, `incident.breach 300 on_scene`, `unit.status 8 off_duty`, `positions 8`},
		"comm200":    {`incident.created 200`, `incident.lane 200`, `assignment 200 7 dispatched`},
		"mediator20": {`incident.created 200`, `incident.lane 200`, `assignment 200`},
	}
	markers := map[string]int{"city": 2, "county2": 1, "station30": 1, "comm200": 1, "mediator20": 1}
	for token, w := range want {
		got := collect(t, streams[token], markers[token])
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s's console (-want +got):\n%s", token, diff)
		}
	}
	if n := incs.reads.Load(); n != 0 {
		t.Fatalf("the hub read the incident store %d times for %d events; want none", n, len(bodies))
	}
}

// endMarker is the incident of the events that end a test's stream.
const endMarker = 1000

// collect reads a console's frames up to its markers' end, each as a
// short line: topic, incident, unit, status or stage; positions as their
// units.
func collect(t *testing.T, ch <-chan zhufangtest.SSEEvent, markers int) []string {
	t.Helper()
	var out []string
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if f.Name == "positions" {
				var ps [][3]float64
				if err := json.Unmarshal([]byte(f.Data), &ps); err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, p := range ps {
					ids = append(ids, jsonNumber(p[0]))
				}
				slices.Sort(ids)
				out = append(out, "positions "+strings.Join(ids, ","))
				continue
			}
			var m struct {
				Topic      string `json:"topic"`
				IncidentID int64  `json:"incident_id"`
				UnitID     int64  `json:"unit_id"`
				Status     string `json:"status"`
				Stage      string `json:"stage"`
			}
			if err := json.Unmarshal([]byte(f.Data), &m); err != nil {
				t.Fatal(err)
			}
			if m.IncidentID >= endMarker {
				if markers--; markers == 0 {
					return out
				}
				continue
			}
			line := m.Topic
			for _, v := range []int64{m.IncidentID, m.UnitID} {
				if v != 0 {
					line += " " + jsonNumber(float64(v))
				}
			}
			for _, v := range []string{m.Status, m.Stage} {
				if v != "" {
					line += " " + v
				}
			}
			out = append(out, line)
		case <-timeout:
			t.Fatalf("no end marker; got %q", out)
		}
	}
}

func jsonNumber(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}
