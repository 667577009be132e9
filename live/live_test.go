package live

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/inmem"
	"zhufang/locate"
	"zhufang/sqlstore"
	"zhufang/sqlstore/sqltest"
	"zhufang/zhufangtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	sqltest.RemoveDemoFiles()
	os.Exit(code)
}

// liveCity is a copy of the demo city wired as serve wires it, with the
// living city's dependencies ready and a log of what it warns about.
type liveCity struct {
	deps Deps
	db   *sqlstore.DB
	logs *zhufangtest.Buffer // written by the living city, read by the test
}

func newLiveCity(t *testing.T, crews bool) *liveCity {
	t.Helper()
	dsn := sqltest.Demo(t, 2)
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	idx, _, err := locate.FromOrg(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cats := zhufangtest.Categories(t)
	model, _, err := demo.LoadModel(ctx, db, cats)
	if err != nil {
		t.Fatal(err)
	}
	logs := &zhufangtest.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bus := inmem.NewBus(256)
	rctx, stop := context.WithCancel(ctx)
	relay := db.StartRelay(rctx, bus, logger)
	fl, err := dispatch.NewFleet(ctx, db, 2*time.Minute, logger)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { fl.Follow(rctx, bus) })
	t.Cleanup(func() { stop(); <-relay.Done(); wg.Wait() })
	intake := &zhufang.Intake{Categories: cats, Locator: idx, Triage: zhufang.DefaultTriage(),
		Zones: zhufang.DefaultZoneProfiles(), Clock: zhufang.SystemClock{}, Store: db}
	// Fast enough for about three new incidents a real second whatever the
	// hour (60 to 200 times real time in the day, more before dawn), so the
	// counts below are not left to chance.
	speed := min(max(3*3600/model.HourRate(time.Now()), 60), 1000)
	return &liveCity{logs: logs, db: db, deps: Deps{Store: db, Fleet: fl, Events: bus, Intake: intake, Model: model,
		Crews: crews, Seed: 7, Speed: speed, Logger: logger}}
}

// start runs the living city and returns a function that stops it and
// fails the test unless Run returns nil within a second.
func (c *liveCity) start(t *testing.T) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, c.deps) }()
	return func() {
		t.Helper()
		cancel()
		start := time.Now()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("Run took %s to stop, want under 1 s", took)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop within 5 s of its context ending")
		}
		if w := c.logs.String(); strings.Contains(w, "live:") {
			t.Errorf("the living city warned:\n%s", w)
		}
	}
}

