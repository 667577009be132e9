package demo

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"zhufang"
	"zhufang/data"
	"zhufang/tiling"
	"zhufang/zhufangtest"
)

var testCity struct {
	once sync.Once
	city *zhufang.City
	err  error
}

// cityAndCategories builds the seed-1 city once per test binary.
func cityAndCategories(t *testing.T) (*zhufang.City, *zhufang.Categories) {
	t.Helper()
	testCity.once.Do(func() {
		testCity.city, testCity.err = Build(Options{Seed: 1, Data: data.FS, Cells: tiling.Cells})
	})
	if testCity.err != nil {
		t.Fatal(testCity.err)
	}
	return testCity.city, zhufangtest.Categories(t)
}

var anchor = time.Date(2026, 3, 1, 0, 0, 0, 0, zhufang.ChinaTime)

func testModel(t *testing.T, seed uint64) *Model {
	t.Helper()
	c, cats := cityAndCategories(t)
	m, err := NewModel(seed, anchor, c.Communities, cats)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelDayDeterministic(t *testing.T) {
	a, b, other := testModel(t, 1), testModel(t, 1), testModel(t, 2)
	day := anchor.AddDate(0, 0, -100)
	x, err := a.Day(day)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := b.Day(day)
	z, _ := other.Day(day)
	if len(x) < 500 {
		t.Fatalf("a day has %d incidents, want about a thousand", len(x))
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatal("the same seed drew two different days")
	}
	if reflect.DeepEqual(x, z) {
		t.Fatal("seeds 1 and 2 drew the same day")
	}
	// A day drawn alone is the day a model drew among others.
	a.Day(day.AddDate(0, 0, 1))
	again, _ := a.Day(day)
	if !reflect.DeepEqual(x, again) {
		t.Fatal("drawing another day changed this one")
	}
	for i := 1; i < len(x); i++ {
		if x[i].ReceivedAt.Before(x[i-1].ReceivedAt) {
			t.Fatal("calls are not in order of receipt")
		}
	}
	for _, c := range x {
		if !Midnight(c.ReceivedAt).Equal(day) {
			t.Fatalf("call at %s is not on %s", c.ReceivedAt, day)
		}
		if !c.Community.Area.Contains(c.Position) {
			t.Fatalf("call at %v lies outside its community %s", c.Position, c.Community.Name)
		}
	}
}

func TestModelRange(t *testing.T) {
	m := testModel(t, 1)
	from, to := m.Range()
	if want := anchor.AddDate(0, 0, -(HistoryDays-1)).AddDate(-YearsBefore, 0, 0); !from.Equal(want) {
		t.Errorf("range starts %s, want %s", from, want)
	}
	if want := anchor.AddDate(YearsAfter, 0, 0); !to.Equal(want) {
		t.Errorf("range ends %s, want %s", to, want)
	}
	for _, d := range []time.Time{from, to} {
		if _, err := m.Day(d); err != nil {
			t.Errorf("%s: %v", d.Format(time.DateOnly), err)
		}
	}
	for _, d := range []time.Time{from.AddDate(0, 0, -1), to.AddDate(0, 0, 1), time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)} {
		_, err := m.Day(d)
		if zhufang.ErrorCode(err) != zhufang.EINVALID {
			t.Errorf("%s outside the range: %v, want EINVALID", d.Format(time.DateOnly), err)
		}
	}
	if _, err := m.Draw(nil, to.AddDate(0, 0, 2)); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Errorf("Draw outside the range: %v", err)
	}
}

// TestModelYearOnYear counts two model years by group: each reported
// change holds to within a tenth of a point and two incidents, as counts
// are drawn per group with a running rounding.
func TestModelYearOnYear(t *testing.T) {
	if testing.Short() {
		t.Skip("draws two years")
	}
	m := testModel(t, 3)
	count := func(from time.Time) map[string]int {
		n := map[string]int{}
		for d := range 365 {
			calls, err := m.Day(from.AddDate(0, 0, d))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range calls {
				for _, g := range groupsOf(c.Category) {
					n[g]++
				}
			}
		}
		return n
	}
	second := anchor.AddDate(0, 0, -364)
	y1, y2 := count(second.AddDate(0, 0, -365)), count(second)
	for g, want := range map[string]float64{"criminal": ChangeCriminal, "order": ChangePublicOrder, "property": ChangeProperty,
		"telecom": ChangeTelecom, "fatal": ChangeFatalRoad} {
		got := float64(y2[g])/float64(y1[g]) - 1
		t.Logf("%-8s %6d → %6d: %+.2f%% (target %+.0f%%)", g, y1[g], y2[g], 100*got, 100*want)
		if d, tol := got-want, 0.001+2/float64(y1[g]); d > tol || d < -tol {
			t.Errorf("%s changed %+.2f%%, want %+.0f%%", g, 100*got, 100*want)
		}
	}
	total1 := 0
	for _, c := range []string{"criminal", "order", "traffic", "other"} {
		total1 += y1[c]
	}
	if perDay := float64(total1) / 365; perDay < 800 || perDay > 1200 {
		t.Errorf("%.0f incidents a day in the first year, want on the order of a thousand", perDay)
	}
}

