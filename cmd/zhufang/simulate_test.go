package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"zhufang"
	"zhufang/sim"
	"zhufang/zhufangtest"
)

// templateAnchor is the last day of the test template's history.
const templateAnchor = "2026-03-01"

// simulateJSON runs zhufang simulate --json in process.
func simulateJSON(t *testing.T, dsn string, extra ...string) ([]sim.Row, string) {
	t.Helper()
	var out bytes.Buffer
	args := append([]string{"simulate", "--db", dsn, "--json"}, extra...)
	if err := run(context.Background(), args, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("simulate %v: %v", extra, err)
	}
	var rows []sim.Row
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("simulate --json printed %q: %v", out.String(), err)
	}
	return rows, out.String()
}

// TestSimulateDeterministic runs the simulation twice with the same seed,
// on a day of the stored history and on a day the model draws: the JSON is
// identical, every row is well formed, and another seed changes it.
func TestSimulateDeterministic(t *testing.T) {
	t.Parallel()
	if zhufangtest.Race {
		// Six replays of a city's day, each in one goroutine: the race
		// detector has nothing to watch and makes them minutes long.
		t.Skip("the simulation's determinism is checked in the pass without the race detector")
	}
	dsn := filepath.Join(t.TempDir(), "sim.db")
	demoArgs(t, dsn)
	for _, date := range []string{templateAnchor, "2026-06-15"} {
		t.Run(date, func(t *testing.T) {
			rows, a := simulateJSON(t, dsn, "--date", date)
			_, b := simulateJSON(t, dsn, "--date", date)
			if a != b {
				t.Fatalf("two runs with the same seed differ:\n%s\n%s", a, b)
			}
			if _, c := simulateJSON(t, dsn, "--date", date, "--seed", "99"); c == a {
				t.Fatal("another seed gave the same result")
			}
			if len(rows) != len(sim.Policies)*len(zhufang.ZoneKinds) {
				t.Fatalf("%d rows, want one per policy and zone profile", len(rows))
			}
			var raw []map[string]any
			json.Unmarshal([]byte(a), &raw)
			for _, k := range []string{"policy", "zone_profile", "street_incidents", "ack_within_1min", "on_scene_within_3min",
				"handling_within_5min", "median_on_scene_s", "p90_on_scene_s"} {
				if _, ok := raw[0][k]; !ok {
					t.Errorf("rows lack %q: %s", k, a[:200])
				}
			}
			street := 0
			for i, r := range rows {
				if r.Policy != string(sim.Policies[i/len(zhufang.ZoneKinds)]) {
					t.Errorf("row %d is policy %s", i, r.Policy)
				}
				for _, s := range []float64{r.Ack1, r.Scene3, r.Handling5} {
					if s < 0 || s > 1 {
						t.Errorf("share %v outside 0..1 in %+v", s, r)
					}
				}
				if r.StreetIncidents > 0 && (r.MedianOnScene <= 0 || r.P90OnScene < r.MedianOnScene) {
					t.Errorf("on-scene times %+v", r)
				}
				if r.Policy == string(sim.Station) {
					street += r.StreetIncidents
				}
			}
			if street < 200 {
				t.Errorf("%d street incidents in a day, want hundreds", street)
			}
		})
	}
	one, _ := simulateJSON(t, dsn, "--date", templateAnchor, "--policy", "nearest")
	if len(one) != len(zhufang.ZoneKinds) || one[0].Policy != "nearest" {
		t.Fatalf("--policy nearest gave %+v", one)
	}
}

// TestSimulateBadInput gives each mistake a clear one-line error.
func TestSimulateBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	city := filepath.Join(dir, "city.db")
	demoArgs(t, city)
	empty := filepath.Join(dir, "empty.db")
	if code, _, stderr, _ := runMain(t, "migrate", "--db", empty); code != 0 {
		t.Fatal(stderr)
	}
	tests := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no date", []string{"--db", city}, 2, "--date YYYY-MM-DD is required"},
		{"bad date", []string{"--db", city, "--date", "2026-02-30"}, 2, `--date "2026-02-30" must be a date`},
		{"unknown policy", []string{"--db", city, "--date", templateAnchor, "--policy", "fastest"}, 2, `unknown policy "fastest"`},
		{"missing database", []string{"--db", filepath.Join(dir, "nothing.db"), "--date", templateAnchor}, 1, "does not exist"},
		{"no demo city", []string{"--db", empty, "--date", templateAnchor}, 1, "holds no demo city"},
		{"before the model", []string{"--db", city, "--date", "2019-01-01"}, 1, "outside the incident model's range"},
		{"after the model", []string{"--db", city, "--date", "2035-06-01"}, 1, "outside the incident model's range"},
		{"stray argument", []string{"--db", city, "--date", templateAnchor, "now"}, 2, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"simulate"}, tt.args...)
			code, stdout, stderr, _ := runMain(t, args...)
			if code != tt.code || !strings.Contains(stderr, tt.says) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Fatalf("exit %d, stderr %q; want exit %d saying %q", code, stderr, tt.code, tt.says)
			}
			if stdout != "" {
				t.Fatalf("a failure printed %q", stdout)
			}
		})
	}
}
