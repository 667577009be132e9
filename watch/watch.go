// Package watch runs the 1-3-5 breach watcher: it sleeps until the next due
// time of any open incident, and when a stage's due time passes before the
// stage is reached it raises one alert to the command room.
package watch

import (
	"context"
	"log/slog"
	"time"

	"zhufang"
)

// Watcher raises breaches. Every field is required.
type Watcher struct {
	Store  zhufang.BreachService
	Events zhufang.EventService // incidents created or moved wake it early
	Clock  zhufang.Clock
	Logger *slog.Logger
	// MaxSleep bounds a sleep, so that incidents another node took in are
	// looked at even when no event reaches this one.
	MaxSleep time.Duration
}

// Run watches until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	events, stop := w.Events.Subscribe()
	defer func() { stop() }()
	timer := time.NewTimer(0)
	defer timer.Stop()
	raised := map[zhufang.Breach]bool{}
	for {
		next, err := w.check(ctx, raised)
		if err != nil && ctx.Err() == nil {
			w.Logger.Warn("breach watcher", "err", err)
		}
		sleep := w.MaxSleep
		if !next.IsZero() {
			// Wake just after the due time: a breach is raised only once the
			// due time has passed, never at it or before.
			sleep = min(sleep, next.Sub(w.Clock.Now())+time.Nanosecond)
		}
		timer.Reset(max(sleep, 0))
		if !w.wait(ctx, timer, &events, &stop) {
			return nil
		}
	}
}

// wait sleeps until the timer fires or an incident is taken in or moves;
// positions, its own alerts and other events change no deadline and do not
// wake it. It reports false when ctx ends.
func (w *Watcher) wait(ctx context.Context, timer *time.Timer, events *<-chan zhufang.Event, stop *func()) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case e, ok := <-*events:
			if ok && e.Topic != zhufang.TopicIncidentCreated && e.Topic != zhufang.TopicIncidentTransition {
				continue
			}
			if !ok { // dropped as a slow subscriber: subscribe again
				*events, *stop = w.Events.Subscribe()
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			return true
		}
	}
}

// check raises every open breach not raised before and returns the next
// due time to wake for. raised remembers what this watcher has raised (or
// found raised by another node), for the incidents still open, so that a
// breach costs one write, not one per wake.
func (w *Watcher) check(ctx context.Context, raised map[zhufang.Breach]bool) (time.Time, error) {
	open, err := w.Store.FindOpenDeadlines(ctx)
	if err != nil {
		return time.Time{}, err
	}
	now := w.Clock.Now()
	var next time.Time
	still := map[int64]bool{}
	for _, d := range open {
		still[d.IncidentID] = true
		for _, b := range zhufang.OpenBreaches(d.IncidentID, d.State, d.Due, now) {
			if raised[b] {
				continue
			}
			new, err := w.Store.RaiseBreach(ctx, b)
			if err != nil {
				return time.Time{}, err
			}
			raised[b] = true
			if new {
				w.Logger.Info("1-3-5 breach", "incident", b.IncidentID, "stage", b.Stage, "due", b.Due)
			}
		}
		if n := zhufang.NextDue(d.State, d.Due, now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	for b := range raised {
		if !still[b.IncidentID] {
			delete(raised, b)
		}
	}
	return next, nil
}
