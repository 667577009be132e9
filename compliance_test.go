package zhufang_test

import (
	"testing"
	"time"

	"zhufang"
)

func TestAggregateCompliance(t *testing.T) {
	core := zhufang.DefaultZoneProfiles()[zhufang.ZoneUrbanCore]
	rural := zhufang.DefaultZoneProfiles()[zhufang.ZoneRural]
	inc := func(id, station int64, zone zhufang.ZoneKind, p zhufang.ZoneProfile, state zhufang.IncidentState, steps ...any) zhufang.ClockedIncident {
		c := zhufang.ClockedIncident{ID: id, StationID: station, Zone: zone, ReceivedAt: t0, State: state, Due: zhufang.DueTimes(t0, p)}
		for i := 0; i+1 < len(steps); i += 2 {
			c.Transitions = append(c.Transitions, zhufang.Transition{To: zhufang.IncidentState(steps[i].(string)), At: t0.Add(steps[i+1].(time.Duration))})
		}
		return c
	}
	m := time.Minute
	incs := []zhufang.ClockedIncident{
		inc(1, 1, "urban_core", core, "handling", "acknowledged", 30*time.Second, "on_scene", 2*m, "handling", 4*m),   // all met
		inc(2, 1, "urban_core", core, "handling", "acknowledged", 90*time.Second, "on_scene", 4*m, "handling", 4*m+m), // ack late, scene late, handling met
		inc(3, 2, "rural", rural, "cancelled", "cancelled", m),                                                        // ended in time: not clocked
		inc(4, 2, "rural", rural, "dispatched", "dispatched", m),                                                      // running, ack overdue
	}
	now := t0.Add(10 * m)
	rows, err := zhufang.AggregateCompliance(incs, "zone", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Key != "rural" || rows[1].Key != "urban_core" {
		t.Fatalf("rows %+v", rows)
	}
	coreRow, ruralRow := rows[1], rows[0]
	if coreRow.Incidents != 2 || coreRow.Clocked["acknowledge"] != 2 || coreRow.Met["acknowledge"] != 1 || coreRow.Rate["acknowledge"] != 0.5 ||
		coreRow.Met["on_scene"] != 1 || coreRow.Met["handling"] != 2 {
		t.Errorf("urban core %+v", coreRow)
	}
	// Rural: incident 3 ended in time, incident 4's acknowledge deadline (3 min) passed.
	if ruralRow.Incidents != 2 || ruralRow.Clocked["acknowledge"] != 1 || ruralRow.Met["acknowledge"] != 0 || ruralRow.Clocked["on_scene"] != 0 {
		t.Errorf("rural %+v", ruralRow)
	}
	if _, ok := ruralRow.Rate["on_scene"]; ok {
		t.Errorf("a rate with nothing clocked: %+v", ruralRow.Rate)
	}
	byStation, _ := zhufang.AggregateCompliance(incs, "station", now)
	if len(byStation) != 2 || byStation[0].Key != "1" {
		t.Errorf("by station %+v", byStation)
	}
	byDay, _ := zhufang.AggregateCompliance(incs, "day", now)
	if len(byDay) != 1 || byDay[0].Key != "2026-11-29" || byDay[0].Incidents != 4 {
		t.Errorf("by day %+v", byDay)
	}
	if _, err := zhufang.AggregateCompliance(incs, "weather", now); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("unknown grouping: %v", err)
	}
}
