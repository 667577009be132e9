package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/zhufangtest"
)

// TestHistoryYearOnYear builds the demo city with its full two years of
// history, as `zhufang demo` does, then counts the incidents back from the
// database by category: each change the Yongzhou police report holds
// within ±3 points between the two years, and the history looks like a
// city's: about a thousand incidents a day, every street incident with a
// unit sent, and the reform year answering faster.
func TestHistoryYearOnYear(t *testing.T) {
	t.Parallel()
	if zhufangtest.Race {
		t.Skip("two years of history take minutes under the race detector; the ordinary pass builds and counts them")
	}
	if testing.Short() {
		t.Skip("builds two years of history")
	}
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "history.db")
	var out bytes.Buffer
	start := time.Now()
	err := run(ctx, []string{"demo", "--db", dsn, "--anchor", templateAnchor}, func(string) string { return "" }, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("zhufang demo with two years of history took %.1f s: %s", time.Since(start).Seconds(), strings.SplitN(out.String(), "\n", 3)[1])
	db, err := openDB(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec, err := db.FindDemoCity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.AnchorDay != templateAnchor || rec.HistoryDays != demo.HistoryDays || rec.Incidents < 600_000 {
		t.Fatalf("demo record %+v", rec)
	}
	anchor, _ := rec.Anchor()
	second := anchor.AddDate(0, 0, -364)
	first := second.AddDate(0, 0, -365)
	count := func(from, to time.Time) map[string]int64 {
		rows, err := db.CountByCategory(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int64{}
		for _, r := range rows {
			switch {
			case r.Category[0] == '1':
				n["criminal"] += r.Count
			case r.Category[0] == '2':
				n["public order"] += r.Count
			}
			if slices.Contains(demo.PropertyCrime, r.Category) {
				n["property crime"] += r.Count
			}
			switch r.Category {
			case demo.TelecomFraud:
				n["telecom fraud"] += r.Count
			case demo.FatalTraffic:
				n["fatal traffic accidents"] += r.Count
			}
			n["all"] += r.Count
		}
		return n
	}
	y1, y2 := count(first, second), count(second, anchor.AddDate(0, 0, 1))
	for g, want := range map[string]float64{"criminal": -35, "public order": -7, "property crime": -25, "telecom fraud": -39,
		"fatal traffic accidents": -14} {
		got := 100 * (float64(y2[g])/float64(y1[g]) - 1)
		t.Logf("%-24s %7d → %7d  %+6.2f%% (target %+.0f%%)", g, y1[g], y2[g], got, want)
		if got < want-3 || got > want+3 {
			t.Errorf("%s changed %+.2f%%, want %+.0f%% ± 3 points", g, got, want)
		}
	}
	if perDay := float64(y1["all"]) / 365; perDay < 800 || perDay > 1200 {
		t.Errorf("%.0f incidents a day in the first year, want on the order of a thousand", perDay)
	}

	// One day in each year, through the compliance report the console uses.
	onScene := func(day time.Time) (met, clocked int) {
		incs, err := db.FindClockedIncidents(ctx, day, day.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := zhufang.AggregateCompliance(incs, "zone", anchor.AddDate(0, 0, 2))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			met += r.Met[zhufang.StageOnScene]
			clocked += r.Clocked[zhufang.StageOnScene]
		}
		return met, clocked
	}
	m1, c1 := onScene(first.AddDate(0, 0, 100))
	m2, c2 := onScene(second.AddDate(0, 0, 100))
	t.Logf("on scene in time: %d of %d in the first year's day, %d of %d in the second's", m1, c1, m2, c2)
	if c1 < 300 || c2 < 300 || float64(m2)/float64(c2) <= float64(m1)/float64(c1) {
		t.Errorf("the reform year should answer faster: %d/%d then %d/%d", m1, c1, m2, c2)
	}
	street, err := db.FindReceived(ctx, second, second.AddDate(0, 0, 1), zhufang.LaneStreet)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, inc := range street {
		as, err := db.FindAssignments(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inc.State == zhufang.StateClosed && len(as) == 0 {
			t.Fatalf("closed street incident %d had no unit sent", inc.ID)
		}
		sent += len(as)
	}
	if len(street) < 300 || sent < len(street)*9/10 {
		t.Errorf("%d street incidents, %d units sent", len(street), sent)
	}
}
