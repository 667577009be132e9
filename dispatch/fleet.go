package dispatch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"zhufang"
)

// Fleet is one node's live picture of the units: the dispatch index, kept
// in step with the store through the event bus, with the latest positions
// written back to the store now and then.
type Fleet struct {
	ix     *Index
	store  FleetStore
	logger *slog.Logger

	mu    sync.Mutex
	dirty map[int64]zhufang.PositionReport // newest position not yet saved
}

var _ zhufang.Fleet = (*Fleet)(nil)

// FleetStore is where a fleet reads its units and saves their positions.
type FleetStore interface {
	FindUnits(ctx context.Context, stationID int64) ([]*zhufang.Unit, error)
	// SavePositions keeps the newest of each unit's positions.
	SavePositions(ctx context.Context, latest []zhufang.PositionReport) error
}

// NewFleet loads every unit into a fresh index; positions older than
// staleAfter are not recommended.
func NewFleet(ctx context.Context, store FleetStore, staleAfter time.Duration, logger *slog.Logger) (*Fleet, error) {
	ix, err := NewIndex(IndexOptions{StaleAfter: staleAfter})
	if err != nil {
		return nil, err
	}
	units, err := store.FindUnits(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		if err := ix.Put(*u); err != nil {
			return nil, err
		}
	}
	return &Fleet{ix: ix, store: store, logger: logger, dirty: map[int64]zhufang.PositionReport{}}, nil
}

// Apply takes a report into the index and remembers it for the snapshot,
// as the index took it: a report dated ahead of the clock is saved at the
// time it arrived, so the stored position cannot hold back the genuine
// ones either (SavePositions keeps only newer positions).
func (f *Fleet) Apply(r zhufang.PositionReport) (bool, error) {
	r, applied, err := f.ix.update(r)
	if applied {
		f.mu.Lock()
		f.dirty[r.UnitID] = r
		f.mu.Unlock()
	}
	return applied, err
}

// SetStatus sets a unit's status in the index.
func (f *Fleet) SetStatus(id int64, s zhufang.UnitStatus) error { return f.ix.SetStatus(id, s) }

// Units lists the live units of a station, or all for 0.
func (f *Fleet) Units(stationID int64) []zhufang.LiveUnit {
	var out []zhufang.LiveUnit
	for _, v := range f.ix.Snapshot() {
		if stationID == 0 || v.StationID == stationID {
			out = append(out, zhufang.LiveUnit{Unit: v.Unit, Stale: v.Stale})
		}
	}
	return out
}

// Recommend proposes police units for an incident.
func (f *Fleet) Recommend(q zhufang.RecommendQuery) []zhufang.Recommendation {
	return Recommend(f.ix, Query{At: q.At, Zone: q.Zone, StationID: q.StationID, K: q.K, Needs: q.Needs})
}

// FirstResponder proposes the nearest guard team.
func (f *Fleet) FirstResponder(at zhufang.Point, zone zhufang.ZoneKind) (zhufang.Recommendation, bool) {
	return FirstResponder(f.ix, at, zone)
}

// Follow applies what other nodes (and this one's store) publish: unit
// statuses that assignments set, and position reports taken elsewhere.
func (f *Fleet) Follow(ctx context.Context, bus zhufang.EventService) {
	events, stop := bus.Subscribe()
	defer func() { stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok { // dropped for falling behind: pick up again
				events, stop = bus.Subscribe()
				continue
			}
			f.apply(e)
		}
	}
}

func (f *Fleet) apply(e zhufang.Event) {
	switch e.Topic {
	case zhufang.TopicAssignment, zhufang.TopicUnitStatus, zhufang.TopicUnitPositions:
	default:
		return
	}
	body, err := e.Body()
	if err != nil {
		f.logger.Warn("fleet: unreadable event", "topic", e.Topic, "err", err)
		return
	}
	switch b := body.(type) {
	case zhufang.AssignmentChanged:
		f.ix.SetStatus(b.Assignment.UnitID, b.UnitStatus)
	case zhufang.UnitStatusChanged:
		f.ix.SetStatus(b.UnitID, b.Status)
	case zhufang.PositionsReported:
		for _, r := range b.Reports {
			f.Apply(r) // this node's own reports come back as no-ops: not newer
		}
	}
}

// Snapshot writes the newest positions to the store every interval, so a
// restarted node starts from where the units were.
func (f *Fleet) Snapshot(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.save(context.Background())
			return
		case <-t.C:
			f.save(ctx)
		}
	}
}

func (f *Fleet) save(ctx context.Context) {
	f.mu.Lock()
	batch := make([]zhufang.PositionReport, 0, len(f.dirty))
	for _, r := range f.dirty {
		batch = append(batch, r)
	}
	f.dirty = map[int64]zhufang.PositionReport{}
	f.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := f.store.SavePositions(ctx, batch); err != nil {
		f.logger.Warn("fleet: saving positions", "err", err)
	}
}
