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
	Events zhufang.EventService // a new incident due sooner wakes it early
	Clock  zhufang.Clock
	Logger *slog.Logger
	// MaxSleep bounds a sleep, so that incidents another node took in are
	// looked at even when no event reaches this one.
	MaxSleep time.Duration
	// Raised, if set, hears of each breach this watcher raised (not one it
	// found raised already), for metrics.
	Raised func(zhufang.Breach)
}

// Run watches until ctx ends.
//
// Only the timer makes it look at the store. A new incident's event moves
// the timer earlier when that incident falls due first; a transition only
// ever removes work, so it does not wake it. Before, every event caused a
// scan of all open incidents, which under a flood of calls made the
// watcher scan without pause.
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
		sleep = max(sleep, 0)
		timer.Reset(sleep)
		wakeAt := w.Clock.Now().Add(sleep)
		if !w.wait(ctx, timer, wakeAt, &events, &stop) {
			return nil
		}
	}
}

// wait sleeps until the timer fires, moving it earlier when a new incident
// falls due before it. It reports false when ctx ends.
func (w *Watcher) wait(ctx context.Context, timer *time.Timer, wakeAt time.Time, events *<-chan zhufang.Event, stop *func()) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case e, ok := <-*events:
			if !ok { // dropped as a slow subscriber: subscribe again, and look now
				*events, *stop = w.Events.Subscribe()
				return true
			}
			if e.Topic != zhufang.TopicIncidentCreated {
				continue
			}
			due, ok := firstDue(e)
			if !ok {
				return true // an event we cannot read: look at the store instead
			}
			if at := due.Add(time.Nanosecond); at.Before(wakeAt) {
				wakeAt = at
				timer.Reset(max(at.Sub(w.Clock.Now()), 0))
			}
		}
	}
}

// firstDue reads a new incident's earliest due time from its event.
func firstDue(e zhufang.Event) (time.Time, bool) {
	body, err := e.Body()
	created, ok := body.(zhufang.IncidentCreated)
	if err != nil || !ok || created.Incident == nil || created.Incident.Clock().Acknowledge.IsZero() {
		return time.Time{}, false
	}
	return created.Incident.Clock().Acknowledge, true
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
		for _, b := range zhufang.OpenBreaches(d.IncidentID, d.State, d.Clock(), now) {
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
				if w.Raised != nil {
					w.Raised(b)
				}
			}
		}
		if n := zhufang.NextDue(d.State, d.Clock(), now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
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
