package live

import (
	"context"
	"testing"
	"time"

	"zhufang"
)

// TestCrewsAnswerUnitsSentByHand: a call the user took (not one the
// demo drew) gets a simulated unit sent by a person at the console; its
// crew acknowledges, drives and arrives, as the demo's own crews do.
func TestCrewsAnswerUnitsSentByHand(t *testing.T) {
	t.Parallel()
	c := newLiveCity(t, true)
	stop := c.start(t)
	defer stop()
	ctx := context.Background()
	// A street fight taken at the console, in the city centre.
	inc := &zhufang.Incident{Source: zhufang.SourceCall110, Position: zhufang.Point{Lon: 111.6015, Lat: 26.4372},
		Category: "200100", Address: "梅湾路1号", Description: "两人打架"}
	if err := c.deps.Intake.Receive(ctx, inc, "接警员 张丽"); err != nil {
		t.Fatal(err)
	}
	// The person sends the nearest simulated unit that reports.
	var a *zhufang.Assignment
	for deadline := time.Now().Add(5 * time.Second); a == nil && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, rec := range c.deps.Fleet.Recommend(zhufang.RecommendQuery{At: inc.Position, Zone: inc.Zone, K: 3}) {
			try := &zhufang.Assignment{IncidentID: inc.ID, UnitID: rec.UnitID, AssignedBy: "接警员 张丽", Role: "primary", ETA: rec.ETA}
			if err := c.db.Assign(ctx, try); err == nil {
				c.deps.Fleet.SetStatus(try.UnitID, zhufang.UnitDispatched)
				a = try
				break
			}
		}
	}
	if a == nil {
		t.Fatal("no unit could be sent by hand in 5 s")
	}
	var got zhufang.AssignmentState
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		as, err := c.db.FindAssignments(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range as {
			if x.ID == a.ID {
				got = x.State
			}
		}
		if got == zhufang.AssignOnScene || got == zhufang.AssignCleared {
			break
		}
	}
	if got != zhufang.AssignOnScene && got != zhufang.AssignCleared {
		t.Fatalf("the unit sent by hand is %q after 15 s, want on scene: its crew never answered", got)
	}
	back, err := c.db.FindIncidentByID(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.State == zhufang.StateReceived || back.State == zhufang.StateDispatched {
		t.Errorf("the incident is still %s", back.State)
	}
}
