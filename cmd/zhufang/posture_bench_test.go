package main

import (
	"context"
	"path/filepath"
	"testing"

	"zhufang"
	"zhufang/data"
	"zhufang/posture"
	"zhufang/sim"
)

// BenchmarkPostureCityHour plans one hour (20:00, the evening peak) of the
// whole demo city: every county bureau's demand cells, learnt from 28 days
// of street incidents, covered by all its cars and motorcycles. "build"
// includes making the coverage lists; "solve" reuses them, as the
// simulation does within an hour when a unit leaves or comes free.
func BenchmarkPostureCityHour(b *testing.B) {
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "posture.db")
	demoArgs(b, dsn)
	db, err := openDB(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	m, rec, err := loadModel(ctx, db, data.FS)
	if err != nil {
		b.Fatal(err)
	}
	city, err := sim.LoadCity(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	demand, err := sim.DemandBefore(ctx, db, m, rec, city.Bureaus, m.Anchor().AddDate(0, 0, 40))
	if err != nil {
		b.Fatal(err)
	}
	cells := demand[20]
	reach := posture.Reach{
		Budget: func(z zhufang.ZoneKind) float64 { return (city.Zones[z].OnScene - sim.DispatchAllowance).Seconds() },
		Pace:   func(z zhufang.ZoneKind) float64 { return city.Estimate.Pace(zhufang.UnitPatrolCar, z) },
	}
	byBureau := map[int64][]posture.Cell{}
	for _, c := range cells {
		byBureau[c.BureauID] = append(byBureau[c.BureauID], c)
	}
	movers := map[int64][]posture.Mover{}
	for _, u := range city.Units {
		if u.Platform == zhufang.PlatformPolice && (u.Kind == zhufang.UnitPatrolCar || u.Kind == zhufang.UnitMotorcycle) {
			bu := city.Bureaus[u.StationID]
			movers[bu] = append(movers[bu], posture.Mover{ID: u.ID, At: u.Home})
		}
	}
	b.Logf("hour 20: %d demand cells, %d bureaus", len(cells), len(byBureau))
	plan := func(covers map[int64]*posture.Cover) (covered, demand float64) {
		for bu, c := range covers {
			p, err := c.Plan(movers[bu])
			if err != nil {
				b.Fatal(err)
			}
			covered += p.Covered
			demand += p.Demand
		}
		return covered, demand
	}
	build := func() map[int64]*posture.Cover {
		covers := map[int64]*posture.Cover{}
		for bu, cs := range byBureau {
			covers[bu] = posture.NewCover(cs, reach)
		}
		return covers
	}
	b.Run("build", func(b *testing.B) {
		var covered, demand float64
		for b.Loop() {
			covered, demand = plan(build())
		}
		b.ReportMetric(covered/demand, "covered")
	})
	b.Run("solve", func(b *testing.B) {
		covers := build()
		var covered, demand float64
		for b.Loop() {
			covered, demand = plan(covers)
		}
		b.ReportMetric(covered/demand, "covered")
	})
}
