package sqlstore_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/inmem"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// cityDB is a database holding the small city, with a relay publishing to
// an in-process bus.
func cityDB(t *testing.T, engine sqlstore.Engine) (*sqlstore.DB, *inmem.Bus) {
	t.Helper()
	db := sqltest.Open(t, engine, sqlstore.Options{})
	if err := db.ImportCity(context.Background(), smallCity()); err != nil {
		t.Fatal(err)
	}
	bus := inmem.NewBus(100)
	ctx, cancel := context.WithCancel(context.Background())
	r := db.StartRelay(ctx, bus, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { cancel(); <-r.Done() })
	return db, bus
}

// prepared returns an incident as intake leaves it, received a minute ago
// in the small city's urban community.
func prepared() *zhufang.Incident {
	rec := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	return &zhufang.Incident{Source: zhufang.SourceCall110, ReceivedAt: rec, CallerPhone: "13812345678", Address: "滨江路1号",
		Position: pt(111.55, 26.35), Category: "200100", Description: "两人打架", CommunityID: 1, StationID: 1, BureauID: 2,
		Zone: zhufang.ZoneUrbanCore, State: zhufang.StateReceived,
		Triage: zhufang.TriageResult{Lane: zhufang.LaneStreet, Rule: "order", Reason: "治安警情"},
		Due:    zhufang.DueTimes(rec, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])}
}

func nextEvent(t *testing.T, ch <-chan zhufang.Event) zhufang.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return zhufang.Event{}
}

