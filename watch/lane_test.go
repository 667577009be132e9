package watch_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"zhufang"
	"zhufang/inmem"
	"zhufang/watch"
)

// TestWatcherFollowsTheLane: a theft reported the morning after (case
// lane) and a street fight, both received at once in the urban core and
// never touched. The street fight breaches all three 1-3-5 stages; the
// case only its one clock, being taken up, when the zone's 5-minute
// window ends (zhufang.LaneClock), and no arrival at all.
func TestWatcherFollowsTheLane(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		due := zhufang.DueTimes(start, zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore])
		store := &memStore{open: map[int64]*zhufang.OpenDeadline{
			1: {IncidentID: 1, State: zhufang.StateReceived, Due: due, Triage: zhufang.TriageResult{Lane: zhufang.LaneStreet}},
			2: {IncidentID: 2, State: zhufang.StateReceived, Due: due, Triage: zhufang.TriageResult{Lane: zhufang.LaneCase}},
		}, raised: map[zhufang.Breach]time.Time{}}
		w := &watch.Watcher{Store: store, Events: inmem.NewBus(16), Clock: zhufang.SystemClock{},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxSleep: 30 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		got := map[int64][]string{}
		for _, st := range zhufang.Stages {
			for _, id := range []int64{1, 2} {
				clock := store.open[id].Clock()
				if at, ok := store.raised[zhufang.Breach{IncidentID: id, Stage: st, Due: clock.Due(st)}]; ok {
					got[id] = append(got[id], string(st)+" after "+at.Sub(start).Round(time.Second).String())
				}
			}
		}
		want := map[int64][]string{1: {"acknowledge after 1m0s", "on_scene after 3m0s", "handling after 5m0s"}, 2: {"acknowledge after 5m0s"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("breaches raised (-want +got):\n%s\nall: %v", diff, store.raised)
		}
	})
}
