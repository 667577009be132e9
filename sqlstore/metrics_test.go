package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

func TestIncidentCounts(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := cityDB(t, engine)
			got, recent, err := db.IncidentCounts(ctx, time.Now().Add(-24*time.Hour))
			if err != nil || len(got) != 0 || len(recent) != 0 {
				t.Fatalf("empty database: %v, %v, %v; want no counts", got, recent, err)
			}
			var ids []int64
			for _, lane := range []zhufang.Lane{zhufang.LaneStreet, zhufang.LaneStreet, zhufang.LaneCase, zhufang.LaneStreet} {
				inc := prepared()
				inc.Triage.Lane = lane
				if err := db.CreateIncident(ctx, inc, "接警员 0101"); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, inc.ID)
			}
			if _, err := db.TransitionIncident(ctx, ids[0], zhufang.TransitionRequest{To: zhufang.StateDispatched, Actor: "调度员"}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.TransitionIncident(ctx, ids[3], zhufang.TransitionRequest{To: zhufang.StateCancelled, Actor: "调度员"}); err != nil {
				t.Fatal(err)
			}
			received := prepared().ReceivedAt
			got, recent, err = db.IncidentCounts(ctx, received.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			want := []zhufang.IncidentCount{ // the cancelled one has ended
				{State: zhufang.StateDispatched, Lane: zhufang.LaneStreet, N: 1},
				{State: zhufang.StateReceived, Lane: zhufang.LaneCase, N: 1},
				{State: zhufang.StateReceived, Lane: zhufang.LaneStreet, N: 1},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("open counts (-want +got):\n%s", diff)
			}
			wantRecent := []zhufang.IncidentCount{
				{State: zhufang.StateCancelled, Lane: zhufang.LaneStreet, N: 1},
				{State: zhufang.StateDispatched, Lane: zhufang.LaneStreet, N: 1},
				{State: zhufang.StateReceived, Lane: zhufang.LaneCase, N: 1},
				{State: zhufang.StateReceived, Lane: zhufang.LaneStreet, N: 1},
			}
			if diff := cmp.Diff(wantRecent, recent); diff != "" {
				t.Fatalf("recent counts (-want +got):\n%s", diff)
			}
			if _, recent, err = db.IncidentCounts(ctx, received.Add(time.Hour)); err != nil || len(recent) != 0 {
				t.Fatalf("received since an hour after them: %v, %v; want none", recent, err)
			}
		})
	}
}

func TestOutboxLag(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := sqltest.DSN(t, engine)
			db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			n, oldest, err := db.OutboxLag(ctx)
			if err != nil || n != 0 || !oldest.IsZero() {
				t.Fatalf("empty outbox: %d, %v, %v; want 0 and the zero time", n, oldest, err)
			}
			// The oldest row of all is published: it must not count, nor
			// give the oldest time.
			raw := sqltest.Raw(t, dsn)
			defer raw.Close()
			rawExec(t, raw, engine, `INSERT INTO outbox (topic, payload, created_at, published_at) VALUES
				('test.done', '{}', '2026-03-01T07:00:00.000000Z', '2026-03-01T07:00:01.000000Z'),
				('test.late', '{}', '2026-03-01T09:00:00.000000Z', NULL),
				('test.waiting', '{}', '2026-03-01T08:00:00.250000Z', NULL)`)
			n, oldest, err = db.OutboxLag(ctx)
			want := time.Date(2026, 3, 1, 8, 0, 0, 250e6, time.UTC)
			if err != nil || n != 2 || !oldest.Equal(want) || oldest.Location() != time.UTC {
				t.Fatalf("got %d, %v, %v; want 2 and %v", n, oldest, err, want)
			}
		})
	}
}