// groupsOf names the reported groups a category counts in, and its class.
func groupsOf(code string) []string {
	var g []string
	switch code[0] {
	case '1':
		g = append(g, "criminal")
	case '2':
		g = append(g, "order")
	case '3':
		g = append(g, "traffic")
	default:
		g = append(g, "other")
	}
	if slices.Contains(PropertyCrime, code) {
		g = append(g, "property")
	}
	if code == TelecomFraud {
		g = append(g, "telecom")
	}
	if code == FatalTraffic {
		g = append(g, "fatal")
	}
	return g
}

// TestModelRhythmAndPlace checks the shape of a month: traffic peaks in
// the rush hours, public order late in the evening, the small hours are
// quiet, weekends bring more disorder, and town centres have more
// incidents per resident than villages.
func TestModelRhythmAndPlace(t *testing.T) {
	m := testModel(t, 1)
	var road, order [24]int
	var weekendOrder, weekdayOrder, weekendDays, weekdayDays float64
	perZone := map[zhufang.ZoneKind]int{}
	for d := range 28 {
		day := anchor.AddDate(0, 0, -d)
		calls, err := m.Day(day)
		if err != nil {
			t.Fatal(err)
		}
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Friday
		if weekend {
			weekendDays++
		} else {
			weekdayDays++
		}
		for _, c := range calls {
			h := c.ReceivedAt.Hour()
			switch c.Category[0] {
			case '3':
				road[h]++
			case '2':
				order[h]++
				if weekend {
					weekendOrder++
				} else {
					weekdayOrder++
				}
			}
			perZone[c.Community.Zone]++
		}
	}
	if road[8] < 3*road[3] || road[18] < 3*road[3] {
		t.Errorf("traffic by hour %v: the rush hours should stand out", road)
	}
	if order[21] <= order[9] || order[4] >= order[21]/2 {
		t.Errorf("public order by hour %v: late evening should be busiest, dawn quietest", order)
	}
	if weekendOrder/weekendDays <= weekdayOrder/weekdayDays {
		t.Errorf("public order %.0f a day at weekends, %.0f on weekdays", weekendOrder/weekendDays, weekdayOrder/weekdayDays)
	}
	c, _ := cityAndCategories(t)
	pop := map[zhufang.ZoneKind]int{}
	for _, cm := range c.Communities {
		pop[cm.Zone] += cm.Population
	}
	core := float64(perZone[zhufang.ZoneUrbanCore]) / float64(pop[zhufang.ZoneUrbanCore])
	rural := float64(perZone[zhufang.ZoneRural]) / float64(pop[zhufang.ZoneRural])
	if core < 2*rural {
		t.Errorf("incidents per resident: urban core %.2g, rural %.2g; the core should have over twice as many", core, rural)
	}
}

func TestModelHourRateAndDraw(t *testing.T) {
	m := testModel(t, 1)
	day := anchor.AddDate(0, 0, -10)
	sum := 0.0
	for h := range 24 {
		sum += m.HourRate(day.Add(time.Duration(h) * time.Hour))
	}
	want, ok := m.Expected(day)
	if !ok || sum < want*0.999 || sum > want*1.001 {
		t.Fatalf("the hours add up to %.2f, the day expects %.2f", sum, want)
	}
	if m.HourRate(day.Add(3*time.Hour)) >= m.HourRate(day.Add(20*time.Hour)) {
		t.Error("3 a.m. is as busy as 8 p.m.")
	}
	if m.HourRate(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("a rate outside the range")
	}
	r := rand.New(rand.NewPCG(1, 2))
	at := day.Add(21*time.Hour + 17*time.Minute)
	for range 200 {
		c, err := m.Draw(r, at)
		if err != nil {
			t.Fatal(err)
		}
		if !c.ReceivedAt.Equal(at) || baseRates[c.Category] == 0 || !c.Community.Area.Contains(c.Position) {
			t.Fatalf("drew %+v", c)
		}
	}
}

func TestNewModelRefusesEmptyCity(t *testing.T) {
	_, cats := cityAndCategories(t)
	if _, err := NewModel(1, anchor, nil, cats); zhufang.ErrorCode(err) != zhufang.EINVALID {
		t.Fatalf("a city without communities: %v", err)
	}
}
