package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	dto "github.com/prometheus/client_model/go"

	"zhufang"
	"zhufang/inmem"
	"zhufang/web"
	"zhufang/zhufangtest"
)

var newID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestRequestID(t *testing.T) {
	h := newServer(t, fakeOrg{}, nil)
	long := strings.Repeat("a", 64)
	tests := []struct {
		name     string
		incoming []string // the X-Request-ID header's values, none for no header
		echoed   bool     // the answer carries the incoming ID, not a new one
	}{
		{"none", nil, false},
		{"empty", []string{""}, false},
		{"good", []string{"edge-7f3a.b_9"}, true},
		{"64 characters", []string{long}, true},
		{"65 characters", []string{long + "a"}, false},
		{"500 characters", []string{strings.Repeat("x", 500)}, false},
		{"newline", []string{"abc\nlevel=ERROR msg=forged"}, false},
		{"carriage return", []string{"abc\r"}, false},
		{"space", []string{"abc def"}, false},
		{"quote", []string{`abc"`}, false},
		{"escape sequence", []string{"\x1b[31mred"}, false},
		{"not ASCII", []string{"请求一"}, false},
		{"two values, the first counts", []string{"first", "second"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			if tt.incoming != nil {
				req.Header["X-Request-Id"] = tt.incoming
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Values("X-Request-ID")
			if len(got) != 1 {
				t.Fatalf("X-Request-ID %q, want one value", got)
			}
			if tt.echoed && got[0] != tt.incoming[0] {
				t.Fatalf("X-Request-ID %q, want %q echoed", got[0], tt.incoming[0])
			}
			if !tt.echoed && !newID.MatchString(got[0]) {
				t.Fatalf("X-Request-ID %q, want a new ID of 16 hex digits", got[0])
			}
		})
	}

	seen := map[string]bool{}
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		id := rec.Header().Get("X-Request-ID")
		if seen[id] {
			t.Fatalf("ID %s given twice", id)
		}
		seen[id] = true
	}
}

// FuzzRequestID sends any X-Request-ID: the answer's ID is always a safe
// one, and is the incoming one exactly when that was safe.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "edge-7f3a.b_9", strings.Repeat("a", 64), strings.Repeat("a", 65),
		"a\nb", "a\r\nX-Injected: 1", "a b", "\x00", "请求", "../../etc", "a%0Ab", "-", "."} {
		f.Add(s)
	}
	h := newServer(f, fakeOrg{}, nil)
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	f.Fuzz(func(t *testing.T, incoming string) {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header["X-Request-Id"] = []string{incoming}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-ID")
		if !safe.MatchString(got) {
			t.Fatalf("incoming %q: answered with the unsafe ID %q", incoming, got)
		}
		if safe.MatchString(incoming) != (got == incoming) {
			t.Fatalf("incoming %q: answered %q", incoming, got)
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("incoming %q: status %d", incoming, rec.Code)
		}
	})
}

