package watch_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"zhufang"
	"zhufang/inmem"
	"zhufang/watch"
)

// memStore keeps open incidents and raised breaches in memory, recording
// when each breach was raised.
type memStore struct {
	mu     sync.Mutex
	open   map[int64]*zhufang.OpenDeadline
	raised map[zhufang.Breach]time.Time
	calls  int // RaiseBreach calls, each a write transaction in the store
	scans  int // FindOpenDeadlines calls, each a read of every open incident
}

func (m *memStore) FindOpenDeadlines(ctx context.Context) ([]zhufang.OpenDeadline, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scans++
	var out []zhufang.OpenDeadline
	for _, d := range m.open {
		if !d.State.Terminal() {
			out = append(out, *d)
		}
	}
	return out, nil
}

func (m *memStore) RaiseBreach(ctx context.Context, b zhufang.Breach) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if _, ok := m.raised[b]; ok {
		return false, nil
	}
	m.raised[b] = time.Now()
	return true, nil
}

func (m *memStore) set(id int64, s zhufang.IncidentState) {
	m.mu.Lock()
	m.open[id].State = s
	m.mu.Unlock()
}

func (m *memStore) snapshot() map[zhufang.Breach]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[zhufang.Breach]time.Time{}
	for k, v := range m.raised {
		out[k] = v
	}
	return out
}

// TestOneAlertPerBreachNoneEarly runs the watcher on a fake clock: an
// urban-core incident is acknowledged late, then arrives late and is never
// handled. Each stage's breach is raised once, just after its due time.
func TestOneAlertPerBreachNoneEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		due := zhufang.DueTimes(start, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]) // 1/3/5 min
		store := &memStore{open: map[int64]*zhufang.OpenDeadline{7: {IncidentID: 7, State: zhufang.StateReceived, Due: due}},
			raised: map[zhufang.Breach]time.Time{}}
		bus := inmem.NewBus(16)
		w := &watch.Watcher{Store: store, Events: bus, Clock: zhufang.SystemClock{},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxSleep: 30 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()

		wait := func(d time.Duration) { time.Sleep(start.Add(d).Sub(time.Now())); synctest.Wait() }
		wait(time.Minute) // exactly at the due time: not yet a breach
		if n := len(store.snapshot()); n != 0 {
			t.Fatalf("%d alerts at the due time, want none", n)
		}
		wait(time.Minute + time.Second)
		if n := len(store.snapshot()); n != 1 {
			t.Fatalf("%d alerts a second after the acknowledge deadline, want 1", n)
		}
		wait(2 * time.Minute) // acknowledged late; arrival still due at 3 min
		store.set(7, zhufang.StateAcknowledged)
		bus.Publish(ctx, zhufang.Event{Topic: zhufang.TopicIncidentTransition})
		wait(2*time.Minute + 59*time.Second)
		if n := len(store.snapshot()); n != 1 {
			t.Fatalf("%d alerts before the arrival deadline, want still 1", n)
		}
		wait(4 * time.Minute)
		store.set(7, zhufang.StateOnScene) // arrived late
		bus.Publish(ctx, zhufang.Event{Topic: zhufang.TopicIncidentTransition})
		wait(30 * time.Minute) // never handled; many wake-ups pass
		for range 100 {        // position traffic must not make it try again
			bus.Publish(ctx, zhufang.Event{Topic: zhufang.TopicUnitPositions})
			synctest.Wait()
		}
		bus.Publish(ctx, zhufang.Event{Topic: zhufang.TopicIncidentTransition})
		synctest.Wait()
		cancel()
		<-done
		if store.calls != 3 {
			t.Errorf("%d attempts to raise 3 breaches: each should cost one write", store.calls)
		}

		got := store.snapshot()
		if len(got) != 3 {
			t.Fatalf("alerts %v, want one per stage", got)
		}
		for b, at := range got {
			if !at.After(b.Due) || at.Sub(b.Due) > time.Millisecond {
				t.Errorf("%s raised at +%s, due +%s: want just after the due time", b.Stage, at.Sub(start), b.Due.Sub(start))
			}
		}
	})
}

// TestNoAlertForIncidentsInTime: an incident that meets every stage raises
// nothing, however long the watcher runs.
func TestNoAlertForIncidentsInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		due := zhufang.DueTimes(start, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])
		store := &memStore{open: map[int64]*zhufang.OpenDeadline{1: {IncidentID: 1, State: zhufang.StateReceived, Due: due}},
			raised: map[zhufang.Breach]time.Time{}}
		bus := inmem.NewBus(16)
		w := &watch.Watcher{Store: store, Events: bus, Clock: zhufang.SystemClock{},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxSleep: time.Minute}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		for _, step := range []struct {
			at time.Duration
			s  zhufang.IncidentState
		}{{40 * time.Second, "acknowledged"}, {150 * time.Second, "on_scene"}, {280 * time.Second, "handling"}, {400 * time.Second, "closed"}} {
			time.Sleep(start.Add(step.at).Sub(time.Now()))
			store.set(1, step.s)
			bus.Publish(ctx, zhufang.Event{Topic: zhufang.TopicIncidentTransition})
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		cancel()
		<-done
		if got := store.snapshot(); len(got) != 0 {
			t.Fatalf("alerts %v for an incident that met every stage", got)
		}
	})
}

// TestNewIncidentWakesWithoutScanning: a new incident due before the
// watcher's next wake moves the wake earlier, so its breach is raised on
// time even with a long MaxSleep; and a flood of new incidents costs no
// scans of the store, only the timer does.
func TestNewIncidentWakesWithoutScanning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		store := &memStore{open: map[int64]*zhufang.OpenDeadline{}, raised: map[zhufang.Breach]time.Time{}}
		bus := inmem.NewBus(2000)
		w := &watch.Watcher{Store: store, Events: bus, Clock: zhufang.SystemClock{},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxSleep: 10 * time.Minute}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		synctest.Wait()
		scans := func() int { store.mu.Lock(); defer store.mu.Unlock(); return store.scans }
		before := scans()

		profile := zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]
		for id := int64(1); id <= 1000; id++ {
			due := zhufang.DueTimes(time.Now(), profile)
			store.mu.Lock()
			store.open[id] = &zhufang.OpenDeadline{IncidentID: id, State: zhufang.StateReceived, Due: due}
			store.mu.Unlock()
			payload, _ := json.Marshal(map[string]any{"incident": map[string]any{"id": id, "due": due}})
			bus.Publish(ctx, zhufang.Event{ID: id, Topic: zhufang.TopicIncidentCreated, Payload: payload})
		}
		synctest.Wait()
		if n := scans() - before; n != 0 {
			t.Fatalf("1,000 new incidents caused %d scans of the store, want none", n)
		}
		time.Sleep(start.Add(time.Minute + time.Second).Sub(time.Now()))
		synctest.Wait()
		if n := len(store.snapshot()); n != 1000 {
			t.Fatalf("%d alerts a second after the 1,000 incidents' acknowledge deadline, want 1,000 (MaxSleep is 10 minutes)", n)
		}
		cancel()
		<-done
	})
}