func TestIncidentLifecycle(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, bus := cityDB(t, engine)
			events, stop := bus.Subscribe()
			defer stop()
			inc := prepared()
			if err := db.CreateIncident(ctx, inc, "接警员 0101"); err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^J\d{8}\d{8}$`).MatchString(inc.Number) {
				t.Fatalf("incident number %q", inc.Number)
			}
			e := nextEvent(t, events)
			if e.Topic != zhufang.TopicIncidentCreated || e.ID == 0 {
				t.Fatalf("event %+v", e)
			}
			var body struct{ Incident zhufang.Incident }
			if err := json.Unmarshal(e.Payload, &body); err != nil || body.Incident.ID != inc.ID || body.Incident.CallerPhone != "****5678" {
				t.Fatalf("event payload %s (%v): want the incident with its phone masked", e.Payload, err)
			}
			got, err := db.FindIncidentByID(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Number != inc.Number || !got.ReceivedAt.Equal(inc.ReceivedAt) || got.Triage != inc.Triage ||
				!got.Due.Acknowledge.Equal(inc.Due.Acknowledge) || got.Flags != inc.Flags || got.Zone != inc.Zone {
				t.Fatalf("read back %+v\nwant %+v", got, inc)
			}
			for _, to := range []zhufang.IncidentState{"dispatched", "acknowledged", "on_scene", "handling", "feedback", "closed"} {
				r := zhufang.TransitionRequest{To: to, Actor: "民警 030001"}
				if to == "feedback" {
					r.CaseNumber = "A4311030001"
				}
				if _, err := db.TransitionIncident(ctx, inc.ID, r); err != nil {
					t.Fatalf("to %s: %v", to, err)
				}
				if e := nextEvent(t, events); e.Topic != zhufang.TopicIncidentTransition {
					t.Fatalf("event %s", e.Topic)
				}
			}
			ts, err := db.FindTransitions(ctx, inc.ID)
			if err != nil || len(ts) != 7 || ts[0].To != "received" || ts[6].To != "closed" || ts[6].From != "feedback" {
				t.Fatalf("history %+v, %v", ts, err)
			}
			got, _ = db.FindIncidentByID(ctx, inc.ID)
			if got.State != "closed" || got.CaseNumber != "A4311030001" {
				t.Fatalf("final %s case %q", got.State, got.CaseNumber)
			}
			// A closed incident refuses any further move and publishes nothing.
			_, err = db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "dispatched", Actor: "x"})
			wantCode(t, err, zhufang.ECONFLICT, "no longer change")
			select {
			case e := <-events:
				t.Fatalf("a refused change published %s", e.Topic)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func TestIncidentBadRequests(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			inc := prepared()
			if err := db.CreateIncident(ctx, inc, "a"); err != nil {
				t.Fatal(err)
			}
			unprepared := prepared()
			unprepared.State = ""
			wantCode(t, db.CreateIncident(ctx, unprepared, "a"), zhufang.EINVALID, "not prepared")
			_, err := db.TransitionIncident(ctx, 404, zhufang.TransitionRequest{To: "dispatched", Actor: "a"})
			wantCode(t, err, zhufang.ENOTFOUND, "incident 404 does not exist")
			_, err = db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "closed", Actor: "a"})
			wantCode(t, err, zhufang.ECONFLICT, "cannot go from received to closed")
			_, err = db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "duplicate", Actor: "a", DuplicateOf: 404})
			wantCode(t, err, zhufang.ENOTFOUND, "incident 404 does not exist")
			_, err = db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "duplicate", Actor: "a", DuplicateOf: inc.ID})
			wantCode(t, err, zhufang.EINVALID, "itself")
			_, err = db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "redirected", Actor: "a"})
			wantCode(t, err, zhufang.EINVALID, "redirected_to")
			_, err = db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "dispatched"})
			wantCode(t, err, zhufang.EINVALID, "actor")
			_, err = db.FindIncidentByID(ctx, 404)
			wantCode(t, err, zhufang.ENOTFOUND, "incident 404")
			if got, _ := db.FindIncidentByID(ctx, inc.ID); got.State != "received" {
				t.Fatalf("refused requests changed the state to %s", got.State)
			}
			second := prepared()
			if err := db.CreateIncident(ctx, second, "a"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.TransitionIncident(ctx, second.ID, zhufang.TransitionRequest{To: "duplicate", Actor: "a", DuplicateOf: inc.ID}); err != nil {
				t.Fatal(err)
			}
			open, err := db.FindIncidents(ctx, zhufang.IncidentFilter{Open: true})
			if err != nil || len(open) != 1 || open[0].ID != inc.ID {
				t.Fatalf("open incidents %v, %v", open, err)
			}
		})
	}
}

// TestConcurrentTransition: two dispatchers move one incident at once;
// exactly one wins.
func TestConcurrentTransition(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			for round := range 10 {
				inc := prepared()
				if err := db.CreateIncident(ctx, inc, "a"); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, errs[i] = db.TransitionIncident(ctx, inc.ID, zhufang.TransitionRequest{To: "dispatched", Actor: "dispatcher"})
					}()
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch zhufang.ErrorCode(err) {
					case "":
						ok++
					case zhufang.ECONFLICT:
					default:
						t.Fatalf("round %d: unexpected %v", round, err)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d dispatchers succeeded, want exactly 1", round, ok)
				}
				ts, _ := db.FindTransitions(ctx, inc.ID)
				if len(ts) != 2 {
					t.Fatalf("round %d: %d transitions recorded, want 2", round, len(ts))
				}
			}
		})
	}
}

func TestOverrideLane(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, bus := cityDB(t, engine)
			events, stop := bus.Subscribe()
			defer stop()
			inc := prepared()
			if err := db.CreateIncident(ctx, inc, "a"); err != nil {
				t.Fatal(err)
			}
			nextEvent(t, events)
			got, err := db.OverrideLane(ctx, inc.ID, zhufang.LaneDispute, "调度员 0102", "邻里纠纷，转调解", "")
			if err != nil {
				t.Fatal(err)
			}
			back, _ := db.FindIncidentByID(ctx, inc.ID)
			if back.Triage != got.Triage || back.Triage.Lane != "dispute" || back.Triage.RuleLane != "street" || back.Triage.OverriddenBy != "调度员 0102" {
				t.Fatalf("override stored as %+v", back.Triage)
			}
			if e := nextEvent(t, events); e.Topic != zhufang.TopicIncidentLane {
				t.Fatalf("event %s", e.Topic)
			}
			_, err = db.OverrideLane(ctx, inc.ID, "sideways", "调度员", "", "")
			wantCode(t, err, zhufang.EINVALID, "lane")
		})
	}
}

// TestRaiseBreachOnce: several watchers (nodes) raise the same breach at
// once; exactly one records it and writes its event.
func TestRaiseBreachOnce(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, bus := cityDB(t, engine)
			events, stop := bus.Subscribe()
			defer stop()
			inc := prepared()
			if err := db.CreateIncident(ctx, inc, "a"); err != nil {
				t.Fatal(err)
			}
			nextEvent(t, events)
			open, err := db.FindOpenDeadlines(ctx)
			if err != nil || len(open) != 1 || open[0].IncidentID != inc.ID || !open[0].Due.OnScene.Equal(inc.Due.OnScene) {
				t.Fatalf("open deadlines %+v, %v", open, err)
			}
			b := zhufang.Breach{IncidentID: inc.ID, Stage: zhufang.StageAcknowledge, Due: inc.Due.Acknowledge}
			var wg sync.WaitGroup
			raised := make([]bool, 5)
			for i := range raised {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if raised[i], err = db.RaiseBreach(ctx, b); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			n := 0
			for _, r := range raised {
				if r {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d watchers raised the breach, want exactly 1", n)
			}
			if e := nextEvent(t, events); e.Topic != zhufang.TopicIncidentBreach {
				t.Fatalf("event %s", e.Topic)
			}
			select {
			case e := <-events:
				t.Fatalf("a second event %s", e.Topic)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}

// TestEventsOnlyAfterCommit holds a transaction that wrote an outbox row
// open: the relay publishes nothing until it commits, and never publishes
// the row of a transaction rolled back.
func TestEventsOnlyAfterCommit(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := sqltest.DSN(t, engine)
			db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{BusyTimeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			bus := inmem.NewBus(10)
			events, stop := bus.Subscribe()
			defer stop()
			rctx, cancel := context.WithCancel(ctx)
			relay := db.StartRelay(rctx, bus, slog.New(slog.NewTextHandler(io.Discard, nil)))
			defer func() { cancel(); <-relay.Done() }()

			other := sqltest.Raw(t, dsn)
			defer other.Close()
			insert := `INSERT INTO outbox (topic, payload, created_at) VALUES ('test.held', '{}', '2026-11-29T00:00:00Z')`
			for _, commit := range []bool{false, true} {
				tx, err := other.Begin()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(insert); err != nil {
					t.Fatal(err)
				}
				select {
				case e := <-events:
					t.Fatalf("published %s from an open transaction", e.Topic)
				case <-time.After(1500 * time.Millisecond): // the relay ticks every second
				}
				if !commit {
					tx.Rollback()
					select {
					case e := <-events:
						t.Fatalf("published %s from a rolled-back transaction", e.Topic)
					case <-time.After(1500 * time.Millisecond):
					}
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if e := nextEvent(t, events); e.Topic != "test.held" {
					t.Fatalf("event %s", e.Topic)
				}
			}
		})
	}
}