// newIncidents returns the incidents received since from.
func (c *liveCity) newIncidents(t *testing.T, from time.Time) []*zhufang.Incident {
	t.Helper()
	all, err := c.db.FindIncidents(context.Background(), zhufang.IncidentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(all, func(inc *zhufang.Incident) bool { return inc.ReceivedAt.Before(from) })
}

// checkArrivals compares the incidents that arrived over [from, to) with
// the model's rate, within a factor of three: a Poisson count with the
// mean of at least 20 that these runs have falls outside it about once in
// ten thousand runs, and a pacing off by the speed or by an hour's rate
// does every time.
func (c *liveCity) checkArrivals(t *testing.T, got int, from, to time.Time) {
	t.Helper()
	rate := (c.deps.Model.HourRate(from) + c.deps.Model.HourRate(to)) / 2
	want := rate / 3600 * c.deps.Speed * to.Sub(from).Seconds()
	t.Logf("%d incidents arrived in %.1f s at speed %.0f; %.1f expected", got, to.Sub(from).Seconds(), c.deps.Speed, want)
	if float64(got) < want/3 || float64(got) > want*3 {
		t.Errorf("%d incidents arrived, want about %.1f (the model's %.1f an hour at speed %.0f)", got, want, rate, c.deps.Speed)
	}
}

// checkPatrols checks that some police units' stored tracks moved.
func (c *liveCity) checkPatrols(t *testing.T, from time.Time) {
	t.Helper()
	ctx := context.Background()
	moved, looked := 0, 0
	for _, u := range c.deps.Fleet.Units(0) {
		if u.Kind != zhufang.UnitPatrolCar || looked == 30 {
			continue
		}
		looked++
		track, err := c.db.FindTrack(ctx, u.ID, from, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(track) >= 2 && track[0].Point.DistanceMeters(track[len(track)-1].Point) > 50 {
			moved++
		}
	}
	if moved == 0 {
		t.Errorf("none of %d patrol cars' tracks moved more than 50 m", looked)
	}
}

func TestLiveCrews(t *testing.T) {
	t.Parallel()
	c := newLiveCity(t, true)
	from := time.Now()
	stop := c.start(t)
	ctx := context.Background()
	var onScene, closed *zhufang.Incident
	var closedHistory []zhufang.Transition
	deadline := from.Add(18 * time.Second)
	for time.Now().Before(deadline) && (onScene == nil || closed == nil || time.Since(from) < 8*time.Second) {
		time.Sleep(250 * time.Millisecond)
		incs := c.newIncidents(t, from)
		ids := make([]int64, len(incs))
		for i, inc := range incs {
			ids[i] = inc.ID
		}
		hist, err := c.db.FindTransitionsOf(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range incs {
			if !inc.Triage.Streetward() {
				continue
			}
			if onScene == nil && slices.ContainsFunc(hist[inc.ID], func(tr zhufang.Transition) bool { return tr.To == zhufang.StateOnScene }) {
				onScene = inc
			}
			if closed == nil && inc.State == zhufang.StateClosed {
				closed, closedHistory = inc, hist[inc.ID]
			}
		}
	}
	to := time.Now()
	stop()
	c.checkArrivals(t, len(c.newIncidents(t, from)), from, to)
	c.checkPatrols(t, from)
	if onScene == nil {
		t.Fatalf("no street incident reached on_scene in %.1f s", to.Sub(from).Seconds())
	}
	if closed == nil {
		t.Fatalf("no street incident was closed in %.1f s", to.Sub(from).Seconds())
	}
	t.Logf("incident %d on scene, incident %d closed, after %.1f s", onScene.ID, closed.ID, to.Sub(from).Seconds())

	var states []zhufang.IncidentState
	for i, tr := range closedHistory {
		states = append(states, tr.To)
		if i > 0 && tr.At.Before(closedHistory[i-1].At) {
			t.Errorf("incident %d: %s at %s comes before %s at %s", closed.ID, tr.To, tr.At, closedHistory[i-1].To, closedHistory[i-1].At)
		}
	}
	want := []zhufang.IncidentState{zhufang.StateReceived, zhufang.StateDispatched, zhufang.StateAcknowledged,
		zhufang.StateOnScene, zhufang.StateHandling, zhufang.StateFeedback, zhufang.StateClosed}
	if !slices.Equal(states, want) {
		t.Errorf("incident %d went %v, want %v", closed.ID, states, want)
	}
	as, err := c.db.FindAssignments(ctx, closed.ID)
	if err != nil {
		t.Fatal(err)
	}
	cleared := 0
	for _, a := range as {
		if a.State.Active() {
			t.Errorf("closed incident %d still holds unit %d (%s)", closed.ID, a.UnitID, a.State)
		}
		if a.State == zhufang.AssignCleared && a.Role == "primary" && a.AssignedBy == liveActor {
			cleared++
		}
	}
	if cleared == 0 {
		t.Errorf("closed incident %d has no cleared primary assignment: %+v", closed.ID, as)
	}
}

func TestLiveWithoutCrews(t *testing.T) {
	t.Parallel()
	c := newLiveCity(t, false)
	from := time.Now()
	stop := c.start(t)
	time.Sleep(4 * time.Second)
	stop()
	incs := c.newIncidents(t, from)
	if len(incs) == 0 {
		t.Fatal("no incident arrived without crews")
	}
	for _, inc := range incs {
		if inc.State != zhufang.StateReceived {
			t.Errorf("incident %d is %s; without crews nobody should move it", inc.ID, inc.State)
		}
	}
	for _, action := range []string{zhufang.AuditAssign, zhufang.AuditAssignment, zhufang.AuditIncidentState} {
		es, err := c.db.FindAudit(context.Background(), zhufang.AuditFilter{Action: action, From: from})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) > 0 {
			t.Errorf("without crews, %d %s entries since the start, want none: first %+v", len(es), action, es[0])
		}
	}
	c.checkPatrols(t, from)

	// Crews taking over later pick up what was left open.
	c.deps.Crews = true
	stop = c.start(t)
	deadline := time.Now().Add(6 * time.Second)
	moved := 0
	for moved == 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		for _, inc := range c.newIncidents(t, from) {
			if slices.ContainsFunc(incs, func(old *zhufang.Incident) bool { return old.ID == inc.ID }) && inc.State != zhufang.StateReceived {
				moved++
			}
		}
	}
	stop()
	if moved == 0 {
		t.Errorf("crews started later moved none of the %d incidents left open", len(incs))
	}
}
