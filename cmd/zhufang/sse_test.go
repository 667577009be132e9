package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

// sseStream opens GET /events with a bearer token and, optionally, a
// Last-Event-ID, and delivers its events on a channel until ctx ends.
func sseStream(t *testing.T, ctx context.Context, base, token, lastID string) <-chan zhufangtest.SSEEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan zhufangtest.SSEEvent, 100)
	go func() {
		defer res.Body.Close()
		defer close(out)
		zhufangtest.ReadSSE(res.Body, func(e zhufangtest.SSEEvent) { out <- e })
	}()
	return out
}

// nextChange waits for the next change event about an incident.
func nextChange(t *testing.T, ch <-chan zhufangtest.SSEEvent, wait time.Duration) (zhufangtest.SSEEvent, int64, bool) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return e, 0, false
			}
			if e.Name != "change" {
				continue
			}
			var m struct {
				IncidentID int64 `json:"incident_id"`
			}
			json.Unmarshal([]byte(e.Data), &m)
			return e, m.IncidentID, true
		case <-deadline:
			return zhufangtest.SSEEvent{}, 0, false
		}
	}
}

// TestEventsResumeAndScope checks the console's live stream: a console
// that drops its connection and comes back with Last-Event-ID gets what it
// missed, once; and a community officer's stream carries their community's
// changes only.
func TestEventsResumeAndScope(t *testing.T) {
	dsn := sqltest.DSN(t, sqlstore.SQLite)
	base, stopServe := startServe(t, demoArgs(t, dsn)...)
	stop := sync.OnceValue(stopServe)
	defer stop()
	dispatcher := signIn(t, base, dsn, "sse", zhufang.RoleDispatcher)
	here := zhufang.Point{Lon: 111.6015, Lat: 26.4372}
	var loc struct {
		Jurisdiction zhufang.Jurisdiction `json:"jurisdiction"`
	}
	getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%f&lat=%f", base, here.Lon, here.Lat), &loc)
	pw := writeFile(t, t.TempDir(), "pw", "officer password 1\n")
	if err := run(context.Background(), []string{"user", "add", "--db", dsn, "--name", "社区民警", "--role", "community_officer",
		"--scope", "community", "--org", fmt.Sprint(loc.Jurisdiction.Community.ID), "--password-file", pw, "sse.officer"},
		func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var sess struct{ Token string }
	apiToken = ""
	postJSON(t, base+"/api/v1/session", `{"username":"sse.officer","password":"officer password 1"}`, &sess)
	apiToken = dispatcher

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := sseStream(t, ctx, base, dispatcher, "")
	officerCtx, officerCancel := context.WithCancel(context.Background())
	defer officerCancel()
	officer := sseStream(t, officerCtx, base, sess.Token, "")
	time.Sleep(200 * time.Millisecond) // both joined

	mine := takeCall(t, base, here, "200100", "梅湾路1号", "有人打架")
	e, id, ok := nextChange(t, first, 5*time.Second)
	if !ok || id != mine || e.ID == "" {
		t.Fatalf("the dispatcher's stream: %+v (incident %d), want the new incident %d with an event ID", e, id, mine)
	}
	if _, id, ok := nextChange(t, officer, 5*time.Second); !ok || id != mine {
		t.Fatalf("the officer's stream did not carry their community's incident %d (got %d)", mine, id)
	}

	// The dispatcher's console drops; two calls come in meanwhile, one of
	// them far from the officer's community.
	cancel()
	far := takeCall(t, base, zhufang.Point{Lon: 111.9500, Lat: 25.6000}, "100100", "远处", "盗窃")
	near := takeCall(t, base, here, "300100", "梅湾路2号", "交通事故")
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	resumed := sseStream(t, ctx2, base, dispatcher, e.ID)
	got := map[int64]int{}
	for range 2 {
		_, id, ok := nextChange(t, resumed, 5*time.Second)
		if !ok {
			t.Fatalf("after resuming from event %s got %v, want incidents %d and %d", e.ID, got, far, near)
		}
		got[id]++
	}
	if got[far] != 1 || got[near] != 1 {
		t.Fatalf("resumed stream gave %v, want %d and %d once each", got, far, near)
	}
	if _, id, ok := nextChange(t, resumed, 500*time.Millisecond); ok {
		t.Fatalf("resumed stream repeated or invented incident %d", id)
	}

	// The officer's stream, still connected, saw the near call and not the
	// far one.
	seen := map[int64]bool{}
	for {
		_, id, ok := nextChange(t, officer, time.Second)
		if !ok {
			break
		}
		seen[id] = true
	}
	if !seen[near] || seen[far] {
		t.Fatalf("the officer's stream saw %v: want %d (their community) and not %d (another county)", seen, near, far)
	}

	// Streams still open do not hold up a shutdown.
	began := time.Now()
	if err := stop(); err != nil || time.Since(began) > 5*time.Second {
		t.Fatalf("serve stopped with %v after %v with consoles connected", err, time.Since(began))
	}
}
