package web_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"zhufang"
	"zhufang/web"
	"zhufang/zhufangtest"
)

// metricsServer is a server with metrics, device positions and the fake
// user session, whose /metrics also answers the token "scrape-token".
func metricsServer(t testing.TB, src web.StateSource) (*web.Server, http.Handler) {
	t.Helper()
	s := &web.Server{Org: fakeOrg{}, Locator: squareLocator{}, Users: fakeUsers{}, Devices: &memDevices{},
		Fleet: &memFleet{at: map[int64]time.Time{}}, Intake: &zhufang.Intake{Clock: zhufang.FixedClock(now)},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: web.NewMetrics(src), MetricsToken: "scrape-token"}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

// scrape reads /metrics as a Prometheus server on this host would, and
// parses the answer.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return parseMetrics(t, rec.Body)
}

// parseMetrics parses Prometheus's text format.
func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// series lists a family's series as "label=value,…" (sorted by label name)
// with its value: a histogram's count of observations, a counter's or a
// gauge's value.
func series(mfs map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	mf := mfs[name]
	if mf == nil {
		return out
	}
	for _, m := range mf.GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		slices.Sort(labels)
		var v float64
		switch {
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		default:
			v = m.GetUntyped().GetValue()
		}
		out[strings.Join(labels, ",")] = v
	}
	return out
}

func TestMetricsRequests(t *testing.T) {
	_, h := metricsServer(t, web.StateSource{})
	for _, r := range []struct{ method, target string }{
		{"GET", "/healthz"},
		{"GET", "/healthz"},
		{"GET", "/api/v1/incidents/x"},   // a wildcard route, refused by its handler
		{"GET", "/api/v1/incidents/y"},   // the same route, another path
		{"GET", "/api/v1/nothing"},       // the API's catch-all
		{"GET", "/no/such/page"},         // the mux's own 404
		{"POST", "/api/v1/locate"},       // the mux's own 405
		{"BREW", "/healthz"},             // a method of the client's own
		{"GET", "/static/../../healthz"}, // the mux redirects: counted under the pattern it leads to
	} {
		req := httptest.NewRequest(r.method, "/", nil)
		req.URL.Path = r.target
		req.Header.Set("Authorization", "Bearer "+testToken)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	got := series(scrape(t, h), "zhufang_http_request_duration_seconds")
	want := map[string]float64{
		"code=200,method=GET,route=GET /healthz":               2,
		"code=400,method=GET,route=GET /api/v1/incidents/{id}": 2,
		"code=404,method=GET,route=GET /api/":                  1,
		"code=404,method=GET,route=unmatched":                  1,
		"code=405,method=POST,route=unmatched":                 1,
		"code=405,method=other,route=unmatched":                1,
		"code=307,method=GET,route=GET /healthz":               1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("request histogram (-want +got):\n%s", diff)
	}
	// The scrape above is counted once it has finished.
	got = series(scrape(t, h), "zhufang_http_request_duration_seconds")
	if got["code=200,method=GET,route=GET /metrics"] != 1 {
		t.Errorf("the first scrape is not counted: %v", got)
	}
}

func TestMetricsPositions(t *testing.T) {
	_, h := metricsServer(t, web.StateSource{})
	report := func(body string) int {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/positions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer zfd_good")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := series(scrape(t, h), "zhufang_position_reports_total"); got[""] != 0 || len(got) != 1 {
		t.Fatalf("before any report: %v, want one series at 0", got)
	}
	for _, b := range []struct {
		body string
		code int
	}{
		{`{"reports":[{"at":"2026-11-29T03:59:00Z","position":[111.6,26.4]},{"at":"2026-11-29T03:59:30Z","position":[111.61,26.4]}]}`, 200},
		{`{"reports":[{"at":"2026-11-29T03:59:40Z","position":[111.6,26.4]},{"at":"2026-11-29T03:59:45Z","position":[116.4,39.9]}]}`, 400},
		{`{"reports":[{"at":"2026-11-29T03:59:50Z","position":[111.62,26.4]}]}`, 200},
	} {
		if code := report(b.body); code != b.code {
			t.Fatalf("%s: %d, want %d", b.body, code, b.code)
		}
	}
	mfs := scrape(t, h)
	if got := series(mfs, "zhufang_position_reports_total"); got[""] != 3 {
		t.Errorf("position reports %v, want 3: the refused batch counts nothing", got)
	}
	got := series(mfs, "zhufang_http_request_duration_seconds")
	if got["code=200,method=POST,route=POST /api/v1/positions"] != 2 || got["code=400,method=POST,route=POST /api/v1/positions"] != 1 {
		t.Errorf("request histogram %v", got)
	}
}

func TestMetricsAccess(t *testing.T) {
	_, h := metricsServer(t, web.StateSource{})
	tests := []struct {
		name   string
		remote string
		header map[string]string
		code   int
	}{
		{"loopback", "127.0.0.1:5000", nil, 200},
		{"loopback IPv6", "[::1]:5000", nil, 200},
		{"another host", "10.0.0.5:5000", nil, 403},
		{"another host with the token", "10.0.0.5:5000", map[string]string{"Authorization": "Bearer scrape-token"}, 200},
		{"another host with a wrong token", "10.0.0.5:5000", map[string]string{"Authorization": "Bearer scrape-tokem"}, 403},
		{"another host with a longer token", "10.0.0.5:5000", map[string]string{"Authorization": "Bearer scrape-token2"}, 403},
		{"another host with a user's session", "10.0.0.5:5000", map[string]string{"Authorization": "Bearer " + testToken}, 403},
		{"the token not as bearer", "10.0.0.5:5000", map[string]string{"Authorization": "scrape-token"}, 403},
		{"through a proxy on this host", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 403},
		{"through a proxy, Forwarded", "127.0.0.1:5000", map[string]string{"Forwarded": "for=203.0.113.9"}, 403},
		{"through a proxy, X-Real-IP", "127.0.0.1:5000", map[string]string{"X-Real-IP": "203.0.113.9"}, 403},
		{"through a proxy, Via", "127.0.0.1:5000", map[string]string{"Via": "1.1 nginx"}, 403},
		{"through a proxy, X-Forwarded-Host", "127.0.0.1:5000", map[string]string{"X-Forwarded-Host": "zhufang.example"}, 403},
		{"through a proxy with the token", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer scrape-token"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = tt.remote
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.code)
			}
			body := rec.Body.String()
			switch tt.code {
			case 200:
				if !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_") {
					t.Errorf("no Go or process metrics in:\n%.500s", body)
				}
			case 403:
				if !strings.Contains(body, "loopback") || strings.Contains(body, "zhufang_") {
					t.Errorf("403 body %q", body)
				}
			}
		})
	}

	t.Run("no token set", func(t *testing.T) {
		s := &web.Server{Org: fakeOrg{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: web.NewMetrics(web.StateSource{})}
		h, err := s.Handler()
		if err != nil {
			t.Fatal(err)
		}
		for _, auth := range []string{"Bearer ", "Bearer  ", "Bearer x"} {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = "10.0.0.5:5000"
			req.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 403 {
				t.Errorf("%q with no MetricsToken: %d, want 403", auth, rec.Code)
			}
		}
	})

	t.Run("no metrics", func(t *testing.T) {
		h := newServer(t, fakeOrg{}, nil)
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 404 {
			t.Errorf("GET /metrics on a server without metrics: %d, want 404", rec.Code)
		}
	})
}

