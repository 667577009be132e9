package main

import (
	"path/filepath"
	"testing"
	"time"
	"zhufang/zhufangtest"

	"zhufang"
)

// TestServeDemoAlive serves the demo city with --demo on a database that
// holds it already: the city comes alive (every unit reports a position
// at once, so the console shows them live and the recommender can use
// them), and the posture plan sees units where they are now.
func TestServeDemoAlive(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "alive.db")
	args := []string{"--demo", "--history", "3", "--crews=false", "--db", dsn}
	if zhufangtest.Race {
		// A copy of the template (its history long past) spares the race
		// detector a build; the posture half needs a recent history.
		args = append(demoArgs(t, dsn), "--demo", "--crews=false")
	}
	base, stop := startServe(t, args...)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve ended with %v", err)
		}
	}()
	signIn(t, base, dsn, "watcher", zhufang.RoleDispatcher)
	var list struct {
		Units []struct {
			ID    int64
			Stale bool
		}
	}
	fresh := 0
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code := getJSON(t, base+"/api/v1/units", &list); code != 200 {
			t.Fatalf("units: %d", code)
		}
		fresh = 0
		for _, u := range list.Units {
			if !u.Stale {
				fresh++
			}
		}
		if fresh > len(list.Units)/2 {
			break
		}
	}
	if fresh <= len(list.Units)/2 {
		t.Fatalf("%d of %d units have a live position: the city did not come alive", fresh, len(list.Units))
	}
	if zhufangtest.Race {
		return
	}
	var plan struct {
		Bureaus []struct {
			Expected   float64 `json:"expected"`
			CoveredNow float64 `json:"covered_now"`
			Units      []struct{ Stale bool }
		}
	}
	if code := getJSON(t, base+"/api/v1/posture", &plan); code != 200 || len(plan.Bureaus) == 0 {
		t.Fatalf("posture: %d %+v", code, plan)
	}
	covered := false
	for _, b := range plan.Bureaus {
		covered = covered || b.CoveredNow > 0
	}
	if !covered {
		t.Errorf("no bureau has any demand covered by its live units: %+v", plan)
	}
}
