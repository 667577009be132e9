package sqlstore_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhufang"
	"zhufang/inmem"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
)

// TestOutboxCommitOrder writes events from many transactions at once, each
// pausing between its outbox insert and its commit, while relays on two
// handles (two nodes) publish. The stream must carry every event once, in
// strictly increasing ID order: a console that resumes after event n then
// never misses one. On PostgreSQL, without the outbox lock, IDs come from a
// sequence in insert order and the pauses commit them out of order.
func TestOutboxCommitOrder(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			dsn := sqltest.DSN(t, engine)
			a, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for _, db := range []*sqlstore.DB{a, b} {
				db.SetBeforeCommit(func() { time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) })
			}
			bus := inmem.NewBus(100000)
			events, stop := bus.Subscribe()
			defer stop()
			rctx, cancel := context.WithCancel(ctx)
			relays := []*sqlstore.Relay{a.StartRelay(rctx, bus, discard()), b.StartRelay(rctx, bus, discard())}
			const writers, each = 8, 40
			var wg sync.WaitGroup
			for w := range writers {
				db := []*sqlstore.DB{a, b}[w%2]
				wg.Go(func() {
					for i := range each {
						if err := db.WriteEvent(ctx, "test.order", map[string]int{"writer": w, "i": i}); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			var last int64
			seen := 0
			deadline := time.After(30 * time.Second)
			for seen < writers*each {
				select {
				case e := <-events:
					if e.ID <= last {
						t.Fatalf("event %d published after event %d", e.ID, last)
					}
					last = e.ID
					seen++
				case <-deadline:
					t.Fatalf("%d of %d events published", seen, writers*each)
				}
			}
			cancel()
			for _, r := range relays {
				<-r.Done()
			}
			select {
			case e := <-events:
				t.Fatalf("event %d published twice or extra", e.ID)
			default:
			}
		})
	}
}

// TestLeader runs three contenders on one database: one leads at a time;
// when the leader stops or its connection is cut, another takes over
// within a few seconds, and the old leader's job has ended first.
func TestLeader(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := sqltest.Open(t, sqlstore.SQLite, sqlstore.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		l := db.Lead(ctx, sqlstore.LeaderOptions{Logger: discard()}, func(ctx context.Context) { close(ran); <-ctx.Done() })
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("the only node did not lead")
		}
		if !l.Leading() {
			t.Fatal("Leading is false while the job runs")
		}
		cancel()
		<-l.Done()
		if l.Leading() {
			t.Fatal("still leading after stopping")
		}
	})
	if len(sqltest.Engines()) < 2 {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		dsn := sqltest.DSN(t, sqlstore.Postgres)
		ctx := context.Background()
		var running atomic.Int32 // jobs running now, across the contenders
		var overlap atomic.Bool
		type node struct {
			db     *sqlstore.DB
			l      *sqlstore.Leadership
			cancel context.CancelFunc
		}
		opt := sqlstore.LeaderOptions{Retry: 200 * time.Millisecond, Check: 250 * time.Millisecond, Logger: discard()}
		nodes := make([]*node, 3)
		for i := range nodes {
			db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if i == 0 {
				if err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			}
			nctx, cancel := context.WithCancel(ctx)
			n := &node{db: db, cancel: cancel}
			n.l = db.Lead(nctx, opt, func(ctx context.Context) {
				if running.Add(1) > 1 {
					overlap.Store(true)
				}
				<-ctx.Done()
				running.Add(-1)
			})
			nodes[i] = n
		}
		leader := func(exclude ...*node) *node {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				var found []*node
				for _, n := range nodes {
					if n.l.Leading() {
						found = append(found, n)
					}
				}
				if len(found) > 1 {
					t.Fatalf("%d nodes lead at once", len(found))
				}
				if len(found) == 1 && !contains(exclude, found[0]) {
					return found[0]
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatal("no node took the lead within 10 s")
			return nil
		}
		first := leader()
		// A clean stop hands over.
		start := time.Now()
		first.cancel()
		<-first.l.Done()
		second := leader(first)
		t.Logf("hand-over after a stop: %s", time.Since(start).Round(time.Millisecond))
		// A cut connection (as when the leader's process dies) hands over too.
		admin, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		start = time.Now()
		if n, err := admin.TerminateLeader(ctx); err != nil || n != 1 {
			t.Fatalf("terminate the leader's connection: %d, %v", n, err)
		}
		// The cut-off node steps down; the lead goes to the third node, or
		// back to the second in a new term once it has reconnected.
		var next *node
		deadline := time.Now().Add(10 * time.Second)
		for next == nil {
			if n := leader(first); n != second || n.l.Terms() == 2 {
				next = n
			} else if time.Now().After(deadline) {
				t.Fatal("the cut-off node never stepped down")
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("hand-over after the connection was cut: %s", time.Since(start).Round(time.Millisecond))
		if overlap.Load() {
			t.Fatal("two leaders' jobs ran at once")
		}
		for _, n := range nodes {
			n.cancel()
			<-n.l.Done()
		}
	})
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var _ zhufang.EventService = (*inmem.Bus)(nil)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestStalledWriterBounded: a node that stalls between writing its events
// and committing holds the outbox lock; another node's write waits for it
// no longer than the session's lock timeout, then fails as unavailable,
// storing nothing, instead of hanging for as long as the stall lasts.
func TestStalledWriterBounded(t *testing.T) {
	if len(sqltest.Engines()) < 2 {
		t.Skip("PostgreSQL only: SQLite has one writer and no lock timeout to test")
	}
	ctx := context.Background()
	dsn := sqltest.DSN(t, sqlstore.Postgres)
	stalled, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if err := stalled.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	release := make(chan struct{})
	holding := make(chan struct{})
	stalled.SetBeforeCommit(func() { close(holding); <-release })
	stalledDone := make(chan error, 1)
	go func() { stalledDone <- stalled.WriteEvent(ctx, "test.stall", map[string]int{"n": 1}) }()
	<-holding
	start := time.Now()
	err = other.WriteEvent(ctx, "test.wait", map[string]int{"n": 2})
	waited := time.Since(start)
	close(release)
	if zhufang.ErrorCode(err) != zhufang.EUNAVAILABLE {
		t.Fatalf("a write behind a stalled one: %v, want unavailable", err)
	}
	if waited < 9*time.Second || waited > 20*time.Second {
		t.Fatalf("waited %s, want about the 10 s lock timeout", waited)
	}
	if err := <-stalledDone; err != nil {
		t.Fatalf("the stalled write, once let go: %v", err)
	}
	if n, _, err := other.OutboxLag(ctx); err != nil || n != 1 {
		t.Fatalf("%d events in the outbox (%v), want the stalled write's alone", n, err)
	}
}

// TestReplayUnpublished: a console resuming reads every committed event,
// including one the relay has not marked published yet (it may already
// have gone out on the bus, before the console joined).
func TestReplayUnpublished(t *testing.T) {
	for _, engine := range sqltest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			db := sqltest.Open(t, engine, sqlstore.Options{})
			for i := range 3 {
				if err := db.WriteEvent(ctx, "test.replay", map[string]int{"i": i}); err != nil {
					t.Fatal(err)
				}
			}
			events, err := db.FindEventsSince(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 3 || events[0].ID >= events[1].ID || events[1].ID >= events[2].ID {
				t.Fatalf("replayed %+v, want the 3 committed events in order", events)
			}
			after, err := db.FindEventsSince(ctx, events[0].ID, 10)
			if err != nil || len(after) != 2 || after[0].ID != events[1].ID {
				t.Fatalf("after the first: %+v, %v", after, err)
			}
		})
	}
}