// fakeDatabase answers the scrape's database reads and counts them.
type fakeDatabase struct {
	mu    sync.Mutex
	calls int
	err   error
	hang  bool // wait for the context to end, as a dead database's connection does
	state web.DatabaseState
}

func (f *fakeDatabase) read(ctx context.Context) (web.DatabaseState, error) {
	f.mu.Lock()
	f.calls++
	hang, state, err := f.hang, f.state, f.err
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return web.DatabaseState{}, ctx.Err()
	}
	return state, err
}

func (f *fakeDatabase) set(fn func(f *fakeDatabase)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeDatabase) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// TestMetricsState runs in a synctest bubble, so that the 2 s limit on a
// hung database is waited out on the bubble's clock.
func TestMetricsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := zhufangtest.NewClock(now)
		db := &fakeDatabase{state: web.DatabaseState{
			Incidents: []zhufang.IncidentCount{
				{State: zhufang.StateReceived, Lane: zhufang.LaneStreet, N: 4},
				{State: zhufang.StateReceived, Lane: zhufang.LaneCase, N: 1},
				{State: zhufang.StateClosed, Lane: zhufang.LaneStreet, N: 120},
			},
			OutboxUnpublished: 3,
			OutboxOldest:      now.Add(-90 * time.Second),
		}}
		nats := true
		_, h := metricsServer(t, web.StateSource{Database: db.read, Clock: clock,
			NATS: func() bool { return nats }, Leader: func() bool { return false }})

		gauges := func(mfs map[string]*dto.MetricFamily) map[string]map[string]float64 {
			out := map[string]map[string]float64{}
			for _, name := range []string{"zhufang_incidents", "zhufang_outbox_unpublished", "zhufang_outbox_oldest_unpublished_seconds",
				"zhufang_database_up", "zhufang_nats_up", "zhufang_leader", "zhufang_sse_clients"} {
				if s := series(mfs, name); len(s) > 0 {
					out[name] = s
				}
			}
			return out
		}
		want := map[string]map[string]float64{
			"zhufang_incidents": {
				"lane=street,state=received": 4,
				"lane=case,state=received":   1,
				"lane=street,state=closed":   120,
			},
			"zhufang_outbox_unpublished":                {"": 3},
			"zhufang_outbox_oldest_unpublished_seconds": {"": 90},
			"zhufang_database_up":                       {"": 1},
			"zhufang_nats_up":                           {"": 1},
			"zhufang_leader":                            {"": 0},
			"zhufang_sse_clients":                       {"": 0},
		}
		if diff := cmp.Diff(want, gauges(scrape(t, h))); diff != "" {
			t.Fatalf("first scrape (-want +got):\n%s", diff)
		}

		// Within the cache's 10 s the database is not read again, but the
		// outbox's age moves on with the clock, and the live gauges are live.
		db.set(func(f *fakeDatabase) { f.state.OutboxUnpublished = 50 })
		nats = false
		clock.Advance(9 * time.Second)
		want["zhufang_outbox_oldest_unpublished_seconds"][""] = 99
		want["zhufang_nats_up"][""] = 0
		if diff := cmp.Diff(want, gauges(scrape(t, h))); diff != "" {
			t.Fatalf("scrape within the cache time (-want +got):\n%s", diff)
		}
		if n := db.count(); n != 1 {
			t.Fatalf("%d database reads for two scrapes 9 s apart, want 1", n)
		}

		clock.Advance(time.Second)
		scrape(t, h)
		if n := db.count(); n != 2 {
			t.Fatalf("%d database reads after 10 s, want 2", n)
		}

		// A database that fails leaves only zhufang_database_up 0: no stale
		// counts.
		db.set(func(f *fakeDatabase) { f.err = errors.New("connection refused") })
		clock.Advance(10 * time.Second)
		got := gauges(scrape(t, h))
		if diff := cmp.Diff(map[string]float64{"": 0}, got["zhufang_database_up"]); diff != "" || got["zhufang_incidents"] != nil || got["zhufang_outbox_unpublished"] != nil {
			t.Fatalf("with the database failing: %v", got)
		}

		// One that does not answer at all is given 2 s; the scrape then says
		// it is down, and the next scrapes within 10 s do not wait again.
		db.set(func(f *fakeDatabase) { f.err, f.hang = nil, true })
		clock.Advance(10 * time.Second)
		start := time.Now()
		got = gauges(scrape(t, h))
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("the scrape of a hung database took %v, want its 2 s limit", d)
		}
		if got["zhufang_database_up"][""] != 0 {
			t.Fatalf("with the database hung: %v", got)
		}
		start = time.Now()
		scrape(t, h)
		if d := time.Since(start); d != 0 {
			t.Errorf("the next scrape waited %v again", d)
		}
		if n := db.count(); n != 4 {
			t.Errorf("%d database reads, want 4", n)
		}
	})
}