// records returns the JSON log records written to logs so far.
func records(t *testing.T, logs *zhufangtest.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// ctxOrg keeps the context of the last summary read, to log with it.
type ctxOrg struct {
	fakeOrg
	mu  sync.Mutex
	ctx context.Context
}

func (o *ctxOrg) OrgSummary(ctx context.Context) (*zhufang.OrgSummary, error) {
	o.mu.Lock()
	o.ctx = ctx
	o.mu.Unlock()
	return o.fakeOrg.OrgSummary(ctx)
}

func TestRequestIDInLogs(t *testing.T) {
	var logs zhufangtest.Buffer
	org := &ctxOrg{}
	s := &web.Server{Org: org, Locator: squareLocator{}, Users: fakeUsers{},
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/locate?lat=26.5", nil) // refused: no lon
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("X-Request-ID", "trace-42")
	h.ServeHTTP(httptest.NewRecorder(), req)

	var failed, finished map[string]any
	for _, r := range records(t, &logs) {
		switch r["msg"] {
		case "request failed":
			failed = r
		case "request":
			finished = r
		}
	}
	if failed == nil || failed["request_id"] != "trace-42" || failed["level"] != "INFO" {
		t.Errorf("the error's log line %v, want it at INFO with request_id trace-42", failed)
	}
	if finished == nil || finished["request_id"] != "trace-42" || finished["level"] != "DEBUG" || finished["method"] != "GET" ||
		finished["route"] != "GET /api/v1/locate" || finished["status"] != float64(400) || finished["duration"] == nil {
		t.Errorf("the request's log line %v", finished)
	}

	// Any logger wrapped by NewLogHandler names the request of the context
	// it logs with, after With and inside a group too.
	req = httptest.NewRequest(http.MethodGet, "/api/v1/org/summary", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("X-Request-ID", "trace-43")
	h.ServeHTTP(httptest.NewRecorder(), req)
	org.mu.Lock()
	ctx := org.ctx
	org.mu.Unlock()
	if web.RequestID(ctx) != "trace-43" {
		t.Fatalf("RequestID of the handler's context: %q", web.RequestID(ctx))
	}
	if web.RequestID(context.Background()) != "" {
		t.Fatal("an ID outside any request")
	}
	var buf bytes.Buffer
	logger := slog.New(web.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("node", "a")
	logger.InfoContext(ctx, "one")
	logger.WithGroup("job").InfoContext(ctx, "two", "k", 1)
	logger.InfoContext(context.Background(), "three")
	logger.DebugContext(ctx, "below the level")
	want := []string{
		`{"level":"INFO","msg":"one","node":"a","request_id":"trace-43"}`,
		`{"job":{"k":1,"request_id":"trace-43"},"level":"INFO","msg":"two","node":"a"}`,
		`{"level":"INFO","msg":"three","node":"a"}`,
	}
	var got []string // re-encoded without the time, keys sorted
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		delete(m, "time")
		b, _ := json.Marshal(m)
		got = append(got, string(b))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLogHandlerConformance checks the wrapper keeps slog's rules for a
// handler: attributes, groups, levels and times as the wrapped one does.
func TestLogHandlerConformance(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		buf.Reset()
		return web.NewLogHandler(slog.NewJSONHandler(&buf, nil))
	}, func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// TestEventsThroughObserve: the live-update stream still streams through
// the status-recording writer. It needs Flush, to send each event as it
// comes, and Unwrap, to move the write deadline on: the server's own
// WriteTimeout here is shorter than the wait before the event.
func TestEventsThroughObserve(t *testing.T) {
	bus := inmem.NewBus(16)
	s := &web.Server{Org: fakeOrg{}, Locator: squareLocator{}, Users: fakeUsers{}, Events: bus,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: web.NewMetrics(web.StateSource{})}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s.Start(ctx)
	ts := httptest.NewUnstartedServer(h)
	ts.Config.WriteTimeout = 300 * time.Millisecond
	ts.Start()
	defer ts.Close()
	defer s.CloseStreams()

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || !newID.MatchString(res.Header.Get("X-Request-ID")) {
		t.Fatalf("GET /events: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("X-Request-ID"))
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitFor := func(prefix string, d time.Duration) bool {
		deadline := time.After(d)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return false
				}
				if strings.HasPrefix(l, prefix) {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	// The first line comes while the handler still runs: it was flushed.
	if !waitFor("retry:", 2*time.Second) {
		t.Fatal("no retry line: the stream is not flushed")
	}
	if got := series(scrapeOver(t, ts.URL), "zhufang_sse_clients"); got[""] != 1 {
		t.Errorf("zhufang_sse_clients %v, want 1", got)
	}

	time.Sleep(500 * time.Millisecond) // past the server's WriteTimeout
	payload := []byte(`{"incident":{"id":9,"bureau_id":2,"station_id":1,"community_id":7}}`)
	got := false
	for i := 0; i < 20 && !got; i++ { // the hub may not have subscribed yet
		bus.Publish(ctx, zhufang.Event{ID: 1, Topic: zhufang.TopicIncidentCreated, At: now, Payload: payload})
		got = waitFor("event: change", 250*time.Millisecond)
	}
	if !got {
		t.Fatal("no event after the server's WriteTimeout: the write deadline did not move")
	}
}

// scrapeOver reads a live server's /metrics, from this host.
func scrapeOver(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", res.StatusCode)
	}
	return parseMetrics(t, res.Body)
}
