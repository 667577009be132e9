package zhufang_test

import (
	"testing"

	"zhufang"
)

func TestEveryUnitTransition(t *testing.T) {
	legal := map[[2]zhufang.UnitStatus]bool{}
	for _, p := range [][2]zhufang.UnitStatus{
		{"available", "dispatched"}, {"available", "on_scene"}, {"available", "busy"}, {"available", "off_duty"},
		{"dispatched", "en_route"}, {"dispatched", "on_scene"}, {"dispatched", "available"},
		{"en_route", "on_scene"}, {"en_route", "available"},
		{"on_scene", "busy"}, {"on_scene", "returning"}, {"on_scene", "available"},
		{"busy", "returning"}, {"busy", "available"}, {"busy", "off_duty"},
		{"returning", "available"}, {"returning", "dispatched"}, {"returning", "off_duty"},
		{"off_duty", "available"},
	} {
		legal[p] = true
	}
	for _, from := range zhufang.UnitStatuses {
		for _, to := range zhufang.UnitStatuses {
			err := zhufang.CheckUnitTransition(from, to)
			if legal[[2]zhufang.UnitStatus{from, to}] != (err == nil) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
			if err != nil && zhufang.ErrorCode(err) != zhufang.ECONFLICT {
				t.Errorf("%s → %s: code %s", from, to, zhufang.ErrorCode(err))
			}
		}
	}
	if err := zhufang.CheckUnitTransition("available", "flying"); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
}

func TestEveryAssignmentTransition(t *testing.T) {
	states := []zhufang.AssignmentState{"assigned", "acknowledged", "en_route", "on_scene", "cleared", "cancelled"}
	legal := map[[2]zhufang.AssignmentState]bool{
		{"assigned", "acknowledged"}: true, {"assigned", "cancelled"}: true,
		{"acknowledged", "en_route"}: true, {"acknowledged", "on_scene"}: true, {"acknowledged", "cancelled"}: true,
		{"en_route", "on_scene"}: true, {"en_route", "cancelled"}: true,
		{"on_scene", "cleared"}: true,
	}
	for _, from := range states {
		for _, to := range states {
			err := zhufang.CheckAssignmentTransition(from, to)
			if legal[[2]zhufang.AssignmentState{from, to}] != (err == nil) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
			if err != nil && zhufang.ErrorCode(err) != zhufang.ECONFLICT {
				t.Errorf("%s → %s: code %s", from, to, zhufang.ErrorCode(err))
			}
		}
		if s := zhufang.UnitStatusFor(from); s == "" {
			t.Errorf("assignment state %s implies no unit status", from)
		}
	}
	if err := zhufang.CheckAssignmentTransition("assigned", "teleported"); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("unknown state: %v", err)
	}
}