// TestMetricsOneServer: a Metrics counts one server's consoles, so a
// second server cannot take it.
func TestMetricsOneServer(t *testing.T) {
	m := web.NewMetrics(web.StateSource{})
	for i, want := range []bool{true, false} {
		s := &web.Server{Org: fakeOrg{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m}
		_, err := s.Handler()
		if (err == nil) != want {
			t.Errorf("server %d: %v", i+1, err)
		}
	}
}

func TestMetricsBreaches(t *testing.T) {
	s, h := metricsServer(t, web.StateSource{})
	want := map[string]float64{"stage=acknowledge": 0, "stage=on_scene": 0, "stage=handling": 0}
	if diff := cmp.Diff(want, series(scrape(t, h), "zhufang_breaches_raised_total")); diff != "" {
		t.Fatalf("before any breach (-want +got):\n%s", diff)
	}
	s.Metrics.BreachRaised(zhufang.StageAcknowledge)
	s.Metrics.BreachRaised(zhufang.StageAcknowledge)
	s.Metrics.BreachRaised(zhufang.StageHandling)
	want["stage=acknowledge"], want["stage=handling"] = 2, 1
	if diff := cmp.Diff(want, series(scrape(t, h), "zhufang_breaches_raised_total")); diff != "" {
		t.Fatalf("after three breaches (-want +got):\n%s", diff)
	}
	var none *web.Metrics
	none.BreachRaised(zhufang.StageOnScene) // a server without metrics: no panic
}
