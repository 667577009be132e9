package sim

import (
	"context"
	"fmt"
	"io"
	"time"

	"zhufang"
	"zhufang/demo"
	"zhufang/dispatch"
	"zhufang/posture"
)

// DemandDays is how many days before the simulated one its posture demand
// is learnt from.
const DemandDays = 28

// Store is what a simulation reads: the fleet, the stations' counties and
// the stored history.
type Store interface {
	FindStations(ctx context.Context) ([]*zhufang.Station, error)
	FindUnits(ctx context.Context, stationID int64) ([]*zhufang.Unit, error)
	FindReceived(ctx context.Context, from, to time.Time, lane zhufang.Lane) ([]*zhufang.Incident, error)
}

// Day is a day to replay: its street incidents, whether they are the
// stored history's or drawn from the model, and the city they happen in,
// with the posture demand learnt from the days before.
type Day struct {
	Incidents   []Incident
	FromHistory bool
	City        City
}

// LoadDay reads or draws day's street incidents (StreetDay) and the city
// (LoadCity, DemandBefore): ENOTFOUND when the day has none.
func LoadDay(ctx context.Context, st Store, m *demo.Model, rec zhufang.DemoCity, day time.Time) (Day, error) {
	var d Day
	var err error
	if d.City, err = LoadCity(ctx, st); err != nil {
		return d, err
	}
	if d.Incidents, d.FromHistory, err = StreetDay(ctx, st, m, rec, d.City.Bureaus, day); err != nil {
		return d, err
	}
	if len(d.Incidents) == 0 {
		return d, zhufang.Errorf(zhufang.ENOTFOUND, "no street incidents on %s to replay", day.Format(time.DateOnly))
	}
	d.City.Demand, err = DemandBefore(ctx, st, m, rec, d.City.Bureaus, day)
	return d, err
}

// WriteTable prints rows as a table, one line per policy and zone profile
// that had street incidents.
func WriteTable(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "%-16s %-11s %7s %9s %11s %14s %8s %8s\n", "policy", "zone", "street", "ack≤1min", "scene≤3min", "handling≤5min", "median", "p90")
	for _, r := range rows {
		if r.StreetIncidents == 0 {
			continue
		}
		fmt.Fprintf(w, "%-16s %-11s %7d %8.1f%% %10.1f%% %13.1f%% %7.0fs %7.0fs\n", r.Policy, r.ZoneProfile, r.StreetIncidents,
			100*r.Ack1, 100*r.Scene3, 100*r.Handling5, r.MedianOnScene, r.P90OnScene)
	}
}

// LoadCity reads the fleet and the stations' counties, with the default
// 1-3-5 zones and estimator; its Demand is left to DemandBefore.
func LoadCity(ctx context.Context, st Store) (City, error) {
	c := City{Zones: zhufang.DefaultZoneProfiles(), Estimate: dispatch.DefaultEstimator()}
	stations, err := st.FindStations(ctx)
	if err != nil {
		return c, err
	}
	c.Bureaus = zhufang.BureausOf(stations)
	units, err := st.FindUnits(ctx, 0)
	if err != nil {
		return c, err
	}
	for _, u := range units {
		c.Units = append(c.Units, *u)
	}
	return c, nil
}

// DemandBefore learns the posture demand of each hour from the street
// incidents of the DemandDays before day.
func DemandBefore(ctx context.Context, st Store, m *demo.Model, rec zhufang.DemoCity, bureaus map[int64]int64, day time.Time) ([24][]posture.Cell, error) {
	var samples []posture.Sample
	for d := 1; d <= DemandDays; d++ {
		past, _, err := StreetDay(ctx, st, m, rec, bureaus, day.AddDate(0, 0, -d))
		if err != nil {
			return [24][]posture.Cell{}, err
		}
		for _, p := range past {
			samples = append(samples, posture.Sample{At: p.At, Position: p.Position, Zone: p.Zone, BureauID: p.BureauID})
		}
	}
	return posture.Demand(samples, DemandDays), nil
}

// StreetDay returns a day's street incidents: the stored ones for a day
// of the history, else those the model draws, triaged as intake would.
// It reports whether they came from the history.
func StreetDay(ctx context.Context, st Store, m *demo.Model, rec zhufang.DemoCity, bureaus map[int64]int64, day time.Time) ([]Incident, bool, error) {
	day = demo.Midnight(day)
	last := m.Anchor()
	first := last.AddDate(0, 0, -(rec.HistoryDays - 1))
	var out []Incident
	if rec.HistoryDays > 0 && !day.Before(first) && !day.After(last) {
		incs, err := st.FindReceived(ctx, day, day.AddDate(0, 0, 1), zhufang.LaneStreet)
		if err != nil {
			return nil, false, err
		}
		for _, inc := range incs {
			out = append(out, Incident{At: inc.ReceivedAt, Position: inc.Position, Zone: inc.Zone, StationID: inc.StationID, BureauID: inc.BureauID})
		}
		return out, true, nil
	}
	calls, err := m.Day(day)
	if err != nil {
		return nil, false, err
	}
	triage := zhufang.DefaultTriage()
	for _, c := range calls {
		r := triage.Classify(zhufang.TriageInput{Category: c.Category, Description: c.Description, PlaceType: c.PlaceType,
			ReceivedAt: c.ReceivedAt, Flags: c.Flags})
		if !r.Streetward() {
			continue
		}
		out = append(out, Incident{At: c.ReceivedAt, Position: c.Position, Zone: c.Community.Zone,
			StationID: c.Community.StationID, BureauID: bureaus[c.Community.StationID]})
	}
	return out, false, nil
}
