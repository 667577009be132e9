package dispatch

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"zhufang"
)

// memFleetStore holds units and the positions a fleet saves.
type memFleetStore struct {
	units []*zhufang.Unit
	saved []zhufang.PositionReport
}

func (m *memFleetStore) FindUnits(ctx context.Context, stationID int64) ([]*zhufang.Unit, error) {
	return m.units, nil
}

func (m *memFleetStore) SavePositions(ctx context.Context, latest []zhufang.PositionReport) error {
	m.saved = append(m.saved, latest...)
	return nil
}

// TestFleetReportDatedAhead: a report dated 50 s ahead of the clock (within
// the minute allowed) is taken, and saved, at the time it arrived, so the
// genuine report that follows it moves the unit. The fleet reads the
// system clock, so "now" is real here.
func TestFleetReportDatedAhead(t *testing.T) {
	u := mkUnit(1, zhufang.UnitPatrolCar, 1, zhufang.UnitAvailable)
	store := &memFleetStore{units: []*zhufang.Unit{&u}}
	f, err := NewFleet(context.Background(), store, 2*time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ahead := zhufang.Point{Lon: 111.60, Lat: 26.40}
	genuine := zhufang.Point{Lon: 111.61, Lat: 26.41}
	sent := time.Now()
	if ok, err := f.Apply(zhufang.PositionReport{UnitID: 1, At: sent.Add(50 * time.Second), Point: ahead}); !ok || err != nil {
		t.Fatalf("the report dated ahead: (%v, %v), want it applied", ok, err)
	}
	f.save(context.Background())
	if len(store.saved) != 1 || store.saved[0].At.After(time.Now()) {
		t.Fatalf("saved %+v, want the report at no later than its arrival", store.saved)
	}
	if ok, err := f.Apply(zhufang.PositionReport{UnitID: 1, At: time.Now().Add(time.Second), Point: genuine}); !ok || err != nil {
		t.Fatalf("the genuine report after it: (%v, %v), want it applied", ok, err)
	}
	if units := f.Units(0); len(units) != 1 || units[0].Position != genuine {
		t.Fatalf("units %+v, want unit 1 at %v", units, genuine)
	}
}
